"""The eleven node types of the call flow, as the IVR engine walks them.

Each node names the nodes it leads to; ``flows.call_flow_loader`` has checked
every such name, so the engine may look them up without fear.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Option:
    """A key a caller may press (or its words say), said as "{label}请按{key}"."""

    key: str
    label: str
    words: tuple[str, ...]
    goto: str


@dataclass(frozen=True, slots=True)
class Say:
    name: str
    say: tuple[str, ...]
    next: str


# The nodes that wait for the caller name two ways out besides their answers:
# ``fallback`` after too many wrong answers in a row (limits.wrong_inputs) and
# ``silence`` after too many silences (limits.silences, or the node's own
# ``silences``). The two are counted apart and answered with prompts of their own.


@dataclass(frozen=True, slots=True)
class Ask:
    name: str
    input: str  # "digits" or "speech"
    slot: str
    prompt: str
    invalid: str  # the message for a wrong answer
    silent: str  # the message for no answer
    next: str
    fallback: str
    silence: str
    num_digits: int = 0
    operator: str | None = None
    silences: int | None = None


@dataclass(frozen=True, slots=True)
class Authenticate:
    name: str
    verified: str
    retry: str
    fallback: str


@dataclass(frozen=True, slots=True)
class ChooseInsured:
    name: str
    next: str
    none: str
    fallback: str
    silence: str
    silences: int | None = None


@dataclass(frozen=True, slots=True)
class Menu:
    """The menu's own options; the key map's (``CallFlow.menu_options``) come with them."""

    name: str
    options: tuple[Option, ...]
    fallback: str
    silence: str
    intro: tuple[str, ...] = ()
    silences: int | None = None

    def option(self, key: str) -> Option | None:
        for option in self.options:
            if option.key == key:
                return option
        return None


@dataclass(frozen=True, slots=True)
class ServiceNode:
    name: str
    service: str
    transfer: str
    refused: str
    # A service served by SMS link: after the link is queued, and when it cannot be sent.
    sent: str | None = None
    unsent: str | None = None


@dataclass(frozen=True, slots=True)
class Entitlements:
    name: str
    next: str


@dataclass(frozen=True, slots=True)
class Transfer:
    name: str
    line: str
    closed: str


@dataclass(frozen=True, slots=True)
class CallbackOffer:
    name: str
    say: tuple[str, ...]
    key: str
    accept: str
    # After silence (the offer says to hang up otherwise) or too many wrong keys.
    decline: str
    silences: int | None = None


@dataclass(frozen=True, slots=True)
class Callback:
    name: str
    next: str


@dataclass(frozen=True, slots=True)
class Hangup:
    name: str
    say: tuple[str, ...]


FlowNode = (
    Say
    | Ask
    | Authenticate
    | ChooseInsured
    | Menu
    | ServiceNode
    | Entitlements
    | Transfer
    | CallbackOffer
    | Callback
    | Hangup
)
# Nodes that wait for the caller; the others pass straight on to their next node.
WAITING = (Ask, Menu, CallbackOffer, ChooseInsured)
