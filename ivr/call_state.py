"""What the IVR remembers about one call between webhooks: a plain, JSON-able record.

It holds ids and masked names only; full names and numbers stay in SQL, except
the policyholder's number on file, which the SMS link and the callback need, and
the chosen insured person's policies and uses (no name), which the later turns need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace

# Withheld caller IDs share one failure count (SPEC §4: limits per calling number).
WITHHELD = "withheld"


@dataclass
class CallState:
    call_sid: str
    # E.164, or None when the caller ID is withheld; never proof of identity.
    caller: str | None = None
    # The hotline number the caller dialled: the sender of SMS and callbacks.
    called: str | None = None
    # The node waiting for the caller's answer (or the last one entered).
    node: str = ""
    # Numbers every gather action URL, so a retried webhook is answered from cache.
    step: int = 0
    tries: int = 0
    # Wrong answers and silences at the node waiting now, counted apart (SPEC §8).
    wrong: int = 0
    silences: int = 0
    suffix: str | None = None
    spoken_name: str | None = None
    verified: bool = False
    # Why a person takes an unverified call: operator, failed, locked, ambiguous, invalid
    # (wrong answers), silent, lost.
    unverified_reason: str | None = None
    policyholder_id: str | None = None
    policyholder_phone: str | None = None
    insured_id: str | None = None
    insured_name: str | None = None  # masked (张*明), as screens show it
    # The insured people offered, as [id, masked name, key], in the order said.
    choices: list[list[str]] = field(default_factory=list)
    service: str | None = None
    line: str | None = None
    queue: str | None = None
    # Unix time the caller was put in the queue, for waits and the service level.
    enqueued_at: float | None = None
    agent: str | None = None
    # Set on a call the hotline placed to honour a callback.
    callback_id: int | None = None
    # Unix time the IVR first heard of the call, for its record in SQL.
    started_at: float | None = None
    # The chosen insured person's policies and service uses (or those of the people the
    # caller chooses from), by id, as read when the caller was authenticated
    # (``ivr.facts.carried``: policy numbers, products, amounts, dates; no name): the
    # later turns weigh their eligibility from these, with no SQL.
    insured_facts: dict[str, list] | None = None

    @property
    def caller_key(self) -> str:
        return self.caller or WITHHELD

    def copy(self) -> CallState:
        """A copy to change freely: every field is immutable but ``choices``, copied too
        (``insured_facts`` is replaced whole, never changed in place)."""
        return replace(self, choices=[list(choice) for choice in self.choices])

    def to_json(self) -> str:
        # Every field is a str, number, bool, None, a list of lists or ``insured_facts``
        # (replaced whole, never changed in place): the instance's own dict (its fields,
        # no more) says the same as ``dataclasses.asdict``, which deep-copies each value.
        return _ENCODER.encode(self.__dict__)

    @classmethod
    def from_json(cls, raw: str | bytes) -> CallState:
        data = json.loads(raw)
        # Keys from an older release are dropped rather than failing a live call, and
        # its choices (without their key) were numbered from 1.
        if not data.keys() <= _KNOWN:
            data = {k: v for k, v in data.items() if k in _KNOWN}
        choices = data.get("choices")
        if choices and any(len(choice) != 3 for choice in choices):
            data["choices"] = [
                choice if len(choice) == 3 else [*choice[:2], str(i)]
                for i, choice in enumerate(choices, start=1)
            ]
        elif choices is None:
            data.pop("choices", None)
        return cls(**data)


_KNOWN = frozenset(f.name for f in fields(CallState))
# ``json.dumps`` with settings of its own builds an encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
