"""Errors of SQL storage."""

from __future__ import annotations

from runtime.exceptions import HotlineError


class UnknownPerson(HotlineError, LookupError):
    def __init__(self, person_id: str):
        super().__init__(f'no person with id "{person_id}"')
        self.person_id = person_id
