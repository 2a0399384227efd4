"""How many SQL statements the hot IVR webhooks make.

Under gevent every round trip to PostgreSQL lets every other runnable greenlet of
the worker run first, so a webhook's latency grows with its number of statements
(benchmarks/README.md, IVR webhooks). The spoken-name answer is the hottest: it
authenticates and then weighs every insured person of the household. A connection
held meanwhile, or opened anew, is one the worker's other webhooks wait for.
"""

from __future__ import annotations

import pytest
from ivr_calls import ZHANG, load, message
from sqlalchemy import event

from live import call_store
from storage import db
from storage.db import make_engine


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
    # policyholders by suffix, the household, then their policies and uses (whatever
    # its size): a query per person would be 2 + 2 × 3.
    assert len(statements) <= 4, statements


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


def test_a_postgresql_pool_keeps_ten_connections_and_opens_at_most_fifteen():
    # An overflow connection is closed when it comes back: a worker with more webhooks
    # at the database than the pool keeps would connect anew for each of the rest.
    engine = make_engine("postgresql://postgres@127.0.0.1:5432/hotline")
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (10, 5)
    finally:
        engine.dispose()  # never connected: creating an engine does not connect
