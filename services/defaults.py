"""Defaults of the use cases: accounts and the feed import."""

# API tokens: bytes of randomness; only their SHA-256 is stored.
TOKEN_BYTES = 32
# Feed import: rows per INSERT batch, which bounds memory on large feeds.
IMPORT_BATCH_SIZE = 5000
# Feed import: problems listed before "… and N more".
IMPORT_ERROR_LIMIT = 50
# Feed import: containers nested in one record (a policy, its events and an event are 3),
# and the bytes of the file one record may take (a person with a thousand phones: 25 KB).
FEED_MAX_DEPTH = 8
FEED_MAX_RECORD_BYTES = 1 << 20
# Agent passwords set from the CLI or the desk.
PASSWORD_MIN_LENGTH = 8
# The desk's customer search: people listed at most, and the longest query taken.
SEARCH_LIMIT = 20
SEARCH_QUERY_MAX_LENGTH = 100
# Contact history: calls, callbacks and cases listed at most, each.
HISTORY_LIMIT = 20
# Notes on a case or one of its steps, in characters (the app's CASE_NOTE_MAX_LENGTH).
CASE_NOTE_MAX_LENGTH = 2000
