"""Errors of the adapters to the outside."""

from __future__ import annotations

from runtime.exceptions import HotlineError


class NotConfigured(HotlineError, RuntimeError):
    """A feature needs settings that are unset (Twilio's credentials, sender, public URL)."""

    def __init__(self, what: str, missing: list[str] | tuple[str, ...]):
        self.missing = tuple(missing)
        super().__init__(f"{what} is not configured: set {', '.join(self.missing)}")


class MemberGone(HotlineError):
    """Twilio did not find the caller in the queue (they hung up, or were taken already)."""

    def __init__(self, queue_sid: str, call_sid: str):
        super().__init__(f"call {call_sid} is not in queue {queue_sid}")
        self.queue_sid = queue_sid
        self.call_sid = call_sid


class TwilioRefused(RuntimeError):
    """Twilio's API refused a request; its message (which quotes the number) masked.

    Not a HotlineError: an outage or a refused number is worth its traceback.
    """
