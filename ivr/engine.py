"""The call flow engine: ``(flows, state, input, facts) -> (new state, reply)``.

Pure: it reads the world through ``facts`` (``ivr.ports.Facts``) and returns
what to say, how to wait and which effects to run (``ivr.replies``). A webhook
turn (``ivr.turns``) renders the reply as TwiML and runs the effects
(``ivr.effects``). Nodes are those of
``flows/call_flow.toml`` (see ``flows.call_flow``).

What the caller hears follows SPEC §8: names are said masked with 某
(``domain.masking.spoken_name``), numbers on file digit by digit, keys as words
from the key map, which every menu answers the same way; silence and a wrong key
are counted apart and answered apart; and only a transfer node, as it puts the
caller in a queue, says that a transfer is under way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.eligibility import Eligibility, NotEntitled, ServiceEntitlement
from domain.masking import mask_name, spoken_name
from flows import Flows
from flows.nodes import (
    Ask,
    Authenticate,
    Callback,
    CallbackOffer,
    ChooseInsured,
    Entitlements,
    FlowNode,
    Hangup,
    Menu,
    Option,
    Say,
    ServiceNode,
    Transfer,
)
from ivr import keywords, names, replies
from ivr.call_state import CallState
from ivr.ports import Facts
from ivr.spoken import spoken_date, spoken_digits, spoken_hours, spoken_moment, spoken_number

# Nodes one turn may pass through before the engine decides the flow is broken.
MAX_HOPS = 64
ONE_DAY = timedelta(days=1)


# -- what the caller did -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Digits:
    value: str


@dataclass(frozen=True, slots=True)
class Speech:
    text: str


@dataclass(frozen=True, slots=True)
class Silence:
    pass


Event = Digits | Speech | Silence


class FlowBroken(RuntimeError):
    """The nodes loop without waiting; flows.load refuses such files, so this is a bug."""


# -- entry points --------------------------------------------------------------------------


def start(flows: Flows, state: CallState, facts: Facts) -> tuple[CallState, replies.Reply]:
    """A new call: run from the flow's start node."""
    return jump(flows, state, flows.call_flow.call.start, facts)


def jump(
    flows: Flows, state: CallState, node: str, facts: Facts
) -> tuple[CallState, replies.Reply]:
    """Continue the call at ``node`` (a queue the caller left, a lost state)."""
    turn = _Turn(flows, state, facts)
    turn.enter(node)
    return turn.state, turn.reply


def step(
    flows: Flows, state: CallState, event: Event, facts: Facts
) -> tuple[CallState, replies.Reply]:
    """The caller answered the node the call waits at."""
    turn = _Turn(flows, state, facts)
    turn.answer(event)
    return turn.state, turn.reply


# -- one turn ------------------------------------------------------------------------------


class _Fields(dict):
    """Message placeholders; the general ones are worked out only when a message uses them."""

    def __init__(self, flows: Flows, now, line: str | None, insured: str | None, values: dict):
        # ``insured``: the chosen insured person's masked name (张*明), said as 张某明.
        super().__init__(values)
        self.flows, self.now, self.line, self.insured = flows, now, line, insured

    def __missing__(self, key: str) -> str:
        value = _general(self.flows, key, self.now, self.line, self.insured)
        self[key] = value
        return value


def _general(flows: Flows, key: str, now, line_code: str | None, insured: str | None) -> str:
    speech = flows.call_flow.speech
    if key == "insured":
        return spoken_name(insured) or speech["insured"]
    line = flows.line(line_code or flows.call_flow.call.line)
    if key == "line_name":
        return line.name
    if key == "line_phone":
        return spoken_digits(flows.call_flow.speech, line.phone)
    now = now() if callable(now) else now
    if key == "hours":
        return spoken_hours(speech, line, now)
    if key == "next_opening":
        opening = line.next_opening(now)
        return spoken_moment(speech, opening, now) if opening else line.phone
    raise KeyError(key)


def spoken_key(flows: Flows, key: str) -> str:
    """A telephone key as said: 1, 星号键, 井号键."""
    speech = flows.call_flow.speech
    return {"*": speech["star"], "#": speech["hash"]}.get(key, key)


def phrase(
    flows: Flows,
    message: str,
    now: datetime,
    line: str | None = None,
    insured: str | None = None,
    **values,
) -> str:
    """A message of the call flow with its placeholders filled in, outside a call's turn."""
    return flows.call_flow.messages[message].format_map(_Fields(flows, now, line, insured, values))


class _Turn:
    def __init__(self, flows: Flows, state: CallState, facts: Facts):
        self.flows = flows
        self.flow = flows.call_flow
        self.state = state.copy()
        self.facts = facts
        self.reply = replies.Reply()
        self.hops = 0
        self._now: datetime | None = None
        self._eligibility: dict[str, Eligibility] = {}

    # -- helpers ---------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        if self._now is None:
            self._now = self.facts.now()
        return self._now

    def say(self, message: str, **values) -> None:
        fields = _Fields(
            self.flows, lambda: self.now, self.state.line, self.state.insured_name, values
        )
        self.reply.prompts.append(replies.Say(self.flow.messages[message].format_map(fields)))

    def say_option(self, option: Option) -> None:
        self.say("menu_option", label=option.label, key=self.spoken_key(option.key))

    def eligibility(self) -> Eligibility | None:
        insured = self.state.insured_id
        if insured is None:
            return None
        if insured not in self._eligibility:
            self._eligibility[insured] = self.facts.eligibility(insured)
        return self._eligibility[insured]

    def spoken_key(self, key: str) -> str:
        return spoken_key(self.flows, key)

    def phone_tail(self, number: str) -> str:
        """The last four digits, said one by one (五六七八, not 五千六百七十八)."""
        return spoken_digits(self.flow.speech, number[-4:])

    def unit(self, entitlement: ServiceEntitlement) -> str:
        return self.flow.speech[f"unit_{entitlement.service.unit}"]

    def wait_for(self, node: FlowNode, speech: bool, num_digits: int, hints=()) -> None:
        self.state.node = node.name
        self.reply.wait = replies.Gather(speech=speech, num_digits=num_digits, hints=tuple(hints))

    # -- walking the nodes -------------------------------------------------------------

    def enter(self, name: str, fresh: bool = True) -> None:
        """Run nodes from ``name`` until one waits for the caller or the call leaves the IVR."""
        while name is not None:
            self.hops += 1
            if self.hops > MAX_HOPS:
                raise FlowBroken(f"more than {MAX_HOPS} nodes in one turn, last {name!r}")
            node = self.flow.node(name)
            if fresh:
                self.state.wrong = self.state.silences = 0
            fresh = True
            name = self._enter(node)

    def _enter(self, node: FlowNode) -> str | None:
        state = self.state
        if isinstance(node, Say):
            for message in node.say:
                self.say(message)
            return node.next
        if isinstance(node, Ask):
            self.say(node.prompt)
            if node.operator is not None:
                self.say_option(self.flow.keys.person)
            speech = node.input == "speech"
            # A speech prompt still takes one key: the operator key.
            self.wait_for(node, speech, 1 if speech else node.num_digits)
            return None
        if isinstance(node, Authenticate):
            return self._authenticate(node)
        if isinstance(node, ChooseInsured):
            return self._choose_insured(node)
        if isinstance(node, Menu):
            self._menu_prompt(node)
            return None
        if isinstance(node, ServiceNode):
            return self._service(node)
        if isinstance(node, Entitlements):
            self._read_entitlements()
            return node.next
        if isinstance(node, Transfer):
            state.line = node.line
            line = self.flows.line(node.line)
            if not line.is_open(self.now):
                return node.closed
            self.say("transferring")
            state.node = node.name
            state.queue = line.queue
            self.reply.wait = replies.Enqueue(line=line.code, queue=line.queue)
            return None
        if isinstance(node, CallbackOffer):
            for message in node.say:
                self.say(message)
            self._offer_prompt(node)
            return None
        if isinstance(node, Callback):
            self._book_callback()
            return node.next
        if isinstance(node, Hangup):
            for message in node.say:
                self.say(message)
            state.node = node.name
            self.reply.wait = replies.Hangup()
            return None
        raise FlowBroken(f"unknown node {node!r}")

    def answer(self, event: Event) -> None:
        node = self.flow.nodes.get(self.state.node)
        if node is None:
            self.enter(self.flow.call.lost)
            return
        if isinstance(node, Ask):
            self._answer_ask(node, event)
        elif isinstance(node, Menu):
            self._answer_menu(node, event)
        elif isinstance(node, ChooseInsured) and self.state.choices:
            self._answer_choice(node, event)
        elif isinstance(node, CallbackOffer):
            self._answer_offer(node, event)
        else:
            # Nothing was asked here (a stale request): say again where the call is.
            self.enter(node.name)

    def wrong(self, node: FlowNode, message: str, fallback: str) -> None:
        """A wrong answer: said so and asked again, or, once too many, the node's fallback."""
        self.state.wrong += 1
        if self.state.wrong >= self.flow.limits.wrong_inputs:
            self.say("too_many_wrong")
            self._unverified("invalid")
            self.enter(fallback)
            return
        self.say(message)
        self.again(node)

    def silent(self, node: FlowNode, message: str, silence: str, limit: int | None) -> None:
        """No answer: said so and asked again, or, once too many, the node's silence node."""
        self.state.silences += 1
        self.say(message)
        if self.state.silences >= (limit or self.flow.limits.silences):
            self._unverified("silent")
            self.enter(silence)
            return
        self.again(node)

    def again(self, node: FlowNode) -> None:
        """Ask the node's question again, keeping its counts."""
        if isinstance(node, ChooseInsured):
            self._choice_prompt(node)
        elif isinstance(node, CallbackOffer):
            self._offer_prompt(node)
        else:
            self.enter(node.name, fresh=False)

    def _unverified(self, reason: str) -> None:
        if not self.state.verified and self.state.unverified_reason is None:
            self.state.unverified_reason = reason

    # -- authentication (SPEC §4 step 2) --------------------------------------------------

    def _answer_ask(self, node: Ask, event: Event) -> None:
        if node.operator is not None and isinstance(event, Digits) and event.value == node.operator:
            self._unverified("operator")
            self.enter(node.fallback)
            return
        if isinstance(event, Silence):
            self.silent(node, node.silent, node.silence, node.silences)
            return
        value = None
        if node.input == "digits" and isinstance(event, Digits):
            digits = event.value.strip().rstrip("#")
            if len(digits) == node.num_digits and digits.isascii() and digits.isdigit():
                value = digits
        elif node.input == "speech" and isinstance(event, Speech) and names.spoken_name(event.text):
            value = event.text.strip()
        if value is None:
            # A key where a name was asked for is a wrong key, not a name misheard.
            keyed = node.input == "speech" and isinstance(event, Digits)
            self.wrong(node, "wrong_input" if keyed else node.invalid, node.fallback)
            return
        if node.slot == "suffix":
            self.state.suffix = value
        else:
            self.state.spoken_name = value
        self.enter(node.next)

    def _authenticate(self, node: Authenticate) -> str:
        state, limits = self.state, self.flow.limits
        # Used once, then forgotten: the state is kept in Redis for the rest of the call.
        suffix, spoken = state.suffix, state.spoken_name
        state.suffix = state.spoken_name = None
        found = self.facts.candidates(suffix or None, state.caller_key)
        holders, failures = found.holders, found.failures
        ids = tuple(dict.fromkeys(h.id for h in holders))
        locked = failures.by_number >= limits.failures_per_number or any(
            failures.by_policyholder.get(i, 0) >= limits.failures_per_policyholder for i in ids
        )
        # Whether the name matched is not looked at when locked: the answer must not
        # differ between right and wrong details, or redialling would reveal them.
        if locked:
            self.say("verify_locked")
            self._unverified("locked")
            return node.fallback
        matched = names.matching(spoken, [(h.id, h.name) for h in holders])
        if len(matched) == 1:
            holder = next(h for h in holders if h.id == matched[0])
            state.verified = True
            state.unverified_reason = None
            state.policyholder_id = holder.id
            state.policyholder_phone = holder.phone
            self.say("verified")
            return node.verified
        if len(matched) > 1:
            self.say("verify_ambiguous")
            self._unverified("ambiguous")
            return node.fallback
        self.reply.effects.append(replies.RecordAuthFailure(state.caller_key, ids))
        state.tries += 1
        if state.tries >= limits.tries_per_call:
            self.say("verify_gave_up")
            self._unverified("failed")
            return node.fallback
        self.say("not_verified")
        return node.retry

    # -- insured people (SPEC §4 step 3) ---------------------------------------------------

    def _choose_insured(self, node: ChooseInsured) -> str | None:
        state = self.state
        people = self.facts.insured_people(state.policyholder_id) if state.verified else ()
        with_tier = []
        for person in people:
            if self.facts.tier(person.id) is not None:
                with_tier.append(person)
        if not with_tier:
            state.choices = []
            return node.none
        if len(with_tier) == 1:
            self._choose(with_tier[0].id, mask_name(with_tier[0].name))
            return node.next
        keys = self._choice_keys(len(with_tier))
        state.choices = [
            [p.id, mask_name(p.name), key] for p, key in zip(with_tier, keys, strict=True)
        ]
        self._choice_prompt(node)
        return None

    def _choice_keys(self, count: int) -> list[str]:
        """1, 2, 3 …, skipping the key map's keys: 9 repeats here as in every menu."""
        taken = {option.key for option in self.flow.keys}
        keys, n = [], 0
        while len(keys) < count:
            n += 1
            if str(n) not in taken:
                keys.append(str(n))
        return keys

    def _choice_names(self) -> list[str]:
        """The offered people as said: 张某明, told apart when their names sound alike.

        A masked name leaves only a surname and perhaps a last character, so two
        people may sound the same (张某 and 章某). The feed has no relation or year
        of birth; the policyholder is told apart as themselves, the others by their
        place in the list (第二位张某).
        """
        speech = self.flow.speech
        said = [spoken_name(masked) for _, masked, _ in self.state.choices]
        sounds = [names.normalise(name) for name in said]
        out = []
        for i, ((insured_id, _, _), name) in enumerate(zip(self.state.choices, said, strict=True)):
            alike = [
                j
                for j, other in enumerate(sounds)
                if j != i and names.sounds_alike(sounds[i], other)
            ]
            if not alike:
                out.append(name)
            elif insured_id == self.state.policyholder_id:
                out.append(speech["insured_self"].format(name=name))
            elif all(self.state.choices[j][0] == self.state.policyholder_id for j in alike):
                out.append(name)  # the only one alike is the policyholder, told apart already
            else:
                out.append(speech["insured_order"].format(order=spoken_number(i + 1), name=name))
        return out

    def _choice_prompt(self, node: ChooseInsured) -> None:
        for (_, _, key), name in zip(self.state.choices, self._choice_names(), strict=True):
            self.say("choose_insured_option", name=name, key=self.spoken_key(key))
        self.say_option(self.flow.keys.person)
        self.say_option(self.flow.keys.repeat)
        digits = max(len(key) for _, _, key in self.state.choices)
        self.wait_for(node, True, digits)

    def _choose(self, insured_id: str, masked: str) -> None:
        self.state.insured_id = insured_id
        self.state.insured_name = masked
        self.state.choices = []

    def _answer_choice(self, node: ChooseInsured, event: Event) -> None:
        if isinstance(event, Silence):
            self.silent(node, "no_input", node.silence, node.silences)
            return
        keys = self.flow.keys
        key = _key(event, multi=True)
        if key is None and isinstance(event, Speech):
            key = keywords.heard(event.text, [(o.key, o.words) for o in (keys.person, keys.repeat)])
        chosen = next((c for c in self.state.choices if c[2] == key), None)
        if chosen is not None:
            self._choose(chosen[0], chosen[1])
            self.enter(node.next)
        elif key == keys.repeat.key:
            self._choice_prompt(node)
        elif key == keys.person.key:
            self.enter(keys.person.goto)
        else:
            self.wrong(node, "wrong_input", node.fallback)

    # -- menus (SPEC §4 step 4) --------------------------------------------------------------

    def _menu_prompt(self, node: Menu) -> None:
        for message in node.intro:
            self.say(message)
        options = self.flow.menu_options(node)
        for option in options:
            # The main menu does not offer to go back to itself.
            if option.goto != node.name:
                self.say_option(option)
        hints = [word for option in options for word in option.words]
        self.wait_for(node, True, 1, hints)

    def _answer_menu(self, node: Menu, event: Event) -> None:
        if isinstance(event, Silence):
            self.silent(node, "no_input", node.silence, node.silences)
            return
        options = self.flow.menu_options(node)
        key = _key(event)
        if key is None and isinstance(event, Speech):
            key = keywords.heard(event.text, [(o.key, o.words) for o in options])
        if key == self.flow.keys.repeat.key:
            self.enter(node.name, fresh=False)
            return
        option = next((o for o in options if o.key == key), None)
        if option is None:
            self.wrong(node, "wrong_input", node.fallback)
            return
        self.enter(option.goto)

    def _offer_prompt(self, node: CallbackOffer) -> None:
        self.say("callback_offer", key=self.spoken_key(node.key))
        self.say_option(self.flow.keys.repeat)
        self.wait_for(node, True, 1)

    def _answer_offer(self, node: CallbackOffer, event: Event) -> None:
        if isinstance(event, Silence):
            # The offer said to hang up otherwise: no answer declines it.
            self.silent(node, "no_input", node.decline, node.silences)
            return
        key = _key(event)
        if key == node.key:
            self.enter(node.accept)
        elif key == self.flow.keys.repeat.key:
            self.enter(node.name, fresh=False)
        else:
            self.wrong(node, "wrong_input", node.decline)

    # -- services (SPEC §4 step 5) ------------------------------------------------------------

    def _service(self, node: ServiceNode) -> str:
        state = self.state
        state.service = node.service
        service = self.flows.programme.service(node.service)
        name = self.flow.service_name(service)
        eligibility = self.eligibility()
        entitlement = eligibility.service(node.service) if eligibility else None
        if entitlement is None or not entitlement.entitled:
            self._explain_refusal(name, eligibility, entitlement)
            return node.refused
        if service.sms_link and node.sent:
            # Said to be on its way only when it is: queued, with a number to send it to.
            if not state.policyholder_phone or not self.facts.sms_available(state.called):
                self.say("sms_unavailable", service=name)
                return node.unsent
            link = self.flow.sms[service.code]
            self.reply.effects.append(
                replies.SendSmsLink(
                    service=service.code,
                    to=state.policyholder_phone,
                    body=link.body(),
                    policyholder_id=state.policyholder_id,
                    insured_id=state.insured_id,
                )
            )
            self.say(
                "sms_queued", service=name, phone_tail=self.phone_tail(state.policyholder_phone)
            )
            return node.sent
        if service.requires_critical_illness:
            self.say("critical_illness", service=name)
        return node.transfer

    def _explain_refusal(
        self,
        service_name: str,
        eligibility: Eligibility | None,
        entitlement: ServiceEntitlement | None,
    ) -> None:
        reason = entitlement.reason if entitlement else NotEntitled.NO_TIER
        if reason is NotEntitled.NOT_IN_TIER:
            self.say("not_entitled_not_in_tier", service=service_name, tier=eligibility.tier.name)
        elif reason is NotEntitled.WAITING_PERIOD:
            usable = eligibility.waiting_period_ends + ONE_DAY
            self.say(
                "not_entitled_waiting",
                service=service_name,
                date=spoken_date(self.flow.speech, usable),
            )
        elif reason is NotEntitled.QUOTA_USED:
            self.say(
                "not_entitled_quota",
                service=service_name,
                quota=entitlement.quota,
                used=entitlement.used,
                remaining=entitlement.remaining,
                unit=self.unit(entitlement),
                date=spoken_date(self.flow.speech, eligibility.period_end + ONE_DAY),
            )
        else:
            self.say("not_entitled_no_tier", service=service_name)

    def _read_entitlements(self) -> None:
        eligibility = self.eligibility()
        if eligibility is None or eligibility.tier is None:
            self.say("entitlements_no_tier")
            return
        speech = self.flow.speech
        self.say(
            "entitlements_tier",
            tier=eligibility.tier.name,
            effective=spoken_date(speech, eligibility.service_effective_from),
        )
        if eligibility.in_waiting_period:
            self.say(
                "entitlements_waiting", date=spoken_date(speech, eligibility.waiting_period_ends)
            )
        self.say("entitlements_intro")
        for entitlement in eligibility.services:
            if entitlement.quota is None:
                self.say(
                    "entitlements_unlimited", service=self.flow.service_name(entitlement.service)
                )
            elif entitlement.quota > 0:
                self.say(
                    "entitlements_remaining",
                    service=self.flow.service_name(entitlement.service),
                    remaining=entitlement.remaining,
                    unit=self.unit(entitlement),
                )

    # -- callbacks ------------------------------------------------------------------------------

    def _book_callback(self) -> None:
        state = self.state
        line = self.flows.line(state.line or self.flow.call.line)
        state.line = line.code
        number = state.policyholder_phone if state.verified else state.caller
        opening = None if line.is_open(self.now) else line.next_opening(self.now)
        if number is None or (opening is None and not line.is_open(self.now)):
            self.say("callback_unavailable")
            return
        due = opening or self.now
        self.reply.effects.append(
            replies.CallbackRequest(
                line=line.code,
                number=number,
                due=due,
                verified=state.verified,
                policyholder_id=state.policyholder_id,
                insured_id=state.insured_id,
                service=state.service,
            )
        )
        when = (
            spoken_moment(self.flow.speech, opening, self.now)
            if opening
            else self.flow.messages["callback_soon"]
        )
        self.say("callback_booked", when=when, phone_tail=self.phone_tail(number))


def _key(event: Event, multi: bool = False) -> str | None:
    """The key pressed or said; one key, unless ``multi`` (a choice of ten or more)."""
    if isinstance(event, Digits):
        value = event.value.strip()
        if multi:
            value = value.rstrip("#")
            return value or None
        return value if len(value) == 1 else None
    if isinstance(event, Speech):
        return keywords.spoken_key(event.text)
    return None
