"""Errors of the adapters to the outside."""

from __future__ import annotations

from runtime.exceptions import HotlineError


class NotConfigured(HotlineError, RuntimeError):
    """A feature needs settings that are unset (Twilio's credentials, sender, public URL)."""

    def __init__(self, what: str, missing: list[str] | tuple[str, ...]):
        self.missing = tuple(missing)
        super().__init__(f"{what} is not configured: set {', '.join(self.missing)}")


class TwilioRefused(RuntimeError):
    """Twilio's API refused a request; its message (which quotes the number) masked.

    Not a HotlineError: an outage or a refused number is worth its traceback.
    """
