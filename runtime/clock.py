"""Time in the hotline's zone: every rule is about Asia/Shanghai calendar days and hours."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, tz: str):
        self.tz = ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def local(self) -> datetime:
        """Naive wall-clock time, as the hours rules read it."""
        return self.now().replace(tzinfo=None)

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that only moves when told to: for tests and rehearsing calls at set hours."""

    def __init__(self, tz: str, at: datetime):
        super().__init__(tz)
        self.set(at)

    def set(self, at: datetime) -> None:
        self._at = at if at.tzinfo else at.replace(tzinfo=self.tz)

    def now(self) -> datetime:
        return self._at.astimezone(self.tz)
