"""The web process's own settings (``hotline.gunicorn_conf``): how long a keep-alive
connection lasts, and how often a worker's garbage collector walks all it holds."""

from __future__ import annotations

import gc
import http.client

import pytest
from test_browser_desk import _own_env

from hotline import gunicorn_conf
from hotline.loopback import LocalServer


@pytest.fixture
def server(tmp_path):
    server = LocalServer(_own_env(tmp_path, "web-process"), tmp_path / "gunicorn.log")
    try:
        status, body = server.wait_ready("/healthz")
        assert status == 200, body[:300]
        yield server
    finally:
        server.stop(quick=True)


def test_a_keep_alive_connection_is_closed_after_its_hundredth_request(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    ports, closing = set(), []
    try:
        for number in range(1, gunicorn_conf.KEEPALIVE_REQUESTS + 2):
            connection.request("GET", "/healthz")
            ports.add(connection.sock.getsockname()[1])
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            if response.getheader("Connection", "").lower() == "close":
                closing.append(number)
    finally:
        connection.close()
    # The hundredth answer says so and the connection ends; the client opens another
    # for the next request, which is answered as any other.
    assert closing == [gunicorn_conf.KEEPALIVE_REQUESTS]
    assert len(ports) == 2


@pytest.fixture
def thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_a_started_worker_runs_full_collections_ten_times_less_often(app, monkeypatch, thresholds):
    monkeypatch.setattr(gunicorn_conf, "SHARED_STORE", True)  # no job runner, no loop
    gunicorn_conf.post_worker_init(type("Worker", (), {"wsgi": app})())
    young, middle, full = gc.get_threshold()
    assert (young, middle) == thresholds[:2]
    assert full == gunicorn_conf.FULL_COLLECTION_AFTER == 10 * thresholds[2]


@pytest.mark.parametrize("quick", [False, True], ids=["graceful stop", "quick stop"])
def test_a_stopping_worker_writes_the_call_notes_it_still_holds(tmp_path, quick):
    import sqlite3

    from simulator.softphone import Exchange, HttpTransport

    token, base = "web-process-token", "https://hotline.example.com"
    env = _own_env(
        tmp_path,
        "web-process",
        TWILIO_AUTH_TOKEN=token,
        PUBLIC_BASE_URL=base,
        CALL_NOTES_SECONDS="3600",  # held until the worker ends
    )
    server = LocalServer(env, tmp_path / "gunicorn.log")
    try:
        assert server.wait_ready("/healthz")[0] == 200
        exchange = Exchange(HttpTransport(f"http://127.0.0.1:{server.port}"), token, base_url=base)
        phone = exchange.call("+8613900000001")
        phone.request(exchange.url("/ivr/status"), CallStatus="completed", CallDuration="30")
        with sqlite3.connect(tmp_path / "hotline.sqlite3") as database:
            assert database.execute("SELECT count(*) FROM call_records").fetchone() == (0,)
    finally:
        server.stop(quick=quick)
    with sqlite3.connect(tmp_path / "hotline.sqlite3") as database:
        found = database.execute("SELECT call_sid, end_status FROM call_records").fetchall()
    assert found == [(phone.call_sid, "completed")]
