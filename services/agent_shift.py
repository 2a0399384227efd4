"""An agent's shift (SPEC §6): their state changed in Redis, logged in SQL, calls offered.

Every change goes through ``change``: the rule of ``domain.agent_states`` applied
atomically in Redis (``live.agent_states``), then a new spell written to the SQL log
(``services.agent_log``; a failure there is logged, never the agent's problem), the
wrap-up's length noted on the call's record when it ends, and — when the agent
becomes available — the distribution asked to offer them a waiting caller.

``Refused`` (``domain.agent_states``) comes back to the caller of these functions,
who turns it into HTTP or TwiML.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from adapters import background, twilio_rest
from domain import agent_states as rules
from domain.agent_states import AgentState, Status
from live import agent_states, keys, store
from live.agent_states import Change, Rule
from runtime import current_clock, current_flows
from services import accounts, agent_log, call_records
from storage import db
from storage.models import Agent

log = logging.getLogger(__name__)
# The distribution's background run: the in-process loop's name, and the rq job.
DISPATCH = "dispatch"
DISPATCH_JOB = "services.distribution.dispatch_job"


@dataclass(frozen=True, slots=True)
class Shown:
    """An agent's state as ``GET /api/agents/me`` gives it."""

    username: str
    state: AgentState

    def as_dict(self, now: datetime | None = None) -> dict:
        state = self.state
        out = {
            "username": self.username,
            "status": str(state.status),
            "since": state.since.isoformat() if state.since else None,
            "next": str(state.next) if state.next else None,
            "reason": state.reason,
            "queues": list(state.queues),
            "call_sid": state.call_sid,
        }
        if state.status is Status.WRAP_UP and state.wrap_up_until is not None:
            out["wrap_up_until"] = state.wrap_up_until.isoformat()
            out["wrap_up_extended"] = state.extended
        if now is not None:
            out["seconds"] = int((now - state.since).total_seconds()) if state.since else None
        return out


def change(username: str, rule: Rule, log_now: bool = True) -> Change:
    """Apply ``rule`` to the agent's state; log it, note it, offer them a call if available.

    ``log_now=False``: the SQL log is left to the caller (``record``)."""
    return record(agent_states.change(store.redis(), username, rule), log_now)


def record(done: Change, log_now: bool = True) -> Change:
    """What follows a change made in Redis: the offers, the SQL log, the call's record.

    An agent who became available is offered a call first: nothing written to SQL
    delays it. ``log_now=False`` leaves the SQL log to the caller (``write_log``), who
    writes a batch of changes at once.
    """
    if not done.new_spell:
        return done
    log.info(
        "agent %s: %s → %s%s",
        done.username,
        done.before.status,
        done.after.status,
        f" ({done.after.reason})" if done.after.reason else "",
    )
    if done.after.status is Status.AVAILABLE:
        # Becoming available counts as the desk being there, for a while.
        agent_states.desk_seen(
            store.redis(), done.username, current_flows().call_flow.agents.desk_gone_seconds
        )
        ask_for_offers()
    if log_now:
        write_log([done])
    if done.before.status is Status.WRAP_UP and done.before.call_sid:
        _note_wrap_up(done)
    return done


def write_log(changes: list[Change]) -> None:
    """Each change's new spell in the SQL log, in one transaction; a failure is logged."""
    changes = [done for done in changes if done.new_spell]
    if not changes:
        return
    session = db.session()
    try:
        for done in changes:
            agent_log.opened(session, done.username, done.after)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("%s agent state change(s) not logged in SQL", len(changes))


def ask_for_offers() -> None:
    """Have the distribution look for callers to offer, soon and in the background.

    Its run (``services.distribution.run``) calls Twilio's REST API, so it never runs
    here: an rq job does, or without Redis the web process's loop (``adapters.background``).
    Without Twilio's settings nothing would be offered: nothing is asked.
    """
    app = current_app._get_current_object()
    if twilio_rest.missing_for_queues(app):
        return
    background.kick(app, DISPATCH, DISPATCH_JOB, keys.DISPATCH_ASKED)


def _note_wrap_up(done: Change) -> None:
    began, ended = done.before.since, done.after.since
    if began is None or ended is None:
        return
    session = db.session()
    try:
        call_records.note(
            session,
            done.before.call_sid,
            began,
            wrap_up_seconds=max(0, round((ended - began).total_seconds())),
        )
        session.commit()
    except Exception:
        session.rollback()
        log.exception("call %s: wrap-up not noted", done.before.call_sid)


# -- what agents do ------------------------------------------------------------------------


def get(username: str) -> Shown:
    return Shown(username, agent_states.get(store.redis(), username))


def choose(agent: Agent, wanted: str, reason: str | None = None) -> Change:
    """The agent asks for a status (``available``, ``break`` or ``offline``)."""
    now = current_clock().now()
    queues = tuple(agent.queue_list)
    return change(agent.username, lambda s: rules.choose(s, wanted, now, reason, queues))


def sign_out(username: str) -> Change:
    now = current_clock().now()
    return change(username, lambda s: rules.sign_out(s, now))


def desk_seen(username: str) -> None:
    """The agent's desk is open (its event stream is connected)."""
    agent_states.desk_seen(
        store.redis(), username, current_flows().call_flow.agents.desk_gone_seconds
    )


def end_wrap_up(username: str) -> Change:
    now = current_clock().now()
    return change(username, lambda s: rules.end_wrap_up(s, now))


def extend_wrap_up(username: str) -> Change:
    now = current_clock().now()
    seconds = current_flows().call_flow.agents.wrap_up_seconds
    return change(username, lambda s: rules.extend_wrap_up(s, now, seconds))


# -- what calls do -------------------------------------------------------------------------


def answered(username: str, call_sid: str, leg: str | None = None) -> Change:
    now = current_clock().now()
    return change(username, lambda s: rules.answer(s, call_sid, now, leg))


def hung_up(username: str, call_sid: str | None, leg: str | None = None) -> Change:
    now = current_clock().now()
    seconds = current_flows().call_flow.agents.wrap_up_seconds
    return change(username, lambda s: rules.hang_up(s, call_sid, now, seconds, leg))


def missed(username: str, call_sid: str) -> Change:
    now = current_clock().now()
    return change(username, lambda s: rules.miss(s, call_sid, now))


def withdrawn(
    username: str, call_sid: str | None, leg: str | None = None, log_now: bool = True
) -> Change:
    now = current_clock().now()
    return change(username, lambda s: rules.withdraw(s, call_sid, now, leg), log_now)


def pulled(username: str, leg: str | None) -> Change:
    """The agent's phone asks for the next caller itself (the TwiML App): reserve the agent."""
    now = current_clock().now()
    return change(username, lambda s: rules.offer(s, None, now, leg))


def quietly(action, *args, **kwargs) -> Change | None:
    """``action(*args, **kwargs)``, or None when the rules refuse it (a retried or late
    webhook)."""
    try:
        return action(*args, **kwargs)
    except rules.Refused as refused:
        log.info("%s%s refused: %s", action.__name__, args, refused.message)
        return None


# -- the sweep -------------------------------------------------------------------------------


def sweep(now: datetime) -> dict[str, int]:
    """Wrap-ups over, offers never answered, desks gone: each agent moved on (counts)."""
    redis = store.redis()
    settings = current_flows().call_flow.agents
    counts = {"wrap_up_over": 0, "offer_expired": 0, "desk_gone": 0}
    for username, _ in agent_states.in_status(redis, Status.WRAP_UP):
        if quietly(change, username, lambda s: rules.wrap_up_over(s, now)):
            counts["wrap_up_over"] += 1
    # An offer's ring ends after offer_seconds and Twilio then requests the Dial action;
    # an agent still offered long after that lost that request (or their pulled call).
    stale = now.timestamp() - 2 * settings.offer_seconds - 30
    for username, _ in agent_states.in_status(redis, Status.OFFERED, until=stale):
        state = agent_states.get(redis, username)
        if quietly(withdrawn, username, state.call_sid, state.leg):
            counts["offer_expired"] += 1
    available = [name for name, _ in agent_states.in_status(redis, Status.AVAILABLE)]
    for username in set(available) - agent_states.desks_open(redis, available):
        if quietly(change, username, lambda s: rules.desk_gone(s, now)):
            counts["desk_gone"] += 1
    return counts


def restore_if_lost() -> int:
    """After Redis lost the states (no ``kept`` marker), put back each agent's from SQL."""
    redis = store.redis()
    if agent_states.kept(redis):
        return 0
    session = db.session()
    spells = agent_log.open_spells(session)
    staff = {
        a.username: a
        for a in session.scalars(select(Agent).where(Agent.username.in_(list(spells))))
    }
    settings = current_flows().call_flow.agents
    states = {}
    for username, state in spells.items():
        account = staff.get(username)
        if account is None or account.role != accounts.AGENT:
            continue
        until = None
        if state.status is Status.WRAP_UP:
            until = state.since + timedelta(seconds=settings.wrap_up_seconds)
        states[username] = AgentState(
            status=state.status,
            since=state.since.astimezone(current_clock().tz),
            reason=state.reason,
            call_sid=state.call_sid,
            wrap_up_until=until.astimezone(current_clock().tz) if until else None,
            queues=tuple(account.queue_list),
        )
    restored = agent_states.restore(redis, states)
    for username, state in states.items():
        if state.status is Status.AVAILABLE:
            # Their desks' heartbeats went with Redis: the usual grace to reconnect.
            agent_states.desk_seen(redis, username, settings.desk_gone_seconds)
    if restored:
        log.warning("Redis had lost the agents' states: %s restored from the SQL log", restored)
    return restored
