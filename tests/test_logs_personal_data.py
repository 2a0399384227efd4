"""No personal data in any log line or job description (SPEC §5), the rq worker's included.

A whole day is played through the softphone and the Procfile's worker class, with
every logger of the process recorded at DEBUG: callers authenticating (one of them
failing), an SMS link, a callback booked after hours and dialled at the opening,
an agent taking calls, a case booked with its confirmation SMS, Twilio refusing a
number once. Then every log record (message, traceback, extra fields) and every rq
job's description is searched for the feed's names and phone numbers, whole.
"""

from __future__ import annotations

import logging
import re

import phonenumbers
import pytest
from ivr_calls import (
    FAMILY,
    WANG,
    ZHANG,
    as_zhang_wei,
    at,
    book_after_hours,
    load,
    make_available,
    message,
)
from rq import SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry

from adapters import background
from hotline.worker import Worker
from live import store

CALLER_IDS = ("+8613900007777", "+8613900000071", "+8613900000072", "+8613700009999")
CONTACT = "+8613912345678"
# Attributes every LogRecord has; anything else came in through ``extra=``.
STANDARD = set(vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


class InProcessWorker(Worker):
    """The Procfile's worker class, running its jobs in this process (its logs with ours).

    SimpleWorker's way of running a job, taken explicitly: as a second base class it
    would come after rq.Worker's in the method order, and the job would run in a fork.
    """

    execute_job = SimpleWorker.execute_job
    get_heartbeat_ttl = SimpleWorker.get_heartbeat_ttl


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD}
        self.texts.append(self.format(record) + (f" {extras!r}" if extras else ""))


@pytest.fixture
def logs():
    recorder = Recorder()
    root = logging.getLogger()
    level = root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)


def forms_of(e164: str) -> set[str]:
    """A number as a log line might hold it: E.164, national digits, spaced."""
    parsed = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(parsed)
    spaced = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return {e164, national, spaced}


def personal_data() -> set[str]:
    found = set()
    for person in FAMILY["people"]:
        found.add(person["name"])
        for phone in person["phones"]:
            found |= forms_of(phone)
    for number in (*CALLER_IDS, CONTACT):
        found |= forms_of(number)
    return found


def jobs_of(app) -> list[Job]:
    with app.app_context():
        queue = background.queue(app)
        ids = set(queue.job_ids)
        for registry in (FinishedJobRegistry, FailedJobRegistry, ScheduledJobRegistry):
            ids |= set(registry(queue=queue).get_job_ids())
        return [job for job in Job.fetch_many(sorted(ids), connection=queue.connection) if job]


def work(app) -> None:
    with app.app_context():
        worker = InProcessWorker([background.queue(app)], connection=store.redis())
        worker.work(burst=True, with_scheduler=True)


def retry_now(app) -> None:
    """rq retries a refused SMS 10 s later by the real clock: make it due now."""
    with app.app_context():
        queue = background.queue(app)
        registry = queue.scheduled_job_registry
        for job_id in registry.get_job_ids():
            if job_id.startswith("hotline-sms-"):
                registry.remove(job_id)
                queue.enqueue_job(Job.fetch(job_id, connection=queue.connection))


def test_a_simulated_day_logs_no_name_and_no_whole_phone_number(
    app, exchange, twilio_rest, clock, import_feed, make_agent, auth_for, client, logs
):
    if not app.config.get("REDIS_URL"):
        pytest.skip("needs a real Redis for the rq worker")
    load(import_feed)
    app.config["TWILIO_CALLER_ID"] = "+8640060580560"
    make_agent("alice", queues=("medical",))
    make_available(app, "alice")

    # 03:00 an SMS link to the number on file; Twilio refuses the number once (retried).
    at(clock, 3)
    phone = as_zhang_wei(exchange, caller=CALLER_IDS[0]).press("1").press("1")
    assert message("sms_queued", service="线上问诊", phone_tail="五六七八") in phone.heard
    twilio_rest.fail_next(400)
    work(app)
    retry_now(app)
    work(app)
    # 09:00 王芳's number, a wrong suffix and a wrong name: a failed authentication.
    at(clock, 9)
    failing = exchange.call(CALLER_IDS[3]).dial()
    failing.press("999999").say("李四")
    failing.press(WANG[3]).say("赵六")
    failing.hang_up()
    # 10:00 张伟 waits for a person and alice takes him: the screen-pop.
    at(clock, 10)
    waiting = as_zhang_wei(exchange, CALLER_IDS[2]).press("2").press("1")
    assert waiting.in_queue, waiting.heard
    assert exchange.agent("alice").dial().take() is waiting
    waiting.hang_up()
    # 22:30 a callback booked after hours, dialled by the worker at 08:00 and answered.
    book_after_hours(exchange, clock, caller=CALLER_IDS[1])
    at(clock, 8, 0, day=11)
    work(app)
    (call,) = twilio_rest.of("Calls")
    customer = exchange.answer_outbound(
        call.data["Url"], to=ZHANG[2], from_=exchange.number, call_sid=None
    )
    customer.press("1")
    # A case booked at the desk: its confirmation SMS goes through the worker.
    headers = auth_for("alice")
    opened = client.post(
        "/api/cases",
        json={
            "insured_id": "P1",
            "service": "outpatient_booking",
            "critical_illness_confirmed": True,
            "contact_phone": CONTACT,
        },
        headers=headers,
    )
    assert opened.status_code == 201, opened.get_json()
    step = client.post(
        f"/api/cases/{opened.get_json()['id']}/steps",
        json={"milestone": "booked", "visit_on": "2026-03-16", "visit_period": "am"},
        headers=headers,
    )
    assert step.status_code in (200, 201), step.get_json()
    work(app)

    # The day happened: texts sent (one refused first), the callback dialled, the worker logged.
    texted = [r.data["To"] for r in twilio_rest.of("Messages")]
    assert texted.count(ZHANG[2]) == 2 and CONTACT in texted
    assert any("Job OK" in line for line in logs.texts)
    assert any("rq.worker" in line and "send_sms" in line for line in logs.texts)
    descriptions = [job.description for job in jobs_of(app)]
    assert len(descriptions) >= 4

    secrets = personal_data()
    pattern = re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))
    leaks = [(line, pattern.findall(line)) for line in logs.texts if pattern.search(line)]
    assert leaks == []
    assert [d for d in descriptions if pattern.search(d or "")] == []


def test_twilio_refusing_a_callback_number_is_logged_with_the_number_masked(
    app, exchange, twilio_rest, clock, import_feed, logs
):
    from sqlalchemy import select

    from services import call_jobs
    from storage import db
    from storage.models import Callback

    load(import_feed)
    book_after_hours(exchange, clock)
    at(clock, 8, 0, day=11)
    twilio_rest.fail_next(400)
    with app.app_context():
        callback = db.session().scalars(select(Callback)).one()
        assert call_jobs.dial_callback(callback.id) == "retry"
    (line,) = [text for text in logs.texts if "refused the call" in text]
    assert "The 'To' number 138****5678 is not a valid phone number." in line
    assert not any(form in line for form in forms_of(ZHANG[2]))


def test_a_refused_sms_raises_an_error_quoting_the_number_masked(app, twilio_rest):
    from adapters import twilio_rest as rest
    from adapters.exceptions import TwilioRefused

    app.config["TWILIO_CALLER_ID"] = "+8640060580560"
    twilio_rest.fail_next(400)
    with app.app_context(), pytest.raises(TwilioRefused) as refused:
        rest.send_sms(app, "+8613812345678", "hello")
    assert str(refused.value) == (
        "Twilio refused the SMS to 138****5678: HTTP 400, error 21211: Unable to create "
        "record: The 'To' number 138****5678 is not a valid phone number."
    )
    assert refused.value.__suppress_context__
