"""The demo data set: a handful of fictional people that show every rule at work.

``feed.json`` is an ordinary feed, written as of ``ANCHOR``. So that the cases
stay true on whatever day the demo runs (someone still in the waiting period, a
policy still in cooling-off), ``load`` moves every date on or after the launch
date by the days between ``ANCHOR`` and today, and puts each use in the current
calendar year; dates before the launch stay, so the existing customer stays one.
The phone numbers (139 0000 ....) are made up and belong to no one.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from domain.catalogue import Programme
from services import accounts, importer
from services.exceptions import UnknownAgent

FEED = Path(__file__).resolve().parent / "feed.json"
ANCHOR = date(2026, 3, 2)

# What each demo person shows, for the start-up banner and the README.
CASES = {
    "D01": "安心档: one policy of 200,000",
    "D02": "尊享档 after an endorsement (加保) to 350,000; outpatient booking and rehab used",
    "D03": "豪华档 from two policies (700,000); 2 of 5 nursing days and a second opinion used",
    "D04": "new customer in the 30-day waiting period",
    "D05": "existing customer (老客户, effective before 2024): no waiting period",
    "D06": "张伟 (homophones: 章伟 D11), policyholder for himself, D07 and D08",
    "D07": "张伟's child: 安心档, no phone of their own",
    "D08": "张伟's spouse: 600,000 policy still in cooling-off (犹豫期), no tier yet",
    "D09": "a surrendered 500,000 policy no longer counts: down to 安心档",
    "D10": "a 1,000,000 policy of a product not in the programme, never counted",
    "D11": "章伟, who sounds like 张伟",
}

DEMO_ACCOUNTS = (("demo-agent", "agent"), ("demo-supervisor", "supervisor"))


def feed_for(today: date, launch: date) -> dict:
    """The demo feed with its dates moved to ``today`` (see the module docstring)."""
    doc = json.loads(FEED.read_text(encoding="utf-8"))
    shift = today - ANCHOR

    def move(value: str) -> str:
        day = date.fromisoformat(value)
        return (day + shift if day >= launch else day).isoformat()

    for policy in doc["policies"]:
        policy["cooling_off_end"] = move(policy["cooling_off_end"])
        for event in policy.get("events", []):
            event["date"] = move(event["date"])
    for use in doc["usage"]:
        day = date.fromisoformat(use["date"])
        use["date"] = day.replace(year=today.year).isoformat()
    return doc


def load(engine: Engine, programme: Programme, now: datetime) -> importer.Summary:
    """Import the demo feed as of ``now`` (an upsert: running it again changes nothing)."""
    doc = feed_for(now.date(), programme.launch_date)
    with tempfile.TemporaryDirectory(prefix="hotline-demo-") as folder:
        path = Path(folder) / "demo-feed.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        summary = importer.import_feed(engine, path, programme, now=now)
    summary.path = "the demo data set"
    return summary


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    password: str
    token: str


def ensure_accounts(db_session: Session, queues: list[str], now: datetime) -> list[Account]:
    """The demo agent and supervisor, with a new password and a single new token each."""
    made = []
    for username, role in DEMO_ACCOUNTS:
        password = accounts.new_password()
        try:
            agent = accounts.find_agent(db_session, username)
            accounts.set_password(agent, password)
            accounts.revoke_tokens(db_session, agent, now)
        except UnknownAgent:
            agent = accounts.add_agent(db_session, username, role, queues, queues, password)
        token = accounts.issue_token(db_session, agent, now)
        made.append(Account(username, role, password, token))
    return made
