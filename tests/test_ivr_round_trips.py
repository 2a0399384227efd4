"""How many SQL statements the hot IVR webhooks make.

Under gevent every round trip to PostgreSQL lets every other runnable greenlet of
the worker run first, so a webhook's latency grows with its number of statements
(benchmarks/README.md, IVR webhooks). The spoken-name answer is the hottest: it
authenticates and then weighs every insured person of the household. A connection
held meanwhile, or opened anew, is one the worker's other webhooks wait for.
"""

from __future__ import annotations

import pytest
import redis
from flask import has_request_context, request
from ivr_calls import ZHANG, add_agent, load, message, verified
from sqlalchemy import event

from live import call_store, queueboard, store
from services import call_notes
from storage import db, prepared
from storage.db import make_engine


@pytest.fixture
def redis_round_trips(monkeypatch):
    """The Redis round trips made from now on, by request path: a command sent alone, or
    a pipeline's execution (the commands queued on a pipeline travel together)."""
    sent: dict[str, list[str]] = {}
    command, execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def note(what: str) -> None:
        path = request.path if has_request_context() else "-"
        sent.setdefault(path, []).append(what)

    def one_command(self, *args, **kwargs):
        note(str(args[0]))
        return command(self, *args, **kwargs)

    def pipeline(self, *args, **kwargs):
        note("pipeline")
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", one_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", pipeline)
    return sent


@pytest.fixture
def statements(app):
    """The SQL statements the app sends from now on, as a list that fills up."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        sent.append(statement)

    engine = db.engine(app)
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


def test_the_spoken_name_of_a_household_of_three_costs_a_bounded_number_of_queries(
    exchange, import_feed, statements
):
    load(import_feed)
    phone = exchange.call("+8613900001111").dial().press(ZHANG[3])
    statements.clear()
    phone.say(ZHANG[1])
    # 张伟 insures himself, his son and 李娜: all three are weighed before the choice.
    assert message("verified") in phone.heard
    assert phone.heard[-3] == message("choose_insured_option", name="李某", key=3)
    # The policyholders the suffix matches, each with their household's policies and
    # uses, whatever its size: one statement (a query per person would be 2 + 2 × 3;
    # on PostgreSQL a connection prepares it once, before its first run).
    assert len([s for s in statements if not s.startswith("PREPARE")]) == 1, statements


@pytest.mark.parametrize("name", [ZHANG[1], "李四"], ids=["right name", "wrong name"])
def test_the_spoken_name_costs_two_redis_round_trips_right_or_wrong(
    exchange, import_feed, redis_round_trips, statements, name
):
    # The step claimed with the state read, then the state and reply saved: the failed
    # tries that may lock the caller out come with the policyholders (SQL), and a wrong
    # name's try is a call note, written a moment later with others, not by this webhook.
    load(import_feed)
    phone = exchange.call("+8613900001111").dial().press(ZHANG[3])
    redis_round_trips.clear()
    statements.clear()
    phone.say(name)
    assert (message("verified") in phone.heard) == (name == ZHANG[1])
    # Each a script: a pipeline of the same commands costs redis-py more.
    assert redis_round_trips["/ivr/gather"] == ["EVAL", "EVAL"], redis_round_trips
    assert len([s for s in statements if not s.startswith("PREPARE")]) == 1, statements


def test_the_spoken_name_is_weighed_with_no_transaction_begun_or_rolled_back(
    app, exchange, import_feed
):
    # Reads alone: on PostgreSQL a BEGIN before them and a ROLLBACK when the connection
    # goes back are two more round trips, two more waits under gevent.
    load(import_feed)
    phone = exchange.call("+8613900001111").dial().press(ZHANG[3])
    in_autocommit: list[bool] = []

    def record(conn, _cursor, _statement, _parameters, _context, _executemany):
        raw = conn.connection.dbapi_connection
        postgres = conn.dialect.name == "postgresql"
        in_autocommit.append(raw.autocommit if postgres else raw.isolation_level is None)

    engine = db.engine(app)
    event.listen(engine, "before_cursor_execute", record)
    try:
        phone.say(ZHANG[1])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert message("verified") in phone.heard
    assert in_autocommit and all(in_autocommit), in_autocommit


def test_the_database_connection_is_back_in_the_pool_before_the_call_state_is_written(
    app, exchange, import_feed, monkeypatch
):
    load(import_feed)
    pool = db.engine(app).pool
    held_while_finishing = []
    finish = call_store.finish

    def finishing(*args, **kwargs):
        held_while_finishing.append(pool.checkedout())
        return finish(*args, **kwargs)

    monkeypatch.setattr(call_store, "finish", finishing)
    exchange.call("+8613900001111").dial().press(ZHANG[3]).say(ZHANG[1])
    # The spoken name reads the database; its Redis writes come after, without it.
    assert held_while_finishing[-1] == 0
    assert len(held_while_finishing) == 3


def test_a_postgresql_pool_keeps_twenty_connections_and_opens_at_most_twenty_five():
    # An overflow connection is closed when it comes back: a worker with more webhooks
    # at the database than the pool keeps would connect anew for each of the rest.
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/hotline")
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (20, 5)
    finally:
        engine.dispose()  # never connected: creating an engine does not connect


def test_the_end_of_a_call_that_left_the_queue_costs_one_redis_round_trip(
    exchange, import_feed, redis_round_trips
):
    # Its queues, its state, an offer of it and the agent whose leg it may be: read
    # together (they were four round trips, the state read twice).
    load(import_feed)
    phone = verified(exchange, ZHANG, "+8613900000041").press("1").press("2").press("1")
    assert phone.in_queue, phone.heard
    phone.hang_up()
    assert redis_round_trips["/ivr/status"] == ["pipeline"]


def test_a_turn_that_queues_the_caller_costs_two_redis_round_trips(
    exchange, import_feed, redis_round_trips
):
    # The claim on the step, then the state and reply written with the caller's place on
    # the queue board (marked once, by a script) and what agents see of them. The mark and
    # the waiting list were two round trips of their own.
    load(import_feed)
    phone = verified(exchange, ZHANG, "+8613900000042").press("1").press("2")
    redis_round_trips.clear()
    phone.press("1")
    assert phone.in_queue, phone.heard
    assert redis_round_trips["/ivr/gather"] == ["EVAL", "pipeline"], redis_round_trips
    assert phone.exchange.queues.position(phone)[1] >= 1


def test_twilio_confirming_a_caller_in_its_queue_costs_one_redis_round_trip(app, redis_round_trips):
    # The waitUrl's mark, the queue's sid, and the caller listed again if the board lost
    # them meanwhile, at the time they first entered (a script: a pipeline, then a ZADD).
    with app.app_context():
        redis = store.redis()
        queueboard.enqueued(redis, "medical", "CA1", 1000.0)
        assert queueboard.confirmed(redis, "medical", "CA1", "QU1")
        queueboard.unconfirmed(redis, "CA1")
        queueboard.forget_waiting(redis, "medical", "CA1")
        redis_round_trips.clear()
        assert queueboard.confirmed(redis, "medical", "CA1", "QU1")
        assert redis_round_trips["-"] == ["EVAL"]
        assert redis.zscore("hotline:queue:medical:waiting", "CA1") == 1000.0
        assert not queueboard.confirmed(redis, "medical", "CA1", "QU1")
        assert queueboard.sids(redis) == {"medical": "QU1"}


def test_a_caller_hanging_up_in_the_queue_costs_one_redis_round_trip(
    exchange, import_feed, redis_round_trips
):
    # Off the waiting list and marked as left, together: which queue, and since when, came
    # in the Enqueue action's URL (ivr.urls), so the call's state is not read first.
    load(import_feed)
    phone = verified(exchange, ZHANG, "+8613900000047").press("1").press("2").press("1")
    assert phone.in_queue
    redis_round_trips.clear()
    phone.hang_up()
    assert redis_round_trips["/ivr/queue/done"] == ["EVAL"], redis_round_trips


def test_the_turns_after_authentication_read_nothing_from_the_database(
    exchange, import_feed, statements
):
    # The household's policies and uses, read to authenticate, travel in the call state:
    # choosing the insured person and hearing what they are entitled to (权益查询) weigh
    # eligibility from them.
    load(import_feed)
    phone = exchange.call("+8613900001112").dial().press(ZHANG[3]).say(ZHANG[1])
    statements.clear()
    heard = len(phone.heard)
    phone.press("1").press("4")
    assert message("verified") in phone.heard
    assert any("豪华" in line for line in phone.heard[heard:]), phone.heard[heard:]
    assert statements == []


def test_a_calls_notes_cost_its_webhooks_no_sql(app, exchange, import_feed, statements):
    # Handed to the process's notes, written together a moment later (services.call_notes).
    load(import_feed)
    call_notes.of(app).seconds = 3600  # no timer fires meanwhile
    phone = verified(exchange, ZHANG, "+8613900000044").press("1").press("2").press("1")
    assert phone.in_queue, phone.heard
    phone.hang_up()
    assert not [s for s in statements if "call_records" in s]
    assert call_notes.of(app).waiting() == 3


def test_the_notes_of_a_moment_are_one_transaction_and_the_connection_given_back(
    app, exchange, import_feed
):
    load(import_feed)
    notes = call_notes.of(app)
    notes.seconds = 3600
    for caller in ("+8613900000045", "+8613900000046"):
        verified(exchange, ZHANG, caller).press("1").press("2").press("1").hang_up()
    engine = db.engine(app)
    commits = []

    def committed(connection):
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        assert notes.write() == 6
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) == 1
    assert engine.pool.checkedout() == 0


def test_with_no_wait_each_note_is_written_in_autocommit_and_the_connection_given_back(
    app, exchange, import_feed, monkeypatch
):
    # One upsert each, atomic by itself: no BEGIN and COMMIT of their own (two more
    # round trips to PostgreSQL for the webhook), and the connection back in the pool.
    load(import_feed)
    call_notes.of(app).seconds = 0
    phone = verified(exchange, ZHANG, "+8613900000043").press("1").press("2")
    engine = db.engine(app)
    postgres = engine.dialect.name == "postgresql"
    modes = []
    run = prepared._Compiled.run

    def running(self, connection, params):
        # The notes are prepared statements on the raw cursor: what the driver is told.
        if "INSERT INTO call_records" in self.sql:
            raw = connection.connection.dbapi_connection
            modes.append(raw.autocommit if postgres else raw.isolation_level is None)
        return run(self, connection, params)

    monkeypatch.setattr(prepared._Compiled, "run", running)
    phone.press("1")
    assert phone.in_queue, phone.heard
    phone.hang_up()
    assert len(modes) >= 3 and all(modes), modes  # entered, left the queue, ended
    assert engine.pool.checkedout() == 0


def test_a_callers_waiturl_costs_one_redis_round_trip(exchange, import_feed, redis_round_trips):
    # Twilio's word that the caller is in its queue, and what is announced: the agents
    # available (at the head) or the line's recent answers (further back), read together.
    load(import_feed)
    callers = [
        verified(exchange, ZHANG, f"+86139000001{n:02d}").press("1").press("2").press("1")
        for n in range(3)
    ]
    assert all(phone.in_queue for phone in callers)
    for phone in (callers[0], callers[2]):  # at the head, and third
        redis_round_trips.clear()
        phone.wait()
        assert redis_round_trips["/ivr/queue/wait"] == ["pipeline"]


def test_a_turn_weighs_eligibility_only_when_it_needs_it_and_then_once(
    exchange, import_feed, monkeypatch
):
    # 35–50 µs an assessment: the menus weigh nobody (nor rebuild the people carried in
    # the call state), and the turn that queues the caller weighs them once, for the
    # service and for the tier the agents see.
    from ivr import facts
    from storage import repository

    load(import_feed)
    weighed = {"assessed": 0, "rebuilt": 0}
    assess, uncarried = repository.Insured.eligibility, facts.uncarried

    def assessed(self, *args, **kwargs):
        weighed["assessed"] += 1
        return assess(self, *args, **kwargs)

    def rebuilt(*args):
        weighed["rebuilt"] += 1
        return uncarried(*args)

    monkeypatch.setattr(repository.Insured, "eligibility", assessed)
    monkeypatch.setattr(facts, "uncarried", rebuilt)
    phone = verified(exchange, ZHANG, "+8613900000048")
    by_turn = []
    for key in "121":
        weighed.update(assessed=0, rebuilt=0)
        phone.press(key)
        by_turn.append((weighed["assessed"], weighed["rebuilt"]))
    assert phone.in_queue
    assert by_turn == [(0, 0), (0, 0), (1, 1)]


def test_the_head_of_the_queue_learns_an_agent_is_free_in_the_same_round_trip(
    app, exchange, import_feed, redis_round_trips
):
    # Whether one of the agents available serves the line is read in Redis, with the rest.
    load(import_feed)
    for n in range(5):
        add_agent(app, f"agent{n}", queues=("policy",) if n < 4 else ("medical",))
    phone = verified(exchange, ZHANG, "+8613900000100").press("1").press("2").press("1")
    redis_round_trips.clear()
    assert message("queue_head") in phone.wait()
    assert redis_round_trips["/ivr/queue/wait"] == ["pipeline"]
