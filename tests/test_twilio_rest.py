"""Twilio's REST API is reached at TWILIO_API_BASE_URL, and nothing else changes (SPEC §5)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import requests
from conftest import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN

from adapters import twilio_rest


def test_by_default_requests_go_to_twilio(app, twilio_rest):
    twilio_rest_module_sends(app)
    (sent,) = twilio_rest.requests
    assert sent.url == (
        f"https://api.twilio.com/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"
    )


def test_a_base_url_changes_the_origin_and_keeps_twilios_path_form_and_credentials(
    app, twilio_rest
):
    twilio_rest_module_sends(app)
    app.config["TWILIO_API_BASE_URL"] = "http://127.0.0.1:8000/simulator/twilio/"
    twilio_rest_module_sends(app)
    direct, moved = twilio_rest.requests
    assert moved.url == (
        "http://127.0.0.1:8000/simulator/twilio/2010-04-01/Accounts/"
        f"{TWILIO_ACCOUNT_SID}/Messages.json"
    )
    assert (moved.method, moved.data) == (direct.method, direct.data)
    assert (moved.auth, moved.headers) == (direct.auth, direct.headers)
    assert moved.auth[0] == TWILIO_ACCOUNT_SID


def twilio_rest_module_sends(app) -> None:
    twilio_rest.send_sms(app, "+8613812345678", "【重疾管家】", "+861058001234")


class _Twilio(BaseHTTPRequestHandler):
    """Twilio's Messages resource over HTTP/1.1 keep-alive, counting connections."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each kept-alive answer waits 40 ms for an ACK
    connections = 0
    paths: ClassVar[list[str]] = []

    def setup(self):
        super().setup()
        type(self).connections += 1

    def do_POST(self):
        type(self).paths.append(self.path)
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"sid": "SM" + "0" * 32, "status": "queued"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_twilio(app):
    """The real HTTP client of the library, sending to a local stand-in of Twilio."""
    _Twilio.connections = 0
    _Twilio.paths = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Twilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config.update(
        TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN,
        TWILIO_API_BASE_URL=f"http://127.0.0.1:{server.server_port}",
    )
    yield _Twilio
    server.shutdown()
    server.server_close()


def test_requests_to_twilio_reuse_one_open_connection(app, http_twilio):
    for _ in range(3):
        twilio_rest_module_sends(app)
    assert http_twilio.connections == 1


def test_a_forked_process_opens_connections_of_its_own(app, http_twilio, monkeypatch):
    twilio_rest_module_sends(app)
    parent = twilio_rest.client(app)
    monkeypatch.setattr(twilio_rest.os, "getpid", lambda: -1)  # as in a work horse
    twilio_rest_module_sends(app)
    assert twilio_rest.client(app) is not parent
    assert http_twilio.connections == 2


def test_changed_settings_make_a_new_client(app, http_twilio):
    first = twilio_rest.client(app)
    app.config["TWILIO_AUTH_TOKEN"] = "another"
    second = twilio_rest.client(app)
    assert second is not first
    assert second.password == "another"


def test_a_proxy_set_in_the_environment_carries_the_requests(app, http_twilio, monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    # The stand-in of Twilio serves as the proxy: it is sent the whole URL.
    monkeypatch.setenv("http_proxy", app.config["TWILIO_API_BASE_URL"])
    app.config["TWILIO_API_BASE_URL"] = "http://twilio.invalid"
    twilio_rest_module_sends(app)
    twilio_rest_module_sends(app)
    assert (
        http_twilio.paths
        == [f"http://twilio.invalid/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Messages.json"] * 2
    )


def test_the_environment_is_read_once_not_before_each_request(app, http_twilio, monkeypatch):
    reads = []
    real = requests.sessions.get_environ_proxies

    def reading(url, no_proxy=None):
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(requests.sessions, "get_environ_proxies", reading)
    for _ in range(3):
        twilio_rest_module_sends(app)
    assert len(reads) == 1
    assert len(http_twilio.paths) == 3
