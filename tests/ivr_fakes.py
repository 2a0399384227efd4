"""In-memory stand-ins for the engine's port, and a caller that talks to the engine directly.

Imported as a plain module (``from ivr_fakes import ...``). The web tests follow
TwiML through ``simulator.softphone``; these drive ``ivr.engine`` without any I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from domain_fixtures import loaded, policy

from domain.catalogue import Tier
from domain.eligibility import Eligibility, assess, entitled_tier
from domain.policies import Policy, Use
from flows import Flows
from ivr import engine, replies
from ivr.call_state import CallState
from ivr.ports import Candidates, Failures, Holder, InsuredPerson

# A Tuesday morning, inside both lines' hours.
MORNING = datetime(2026, 3, 10, 10, 30)


@dataclass
class Person:
    id: str
    name: str
    phone: str | None = None
    policies: list[Policy] = field(default_factory=list)
    uses: list[Use] = field(default_factory=list)


@dataclass
class World:
    """People, their policies as holder and insured, and the failure counters."""

    now: datetime = MORNING
    people: dict[str, Person] = field(default_factory=dict)
    # holder id -> insured ids, in the order their policies were added
    insured_by: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_number: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_holder: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sms: list[replies.SendSmsLink] = field(default_factory=list)
    callbacks: list[replies.CallbackRequest] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    # Twilio's REST settings are there, so an SMS link can be queued.
    sms_configured: bool = True

    def person(self, pid: str, name: str, phone: str | None = None) -> Person:
        self.people[pid] = Person(pid, name, phone)
        return self.people[pid]

    def insure(self, holder: str, insured: str, *policies: Policy, uses: Sequence[Use] = ()):
        if insured not in self.insured_by[holder]:
            self.insured_by[holder].append(insured)
        self.people[insured].policies.extend(policies or [policy(200_000)])
        self.people[insured].uses.extend(uses)

    # -- the Facts port ------------------------------------------------------------

    def facts(self) -> Facts:
        return Facts(self)

    def apply(self, effects) -> None:
        for effect in effects:
            if isinstance(effect, replies.RecordAuthFailure):
                self.by_number[effect.caller_key] += 1
                for holder in effect.policyholder_ids:
                    self.by_holder[holder] += 1
            elif isinstance(effect, replies.SendSmsLink):
                self.sms.append(effect)
            elif isinstance(effect, replies.CallbackRequest):
                self.callbacks.append(effect)


class Facts:
    def __init__(self, world: World):
        self.world = world

    def now(self) -> datetime:
        return self.world.now

    def candidates(self, suffix: str | None, caller_key: str):
        self.world.asked.append(f"policyholders:{suffix}")
        holders = [
            Holder(p.id, p.name, p.phone)
            for p in self.world.people.values()
            if suffix and p.phone and p.phone.endswith(suffix) and self.world.insured_by.get(p.id)
        ]
        return Candidates(
            holders=holders,
            failures=Failures(
                by_number=self.world.by_number.get(caller_key, 0),
                by_policyholder={h.id: self.world.by_holder.get(h.id, 0) for h in holders},
            ),
        )

    def insured_people(self, policyholder_id: str):
        return [
            InsuredPerson(i, self.world.people[i].name)
            for i in self.world.insured_by.get(policyholder_id, [])
        ]

    def eligibility(self, insured_id: str) -> Eligibility:
        self.world.asked.append(f"eligibility:{insured_id}")
        person = self.world.people[insured_id]
        return assess(loaded().programme, person.policies, person.uses, self.world.now.date())

    def tier(self, insured_id: str) -> Tier | None:
        self.world.asked.append(f"tier:{insured_id}")
        person = self.world.people[insured_id]
        return entitled_tier(loaded().programme, person.policies, self.world.now.date())

    def sms_available(self, dialled: str | None) -> bool:
        return self.world.sms_configured


class Call:
    """A caller talking to the engine: every turn's words are kept in ``heard``."""

    def __init__(self, world: World, caller: str | None = "+8613900001111", flows=None):
        self.world = world
        self.flows: Flows = flows or loaded()
        self.state = CallState(call_sid="CA" + "0" * 32, caller=caller, called="+861058000000")
        self.heard: list[str] = []
        self.reply: replies.Reply | None = None
        self._turn(engine.start(self.flows, self.state, world.facts()))

    def _turn(self, result) -> Call:
        self.state, self.reply = result
        self.state.step += 1
        self.world.apply(self.reply.effects)
        self.heard.extend(self.reply.heard())
        return self

    @property
    def last(self) -> list[str]:
        return self.reply.heard()

    def press(self, digits: str) -> Call:
        return self._turn(
            engine.step(self.flows, self.state, engine.Digits(digits), self.world.facts())
        )

    def say(self, text: str) -> Call:
        return self._turn(
            engine.step(self.flows, self.state, engine.Speech(text), self.world.facts())
        )

    def silence(self) -> Call:
        return self._turn(engine.step(self.flows, self.state, engine.Silence(), self.world.facts()))

    def jump(self, node: str) -> Call:
        return self._turn(engine.jump(self.flows, self.state, node, self.world.facts()))

    @property
    def wait(self):
        return self.reply.wait

    @property
    def enqueued(self) -> str | None:
        return self.wait.queue if isinstance(self.wait, replies.Enqueue) else None

    @property
    def hung_up(self) -> bool:
        return isinstance(self.wait, replies.Hangup)


def message(message_name: str, /, **values) -> str:
    """A message of the shipped call flow with its placeholders filled in."""
    return loaded().call_flow.messages[message_name].format(**values)


def offered(meaning: str, key: str | None = None) -> str:
    """How a prompt offers a key of the key map ("重听请按9。"), or another key for it."""
    option = getattr(loaded().call_flow.keys, meaning)
    spoken = {"*": "星号键", "#": "井号键"}
    key = key or option.key
    return message("menu_option", label=option.label, key=spoken.get(key, key))


def on(text: str) -> date:
    return date.fromisoformat(text)
