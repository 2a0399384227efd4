"""The screen-pop: what an agent sees the moment a call reaches them (SPEC §4 step 7, §5).

Built from the IVR's ``CallTaken`` announcement, the caller's records and today's
eligibility. Names and phones are masked: the full record is only behind the
authenticated JSON API.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import sla
from domain.exceptions import UnknownService
from domain.masking import mask_name, mask_phone
from flows import Flows
from live.announcements import CallTaken
from storage import repository
from storage.exceptions import UnknownPerson
from storage.models import Person, Phone


def build(call: CallTaken, db_session: Session, flows: Flows, now: datetime) -> dict:
    """The ``screen_pop`` event's data for ``call``; ``now`` is aware, in the hotline's zone."""
    today = now.date()
    programme = flows.programme
    service = None
    if call.service:
        try:
            service = programme.service(call.service)
        except UnknownService:
            service = None

    eligibility = None
    insured_name = None
    if call.insured_id:
        try:
            insured = repository.insured(db_session, call.insured_id)
        except UnknownPerson:
            insured = None
        if insured is not None:
            insured_name = mask_name(insured.name)
            eligibility = {
                "insured_id": insured.id,
                **insured.eligibility(programme, today).as_dict(),
            }

    entitlement = None
    if eligibility is not None and service is not None:
        entitlement = next((s for s in eligibility["services"] if s["code"] == service.code), None)

    data = bare(call)
    data.update(
        {
            "policyholder": _policyholder(db_session, call),
            "insured": {"id": call.insured_id, "name": insured_name} if call.insured_id else None,
            "service": service.code if service else None,
            "service_name": service.name if service else None,
            "eligibility": eligibility,
            "entitlement": entitlement,
            "sla": (
                [
                    due.as_dict()
                    for due in sla.if_requested(
                        service, now.replace(tzinfo=None), flows.working_days
                    )
                ]
                if service is not None
                else None
            ),
        }
    )
    return data


def bare(call: CallTaken) -> dict:
    """The screen-pop from the announcement alone, for when the records cannot be read."""
    caller = mask_phone(call.caller) if call.caller else None
    return {
        "call_sid": call.call_sid,
        "verified": call.verified,
        "policyholder": {"id": call.policyholder_id, "name": None, "phone": caller},
        "insured_id": call.insured_id,
        "insured": {"id": call.insured_id, "name": None} if call.insured_id else None,
        "service": call.service,
        "service_name": None,
        "line": call.line,
        "queue": call.queue,
        "queue_seconds": call.queue_seconds,
        "taken_at": call.taken_at,
        "caller": caller,
        "eligibility": None,
        "entitlement": None,
        "sla": None,
    }


def _policyholder(db_session: Session, call: CallTaken) -> dict:
    """The authenticated policyholder, masked; for an unverified caller only the caller ID."""
    if not call.policyholder_id:
        return {"id": None, "name": None, "phone": mask_phone(call.caller) if call.caller else None}
    person = db_session.get(Person, call.policyholder_id)
    if person is None:
        return {"id": call.policyholder_id, "name": None, "phone": None}
    phones = db_session.scalars(
        select(Phone.e164).where(Phone.person_id == person.id).order_by(Phone.id)
    ).all()
    # The number they called from when it is on file, else the first number on file.
    phone = call.caller if call.caller in phones else (phones[0] if phones else None)
    return {"id": person.id, "name": mask_name(person.name), "phone": mask_phone(phone)}
