"""Defaults for settings that the environment (SPEC §5) or test_config may override."""

TIMEZONE = "Asia/Shanghai"
SQLITE_FILENAME = "hotline.sqlite3"
# Twilio's REST API (SPEC §5 TWILIO_API_BASE_URL).
TWILIO_API_BASE_URL = "https://api.twilio.com"
SECRET_KEY_FILENAME = "secret_key"
# `hotline serve --demo` without TWILIO_AUTH_TOKEN: the token webhooks are signed with,
# kept here so `hotline call` finds it (the signature check is never switched off).
DEMO_AUTH_TOKEN_FILENAME = "demo_twilio_auth_token"
# `hotline serve --demo` without a Twilio account: the simulator is Twilio, at the demo's
# own origin (TWILIO_API_BASE_URL), for this account, calling from this number.
DEMO_ACCOUNT_SID = "AC" + "de" * 16
DEMO_NUMBER = "+861058001234"
# Agent desk: a signed-in session lasts a long shift.
DESK_SESSION_SECONDS = 12 * 3600
# Server-sent events: a comment this often keeps proxies from closing an idle stream;
# XREAD blocks this long per turn of the loop (a call is written the moment it arrives);
# a stream is closed after this long and the browser reconnects with Last-Event-ID.
SSE_HEARTBEAT_SECONDS = 15
SSE_BLOCK_MS = 1000
SSE_MAX_SECONDS = 3600
SSE_RETRY_MS = 3000
# The supervisor dashboard's stream looks at the figures this often (seconds); the cases
# at risk, an SQL query, less often.
SUPERVISOR_REFRESH_SECONDS = 2
SUPERVISOR_CASES_SECONDS = 15
# The overdue-SLA sweep's interval.
SLA_SWEEP_MINUTES = 15
# An open event stream looks this often (seconds) whether its sign-in still holds
# (signed out, new password, token revoked, account disabled) and ends if not.
ACCOUNT_CHECK_SECONDS = 3
# The largest request body taken (bytes): a case's notes and the like, never a file.
MAX_REQUEST_BYTES = 256 * 1024
# The reports' upkeep (ended agent spells into the interval history, old intervals out).
REPORTS_UPKEEP_MINUTES = 5
# How long a call's note waits to be written with the others (``services.call_notes``):
# a webhook writes none itself; 0 writes each at once.
CALL_NOTES_SECONDS = 0.25
