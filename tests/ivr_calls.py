"""A feed of callers for the webhook tests, and short ways to put calls through.

Imported as a plain module (``from ivr_calls import ...``); the fixtures
(``app``, ``exchange``, ``import_feed``, ``clock``) are in conftest.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from feeds import person, policy
from rq import SimpleWorker

import flows
from adapters import background
from domain.intervals import day_start
from domain.service_level import QueueTotals
from hotline.worker import PromptStop
from live import queueboard, store
from services import accounts, agent_shift, reports
from simulator.softphone import Exchange, Softphone
from storage import db

FLOWS = flows.load()
FLOW = FLOWS.call_flow

# 张伟 holds policies for himself (豪华), his son 张小明 (安心) and 李娜, whose cover is
# still in its waiting period on 2026-03-10; 王芳 (安心) has used her outpatient booking;
# 单田芳 is 尊享; 赵强's only policy was surrendered.
ZHANG = ("P1", "张伟", "+8613812345678", "345678")
WANG = ("P4", "王芳", "+8613700001234", "001234")
SHAN = ("P5", "单田芳", "+8613600002468", "002468")
ZHAO = ("P6", "赵强", "+8613500003579", "003579")


COOLED_OFF = "2024-03-15"
FAMILY = {
    "people": [
        person("P1", "张伟", ZHANG[2]),
        person("P2", "张小明"),
        person("P3", "李娜", "+8613900005555"),
        person("P4", "王芳", WANG[2]),
        person("P5", "单田芳", SHAN[2]),
        person("P6", "赵强", ZHAO[2]),
    ],
    "policies": [
        policy("A1", "P1", sum_insured=600_000, cooling_off_end=COOLED_OFF),
        policy("A2", "P2", "P1", sum_insured=200_000, cooling_off_end=COOLED_OFF),
        policy("A3", "P3", "P1", sum_insured=200_000, cooling_off_end="2026-02-20"),
        policy("B1", "P4", sum_insured=200_000, cooling_off_end=COOLED_OFF),
        policy("C1", "P5", sum_insured=400_000, cooling_off_end=COOLED_OFF),
        policy("D1", "P6", sum_insured=200_000, cooling_off_end=COOLED_OFF, status="surrendered"),
    ],
    "usage": [{"insured_id": "P4", "service": "outpatient_booking", "date": "2026-01-05"}],
}


def load(import_feed, doc: dict = FAMILY) -> None:
    result = import_feed(doc)
    assert result.exit_code == 0, result.output


def message(message_name: str, /, **values) -> str:
    return FLOW.messages[message_name].format(**values)


def offered(meaning: str) -> str:
    """How a prompt offers a key of the key map: "重听请按9。", "转人工服务请按0。"."""
    option = getattr(FLOW.keys, meaning)
    key = {"*": "星号键", "#": "井号键"}.get(option.key, option.key)
    return message("menu_option", label=option.label, key=key)


def at(clock, hour: int, minute: int = 0, day: int = 10) -> None:
    clock.set(datetime(2026, 3, day, hour, minute))


def verified(exchange: Exchange, who=ZHANG, caller: str = "+8613900001111", name=None):
    """A call that has passed authentication as ``who``."""
    phone = exchange.call(caller).dial()
    phone.press(who[3]).say(name or who[1])
    assert message("verified") in phone.heard, phone.heard
    return phone


def as_zhang_wei(exchange: Exchange, caller: str = "+8613900001111") -> Softphone:
    """张伟, verified, with himself chosen as the insured person (key 1)."""
    phone = verified(exchange, ZHANG, caller)
    phone.press("1")
    return phone


def book_after_hours(exchange: Exchange, clock, caller: str = "+8613900000071") -> Softphone:
    """张伟 asks for an outpatient booking at 22:30: the medical line is closed."""
    at(clock, 22, 30)
    phone = as_zhang_wei(exchange, caller).press("2").press("1")
    assert phone.heard[-2] == message("callback_offer", next_opening="明天8点", key="1")
    phone.press("1")
    assert message("callback_booked", when="明天8点", phone_tail="五六七八") in phone.heard
    assert phone.ended
    return phone


def add_agent(app, username: str, queues=("medical",), available: bool = True) -> None:
    """An agent serving ``queues``; available (SPEC §6: only then do they take calls)."""
    with app.app_context():
        session = db.session()
        agent = accounts.add_agent(session, username, "agent", list(queues), ["medical", "policy"])
        session.commit()
        if available:
            agent_shift.choose(agent, "available")


def make_available(app, username: str) -> None:
    """``username`` (an agent already added) chooses ``available``."""
    with app.app_context():
        agent_shift.choose(accounts.find_agent(db.session(), username), "available")


class Figures:
    """A queue now (Redis) and its figures today (the interval history in SQL)."""

    def __init__(self, now: queueboard.QueueNow, today: QueueTotals):
        self.waiting = now.waiting
        self.today = today

    def __getattr__(self, name):
        return getattr(self.today, name)


def figures(app, clock, queue: str = "medical") -> Figures:
    with app.app_context():
        (found,) = queueboard.snapshot(store.redis(), [queue], clock.now().timestamp())
        start = day_start(clock.today(), clock.tz)
        today = reports.per_queue(db.session(), start, start + timedelta(days=1))
    return Figures(found, today.get(queue, QueueTotals()))


def in_medical_queue(exchange, caller: str, who=ZHANG):
    """A verified caller put in the medical queue: 门诊预约 for 张伟; 王芳 has used hers, so
    就医陪诊."""
    phone = verified(exchange, who, caller)
    if who is ZHANG:
        phone.press("1")
    phone.press("2").press("1" if who is ZHANG else "4")
    assert phone.in_queue, phone.heard
    return phone


class InProcessWorker(PromptStop, SimpleWorker):
    """rq's SimpleWorker (jobs run in this process), its teardown prompt (``PromptStop``)."""


def run_jobs(app) -> None:
    """Run what is queued, as ``rq worker --burst`` would, inside the test's app."""
    with app.app_context():
        InProcessWorker([background.queue(app)], connection=store.redis(app)).work(burst=True)
