"""Reading operator-edited TOML with errors that name the file and the key.

Every accessor raises ``FlowError("services.toml: services[3].quota.anxin: …")``
so an operator can find the mistake without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from flows.exceptions import FlowError

_MISSING = object()


class TomlTable:
    """A table in a flows file, with the path that leads to it."""

    def __init__(self, file: str, data: Any, path: str = ""):
        self.file = file
        self.data = data
        self.path = path

    def error(self, key: str | None, message: str) -> FlowError:
        where = self._join(key) if key is not None else (self.path or "(top level)")
        return FlowError(f"{self.file}: {where}: {message}")

    def _join(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return isinstance(self.data, dict) and key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        if not isinstance(self.data, dict):
            raise self.error(None, "must be a table")
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "is required")
            return default
        return self.data[key]

    def only(self, *allowed: str) -> None:
        """Refuse unknown keys: a misspelt key would otherwise be silently ignored."""
        for key in self.data:
            if key not in allowed:
                raise self.error(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def table(self, key: str, default: Any = _MISSING) -> TomlTable:
        value = self.raw(key, {} if default is not _MISSING else _MISSING)
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return TomlTable(self.file, value, self._join(key))

    def items(self) -> Iterator[tuple[str, TomlTable | Any]]:
        for key, value in self.data.items():
            yield (
                key,
                TomlTable(self.file, value, self._join(key)) if isinstance(value, dict) else value,
            )

    def tables(self, key: str, default: Any = _MISSING) -> list[TomlTable]:
        value = self.raw(key, [] if default is not _MISSING else _MISSING)
        if not isinstance(value, list):
            raise self.error(key, "must be an array of tables")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{i}]", "must be a table")
            out.append(TomlTable(self.file, item, f"{self._join(key)}[{i}]"))
        return out

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or (not value.strip() and default is _MISSING):
            raise self.error(key, "must be a non-empty string")
        return value

    def url(self, key: str) -> str:
        value = self.text(key)
        if not value.startswith(("https://", "http://")):
            raise self.error(key, "must be an http(s) URL")
        return value

    def texts(self, key: str, default: Any = _MISSING) -> list[str]:
        value = self.raw(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "must be a list of non-empty strings")
        return value

    def whole(self, key: str, default: Any = _MISSING, minimum: int = 0) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"must be a whole number ≥ {minimum}")
        return value

    def number(self, key: str, default: Any = _MISSING, minimum: float = 0) -> float:
        """An integer or a decimal (TOML's 0.8 or 20) of at least ``minimum``."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(key, f"must be a number ≥ {minimum:g}")
        return float(value)

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.raw(key, default)
        if value not in options:
            raise self.error(key, f"must be one of: {', '.join(options)}")
        return value

    def day(self, key: str, default: Any = _MISSING) -> date:
        return parse_day(self, key, self.raw(key, default))

    def clock(self, key: str) -> time:
        value = self.raw(key)
        if isinstance(value, time):  # a TOML local time, 08:00:00 unquoted
            return value
        try:
            if value == "24:00":
                return time.max
            hour, minute = (int(part) for part in str(value).split(":"))
            return time(hour, minute)
        except (TypeError, ValueError):
            raise self.error(key, 'must be a time of day such as "08:00"') from None


def parse_day(node: TomlTable, key: str, value: Any) -> date:
    # A TOML date-time is a ``datetime``, which is also a ``date``: comparing it with
    # the dates of the rules would fail later, far from the file, so refuse it here.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise node.error(key, 'must be a date such as "2024-01-01"') from None
