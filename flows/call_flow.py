"""The telephone call flow the IVR engine reads: its settings, messages and nodes.

Built from ``call_flow.toml`` by ``flows.call_flow_loader``, which checks every
value first; the node types are in ``flows.nodes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.catalogue import Service
from domain.hours import Line
from flows.nodes import FlowNode, Menu, Option


@dataclass(frozen=True, slots=True)
class Voice:
    language: str
    voice: str
    speech_language: str
    timeout: int
    speech_timeout: str
    hold_music: str


@dataclass(frozen=True, slots=True)
class CallSettings:
    start: str
    lost: str
    line: str
    state_ttl_seconds: int


@dataclass(frozen=True, slots=True)
class Limits:
    tries_per_call: int
    wrong_inputs: int
    silences: int
    failures_per_number: int
    failures_per_policyholder: int
    failure_window_seconds: int
    service_level_seconds: int


@dataclass(frozen=True, slots=True)
class QueueSettings:
    leave_key: str
    on_leave: str
    on_error: str
    fallback_seconds_per_caller: int
    history_size: int
    history_seconds: int
    callback_suffix: str
    # Optional priority by tier (SPEC §6), off by default: a caller of a tier listed is
    # offered as if they had called that many seconds earlier, each at most
    # ``max_priority_jump_seconds`` (checked at load).
    tier_priority: bool = False
    max_priority_jump_seconds: int = 60
    tier_jump_seconds: Mapping[str, int] = field(default_factory=dict)

    def jump_seconds(self, tier: str | None) -> int:
        """How much earlier than they called a caller of ``tier`` is served (0 when off)."""
        if not self.tier_priority or tier is None:
            return 0
        return min(self.tier_jump_seconds.get(tier, 0), self.max_priority_jump_seconds)


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """An agent's shift (SPEC §6): offers, wrap-up, and the distribution's sweep."""

    offer_seconds: int = 15
    wrap_up_seconds: int = 30
    desk_gone_seconds: int = 60
    sweep_seconds: int = 5
    reconcile_seconds: int = 30


@dataclass(frozen=True, slots=True)
class CallbackSettings:
    max_attempts: int
    retry_minutes: tuple[int, ...]
    ring_seconds: int
    answer_key: str

    def retry_delay_minutes(self, attempts_made: int) -> int:
        """Minutes to wait after the ``attempts_made``-th failed attempt."""
        index = min(max(attempts_made, 1), len(self.retry_minutes)) - 1
        return self.retry_minutes[index]


@dataclass(frozen=True, slots=True)
class KeyMap:
    """One meaning per key in every menu (SPEC §8): ``[keys]`` in call_flow.toml.

    ``repeat`` says the menu again (its ``goto`` is empty: the menu itself),
    ``main_menu`` goes back to the main menu, ``person`` to a person (a transfer
    node; a menu may send it to another line's transfer with a label of its own).
    """

    repeat: Option
    main_menu: Option
    person: Option

    def __iter__(self):
        return iter((self.person, self.main_menu, self.repeat))


@dataclass(frozen=True, slots=True)
class SmsLink:
    service: str
    url: str
    text: str

    def body(self) -> str:
        return self.text.format(url=self.url)


@dataclass(frozen=True)
class CallFlow:
    voice: Voice
    call: CallSettings
    limits: Limits
    queue: QueueSettings
    callbacks: CallbackSettings
    sms: Mapping[str, SmsLink]
    speech: Mapping[str, str]
    messages: Mapping[str, str]
    nodes: Mapping[str, FlowNode]
    keys: KeyMap
    # Service code -> how the service is said, for names written with a symbol.
    spoken_services: Mapping[str, str]
    agents: AgentSettings = AgentSettings()

    def node(self, name: str) -> FlowNode:
        return self.nodes[name]

    def menu_options(self, menu: Menu) -> tuple[Option, ...]:
        """Every key ``menu`` answers, in the order they are said.

        Its own options, then the key map's: a person (unless the menu sends the
        person key to a line of its own), back to the main menu, hear it again.
        """
        own = menu.options
        keys = self.keys
        person = () if menu.option(keys.person.key) else (keys.person,)
        return (*own, *person, keys.main_menu, keys.repeat)

    def service_name(self, service: Service) -> str:
        """The service's name as a caller hears it (门诊或住院交通 for 门诊/住院交通)."""
        return self.spoken_services.get(service.code, service.name)

    def callback_queue(self, line: Line) -> str:
        return line.queue + self.queue.callback_suffix
