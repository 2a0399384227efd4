"""Settings from the environment (SPEC §5), with embedded defaults for a one-process demo."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from hotline import defaults

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
)


def base(instance_path: str) -> dict:
    return {
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / defaults.SQLITE_FILENAME}",
        "REDIS_URL": None,
        "TWILIO_ACCOUNT_SID": None,
        "TWILIO_AUTH_TOKEN": None,
        # The sender of SMS and callbacks when the number the caller dialled is unknown.
        "TWILIO_CALLER_ID": None,
        "PUBLIC_BASE_URL": None,
        "HOTLINE_TZ": defaults.TIMEZONE,
        "HOTLINE_FLOWS_DIR": None,
        "SECRET_KEY": None,
    }


def from_environment() -> dict:
    return {key: os.environ[key] for key in ENVIRONMENT_KEYS if os.environ.get(key)}


def instance_secret(instance_path: str) -> str:
    """A secret kept in the instance folder, so every worker process signs cookies alike."""
    path = Path(instance_path) / defaults.SECRET_KEY_FILENAME
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
