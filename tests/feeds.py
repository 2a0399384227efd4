"""Builders of the insurer's feed (SPEC §5) for tests: people, policies, usage, whole feeds.

Each builder gives the plainest valid record; a test names only what it is about.
"""

from __future__ import annotations

BASHI = "国宝人寿巴适一生终身重大疾病保险"


def person(pid: str = "P1", name: str = "张伟", *phones: str) -> dict:
    return {"id": pid, "name": name, "phones": list(phones)}


def policy(
    no: str = "A001",
    insured: str = "P1",
    holder: str | None = None,
    *,
    product: str = BASHI,
    sum_insured: int = 300000,
    cooling_off_end: str = "2025-01-10",
    status: str = "in_force",
    events=(),
    **fields,
) -> dict:
    """A policy on ``insured``, held by ``holder`` (the insured themselves by default)."""
    doc = {
        "policy_no": no,
        "product": product,
        "holder_id": holder or insured,
        "insured_id": insured,
        "sum_insured": sum_insured,
        "cooling_off_end": cooling_off_end,
        "status": status,
        "events": list(events) if isinstance(events, list | tuple) else events,
    }
    doc.update(fields)
    return doc


def use(insured: str, service: str, day: str, count: int = 1) -> dict:
    return {"insured_id": insured, "service": service, "date": day, "count": count}


def feed(people=(), policies=(), usage=()) -> dict:
    return {"people": list(people), "policies": list(policies), "usage": list(usage)}
