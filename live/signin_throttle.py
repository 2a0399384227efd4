"""Sign-in attempts per username, so that the desk's passwords cannot be guessed at speed.

A counter per (lower-cased) username that expires ``WINDOW_SECONDS`` after the
first attempt it counts: past ``LIMIT`` attempts in the window, a sign-in is
refused whatever the password. A successful sign-in clears it.
"""

from __future__ import annotations

from redis import Redis

from live import keys

LIMIT = 10
WINDOW_SECONDS = 15 * 60


def _key(username: str) -> str:
    return keys.SIGNIN_ATTEMPTS.format(username=username.lower()[:64])


def too_many(redis: Redis, username: str) -> bool:
    """Count this attempt; True when it is more than the window allows."""
    key = _key(username)
    attempts = redis.incr(key)
    if attempts == 1:
        redis.expire(key, WINDOW_SECONDS)
    return attempts > LIMIT


def forget(redis: Redis, username: str) -> None:
    redis.delete(_key(username))
