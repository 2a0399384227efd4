"""Service requests (cases): opening one, recording its milestones, finding those at risk.

The rules are the domain's (``domain.usage``, ``domain.sla``, ``domain.cases``);
this module loads and stores. Each function takes a session, works in one
transaction and commits it.

Concurrency: opening a case first locks the insured person's row (a no-op
``UPDATE people``), so two requests for one insured person are checked against
the quota one after the other — on PostgreSQL a row lock, on SQLite the write
lock, taken before anything is read. A repeated submission of the same form
carries the same ``request_key`` (unique), and a case's use is the one
``service_uses`` row ``(source="case", ref="case:<id>:booking")`` (unique too):
the database, not timing, keeps both to one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from domain import sla
from domain.cases import ANCHORS, USAGE_STEPS, CaseStatus, Milestone, is_new, status_of
from domain.catalogue import Service
from domain.eligibility import NotEntitled
from domain.exceptions import UnknownService, UsageRefused
from domain.masking import mask_phone
from domain.phones import InvalidPhone, to_e164
from domain.sla import SlaState
from domain.usage import Outcome, Party, UsageEvent, decide, units_for_booking
from flows import Flows
from services import defaults
from services.exceptions import CaseRefused, UnknownCase
from storage import repository
from storage.exceptions import UnknownPerson
from storage.models import Case, CaseDeadline, CaseEvent, Person, Phone, Policy, ServiceUse

SOURCE = "case"
OPEN_STATUSES = (CaseStatus.OPEN.value, CaseStatus.BOOKED.value)
VISIT_PERIODS = ("am", "pm")
SLA_FILTERS = ("at_risk", "overdue", "due_today", "on_track", "pending", "met")

NOT_ENTITLED_MESSAGES = {
    NotEntitled.NO_TIER: "the insured person has no tier today (no counted policy)",
    NotEntitled.NOT_IN_TIER: "the {tier} tier does not include {service}",
    NotEntitled.WAITING_PERIOD: "{service} is not usable in the waiting period (it ends {ends})",
    NotEntitled.QUOTA_USED: "{service}: this year's quota is used ({used} of {quota} {unit})",
}


def use_ref(case_id: int) -> str:
    return f"{SOURCE}:{case_id}:booking"


@dataclass
class CaseRequest:
    insured_id: str
    service: str
    critical_illness_confirmed: bool = False
    hospital: str | None = None
    doctor: str | None = None
    visit_on: date | None = None
    visit_period: str | None = None
    contact_phone: str | None = None
    call_sid: str | None = None
    notes: str = ""
    # The same key twice is the same request (a double-clicked form, a retried POST).
    request_key: str = field(default_factory=lambda: secrets.token_urlsafe(18))


@dataclass(frozen=True, slots=True)
class CaseStep:
    """A milestone an agent records on a case, with its day and details."""

    milestone: str
    on: date | None = None
    visit_on: date | None = None
    visit_period: str | None = None
    by: str | None = None
    note: str = ""


# -- opening -------------------------------------------------------------------------


def open_case(
    db_session: Session,
    flows: Flows,
    now: datetime,
    agent_id: int | None,
    request: CaseRequest,
    note_limit: int = defaults.CASE_NOTE_MAX_LENGTH,
) -> tuple[Case, bool]:
    """Open a case for ``request``; returns (case, created). Raises ``CaseRefused``.

    ``note_limit``: the most characters its notes may have.
    """
    service = _service(flows, request.service)
    _check_shape(request)
    check_note("notes", request.notes, note_limit)
    existing = _by_key(db_session, request.request_key)
    if existing is not None:
        db_session.rollback()
        return _same_request(existing, request), False

    local = _local(now)
    # The lock, before anything else is read in this transaction (see the module docstring).
    locked = db_session.execute(
        update(Person).where(Person.id == request.insured_id).values(updated_at=Person.updated_at)
    ).rowcount
    if not locked:
        db_session.rollback()
        raise CaseRefused("unknown_insured", f'no insured person "{request.insured_id}"')
    try:
        existing = _by_key(db_session, request.request_key)
        if existing is not None:
            db_session.rollback()
            return _same_request(existing, request), False
        case = _new_case(db_session, flows, service, local, agent_id, request)
        db_session.commit()
    except IntegrityError:
        # Another transaction took this request_key between our look and our insert.
        db_session.rollback()
        existing = _by_key(db_session, request.request_key)
        if existing is None:
            raise
        return _same_request(existing, request), False
    except BaseException:
        db_session.rollback()
        raise
    return case, True


def _new_case(
    db_session: Session,
    flows: Flows,
    service: Service,
    local: datetime,
    agent_id: int | None,
    request: CaseRequest,
) -> Case:
    today = local.date()
    try:
        eligibility = repository.eligibility(db_session, flows.programme, request.insured_id, today)
    except UnknownPerson:
        raise CaseRefused("unknown_insured", f'no insured person "{request.insured_id}"') from None
    entitlement = eligibility.service(service.code)
    if not entitlement.entitled:
        raise CaseRefused(
            "not_entitled",
            NOT_ENTITLED_MESSAGES[entitlement.reason].format(
                service=service.name,
                tier=eligibility.tier.name if eligibility.tier else "",
                ends=eligibility.waiting_period_ends,
                used=entitlement.used,
                quota=entitlement.quota,
                unit="天" if str(service.unit) == "days" else "次",
            ),
            reason=str(entitlement.reason),
        )
    if service.requires_critical_illness and not request.critical_illness_confirmed:
        raise CaseRefused(
            "critical_illness_unconfirmed",
            f"{service.name} needs the agent to confirm a critical illness "
            "(or a suspected one) as the policy defines it",
        )
    for right, value in (("hospital", request.hospital), ("doctor", request.doctor)):
        if value and right not in entitlement.designate:
            tier = eligibility.tier.name if eligibility.tier else "no"
            allowed = ", ".join(entitlement.designate) or "nothing"
            raise CaseRefused(
                "designation_not_allowed",
                f"the {tier} tier cannot designate a {right} for {service.name} "
                f"(it may designate: {allowed})",
                reason=right,
            )
    if request.visit_on is not None and request.visit_on < today:
        raise CaseRefused("visit_in_the_past", f"the visit date {request.visit_on} has passed")

    units = units_for_booking(service.usage, entitlement.remaining)
    contact = request.contact_phone or _phone_on_file(db_session, request.insured_id)
    case = Case(
        request_key=request.request_key,
        insured_id=request.insured_id,
        service=service.code,
        status=CaseStatus.OPEN.value,
        opened_by=agent_id,
        opened_at=local,
        call_sid=request.call_sid or None,
        critical_illness_confirmed=bool(request.critical_illness_confirmed),
        hospital=request.hospital or None,
        doctor=request.doctor or None,
        visit_on=request.visit_on,
        visit_period=request.visit_period or None,
        contact_phone=contact,
        notes=request.notes or "",
        units=units,
        use_outcome=Outcome.HELD.value,
        use_reason="requested",
        updated_at=local,
    )
    db_session.add(case)
    db_session.flush()
    db_session.add(
        CaseEvent(
            case_id=case.id,
            milestone=Milestone.REQUESTED.value,
            on=today,
            recorded_at=local,
            agent_id=agent_id,
            visit_on=request.visit_on,
            note="",
        )
    )
    for due in sla.schedule(service, {"request": local}, flows.working_days):
        dl = due.deadline
        db_session.add(
            CaseDeadline(
                case_id=case.id,
                key=dl.key,
                label=dl.label,
                anchor=dl.anchor,
                met_by=dl.met_by,
                working_days=dl.working_days,
                hours=dl.hours,
                anchored_at=due.anchored_at,
                due_on=due.due_on,
                due_at=due.due_at,
            )
        )
    db_session.add(
        ServiceUse(
            insured_id=case.insured_id,
            service=service.code,
            on=today,
            count=units,
            source=SOURCE,
            ref=use_ref(case.id),
        )
    )
    db_session.flush()
    return case


def _check_shape(request: CaseRequest) -> None:
    if request.visit_period and request.visit_period not in VISIT_PERIODS:
        raise CaseRefused("invalid_visit_period", 'visit_period: "am" or "pm"')
    if request.contact_phone:
        try:
            request.contact_phone = to_e164(request.contact_phone)
        except InvalidPhone as exc:
            raise CaseRefused("invalid_phone", f"contact_phone: {exc}") from None
    for name, limit in (("hospital", 200), ("doctor", 100), ("call_sid", 64), ("request_key", 64)):
        value = getattr(request, name)
        if value and len(value) > limit:
            raise CaseRefused(f"invalid_{name}", f"{name}: at most {limit} characters")


def check_note(name: str, text: str | None, limit: int) -> None:
    """Notes are for a few sentences: a longer text is refused, not stored and sent back."""
    if text and len(text) > limit:
        raise CaseRefused(f"invalid_{name}", f"{name}: at most {limit} characters")


def _phone_on_file(db_session: Session, insured_id: str) -> str | None:
    """The insured person's own number, else a policyholder's (a child has none of their own)."""
    own = db_session.scalar(
        select(Phone.e164).where(Phone.person_id == insured_id).order_by(Phone.id).limit(1)
    )
    if own:
        return own
    return db_session.scalar(
        select(Phone.e164)
        .join(Policy, Policy.holder_id == Phone.person_id)
        .where(Policy.insured_id == insured_id)
        .order_by(Policy.policy_no, Phone.id)
        .limit(1)
    )


def _same_request(existing: Case, request: CaseRequest) -> Case:
    if existing.insured_id != request.insured_id or existing.service != request.service:
        raise CaseRefused(
            "request_key_reused",
            "this request key belongs to another request; submit a fresh form",
        )
    return existing


def _by_key(db_session: Session, key: str) -> Case | None:
    return db_session.scalar(select(Case).where(Case.request_key == key))


def _service(flows: Flows, code: str) -> Service:
    try:
        return flows.programme.service(code)
    except UnknownService:
        raise CaseRefused("unknown_service", f'no service "{code}"') from None


def _local(now: datetime) -> datetime:
    """Naive wall-clock time in the hotline's zone (``now`` is aware, from the app's clock)."""
    return now.replace(tzinfo=None) if now.tzinfo else now


# -- milestones ------------------------------------------------------------------------


def record(
    db_session: Session,
    flows: Flows,
    now: datetime,
    agent_id: int | None,
    case_id: int,
    step: CaseStep,
    note_limit: int = defaults.CASE_NOTE_MAX_LENGTH,
) -> tuple[Case, bool]:
    """Record ``step`` on the case; returns (case, changed). Raises ``CaseRefused``."""
    check_note("note", step.note, note_limit)
    try:
        milestone = Milestone(step.milestone)
    except ValueError:
        allowed = ", ".join(m.value for m in Milestone if m is not Milestone.REQUESTED)
        raise CaseRefused("unknown_milestone", f"milestone: one of {allowed}") from None
    if milestone is Milestone.REQUESTED:
        raise CaseRefused("unknown_milestone", "a case is requested when it is opened")
    local = _local(now)
    today = local.date()
    on = step.on or today
    if on > today:
        raise CaseRefused("date_in_the_future", f"on: {on} has not happened yet")
    by = step.by or (Party.CUSTOMER.value if milestone is Milestone.CANCELLED else None)
    if milestone in (Milestone.CANCELLED, Milestone.RESCHEDULED):
        by = by or Party.CUSTOMER.value
        if by not in tuple(Party):
            raise CaseRefused("invalid_party", 'by: "customer" or "hospital"')
    if step.visit_period and step.visit_period not in VISIT_PERIODS:
        raise CaseRefused("invalid_visit_period", 'visit_period: "am" or "pm"')

    locked = db_session.execute(
        update(Case).where(Case.id == case_id).values(updated_at=Case.updated_at)
    ).rowcount
    if not locked:
        db_session.rollback()
        raise UnknownCase(case_id)
    try:
        case = _load(db_session, case_id)
        changed = _record(db_session, flows, local, agent_id, case, milestone, step, on, by)
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise
    return case, changed


def _record(
    db_session: Session,
    flows: Flows,
    local: datetime,
    agent_id: int | None,
    case: Case,
    milestone: Milestone,
    step: CaseStep,
    on: date,
    by: str | None,
) -> bool:
    service = flows.programme.service(case.service)
    done = [Milestone(e.milestone) for e in case.events]
    try:
        if not is_new(done, milestone):
            return False
    except UsageRefused as exc:
        raise CaseRefused(exc.code, exc.message) from None
    if case.events and on < case.events[-1].on:
        raise CaseRefused(
            "out_of_order",
            f"{milestone} on {on} is earlier than the case's last step ({case.events[-1].on})",
        )
    visit = step.visit_on
    if milestone is Milestone.BOOKED:
        visit = visit or case.visit_on
        if visit is None and service.usage.cancel_notice_working_days is not None:
            raise CaseRefused(
                "visit_date_required",
                f"booking {service.name} needs the visit date (cancellation notice runs to it)",
            )

    event = CaseEvent(
        case_id=case.id,
        milestone=milestone.value,
        on=on,
        recorded_at=local,
        agent_id=agent_id,
        by=by,
        visit_on=visit,
        note=step.note or "",
    )
    history = [_usage_event(e) for e in case.events if Milestone(e.milestone) in USAGE_STEPS]
    if milestone in USAGE_STEPS:
        history.append(_usage_event(event))
    try:
        decision = decide(service.usage, history, flows.working_days, case.units)
    except UsageRefused as exc:
        raise CaseRefused(exc.code, exc.message) from None

    case.events.append(event)
    case.status = status_of(Milestone(e.milestone) for e in case.events).value
    if milestone in (Milestone.BOOKED, Milestone.RESCHEDULED):
        case.visit_on = decision.visit
        if step.visit_period:
            case.visit_period = step.visit_period
    case.use_outcome = decision.outcome.value
    case.use_reason = decision.reason.value
    case.counted_on = decision.counted_on
    case.updated_at = local
    _sync_use(db_session, case, decision.units)
    _sync_deadlines(case, service, flows, milestone, on, local)
    db_session.flush()
    return True


def _usage_event(event: CaseEvent) -> UsageEvent:
    return UsageEvent(
        step=USAGE_STEPS[Milestone(event.milestone)],
        on=event.on,
        visit=event.visit_on,
        by=Party(event.by) if event.by else Party.CUSTOMER,
    )


def _sync_use(db_session: Session, case: Case, units: int) -> None:
    ref = use_ref(case.id)
    if units <= 0:
        db_session.execute(
            delete(ServiceUse).where(ServiceUse.source == SOURCE, ServiceUse.ref == ref)
        )
        return
    db_session.execute(
        update(ServiceUse)
        .where(ServiceUse.source == SOURCE, ServiceUse.ref == ref)
        .values(count=units)
    )


def _sync_deadlines(
    case: Case, service: Service, flows: Flows, milestone: Milestone, on: date, local: datetime
) -> None:
    # A milestone recorded for an earlier day anchors its deadlines on that day.
    moment = local if on == local.date() else datetime.combine(on, time(local.hour, local.minute))
    by_key = {dl.key: dl for dl in service.deadlines}
    for row in case.deadlines:
        deadline = by_key.get(row.key)
        if deadline is None:
            continue
        if row.anchored_at is None and ANCHORS.get(row.anchor) is milestone:
            due = sla.due(deadline, moment, flows.working_days)
            row.anchored_at, row.due_on, row.due_at = due.anchored_at, due.due_on, due.due_at
        if row.met_at is None and (
            row.met_by == milestone.value
            or (row.met_by is None and milestone is Milestone.COMPLETED)
        ):
            row.met_at = moment


def _load(db_session: Session, case_id: int) -> Case:
    case = db_session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.events), selectinload(Case.deadlines))
        .execution_options(populate_existing=True)
    )
    if case is None:
        raise UnknownCase(case_id)
    return case


def get(db_session: Session, case_id: int) -> Case:
    return _load(db_session, case_id)


# -- reading ------------------------------------------------------------------------------


def deadline_state(row: CaseDeadline, case: Case, now: datetime) -> SlaState:
    closed = case.status not in OPEN_STATUSES
    return sla.state(row.due_on, row.due_at, _local(now), row.met_at, closed)


def case_sla(case: Case, now: datetime) -> SlaState | None:
    return sla.most_urgent(deadline_state(row, case, now) for row in case.deadlines)


def find(
    db_session: Session,
    now: datetime,
    *,
    sla_filter: str | None = None,
    status: str | None = None,
    insured_id: str | None = None,
    opened_by: int | None = None,
    limit: int = 200,
) -> list[Case]:
    """Cases, newest first; ``sla_filter`` is one of ``SLA_FILTERS`` (at_risk: due or overdue)."""
    if sla_filter is not None and sla_filter not in SLA_FILTERS:
        raise CaseRefused("invalid_sla_filter", f"sla: one of {', '.join(SLA_FILTERS)}")
    query = select(Case).options(selectinload(Case.deadlines)).order_by(Case.id.desc())
    if status is not None:
        statuses = [s for s in status.split(",") if s]
        if any(s not in tuple(CaseStatus) for s in statuses):
            raise CaseRefused(
                "invalid_status", f"status: one of {', '.join(CaseStatus)} (comma-separated)"
            )
        query = query.where(Case.status.in_(statuses))
    if insured_id is not None:
        query = query.where(Case.insured_id == insured_id)
    if opened_by is not None:
        query = query.where(Case.opened_by == opened_by)
    if sla_filter in ("at_risk", "overdue", "due_today"):
        # Narrow in SQL to open cases with an unmet deadline that is due by today.
        local = _local(now)
        query = query.where(
            Case.status.in_(OPEN_STATUSES),
            Case.id.in_(
                select(CaseDeadline.case_id).where(
                    CaseDeadline.met_at.is_(None),
                    or_(
                        CaseDeadline.due_at.is_not(None),
                        and_(CaseDeadline.due_on.is_not(None), CaseDeadline.due_on <= local.date()),
                    ),
                )
            ),
        )
    cases = list(db_session.scalars(query.limit(limit if sla_filter is None else None)).all())
    if sla_filter is None:
        return cases
    wanted = (
        {SlaState.OVERDUE, SlaState.DUE_TODAY}
        if sla_filter == "at_risk"
        else {SlaState(sla_filter)}
    )
    return [case for case in cases if case_sla(case, now) in wanted][:limit]


# -- the overdue sweep ----------------------------------------------------------------------


def sweep_overdue(db_session: Session, now: datetime) -> int:
    """Flag deadlines of open cases that have passed unmet; returns how many were newly flagged.

    Safe to run any number of times, from any number of processes: a deadline is
    flagged once (``overdue_at`` is only set where it is still empty).
    """
    local = _local(now)
    open_cases = select(Case.id).where(Case.status.in_(OPEN_STATUSES))
    result = db_session.execute(
        update(CaseDeadline)
        .where(
            CaseDeadline.met_at.is_(None),
            CaseDeadline.overdue_at.is_(None),
            CaseDeadline.case_id.in_(open_cases),
            or_(
                and_(CaseDeadline.due_at.is_not(None), CaseDeadline.due_at < local),
                and_(CaseDeadline.due_at.is_(None), CaseDeadline.due_on < local.date()),
            ),
        )
        .values(overdue_at=local)
        .execution_options(synchronize_session=False)
    )
    db_session.commit()
    return result.rowcount or 0


# -- JSON --------------------------------------------------------------------------------------


def as_dict(
    case: Case, flows: Flows, now: datetime, *, full: bool = False, events: bool = False
) -> dict:
    """The case as the API and the desk show it.

    ``events`` adds the history (load it first: ``get``); ``full`` adds the unmasked
    contact phone, for the authenticated JSON API only.
    """
    tz = now.tzinfo
    service = flows.programme.service(case.service)

    def aware(moment: datetime | None) -> str | None:
        return moment.replace(tzinfo=tz).isoformat() if moment else None

    deadlines = []
    for row in case.deadlines:
        state = deadline_state(row, case, now)
        deadlines.append(
            {
                "key": row.key,
                "label": row.label,
                "anchor": row.anchor,
                "met_by": row.met_by,
                "working_days": row.working_days,
                "hours": row.hours,
                "anchored_at": aware(row.anchored_at),
                "due_on": row.due_on.isoformat() if row.due_on else None,
                "due_at": aware(row.due_at),
                "met_at": aware(row.met_at),
                "met_in_time": (
                    None
                    if row.met_at is None or row.due_on is None
                    else (
                        row.met_at <= row.due_at if row.due_at else row.met_at.date() <= row.due_on
                    )
                ),
                "overdue_flagged_at": aware(row.overdue_at),
                "state": state.value,
            }
        )
    worst = sla.most_urgent(SlaState(d["state"]) for d in deadlines)
    history = (
        [
            {
                "milestone": e.milestone,
                "on": e.on.isoformat(),
                "recorded_at": aware(e.recorded_at),
                "agent_id": e.agent_id,
                "by": e.by,
                "visit_on": e.visit_on.isoformat() if e.visit_on else None,
                "note": e.note,
            }
            for e in case.events
        ]
        if events
        else None
    )
    out = {
        "id": case.id,
        "insured_id": case.insured_id,
        "service": case.service,
        "service_name": service.name,
        "status": case.status,
        "opened_at": aware(case.opened_at),
        "opened_by": case.opened_by,
        "call_sid": case.call_sid,
        "critical_illness_confirmed": case.critical_illness_confirmed,
        "hospital": case.hospital,
        "doctor": case.doctor,
        "visit_on": case.visit_on.isoformat() if case.visit_on else None,
        "visit_period": case.visit_period,
        "contact_phone": mask_phone(case.contact_phone) if case.contact_phone else None,
        "notes": case.notes,
        "use": {
            "outcome": case.use_outcome,
            "reason": case.use_reason,
            "units": case.units if case.use_outcome != Outcome.RELEASED.value else 0,
            "unit": str(service.unit),
            "counted_on": case.counted_on.isoformat() if case.counted_on else None,
        },
        "sla": worst.value if worst else None,
        "deadlines": deadlines,
        "confirmation_sms": {
            "sid": case.confirmation_sid,
            "sent_at": aware(case.confirmation_sent_at),
        },
        "updated_at": aware(case.updated_at),
    }
    if history is not None:
        out["events"] = history
    if full:
        out["contact_phone_full"] = case.contact_phone
    return out
