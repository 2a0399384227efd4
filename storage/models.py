"""Tables. Feed records keep the insurer's own keys (person id, policy number)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


# Named constraints: Alembic can only alter or drop what it can name, and SQLite's
# batch migrations rebuild tables by these names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The desk's customer search (domain.names): the name's letters, and one toneless
    # pinyin spelling of it; written with the name by the feed import.
    name_key: Mapped[str] = mapped_column(String(100), server_default="", index=True)
    name_pinyin: Mapped[str] = mapped_column(String(600), server_default="", index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    phones: Mapped[list[Phone]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class Phone(Base):
    __tablename__ = "phones"
    __table_args__ = (UniqueConstraint("person_id", "e164"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (person_id, e164) index leads with it.
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # The desk's customer search finds people by their whole number.
    e164: Mapped[str] = mapped_column(String(20), index=True)
    # The IVR (and the desk's search) finds policyholders by the six digits callers key in.
    suffix: Mapped[str] = mapped_column(String(6), index=True)

    person: Mapped[Person] = relationship(back_populates="phones")


class Policy(Base):
    __tablename__ = "policies"

    policy_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    # NFKC-normalised; whether it is an applicable product is decided by flows/ when read.
    product: Mapped[str] = mapped_column(String(200))
    # As flagged when imported, for operators' reports.
    applicable: Mapped[bool] = mapped_column(Boolean)
    holder_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    sum_insured: Mapped[int] = mapped_column(BigInteger)
    cooling_off_end: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))

    events: Mapped[list[PolicyEvent]] = relationship(
        order_by="PolicyEvent.seq", cascade="all, delete-orphan", passive_deletes=True
    )


class PolicyEvent(Base):
    __tablename__ = "policy_events"
    __table_args__ = (UniqueConstraint("policy_no", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No index of its own: the unique (policy_no, seq) index leads with it.
    policy_no: Mapped[str] = mapped_column(ForeignKey("policies.policy_no", ondelete="CASCADE"))
    # Position in the feed: same-day events apply in feed order.
    seq: Mapped[int] = mapped_column(Integer)
    on: Mapped[date] = mapped_column("on_date", Date)
    sum_insured: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ServiceUse(Base):
    """Uses that count against a quota, from the feed or from cases booked at the desk.

    ``(source, ref)`` is unique, so a retried import or a double-submitted form
    records a use once: the database refuses the second, not luck.
    """

    __tablename__ = "service_uses"
    __table_args__ = (UniqueConstraint("source", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    service: Mapped[str] = mapped_column(String(40))
    on: Mapped[date] = mapped_column("on_date", Date)
    count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # Comma-separated queue names, in the order the agent serves them.
    queues: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A desk session is good while it carries this number: signing out, a new password,
    # revoked tokens or disabling the account move it on and so end every session.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A disabled account (a departed agent) cannot sign in or use its tokens.
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="agent", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def queue_list(self) -> list[str]:
        return [q for q in self.queues.split(",") if q]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    agent: Mapped[Agent] = relationship(back_populates="tokens")


class Case(Base):
    """A service request taken by an agent (SPEC §1: "records the service request").

    Times here are naive wall-clock times in ``HOTLINE_TZ``, as the SLA rules read
    them; business dates (``visit_on``, event ``on``) are calendar dates there.
    ``request_key`` makes a repeated submission of one form the same case.
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    insured_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    service: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_by: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True
    )
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    critical_illness_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    hospital: Mapped[str | None] = mapped_column(String(200), nullable=True)
    doctor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    visit_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Escort is served by the half-day: "am" or "pm" (split at 12:00).
    visit_period: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # E.164; only the authenticated API shows it unmasked.
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Units the booking draws from the quota (days for nursing_carer), fixed when opened.
    units: Mapped[int] = mapped_column(Integer)
    # domain.usage's decision after the latest step.
    use_outcome: Mapped[str] = mapped_column(String(16))
    use_reason: Mapped[str] = mapped_column(String(32))
    counted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    # The booking confirmation SMS: claimed by one job run, then its Twilio message SID.
    confirmation_claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    confirmation_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    events: Mapped[list[CaseEvent]] = relationship(
        order_by="CaseEvent.id", cascade="all, delete-orphan", passive_deletes=True
    )
    deadlines: Mapped[list[CaseDeadline]] = relationship(
        order_by="CaseDeadline.id", cascade="all, delete-orphan", passive_deletes=True
    )


class CaseEvent(Base):
    """One milestone of a case, in the order recorded."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    milestone: Mapped[str] = mapped_column(String(24))
    # The day it happened (a cancellation phoned in yesterday is recorded for yesterday).
    on: Mapped[date] = mapped_column("on_date", Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), nullable=True
    )
    # Cancellations and reschedules: "customer" or "hospital".
    by: Mapped[str | None] = mapped_column("by_party", String(16), nullable=True)
    visit_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class CaseDeadline(Base):
    """A service-level deadline of a case, dated once its anchor has happened."""

    __tablename__ = "case_deadlines"
    __table_args__ = (UniqueConstraint("case_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100))
    anchor: Mapped[str] = mapped_column(String(32))
    met_by: Mapped[str | None] = mapped_column(String(24), nullable=True)
    working_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    anchored_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    met_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Set by the overdue sweep, once, so dashboards can list breaches without recomputing.
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Callback(Base):
    """A callback a caller asked for: the record the dialling jobs work from.

    Kept here before anything is scheduled in Redis, so no callback is lost if
    Redis is; ``services.callbacks`` describes the statuses. Times are UTC.
    """

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line: Mapped[str] = mapped_column(String(32))
    # The number to dial (E.164): the number on file if verified, else the caller ID.
    number: Mapped[str] = mapped_column(String(20))
    # The hotline number the caller dialled, used as the caller ID of the callback.
    from_number: Mapped[str | None] = mapped_column(String(20), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean)
    policyholder_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    insured_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    service: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The call it was asked for in: one callback per call, however often Twilio retries.
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dialled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_result: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class CallRecord(Base):
    """One call as it happened: the record behind contact history and the supervisors' reports.

    Written as the call moves (entered a queue, left it, taken by an agent, ended),
    each fact once: a retried webhook finds it already set. Times are UTC; the caller's
    number is E.164 (None when withheld) and, like every personal datum here, only
    leaves through the authenticated API.
    """

    __tablename__ = "call_records"
    __table_args__ = (
        Index("ix_call_records_policyholder_id_started_at", "policyholder_id", "started_at"),
        Index("ix_call_records_insured_id_started_at", "insured_id", "started_at"),
        Index("ix_call_records_caller_started_at", "caller", "started_at"),
        Index("ix_call_records_started_at", "started_at"),
        # The records with facts not yet folded into the interval history.
        Index(
            "ix_call_records_pending",
            "started_at",
            postgresql_where=text("pending = true"),
            sqlite_where=text("pending = 1"),
        ),
    )

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "inbound": a caller rang the hotline; "callback": the hotline rang a caller back.
    kind: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    caller: Mapped[str | None] = mapped_column(String(20), nullable=True)
    line: Mapped[str | None] = mapped_column(String(32), nullable=True)
    queue: Mapped[str | None] = mapped_column(String(64), nullable=True)
    service: Mapped[str | None] = mapped_column(String(40), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    policyholder_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    insured_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    callback_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    left_queue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # How the caller left the queue: answered, abandoned, callback (left to be called
    # back) or failed (Twilio's queue-full / error).
    queue_result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    wait_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    talk_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wrap_up_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Twilio's CallStatus at the end (completed, busy, no-answer, failed, canceled).
    end_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Which of its contributions to the interval history were made (bits of
    # ``domain.contributions``), set in the transaction that made them: a fact noted
    # again (a replayed webhook) finds its contribution marked and adds nothing.
    counted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A fact was noted since the interval history last looked (``interval_history.fold``):
    # set by every note, cleared by the fold that adds what the facts made due.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuthFailure(Base):
    """A failed authentication try (SPEC §4 step 2), counted against the calling number
    and against each policyholder the digits matched, for the lockout across calls.

    In SQL, not Redis: the counts survive a Redis that restarts empty, and the spoken-name
    answer reads them in the statement that finds the policyholders (no round trip of
    their own). ``subject`` is the policyholder's id, or a digest of the number (no
    number is kept here); ``attempt`` names the try (call and step), so a try written
    twice counts once. ``at`` is in seconds since the epoch.
    """

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_kind_subject_at", "kind", "subject", "at"),)

    # ``repository.FAILED_NUMBER`` or ``FAILED_HOLDER``
    kind: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt: Mapped[str] = mapped_column(String(96), primary_key=True)
    at: Mapped[float] = mapped_column(Float)


class AgentStateChange(Base):
    """One spell of an agent in one state (SPEC §6): when it began, ended and why.

    The live state is in Redis; this is its history, which the supervisors' reports
    read (time per state, missed offers, wrap-up). ``ended_at`` is None for the
    spell still going on. Times are UTC.
    """

    __tablename__ = "agent_state_log"
    __table_args__ = (
        Index("ix_agent_state_log_username_started_at", "username", "started_at"),
        # The spells not yet in the interval history: going on, or ended since the last fold.
        Index(
            "ix_agent_state_log_uncounted",
            "started_at",
            postgresql_where=text("counted = false"),
            sqlite_where=text("counted = 0"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Whether the spell, ended, is in the interval history (``services.agent_history``).
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class QueueInterval(Base):
    """One queue's figures over one half hour (SPEC §7), kept ``keep_days`` days.

    Folded from the call records as calls enter and leave queues and end
    (``services.interval_history``), each call's contributions once (a new row's
    figures are 0, the database's default);
    ``hotline reports rebuild`` writes it again from the call records.
    ``interval_start`` is UTC; ``day`` the local day it belongs to.
    """

    __tablename__ = "queue_intervals"

    interval_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    offered: Mapped[int] = mapped_column(Integer, server_default="0")
    answered: Mapped[int] = mapped_column(Integer, server_default="0")
    answered_within_sl: Mapped[int] = mapped_column(Integer, server_default="0")
    # Abandoned after the short-abandon threshold; short abandons apart.
    abandoned: Mapped[int] = mapped_column(Integer, server_default="0")
    short_abandons: Mapped[int] = mapped_column(Integer, server_default="0")
    left_for_callback: Mapped[int] = mapped_column(Integer, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    callbacks_requested: Mapped[int] = mapped_column(Integer, server_default="0")
    callbacks_completed: Mapped[int] = mapped_column(Integer, server_default="0")
    # Seconds answered callers waited, all told; the longest wait of any caller who left.
    wait_total_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    longest_wait_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Completed calls and their talk + wrap-up seconds.
    handled: Mapped[int] = mapped_column(Integer, server_default="0")
    handle_total_seconds: Mapped[float] = mapped_column(Float, server_default="0")


class AgentInterval(Base):
    """One agent's figures over one half hour: calls handled, missed offers, time per state."""

    __tablename__ = "agent_intervals"

    interval_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    handled: Mapped[int] = mapped_column(Integer, server_default="0")
    talk_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    wrap_up_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    missed_offers: Mapped[int] = mapped_column(Integer, server_default="0")
    # Seconds in each state of SPEC §6 (offline is not counted).
    state_available_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    state_break_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    state_offered_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    state_on_call_seconds: Mapped[float] = mapped_column(Float, server_default="0")
    state_wrap_up_seconds: Mapped[float] = mapped_column(Float, server_default="0")
