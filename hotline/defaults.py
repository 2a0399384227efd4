"""Defaults for settings that the environment (SPEC §5) or test_config may override."""

TIMEZONE = "Asia/Shanghai"
SQLITE_FILENAME = "hotline.sqlite3"
SECRET_KEY_FILENAME = "secret_key"
# API tokens: bytes of randomness; only their SHA-256 is stored.
TOKEN_BYTES = 32
# Feed import: rows per INSERT batch, which bounds memory on large feeds.
IMPORT_BATCH_SIZE = 5000
# Feed import: problems listed before "… and N more".
IMPORT_ERROR_LIMIT = 50
# Agent passwords set from the CLI or the desk.
PASSWORD_MIN_LENGTH = 8
