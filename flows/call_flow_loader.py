"""Reading ``call_flow.toml`` into a ``CallFlow``, checked before the service starts.

Every reference between nodes, every service code, every line and every
placeholder in a message is checked here, so a bad edit is refused with the
file and key instead of failing on a live call. So is what a caller hears
(SPEC §8): no symbol a voice would read out (``flows.speakable``), no key written
into a message, and one meaning per key in every menu (``[keys]``).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from domain.catalogue import Programme
from domain.hours import Line
from flows import speakable
from flows.call_flow import (
    AgentSettings,
    CallbackSettings,
    CallFlow,
    CallSettings,
    KeyMap,
    Limits,
    QueueSettings,
    SmsLink,
    Voice,
)
from flows.checks import TomlTable
from flows.exceptions import FlowError
from flows.lines import QUEUE_NAME_LIMIT
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

FILE = "call_flow.toml"
DTMF_KEYS = frozenset("0123456789*#")
SLOTS = ("suffix", "name")

# Placeholders every message may use: the call's line and the chosen insured person.
GENERAL = frozenset({"line_name", "line_phone", "hours", "next_opening", "insured"})
# The messages the code says, with the placeholders each one is given.
REQUIRED: dict[str, frozenset[str]] = {
    name: frozenset(fields)
    for name, fields in {
        "not_verified": (),
        "verify_gave_up": (),
        "verify_locked": (),
        "verify_ambiguous": (),
        "verified": (),
        "choose_insured_option": ("name", "key"),
        "menu_option": ("label", "key"),
        "no_input": (),
        "wrong_input": (),
        "too_many_wrong": (),
        "not_entitled_no_tier": ("service",),
        "not_entitled_not_in_tier": ("service", "tier"),
        "not_entitled_waiting": ("service", "date"),
        "not_entitled_quota": ("service", "quota", "used", "remaining", "unit", "date"),
        "critical_illness": ("service",),
        "sms_queued": ("service", "phone_tail"),
        "sms_unavailable": ("service",),
        "entitlements_tier": ("tier", "effective"),
        "entitlements_waiting": ("date",),
        "entitlements_no_tier": (),
        "entitlements_intro": (),
        "entitlements_unlimited": ("service",),
        "entitlements_remaining": ("service", "remaining", "unit"),
        "transferring": (),
        "callback_offer": ("key",),
        "callback_booked": ("when", "phone_tail"),
        "callback_soon": (),
        "callback_unavailable": (),
        "goodbye": (),
        "queue_position": ("ahead", "minutes"),
        "queue_head": (),
        "queue_leave": ("key",),
        "queue_connecting": (),
        "queue_failed": (),
        "degraded_transfer": (),
        "degraded_closed": (),
        "agent_unknown": (),
        "agent_no_queues": (),
        "agent_not_available": (),
        "callback_greeting": ("key",),
    }.items()
}
SPEECH: dict[str, frozenset[str]] = {
    "date": frozenset({"year", "month", "day"}),
    "hour": frozenset({"hour"}),
    "hour_minute": frozenset({"hour", "minute"}),
    "today": frozenset(),
    "tomorrow": frozenset(),
    "range": frozenset({"start", "end"}),
    "unit_times": frozenset(),
    "unit_days": frozenset(),
    "insured": frozenset(),
    "insured_self": frozenset({"name"}),
    "insured_order": frozenset({"order", "name"}),
    "star": frozenset(),
    "hash": frozenset(),
    "phone_digits": frozenset(),
}
# The meanings of [keys], one key each, which every menu answers alike.
KEY_MAP = ("repeat", "main_menu", "person")


def parse(doc: TomlTable, programme: Programme, lines: Mapping[str, Line]) -> CallFlow:
    doc.only(
        "voice",
        "call",
        "limits",
        "keys",
        "queue",
        "agents",
        "callbacks",
        "sms",
        "speech",
        "spoken_services",
        "messages",
        "nodes",
    )
    speech = _speech(doc.table("speech"))
    messages = _messages(doc.table("messages"))
    spoken_services = _spoken_services(doc.table("spoken_services", {}), programme)
    _refuse_unspeakable_names(programme, lines)
    raw_nodes = doc.table("nodes")
    names = set(raw_nodes.data)
    if not names:
        raise raw_nodes.error(None, "at least one node is required")

    def target(node: TomlTable, key: str, optional: bool = False) -> str | None:
        if optional and not node.has(key):
            return None
        value = node.text(key)
        if value not in names:
            raise node.error(key, f"no node named {value!r} in [nodes]")
        return value

    def line_code(node: TomlTable, key: str) -> str:
        value = node.text(key)
        if value not in lines:
            raise node.error(key, f"unknown line {value!r} (lines are: {', '.join(lines)})")
        return value

    def said(node: TomlTable, key: str, single: bool = False):
        """Names of messages said by a node; each must exist and use only GENERAL fields."""
        keys = [node.text(key)] if single else node.texts(key, [])
        for i, message in enumerate(keys):
            where = key if single else f"{key}[{i}]"
            if message not in messages:
                raise node.error(where, f"no message named {message!r} in [messages]")
            if REQUIRED.get(message):
                raise node.error(where, f"{message!r} is said by the code, with its own values")
        return keys[0] if single else tuple(keys)

    keys_node = doc.table("keys")
    keys = _key_map(keys_node, target)
    nodes: dict[str, FlowNode] = {}
    sms_services: set[str] = set()
    for name, node in raw_nodes.items():
        if not isinstance(node, TomlTable):
            raise raw_nodes.error(name, "must be a table")
        kind = node.choice(
            "type",
            (
                "say",
                "ask",
                "authenticate",
                "choose_insured",
                "menu",
                "service",
                "entitlements",
                "transfer",
                "callback_offer",
                "callback",
                "hangup",
            ),
        )
        if kind == "say":
            node.only("type", "say", "next")
            nodes[name] = Say(name, said(node, "say"), target(node, "next"))
        elif kind == "ask":
            nodes[name] = _ask(name, node, target, said)
        elif kind == "authenticate":
            node.only("type", "verified", "retry", "fallback")
            nodes[name] = Authenticate(
                name, target(node, "verified"), target(node, "retry"), target(node, "fallback")
            )
        elif kind == "choose_insured":
            node.only("type", "next", "none", "fallback", "silence", "silences")
            fallback = target(node, "fallback")
            nodes[name] = ChooseInsured(
                name,
                target(node, "next"),
                target(node, "none"),
                fallback,
                silence=target(node, "silence", optional=True) or fallback,
                silences=_silences(node),
            )
        elif kind == "menu":
            nodes[name] = _menu(name, node, target, said)
        elif kind == "service":
            node.only("type", "service", "transfer", "refused", "sent", "unsent")
            code = node.text("service")
            try:
                service = programme.service(code)
            except Exception:
                known = ", ".join(s.code for s in programme.services)
                raise node.error("service", f"unknown service {code!r} (known: {known})") from None
            sent = target(node, "sent", optional=True)
            unsent = target(node, "unsent", optional=True)
            if service.sms_link:
                for key, value in (("sent", sent), ("unsent", unsent)):
                    if value is None:
                        raise node.error(
                            key,
                            f"{code} is served by SMS link: name the node after it "
                            "(sent: the link is queued; unsent: SMS cannot be sent)",
                        )
                sms_services.add(code)
            else:
                for key, value in (("sent", sent), ("unsent", unsent)):
                    if value is not None:
                        raise node.error(key, f"{code} has no SMS link (sms_link in services.toml)")
            nodes[name] = ServiceNode(
                name, code, target(node, "transfer"), target(node, "refused"), sent, unsent
            )
        elif kind == "entitlements":
            node.only("type", "next")
            nodes[name] = Entitlements(name, target(node, "next"))
        elif kind == "transfer":
            node.only("type", "line", "closed")
            nodes[name] = Transfer(name, line_code(node, "line"), target(node, "closed"))
        elif kind == "callback_offer":
            node.only("type", "say", "key", "accept", "decline", "silences")
            nodes[name] = CallbackOffer(
                name,
                said(node, "say"),
                _free_key(node, "key", keys),
                target(node, "accept"),
                target(node, "decline"),
                silences=_silences(node),
            )
        elif kind == "callback":
            node.only("type", "next")
            nodes[name] = Callback(name, target(node, "next"))
        else:
            node.only("type", "say")
            nodes[name] = Hangup(name, said(node, "say"))

    for name, node in nodes.items():
        if isinstance(node, Transfer) and not isinstance(
            nodes[node.closed], CallbackOffer | Hangup
        ):
            raise raw_nodes.table(name).error("closed", "must name a callback_offer or hangup node")
    _refuse_loops(raw_nodes, nodes)
    _check_key_map(raw_nodes, keys_node, keys, nodes)

    call_node = doc.table("call")
    call_node.only("start", "lost", "line", "state_ttl_seconds")
    call = CallSettings(
        start=target(call_node, "start"),
        lost=target(call_node, "lost"),
        line=line_code(call_node, "line"),
        state_ttl_seconds=call_node.whole("state_ttl_seconds", minimum=60),
    )
    queue = _queue(doc.table("queue"), target, lines, keys, programme)
    return CallFlow(
        voice=_voice(doc.table("voice")),
        call=call,
        limits=_limits(doc.table("limits")),
        queue=queue,
        callbacks=_callbacks(doc.table("callbacks"), keys),
        sms=_sms(doc.table("sms", {}), programme, sms_services),
        speech=speech,
        messages=messages,
        nodes=nodes,
        keys=keys,
        spoken_services=spoken_services,
        agents=_agents(doc.table("agents", {})),
    )


def _key(node: TomlTable, key: str, default: Any = ...) -> str | None:
    """One telephone key; with ``default=None`` the key may be left out."""
    value = node.raw(key) if default is ... else node.raw(key, default)
    if value is None and default is None:
        return None
    if not isinstance(value, str) or value not in DTMF_KEYS:
        raise node.error(key, "must be one telephone key: 0-9, * or #")
    return value


def _free_key(node: TomlTable, key: str, keys: KeyMap) -> str:
    """A key outside the menus' key map: it must not mean something else there too."""
    value = _key(node, key)
    for meant in keys:
        if value == meant.key:
            raise node.error(key, f"key {value} means {meant.label} in every menu ([keys])")
    return value


def _silences(node: TomlTable) -> int | None:
    return node.whole("silences", minimum=1) if node.has("silences") else None


def _words(node: TomlTable, label: str) -> tuple[str, ...]:
    return tuple(node.texts("words", [label]))


def _label(node: TomlTable) -> str:
    """A label said in a prompt ("{label}请按{key}"): speakable words."""
    label = node.text("label")
    _refuse_symbols(node, "label", label)
    return label


def _key_map(node: TomlTable, target) -> KeyMap:
    node.only(*KEY_MAP)
    found = {}
    for meaning in KEY_MAP:
        entry = node.table(meaning)
        # Repeat leads nowhere else: the menu is said again.
        entry.only("key", "label", "words", *(("goto",) if meaning != "repeat" else ()))
        label = _label(entry)
        found[meaning] = Option(
            key=_key(entry, "key"),
            label=label,
            words=_words(entry, label),
            goto=target(entry, "goto") if meaning != "repeat" else "",
        )
    seen: dict[str, str] = {}
    for meaning, option in found.items():
        if option.key in seen:
            raise node.table(meaning).error(
                "key", f"key {option.key} is keys.{seen[option.key]} already"
            )
        seen[option.key] = meaning
    return KeyMap(**found)


def _ask(name, node, target, said) -> Ask:
    node.only(
        "type",
        "input",
        "slot",
        "prompt",
        "invalid",
        "silent",
        "next",
        "fallback",
        "silence",
        "silences",
        "num_digits",
        "operator",
    )
    kind = node.choice("input", ("digits", "speech"))
    prompt, invalid = said(node, "prompt", single=True), said(node, "invalid", single=True)
    silent = said(node, "silent", single=True)
    num_digits = 0
    if kind == "digits":
        num_digits = node.whole("num_digits", minimum=1)
        if num_digits > 20:
            raise node.error("num_digits", "must be at most 20")
    elif node.has("num_digits"):
        raise node.error("num_digits", "only a digits prompt takes num_digits")
    fallback = target(node, "fallback")
    return Ask(
        name=name,
        input=kind,
        slot=node.choice("slot", SLOTS),
        prompt=prompt,
        invalid=invalid,
        silent=silent,
        next=target(node, "next"),
        fallback=fallback,
        silence=target(node, "silence", optional=True) or fallback,
        num_digits=num_digits,
        operator=_key(node, "operator", None),
        silences=_silences(node),
    )


def _menu(name, node, target, said) -> Menu:
    node.only("type", "intro", "options", "fallback", "silence", "silences")
    options = []
    seen: set[str] = set()
    for option in node.tables("options"):
        option.only("key", "label", "words", "goto")
        key = _key(option, "key")
        if key in seen:
            raise option.error("key", f"key {key} is used twice in this menu")
        seen.add(key)
        label = _label(option)
        options.append(
            Option(key=key, label=label, words=_words(option, label), goto=target(option, "goto"))
        )
    fallback = target(node, "fallback")
    return Menu(
        name=name,
        options=tuple(options),
        fallback=fallback,
        silence=target(node, "silence", optional=True) or fallback,
        intro=said(node, "intro"),
        silences=_silences(node),
    )


def _check_key_map(
    raw_nodes: TomlTable, keys_node: TomlTable, keys: KeyMap, nodes: dict[str, FlowNode]
) -> None:
    """One meaning per key (SPEC §8): the key map's keys mean the same in every menu.

    A menu may not take the repeat or main-menu key for an option of its own; it may
    send the person key to a line of its own, but only to a transfer node. The key
    map's own destinations are checked the same way, and a prompt's operator key is
    the person key.
    """
    if not isinstance(nodes[keys.person.goto], Transfer):
        raise keys_node.table("person").error("goto", "must name a transfer node (a person)")
    if not isinstance(nodes[keys.main_menu.goto], Menu):
        raise keys_node.table("main_menu").error("goto", "must name a menu node")
    for name, node in nodes.items():
        raw = raw_nodes.table(name)
        if isinstance(node, Menu):
            for i, option in enumerate(node.options):
                where = raw.tables("options")[i]
                if option.key in (keys.repeat.key, keys.main_menu.key):
                    meant = keys.repeat if option.key == keys.repeat.key else keys.main_menu
                    raise where.error(
                        "key",
                        f"key {option.key} means {meant.label} in every menu ([keys]); "
                        "give this option another key",
                    )
                if option.key == keys.person.key and not isinstance(nodes[option.goto], Transfer):
                    raise where.error(
                        "goto",
                        f"key {option.key} means {keys.person.label} in every menu ([keys]): "
                        "it must lead to a transfer node",
                    )
        elif isinstance(node, Ask) and node.operator is not None:
            if node.operator != keys.person.key:
                raise raw.error(
                    "operator", f"the person key is {keys.person.key} in every menu ([keys])"
                )
            if not isinstance(nodes[node.fallback], Transfer):
                raise raw.error("fallback", "the operator key leads here: name a transfer node")


def _refuse_loops(raw_nodes: TomlTable, nodes: dict[str, FlowNode]) -> None:
    """A loop of nodes that never wait for the caller would spin forever on a live call."""

    def passes_to(node: FlowNode) -> tuple[str, ...]:
        if isinstance(node, Say | Entitlements | Callback):
            return (node.next,)
        if isinstance(node, Authenticate):
            return (node.verified, node.retry, node.fallback)
        if isinstance(node, ChooseInsured):
            return (node.next, node.none)
        if isinstance(node, ServiceNode):
            return tuple(n for n in (node.transfer, node.refused, node.sent, node.unsent) if n)
        if isinstance(node, Transfer):
            return (node.closed,)
        return ()

    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            loop = " → ".join([*path[path.index(name) :], name])
            raise raw_nodes.error(name, f"these nodes loop without waiting for the caller: {loop}")
        if name in done:
            return
        for following in passes_to(nodes[name]):
            visit(following, [*path, name])
        done.add(name)

    for name in nodes:
        visit(name, [])


def _fields(template: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _check_fields(node: TomlTable, key: str, template: str, allowed: frozenset[str]) -> None:
    try:
        fields = _fields(template)
    except ValueError as exc:
        raise node.error(key, f"not a valid template ({exc})") from None
    unknown = sorted(f for f in fields if f not in allowed)
    if unknown:
        raise node.error(
            key,
            f"unknown placeholder {{{unknown[0]}}} (this message may use: "
            f"{', '.join('{' + f + '}' for f in sorted(allowed)) or 'none'})",
        )


def _refuse_symbols(node: TomlTable, key: str, text: str) -> None:
    """Text a voice will say: no symbol it would read out or skip (``flows.speakable``)."""
    found = speakable.symbols(_literal(text))
    if found:
        raise node.error(
            key,
            f"{''.join(found)!r} would be read out as a symbol (or skipped) by text-to-speech: "
            "say it in words",
        )


def _literal(template: str) -> str:
    """The words of a template, without its {placeholders} (their values are checked apart)."""
    try:
        return "".join(text for text, _, _, _ in string.Formatter().parse(template))
    except ValueError:
        return template


def _messages(node: TomlTable) -> dict[str, str]:
    messages = {}
    for key, value in node.items():
        if not isinstance(value, str) or not value.strip():
            raise node.error(key, "must be a non-empty string")
        _check_fields(node, key, value, GENERAL | REQUIRED.get(key, frozenset()))
        _refuse_symbols(node, key, value)
        spelt = speakable.spelt_key(_literal(value))
        if spelt:
            raise node.error(
                key, f"{spelt!r} writes a key out: keys are said from [keys] through {{key}}"
            )
        messages[key] = value
    for key in REQUIRED:
        if key not in messages:
            raise node.error(key, "is required")
    return messages


def _speech(node: TomlTable) -> dict[str, str]:
    node.only(*SPEECH)
    out = {}
    for key, allowed in SPEECH.items():
        value = node.text(key)
        _check_fields(node, key, value, allowed)
        _refuse_symbols(node, key, value)
        out[key] = value
    if len(out["phone_digits"]) != 10:
        raise node.error("phone_digits", "must be ten characters: how 0 to 9 are said")
    return out


def _spoken_services(node: TomlTable, programme: Programme) -> dict[str, str]:
    """How services written with a symbol are said; every other name is said as written."""
    spoken = {}
    for code, value in node.items():
        try:
            programme.service(code)
        except Exception:
            raise node.error(code, f"unknown service {code!r}") from None
        if not isinstance(value, str) or not value.strip():
            raise node.error(code, "must be a non-empty string")
        _refuse_symbols(node, code, value)
        spoken[code] = value
    for i, service in enumerate(programme.services):
        found = speakable.symbols(service.name)
        if found and service.code not in spoken:
            raise node.error(
                service.code,
                f"is required: services.toml's services[{i}].name {service.name!r} has "
                f"{''.join(found)!r}, which text-to-speech would read out; say how it is said",
            )
    return spoken


def _refuse_unspeakable_names(programme: Programme, lines: Mapping[str, Line]) -> None:
    """Tier and line names are said as written, and a line's phone digit by digit."""
    for i, tier in enumerate(programme.tiers):
        found = speakable.symbols(tier.name)
        if found:
            raise FlowError(
                f"programme.toml: tiers[{i}].name: {''.join(found)!r} would be read out "
                "as a symbol by text-to-speech (the IVR says tier names): say it in words"
            )
    for code, line in lines.items():
        found = speakable.symbols(line.name)
        if found:
            raise FlowError(
                f"lines.toml: lines.{code}.name: {''.join(found)!r} would be read out "
                "as a symbol by text-to-speech (the IVR says line names): say it in words"
            )
        if not line.phone.replace("-", "").replace(" ", "").isdigit():
            raise FlowError(
                f"lines.toml: lines.{code}.phone: callers hear it digit by digit: "
                "only digits, spaces and - between groups"
            )


def _voice(node: TomlTable) -> Voice:
    node.only("language", "voice", "speech_language", "timeout", "speech_timeout", "hold_music")
    speech_timeout = node.raw("speech_timeout", "auto")
    if speech_timeout != "auto" and (
        isinstance(speech_timeout, bool)
        or not isinstance(speech_timeout, int)
        or speech_timeout < 1
    ):
        raise node.error("speech_timeout", 'must be "auto" or a whole number of seconds ≥ 1')
    hold_music = node.url("hold_music")
    return Voice(
        language=node.text("language"),
        voice=node.text("voice"),
        speech_language=node.text("speech_language"),
        timeout=node.whole("timeout", minimum=1),
        speech_timeout=str(speech_timeout),
        hold_music=hold_music,
    )


def _limits(node: TomlTable) -> Limits:
    node.only(
        "tries_per_call",
        "wrong_inputs",
        "silences",
        "failures_per_number",
        "failures_per_policyholder",
        "failure_window_hours",
        "service_level_seconds",
    )
    return Limits(
        tries_per_call=node.whole("tries_per_call", minimum=1),
        wrong_inputs=node.whole("wrong_inputs", minimum=1),
        silences=node.whole("silences", minimum=1),
        failures_per_number=node.whole("failures_per_number", minimum=1),
        failures_per_policyholder=node.whole("failures_per_policyholder", minimum=1),
        failure_window_seconds=node.whole("failure_window_hours", minimum=1) * 3600,
        service_level_seconds=node.whole("service_level_seconds", minimum=1),
    )


def _queue(
    node: TomlTable, target, lines: Mapping[str, Line], keys: KeyMap, programme: Programme
) -> QueueSettings:
    node.only(
        "leave_key",
        "on_leave",
        "on_error",
        "fallback_seconds_per_caller",
        "history_size",
        "history_minutes",
        "callback_suffix",
        "tier_priority",
        "max_priority_jump_seconds",
        "tier_jump_seconds",
    )
    suffix = node.text("callback_suffix")
    for line in lines.values():
        if len(line.queue + suffix) > QUEUE_NAME_LIMIT:
            raise node.error(
                "callback_suffix",
                f"queue {line.queue + suffix!r} would be longer than {QUEUE_NAME_LIMIT} characters",
            )
        if any(other.queue == line.queue + suffix for other in lines.values()):
            raise node.error("callback_suffix", "would name the same queue as another line")
    return QueueSettings(
        leave_key=_free_key(node, "leave_key", keys),
        on_leave=target(node, "on_leave"),
        on_error=target(node, "on_error"),
        fallback_seconds_per_caller=node.whole("fallback_seconds_per_caller", minimum=1),
        history_size=node.whole("history_size", minimum=2),
        history_seconds=node.whole("history_minutes", minimum=1) * 60,
        callback_suffix=suffix,
        **_tier_priority(node, programme),
    )


def _tier_priority(node: TomlTable, programme: Programme) -> dict:
    """Priority by tier: off unless asked for, and no tier jumps further than the bound."""
    most = node.whole("max_priority_jump_seconds", 60)
    jumps = node.table("tier_jump_seconds", {})
    known = {tier.code for tier in programme.tiers}
    seconds = {}
    for code, _ in jumps.items():
        if code not in known:
            raise jumps.error(code, f"unknown tier (tiers are: {', '.join(sorted(known))})")
        seconds[code] = jumps.whole(code)
        if seconds[code] > most:
            raise jumps.error(code, f"must be at most max_priority_jump_seconds ({most})")
    return {
        "tier_priority": node.flag("tier_priority", False),
        "max_priority_jump_seconds": most,
        "tier_jump_seconds": seconds,
    }


def _agents(node: TomlTable) -> AgentSettings:
    """The shift's timings; each has a default, so the section may be left out."""
    defaults = AgentSettings()
    node.only(
        "offer_seconds",
        "wrap_up_seconds",
        "desk_gone_seconds",
        "sweep_seconds",
        "reconcile_seconds",
    )
    sweep = node.whole("sweep_seconds", defaults.sweep_seconds, minimum=1)
    reconcile = node.whole("reconcile_seconds", defaults.reconcile_seconds, minimum=1)
    if reconcile < sweep:
        raise node.error("reconcile_seconds", "must be at least sweep_seconds")
    return AgentSettings(
        # Twilio's <Dial timeout> is 5 to 600 seconds.
        offer_seconds=_between(node, "offer_seconds", defaults.offer_seconds, 5, 600),
        wrap_up_seconds=node.whole("wrap_up_seconds", defaults.wrap_up_seconds),
        desk_gone_seconds=node.whole("desk_gone_seconds", defaults.desk_gone_seconds, 10),
        sweep_seconds=sweep,
        reconcile_seconds=reconcile,
    )


def _between(node: TomlTable, key: str, default: int, low: int, high: int) -> int:
    value = node.whole(key, default, minimum=low)
    if value > high:
        raise node.error(key, f"must be a whole number from {low} to {high}")
    return value


def _callbacks(node: TomlTable, keys: KeyMap) -> CallbackSettings:
    node.only("max_attempts", "retry_minutes", "ring_seconds", "answer_key")
    retry = node.raw("retry_minutes")
    if (
        not isinstance(retry, list)
        or not retry
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in retry)
    ):
        raise node.error("retry_minutes", "must be a non-empty list of whole minutes ≥ 1")
    return CallbackSettings(
        max_attempts=node.whole("max_attempts", minimum=1),
        retry_minutes=tuple(retry),
        ring_seconds=node.whole("ring_seconds", minimum=5),
        answer_key=_free_key(node, "answer_key", keys),
    )


def _sms(node: TomlTable, programme: Programme, needed: set[str]) -> dict[str, SmsLink]:
    links = {}
    for code, entry in node.items():
        if not isinstance(entry, TomlTable):
            raise node.error(code, "must be a table")
        entry.only("url", "text")
        try:
            service = programme.service(code)
        except Exception:
            raise node.error(code, f"unknown service {code!r}") from None
        if not service.sms_link:
            raise node.error(code, f"{code} has no SMS link (sms_link in services.toml)")
        url = entry.url("url")
        text = entry.text("text")
        _check_fields(entry, "text", text, frozenset({"url"}))
        links[code] = SmsLink(service=code, url=url, text=text)
    for code in sorted(needed - set(links)):
        raise node.error(code, f"{code} is offered in the menu: give its url and text")
    return links
