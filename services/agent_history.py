"""Agents' figures from the state log (SPEC §6) and the interval history: live and over any period.

The state log (``agent_state_log``) is written by the agents' shift, one spell per state
with ``ended_at`` set when it ends. A spell's time and a missed offer reach the
interval history when the spell has ended: ``fold`` moves the ended spells not yet
counted there (claimed by their ``counted`` flag, in the transaction that adds them,
so a spell is counted once however many folds run), every few minutes from the
reports upkeep job. Until then they are "pending": ``totals`` adds the pending spells
to the history, clipped to the period, so the figures of today — or of any period —
are whole at every moment, and agree with the history once folded.

Calls handled, talk and wrap-up reach the agents' rows as the calls do
(``services.interval_history``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import false, func, select, text, update
from sqlalchemy.orm import Session

from domain import contributions
from domain.agent_figures import AGENT_NAMES, AgentTotals
from domain.intervals import utc
from services import interval_history
from storage.models import AgentInterval, AgentStateChange

LOG = AgentStateChange.__table__
# The same words as the partial index ``ix_agent_state_log_uncounted``, so it is used.
UNCOUNTED = LOG.c.counted == false()
FOLD_BATCH = 5000
SPELL = (LOG.c.username, LOG.c.state, LOG.c.reason, LOG.c.started_at, LOG.c.ended_at)


def fold(session: Session, tz: ZoneInfo, batch: int = FOLD_BATCH) -> int:
    """Count the ended spells not counted yet into the history; how many were counted.

    At most ``batch`` spells per call, oldest first; the caller commits.
    """
    if session.connection().dialect.name == "postgresql":
        # The order every writer of the agents' rows takes locks in (a rebuild holds it).
        session.execute(text("LOCK TABLE agent_intervals IN ROW EXCLUSIVE MODE"))
    due = (
        select(LOG.c.id)
        .where(UNCOUNTED, LOG.c.ended_at.is_not(None))
        .order_by(LOG.c.started_at)
        .limit(batch)
    )
    claimed = session.execute(
        update(LOG)
        .where(LOG.c.id.in_(due.scalar_subquery()), UNCOUNTED)
        .values(counted=True)
        .returning(*SPELL)
    ).all()
    interval_history.add(session, _spells(claimed, tz), tz)
    return len(claimed)


def _spells(spells: Iterable, tz: ZoneInfo, within=None, now: datetime | None = None):
    for username, state, reason, started, ended in spells:
        if ended is None:
            ended = now
        if ended is None or utc(ended) <= utc(started):
            continue
        yield from contributions.of_spell(username, state, reason, started, ended, tz, within)


def totals(
    session: Session,
    start: datetime,
    end: datetime,
    now: datetime,
    tz: ZoneInfo,
    usernames: Iterable[str] | None = None,
) -> dict[str, AgentTotals]:
    """Each agent's figures over [start, end): the history, and the spells not in it yet.

    A spell still going on counts until ``now``. ``usernames`` limits it to those agents.
    """
    names = None if usernames is None else sorted(set(usernames))
    if names == []:
        return {}
    table = AgentInterval.__table__
    query = (
        select(table.c.username, *(func.sum(table.c[name]) for name in AGENT_NAMES))
        .where(table.c.interval_start >= start, table.c.interval_start < end)
        .group_by(table.c.username)
    )
    if names is not None:
        query = query.where(table.c.username.in_(names))
    out = {
        username: AgentTotals.of(dict(zip(AGENT_NAMES, sums, strict=True)))
        for username, *sums in session.execute(query)
    }
    upto = min(utc(end), utc(now))
    pending = select(*SPELL).where(UNCOUNTED, LOG.c.started_at < upto)
    if names is not None:
        pending = pending.where(LOG.c.username.in_(names))
    rows = contributions.add_up(
        _spells(session.execute(pending), tz, within=(utc(start), upto), now=utc(now))
    )
    for (_table, username, _interval), figures in rows.items():
        out[username] = out.get(username, AgentTotals()) + AgentTotals.of(figures)
    return out
