"""Automatic call distribution (SPEC §6): waiting callers offered to available agents.

It runs in the background only, never inside a webhook (it calls Twilio's REST API):
as rq jobs in the worker — ``dispatch_job`` whenever something may have made an offer
possible (``agent_shift.ask_for_offers``: a caller confirmed in Twilio's queue, an
agent available, an offer failed) and ``sweep_job`` every ``[agents] sweep_seconds`` —
or, without Redis, in the web process's loop (``loop``), kicked and timed alike.

One run (``run``):

1. on a sweep: agents' states restored if Redis lost them, wrap-ups over, offers never
   answered and closed desks moved on (``agent_shift.sweep``), and every
   ``reconcile_seconds`` the waiting lists checked against Twilio's queue members
   (``reconcile``: a lost leave notification heals, a caller Redis forgot is found);
2. the callers Twilio holds (confirmed by a waitUrl) and nobody is being offered are
   matched with available agents (``domain.distribution``), and each pair reserved
   atomically (``live.offers.reserve``);
3. per offer: the screen-pop on the agent's stream (``offer: true``, ``expires_in``),
   then Twilio asked to take the caller out of its queue to the offer's URL
   (``/ivr/offer``, where the agent's browser phone is dialled). A refused request
   calls the offer off; the agent is not to blame.

Without Twilio's credentials and ``PUBLIC_BASE_URL`` nothing is offered (the demo's
simulator still lets agents take calls themselves, through ``/ivr/agent``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Flask, current_app
from redis.exceptions import LockError

from adapters import background, twilio_rest
from adapters.exceptions import MemberGone
from domain import agent_states as rules
from domain import distribution
from domain.agent_states import Status
from flows import CALLBACKS, Flows
from live import agent_states, announcements, keys, offers, queueboard, store
from runtime import current_clock, current_flows
from services import agent_shift

log = logging.getLogger(__name__)

DISPATCH_JOB = agent_shift.DISPATCH_JOB
SWEEP_JOB = "services.distribution.sweep_job"
# The webhook Twilio is sent to with a dequeued caller (``ivr.views``).
OFFER_PATH = "/ivr/offer"
# Offers sent to Twilio at once (each a REST request of its own).
SENDERS = 8
# Plans made in one run when other runs keep taking its callers or agents first.
PLANS = 5
# How long one run may hold the planning lock (its plans and reservations take ms).
PLANNING_SECONDS = 10
# A caller listed as waiting but not (or no longer) confirmed in Twilio's queue for this
# long, and absent from its members, is taken as gone.
UNCONFIRMED_GRACE_SECONDS = 600


def enabled(app: Flask) -> bool:
    """Whether calls are offered: Twilio's REST API and the public URL are configured."""
    return not twilio_rest.missing_for_queues(app)


# -- the background entry points ---------------------------------------------------------


def dispatch_job() -> int:
    """rq: offer what can be offered now (asked for by ``agent_shift.ask_for_offers``),
    and again while more is asked for meanwhile (``background.kicked_runs``)."""
    app = background.job_app()
    return background.kicked_runs(
        app, DISPATCH_JOB, keys.DISPATCH_ASKED, lambda: len(run(app, sweep=False))
    )


def sweep_job() -> int:
    """rq: a sweep and the offers it allows, then the next sweep scheduled."""
    app = background.job_app()
    try:
        return len(run(app, sweep=True))
    finally:
        schedule_sweep(app)


def schedule_sweep(app: Flask, at: datetime | None = None) -> None:
    """Schedule a sweep (by default one interval from now); one job per slot of time."""
    with app.app_context():
        every = current_flows().call_flow.agents.sweep_seconds
        at = at or current_clock().now() + timedelta(seconds=every)
    job_id = f"hotline-sweep-{int(at.timestamp()) // every}"
    background.enqueue_at(app, at, SWEEP_JOB, job_id=job_id, retry=())


def loop(app: Flask) -> background.Loop:
    """Without Redis: the web process's loop, run when kicked and every sweep interval."""
    with app.app_context():
        every = current_flows().call_flow.agents.sweep_seconds

    def turn(app: Flask, timed: bool) -> None:
        run(app, sweep=timed)

    return background.Loop(app, agent_shift.DISPATCH, turn, every)


# -- one run -------------------------------------------------------------------------------


def run(app: Flask, sweep: bool = False) -> list[offers.Offer]:
    """A run of the distribution (with a sweep first if ``sweep``); the offers it made."""
    with app.app_context():
        if sweep:
            _sweep(app)
        if not enabled(app):
            return []
        made, waiting, changes = reserve()
    called_off = send(app, made, waiting)
    with app.app_context():
        # The agents' new spells (offered, and back to available where an offer was
        # called off), in SQL once Twilio has been asked, in one transaction: nobody
        # waits for it.
        agent_shift.write_log(changes + called_off)
    return made


def _sweep(app: Flask) -> None:
    """Each part on its own: one failing (the database down) keeps no other from its work."""
    now = current_clock().now()
    try:
        agent_shift.restore_if_lost()
    except Exception:
        log.exception("could not look for agents' states Redis may have lost")
    try:
        moved = agent_shift.sweep(now)
    except Exception:
        log.exception("could not sweep the agents' states")
    else:
        if any(moved.values()):
            log.info("sweep: %s", moved)
    settings = current_flows().call_flow.agents
    if enabled(app) and store.redis().set(
        keys.DISPATCH_RECONCILED, "1", nx=True, ex=settings.reconcile_seconds
    ):
        try:
            reconcile(app, now)
        except Exception:
            log.exception("could not check the waiting lists against Twilio's queues")


def callers(flows: Flows, waiting: Iterable[queueboard.Waiting]) -> list[distribution.Caller]:
    """Waiting callers as the distribution ranks them (failed offers, callbacks, tiers)."""
    settings = flows.call_flow.queue
    return [
        distribution.Caller(
            call_sid=w.call_sid,
            queue=w.queue,
            entered_at=w.entered_at,
            missed=w.missed,
            callback=getattr(flows.queue(w.queue), "kind", None) == CALLBACKS,
            jump_seconds=settings.jump_seconds(w.tier),
        )
        for w in waiting
    ]


def reserve() -> tuple[list[offers.Offer], dict[str, queueboard.Waiting], list]:
    """Match waiting callers with available agents, and reserve each pair (their changes
    of state are returned, for the SQL log).

    Runs plan one at a time (a lock in Redis): two plans made from the same moment
    would pair the same callers with different agents, and a caller who lost an agent
    that way could be passed over for a later one. A caller or an agent of the plan may
    still change meanwhile (a hang-up, a break): then the plan is made again from what
    is left, a few times, before the rest is left to a run of its own.
    """
    made: list[offers.Offer] = []
    seen: dict[str, queueboard.Waiting] = {}
    changes = []
    if background.in_process(current_app):
        # Without Redis one process runs one loop: nobody else plans (and the embedded
        # store has no scripting for redis-py's lock).
        return _reserve(made, seen, changes)
    planning = store.redis().lock(
        keys.DISPATCH_PLANNING, timeout=PLANNING_SECONDS, sleep=0.01, blocking_timeout=2.0
    )
    if not planning.acquire():
        agent_shift.ask_for_offers()  # another run held it throughout: this one's turn later
        return made, seen, changes
    try:
        return _reserve(made, seen, changes)
    finally:
        try:
            planning.release()
        except LockError:  # held past its timeout: another run has it now
            log.warning("the distribution's planning outlasted its lock")


def _reserve(made: list, seen: dict, changes: list):
    for _ in range(PLANS):
        pairs, waiting = _plan()
        seen.update(waiting)
        lost = False
        for offer in pairs:
            try:
                done = offers.reserve(store.redis(), offer, current_clock().now(), _keep_seconds())
            except rules.Refused:
                lost = True  # the caller or the agent changed since the plan
                continue
            changes.append(agent_shift.record(done, log_now=False))
            made.append(offer)
        if not lost:
            return made, seen, changes
    agent_shift.ask_for_offers()
    return made, seen, changes


def _keep_seconds() -> int:
    # An offer is kept past its ring and the Dial action that follows it.
    return 2 * current_flows().call_flow.agents.offer_seconds + 60


def _plan() -> tuple[list[offers.Offer], dict[str, queueboard.Waiting]]:
    """The offers to make now: callers Twilio holds and nobody is offered, to free agents."""
    redis, flows = store.redis(), current_flows()
    now = current_clock().now()
    free = agent_states.serving_in(redis, Status.AVAILABLE)
    if not free:
        return [], {}
    agents = [distribution.Agent(name, since, flows.served(queues)) for name, since, queues in free]
    queues = sorted(set().union(*(agent.queues for agent in agents)))
    waiting = {
        w.call_sid: w for w in queueboard.waiting(redis, queues, now.timestamp()) if w.queued
    }
    busy = offers.taken(redis, list(waiting))
    free_callers = callers(flows, (w for w in waiting.values() if w.call_sid not in busy))
    settings = flows.call_flow
    pairs = []
    for caller, agent in distribution.assign(free_callers, agents):
        found = flows.queue(caller.queue)
        pairs.append(
            offers.Offer(
                call_sid=caller.call_sid,
                agent=agent.username,
                queue=caller.queue,
                line=found.line.code if found else settings.call.line,
                at=now.timestamp(),
                expires=now.timestamp() + settings.agents.offer_seconds,
            )
        )
    return pairs, waiting


def send(
    app: Flask, made: list[offers.Offer], waiting: dict[str, queueboard.Waiting]
) -> list[agent_states.Change]:
    """Per offer: the screen-pop, then Twilio's dequeue (a few requests at once).

    Returns the changes of the agents whose offers were called off, for the SQL log."""
    if not made:
        return []

    def one(offer: offers.Offer) -> agent_states.Change | None:
        try:
            return _send(app, offer, waiting.get(offer.call_sid))
        except Exception:  # Redis failing too: the sweep moves the agent on later
            log.exception("offer of %s to %s: not sent", offer.call_sid, offer.agent)
            return None

    if len(made) == 1:
        results = [one(made[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(made))) as pool:
            results = list(pool.map(one, made))
    return [done for done in results if done is not None]


def _send(
    app: Flask, offer: offers.Offer, caller: queueboard.Waiting | None
) -> agent_states.Change | None:
    with app.app_context():
        redis = store.redis()
        try:
            announcements.announce(redis, screen_pop(offer, caller))
        except Exception:
            # The phone still rings: the desk shows the call without its pop.
            log.exception(
                "offer of %s to %s: screen-pop not announced", offer.call_sid, offer.agent
            )
        try:
            queue_sid = queue_sid_of(app, offer.queue)
            twilio_rest.dequeue(app, queue_sid, offer.call_sid, offer_url(app, offer))
        except MemberGone:
            log.info("offer of %s: no longer in Twilio's queue %s", offer.call_sid, offer.queue)
            queueboard.unconfirmed(redis, offer.call_sid)
            return _call_off(offer)
        except Exception:
            log.exception("offer of %s to %s: Twilio's dequeue failed", offer.call_sid, offer.agent)
            return _call_off(offer)
        log.info("call %s offered to %s", offer.call_sid, offer.agent)
        return None


def _call_off(offer: offers.Offer) -> agent_states.Change | None:
    """The offer is over before it rang: the caller free, the agent available again (their
    spell logged by the run with the others)."""
    offers.settled(store.redis(), offer.call_sid)
    return agent_shift.quietly(agent_shift.withdrawn, offer.agent, offer.call_sid, log_now=False)


def screen_pop(offer: offers.Offer, caller: queueboard.Waiting | None) -> announcements.CallTaken:
    details = caller.details if caller else queueboard.Caller()
    return announcements.CallTaken(
        call_sid=offer.call_sid,
        agent=offer.agent,
        verified=details.verified,
        policyholder_id=details.policyholder_id,
        insured_id=details.insured_id,
        service=details.service,
        line=details.line or offer.line,
        queue=offer.queue,
        queue_seconds=max(0, round(offer.at - caller.entered_at)) if caller else 0,
        caller=details.caller,
        taken_at=datetime.fromtimestamp(offer.at, current_clock().tz).isoformat(),
        offer=True,
        expires_in=round(offer.expires - offer.at),
    )


def offer_url(app: Flask, offer: offers.Offer) -> str:
    """Where Twilio takes the caller: absolute, under ``PUBLIC_BASE_URL``."""
    query = urlencode({"agent": offer.agent, "queue": offer.queue, "line": offer.line})
    return twilio_rest.public_url(app, f"{OFFER_PATH}?{query}")


def queue_sid_of(app: Flask, queue: str) -> str:
    """Twilio's QueueSid of ``queue``: learnt from its webhooks, else from ``Queues.json``."""
    redis = store.redis()
    known = queueboard.sids(redis)
    if queue in known:
        return known[queue]
    learn_queue_sids(app)
    known = queueboard.sids(redis)
    if queue not in known:
        raise LookupError(f"Twilio has no queue named {queue!r}")
    return known[queue]


def learn_queue_sids(app: Flask) -> dict[str, str]:
    """Ask Twilio for its queues (``Queues.json``) and keep the SIDs of the hotline's."""
    redis, ours = store.redis(), {q.name for q in current_flows().queues()}
    found = {name: sid for name, sid in twilio_rest.queues(app).items() if name in ours}
    for name, sid in found.items():
        queueboard.learn_sid(redis, name, sid)
    return found


# -- the waiting lists against Twilio's ----------------------------------------------------


def reconcile(app: Flask, now: datetime) -> dict[str, int]:
    """Make the waiting lists agree with Twilio's queue members (``Members.json``).

    A caller listed here whom Twilio no longer holds (their leave notification was
    lost) is dropped; a caller Twilio holds whom Redis forgot (a restart) is listed
    again at the place their wait gives them, and may be offered at once. Callers
    being offered, or queued again and not yet confirmed, are left alone.
    """
    redis, flows = store.redis(), current_flows()
    names = [q.name for q in flows.queues()]
    sids = queueboard.sids(redis)
    if any(name not in sids for name in names):
        sids.update(learn_queue_sids(app))
    counts = {"dropped": 0, "found": 0}
    at = now.timestamp()
    for name in names:
        queue_sid = sids.get(name)
        if queue_sid is None:
            continue  # Twilio creates a queue when a caller first enters it
        members = twilio_rest.members(app, queue_sid)
        held = {m.call_sid for m in members}
        listed = {w.call_sid: w for w in queueboard.waiting(redis, [name], at)}
        for member in members:
            if member.call_sid not in listed:
                queueboard.found_waiting(
                    redis, name, member.call_sid, at - member.wait_time, queue_sid
                )
                counts["found"] += 1
            else:
                queueboard.confirmed(redis, name, member.call_sid, queue_sid)
        gone = [sid for sid in listed if sid not in held]
        offered = offers.taken(redis, gone)
        for sid in gone:
            entry = listed[sid]
            if sid in offered:
                continue
            if not entry.queued and at - entry.entered_at < UNCONFIRMED_GRACE_SECONDS:
                continue
            queueboard.forget_waiting(redis, name, sid)
            counts["dropped"] += 1
    if counts["found"]:
        agent_shift.ask_for_offers()
    if any(counts.values()):
        log.info("waiting lists checked against Twilio's queues: %s", counts)
    return counts
