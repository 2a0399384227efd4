"""Errors the use cases raise; views turn them into HTTP, TwiML or CLI messages."""

from __future__ import annotations

from runtime.exceptions import HotlineError


class UnknownAgent(HotlineError, LookupError):
    def __init__(self, username: str):
        super().__init__(f'no agent "{username}"')
        self.username = username


class InvalidAgent(HotlineError, ValueError):
    """An agent account that cannot be created as asked (bad name, role or queues)."""


class UnknownCase(HotlineError, LookupError):
    def __init__(self, case_id: int):
        super().__init__(f"no case {case_id}")
        self.case_id = case_id


class CaseRefused(HotlineError):
    """A case request or step the rules refuse; ``code`` says which rule, for clients.

    ``reason`` narrows ``code`` where clients branch further (``not_entitled``:
    ``no_tier``, ``not_in_tier``, ``waiting_period``, ``quota_used``). The HTTP
    status is the views' choice (``agent_assist.errors.REFUSAL_STATUS``).
    """

    def __init__(self, code: str, message: str, reason: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason


class SearchRefused(HotlineError):
    """A customer search that cannot be run as asked (empty, or too long)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
