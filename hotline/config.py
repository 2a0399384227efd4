"""Settings from the environment (SPEC §5), with embedded defaults for a one-process demo."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hotline import defaults
from services import defaults as services_defaults

ENVIRONMENT_KEYS = (
    "DATABASE_URL",
    "REDIS_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_CALLER_ID",
    "PUBLIC_BASE_URL",
    "HOTLINE_TZ",
    "HOTLINE_FLOWS_DIR",
    "SECRET_KEY",
    # The agents' browser phone (Twilio Voice access tokens).
    "TWILIO_API_KEY",
    "TWILIO_API_SECRET",
    "TWILIO_TWIML_APP_SID",
    # Where Twilio's REST API is reached (SPEC §5): a local stand-in changes nothing else.
    "TWILIO_API_BASE_URL",
    # Twilio's queues simulated for ``hotline call`` and the desk (``/simulator``).
    "HOTLINE_SIMULATOR",
    # How often the supervisor dashboard's stream looks at the figures (seconds).
    "SUPERVISOR_REFRESH_SECONDS",
    # How long a call's note waits in its process to be written with others (seconds).
    "CALL_NOTES_SECONDS",
)


def base(instance_path: str) -> dict:
    return {
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / defaults.SQLITE_FILENAME}",
        "REDIS_URL": None,
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        # The sender of SMS and callbacks when the number the caller dialled is unknown.
        "TWILIO_CALLER_ID": None,
        "TWILIO_API_BASE_URL": defaults.TWILIO_API_BASE_URL,
        "PUBLIC_BASE_URL": None,
        "HOTLINE_TZ": defaults.TIMEZONE,
        "HOTLINE_FLOWS_DIR": None,
        "SECRET_KEY": None,
        "TWILIO_API_KEY": None,
        "TWILIO_API_SECRET": None,
        "TWILIO_TWIML_APP_SID": None,
        "HOTLINE_SIMULATOR": False,
        # The twilio library's HTTP client; tests hand in a fake one.
        "TWILIO_HTTP_CLIENT": None,
        # The desk's sign-in cookie: never readable by scripts, never sent cross-site.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": defaults.DESK_SESSION_SECONDS,
        "SSE_HEARTBEAT_SECONDS": defaults.SSE_HEARTBEAT_SECONDS,
        "SSE_BLOCK_MS": defaults.SSE_BLOCK_MS,
        "SSE_MAX_SECONDS": defaults.SSE_MAX_SECONDS,
        "SSE_RETRY_MS": defaults.SSE_RETRY_MS,
        "SUPERVISOR_REFRESH_SECONDS": defaults.SUPERVISOR_REFRESH_SECONDS,
        "SUPERVISOR_CASES_SECONDS": defaults.SUPERVISOR_CASES_SECONDS,
        "SLA_SWEEP_MINUTES": defaults.SLA_SWEEP_MINUTES,
        # The database's time budget (storage.db): "web" for requests, "batch" for jobs.
        "DATABASE_BUDGET": "web",
        "ACCOUNT_CHECK_SECONDS": defaults.ACCOUNT_CHECK_SECONDS,
        "MAX_CONTENT_LENGTH": defaults.MAX_REQUEST_BYTES,
        "CASE_NOTE_MAX_LENGTH": services_defaults.CASE_NOTE_MAX_LENGTH,
        "REPORTS_UPKEEP_MINUTES": defaults.REPORTS_UPKEEP_MINUTES,
        "CALL_NOTES_SECONDS": defaults.CALL_NOTES_SECONDS,
    }


def from_environment() -> dict:
    settings = {key: os.environ[key] for key in ENVIRONMENT_KEYS if os.environ.get(key)}
    # Behind https the desk's cookie must not travel over plain http.
    if os.environ.get("PUBLIC_BASE_URL", "").startswith("https://"):
        settings["SESSION_COOKIE_SECURE"] = True
    return settings


def instance_secret(instance_path: str, filename: str = defaults.SECRET_KEY_FILENAME) -> str:
    """A secret kept in the instance folder, so every worker process signs cookies alike."""
    path = Path(instance_path) / filename
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_hex(32)
        try:
            # O_EXCL: two workers starting together must end up with one secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        return secret
