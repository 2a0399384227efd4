"""What the engine answers: prompts, then one way to wait, plus effects for the edge to run.

Plain values only. A webhook turn (``ivr.turns``) turns a ``Reply`` into TwiML and
runs its effects (``ivr.effects``); the engine never sees Twilio, Redis or SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.callbacks import CallbackRequest

# -- prompts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Play:
    url: str


Prompt = Say | Play


# -- how the turn ends ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gather:
    """Wait for keys or speech; the prompts are played inside, so callers may barge in."""

    speech: bool
    num_digits: int
    hints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Enqueue:
    line: str
    queue: str


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


Wait = Gather | Enqueue | Hangup


# -- effects -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordAuthFailure:
    caller_key: str
    policyholder_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendSmsLink:
    service: str
    to: str
    body: str
    policyholder_id: str
    insured_id: str | None


# The effect asking for a callback is the domain's request itself: services.callbacks books it.
Effect = RecordAuthFailure | SendSmsLink | CallbackRequest


@dataclass
class Reply:
    prompts: list[Prompt] = field(default_factory=list)
    wait: Wait = field(default_factory=Hangup)
    effects: list[Effect] = field(default_factory=list)

    def heard(self) -> list[str]:
        return [p.text for p in self.prompts if isinstance(p, Say)]
