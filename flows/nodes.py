"""The eleven node types of the call flow, as the IVR engine walks them.

Each node names the nodes it leads to; ``flows.call_flow_loader`` has checked
every such name, so the engine may look them up without fear.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    label: str
    words: tuple[str, ...]
    goto: str
    # False when the menu's intro already reads this option out.
    spoken: bool = True


@dataclass(frozen=True, slots=True)
class Say:
    name: str
    say: tuple[str, ...]
    next: str


@dataclass(frozen=True, slots=True)
class Ask:
    name: str
    input: str  # "digits" or "speech"
    slot: str
    prompt: str
    invalid: str
    next: str
    fallback: str
    num_digits: int = 0
    operator: str | None = None


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


@dataclass(frozen=True, slots=True)
class Menu:
    name: str
    options: tuple[Option, ...]
    fallback: str
    intro: tuple[str, ...] = ()
    repeat: str | None = None
    silence: str | None = None

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
    sent: str | None = None


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
    decline: str


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
