"""A telephone that talks to the hotline the way Twilio does, in process.

It posts signed, form-encoded webhooks with Twilio's standard parameters, reads
the TwiML that comes back (``xml.etree``), "hears" ``<Say>``, answers
``<Gather>`` by posting to its action, follows ``<Redirect>``, waits in
``<Enqueue>`` by requesting the waitUrl, leaves with ``<Leave/>`` and reports the
queue result to the Enqueue's action; agents ``<Dial><Queue>`` and take the
front caller of a queue. Tests use it, and so does the ``hotline call`` terminal.

Its REST side (``RecordingTwilio`` bound to an ``Exchange``) does what Twilio does
with the queue resources the distribution uses: ``Queues.json``, a queue's
``Members.json``, and a Members update, which takes the caller out of the queue to
the TwiML at its ``Url`` (``Exchange.deliver``, as Twilio does it a moment after
answering). A caller's ``<Dial><Client>`` rings that agent's browser phone
(``BrowserPhone``): accepted, the ``<Client url>`` runs on the agent's leg; rejected,
rung out or hung up, the ``<Dial action>`` gets the outcome on the caller's leg.

Transport is anything with ``post(url, form, headers) -> (status, body)`` (and
``get`` for the simulator's JSON): ``FlaskTransport`` wraps an app's test client,
``HttpTransport`` reaches a running server. The queues are the Exchange's
``QueueHolder``: in memory for tests, the app's store for the simulator
(``simulator.switchboard``), the simulator's endpoints for the terminal (``simulator.terminal``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
RESOURCE_PREFIXES = {"Calls": "CA", "Messages": "SM"}
DEFAULT_BASE_URL = "https://hotline.example.com"
# What a rung browser phone that does not answer becomes, and a rejected one (Voice SDK).
NO_ANSWER, REJECTED = "no-answer", "busy"


def queue_sid(name: str) -> str:
    """The QueueSid of the queue named ``name`` (Twilio makes one per name; here, from it)."""
    return "QU" + hashlib.sha1(name.encode()).hexdigest()[:32]


class Transport(Protocol):
    def post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST ``form`` to the absolute ``url``; the status code and body."""

    def get(self, url: str, headers: dict[str, str]) -> tuple[int, str]:
        """GET the absolute ``url`` (the simulator's JSON); the status code and body."""


class FlaskTransport:
    """Posts through a Flask test client (no network)."""

    def __init__(self, client):
        self.client = client

    def post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = self.client.post(url, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def get(self, url: str, headers: dict[str, str]) -> tuple[int, str]:
        response = self.client.get(url, headers=headers)
        return response.status_code, response.get_data(as_text=True)


class HttpTransport:
    """Posts over HTTP to a running server, as Twilio's webhooks do.

    ``base_url`` is where the server really listens; the URLs signed and posted are
    the Exchange's (its ``base_url`` is the server's ``PUBLIC_BASE_URL``), so the path
    and query are kept and the origin is replaced.
    """

    def __init__(self, base_url: str, timeout: float = 15.0):
        import requests  # twilio's own dependency; only this transport needs it

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _target(self, url: str) -> str:
        parts = urlsplit(url)
        return self.base_url + parts.path + ("?" + parts.query if parts.query else "")

    def post(self, url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = self.session.post(
            self._target(url), data=form, headers=headers, timeout=self.timeout
        )
        response.encoding = response.encoding or "utf-8"
        return response.status_code, response.text

    def get(self, url: str, headers: dict[str, str]) -> tuple[int, str]:
        response = self.session.get(self._target(url), headers=headers, timeout=self.timeout)
        response.encoding = response.encoding or "utf-8"
        return response.status_code, response.text


class QueueHolder(Protocol):
    """Where Twilio keeps the callers of each named queue, first come first served."""

    def join(self, queue: str, phone: Softphone) -> None:
        """``phone`` was enqueued in ``queue`` (its ``wait_url`` and ``queue_action`` are set)."""

    def leave(self, phone: Softphone) -> None:
        """``phone`` is no longer waiting (hung up, left, or taken)."""

    def position(self, phone: Softphone) -> tuple[int, int]:
        """(1-based position or 0 when not waiting, callers in its queue)."""

    def pop(self, queue: str, exchange: Exchange) -> Softphone | None:
        """Take the head of ``queue`` out for an agent; None when nobody waits."""

    def members(self, queue: str) -> list[str]:
        """The CallSids waiting in ``queue``, front first."""

    def take(self, queue: str, call_sid: str, exchange: Exchange) -> Softphone | None:
        """Take caller ``call_sid`` out of ``queue`` (a Members update); None if not there."""

    def names(self) -> list[str]:
        """Every queue that has held a caller."""


class MemoryQueues(dict):
    """Queues in this process: the callers' own Softphones, by queue name."""

    def join(self, queue: str, phone: Softphone) -> None:
        self.setdefault(queue, []).append(phone)

    def leave(self, phone: Softphone) -> None:
        waiting = self.get(phone.queue or "", [])
        if phone in waiting:
            waiting.remove(phone)

    def position(self, phone: Softphone) -> tuple[int, int]:
        waiting = self.get(phone.queue or "", [])
        return (waiting.index(phone) + 1 if phone in waiting else 0), len(waiting)

    def pop(self, queue: str, exchange: Exchange) -> Softphone | None:
        waiting = self.get(queue, [])
        return waiting.pop(0) if waiting else None

    def members(self, queue: str) -> list[str]:
        return [phone.call_sid for phone in self.get(queue, [])]

    def take(self, queue: str, call_sid: str, exchange: Exchange) -> Softphone | None:
        waiting = self.get(queue, [])
        found = next((phone for phone in waiting if phone.call_sid == call_sid), None)
        if found is not None:
            waiting.remove(found)
        return found

    def names(self) -> list[str]:
        return list(self)


class HangUp(Exception):
    """The call is over; nothing more can be pressed or said."""


class WebhookFailed(AssertionError):
    """The hotline answered a webhook with something Twilio would not accept."""


def sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Exchange:
    """Twilio's side: signs requests, and holds the named queues callers wait in."""

    transport: Transport
    auth_token: str
    base_url: str = DEFAULT_BASE_URL
    account_sid: str = "AC" + "0" * 32
    number: str = "+861058001234"
    # The callers waiting in each queue; tests keep them in memory (``MemoryQueues``).
    queues: QueueHolder = field(default_factory=MemoryQueues)
    # Every webhook posted, as (url, form, status): what a test may inspect.
    log: list[tuple[str, dict, int]] = field(default_factory=list)
    # Agents' browser phones by identity (username), made as they are first rung or asked for.
    browsers: dict[str, BrowserPhone] = field(default_factory=dict)
    # Callers dequeued by a Members update, and the URL Twilio is to take each to next.
    redirects: list[tuple[Softphone, str]] = field(default_factory=list)

    def url(self, path: str, current: str | None = None) -> str:
        return urljoin(current or self.base_url + "/", path)

    def post(self, url: str, form: dict[str, str], sign: bool = True) -> tuple[int, str]:
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token).compute_signature(
                url, form
            )
        status, body = self.transport.post(url, form, headers)
        self.log.append((url, dict(form), status))
        return status, body

    def get(self, url: str) -> tuple[int, str]:
        """A signed GET (Twilio signs the URL alone when there is no form)."""
        signature = RequestValidator(self.auth_token).compute_signature(url, {})
        status, body = self.transport.get(url, {"X-Twilio-Signature": signature})
        self.log.append((url, {}, status))
        return status, body

    def call(self, caller: str | None = "+8613900001111", **kwargs) -> Softphone:
        """A caller phoning the hotline (not yet dialled)."""
        return Softphone(self, caller=caller or "anonymous", **kwargs)

    def agent(self, username: str) -> AgentPhone:
        return AgentPhone(self, username)

    def answer_outbound(self, url: str, to: str, from_: str, call_sid: str) -> Softphone:
        """The hotline placed a call (REST ``calls.create``) and the customer picked up."""
        phone = Softphone(
            self, caller=from_, called=to, call_sid=call_sid, direction="outbound-api"
        )
        phone.answer(url)
        return phone

    def position(self, phone: Softphone) -> tuple[int, int]:
        return self.queues.position(phone)

    def browser(self, username: str) -> BrowserPhone:
        """``username``'s browser phone (the Voice SDK's Device, registered as that identity)."""
        if username not in self.browsers:
            self.browsers[username] = BrowserPhone(self, username)
        return self.browsers[username]

    def deliver(self) -> int:
        """Take the callers dequeued by Members updates to their URLs; how many went."""
        done = 0
        while self.redirects:
            phone, url = self.redirects.pop(0)
            phone.redirected(url)
            done += 1
        return done

    # -- Twilio's REST API for queues (what ``RecordingTwilio`` answers with) ------------

    def queue_named(self, sid: str) -> str | None:
        return next((name for name in self.queues.names() if queue_sid(name) == sid), None)

    def answer_rest(self, method: str, parts: list[str], form: dict) -> tuple[int, dict]:
        """A REST request on ``Queues…`` as Twilio answers it (``parts``: after the account)."""
        if parts == ["Queues"] and method == "GET":
            names = self.queues.names()
            return 200, page("queues", [self._queue_resource(name) for name in names])
        name = self.queue_named(parts[1]) if len(parts) > 1 else None
        if name is None:
            return 404, rest_error(20404, "The requested resource was not found", 404)
        if len(parts) == 3 and parts[2] == "Members" and method == "GET":
            members = [self._member(name, sid) for sid in self.queues.members(name)]
            return 200, page("queue_members", members)
        if len(parts) == 4 and parts[2] == "Members" and method == "POST":
            url = form.get("Url")
            if not url:
                return 400, rest_error(21205, "Url parameter is required", 400)
            member = self._member(name, parts[3])
            phone = self.queues.take(name, parts[3], self)
            if phone is None:
                return 400, rest_error(21218, "Call is not in the queue", 400)
            self.redirects.append((phone, url))
            return 200, member
        return 405, rest_error(20004, "Method not allowed", 405)

    def _queue_resource(self, name: str) -> dict:
        sid = queue_sid(name)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "friendly_name": name,
            "current_size": len(self.queues.members(name)),
            "max_size": 100,
            "average_wait_time": 0,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Queues/{sid}.json",
        }

    def _member(self, name: str, call_sid: str) -> dict:
        members = self.queues.members(name)
        position = members.index(call_sid) + 1 if call_sid in members else 0
        phone = self._phone(call_sid)
        waited = int(time.monotonic() - phone.enqueued_at) if phone and phone.enqueued_at else 0
        sid = queue_sid(name)
        queue_uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Queues/{sid}"
        return {
            "call_sid": call_sid,
            "queue_sid": sid,
            "position": position,
            "wait_time": waited,
            "date_enqueued": None,
            "uri": f"{queue_uri}/Members/{call_sid}.json",
        }

    def _phone(self, call_sid: str) -> Softphone | None:
        for waiting in getattr(self.queues, "values", lambda: [])():
            for phone in waiting:
                if phone.call_sid == call_sid:
                    return phone
        return None


def page(key: str, records: list[dict]) -> dict:
    """A list resource as Twilio pages it (one page: the hotline asks for its largest)."""
    return {
        key: records,
        "start": 0,
        "end": max(0, len(records) - 1),
        "page": 0,
        "page_size": len(records),
        "first_page_uri": None,
        "next_page_uri": None,
        "previous_page_uri": None,
        "uri": None,
    }


def rest_error(code: int, message: str, status: int) -> dict:
    """An error body as Twilio's API answers it."""
    return {"code": code, "message": message, "status": status}


@dataclass
class Dialing:
    """A caller's ``<Dial><Client>``: whom it rings, where the outcome goes, the agent's leg."""

    identity: str
    action: str
    answered_url: str | None
    timeout: int
    leg: str = field(default_factory=sid)
    answered: bool = False


class Softphone:
    def __init__(
        self,
        exchange: Exchange,
        caller: str,
        called: str | None = None,
        call_sid: str | None = None,
        direction: str = "inbound",
    ):
        self.exchange = exchange
        self.caller = caller
        self.called = called or exchange.number
        self.call_sid = call_sid or sid()
        self.direction = direction
        self.heard: list[str] = []
        self.played: list[str] = []
        self.status = "ringing"
        self.document_url: str | None = None
        self.gather: ET.Element | None = None
        self._after_gather: list[ET.Element] = []
        # In a queue: its name, waitUrl and action; and the wait document's Gather.
        self.queue: str | None = None
        self.wait_url: str | None = None
        self.queue_action: str | None = None
        self.wait_gather: ET.Element | None = None
        self.wait_document_url: str | None = None
        self.agent: AgentPhone | BrowserPhone | None = None
        self.enqueued_at: float | None = None
        # A <Dial><Client> ringing (or connected to) an agent's browser phone.
        self.dialing: Dialing | None = None
        self.last_twiml: str = ""
        # Where Twilio reports the call's end: the StatusCallback a REST call gave, else the
        # number's own status callback.
        self.status_url: str | None = None

    # -- Twilio's parameters -------------------------------------------------------------

    def params(self, **extra) -> dict[str, str]:
        form = {
            "AccountSid": self.exchange.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call_sid,
            "From": self.caller,
            "To": self.called,
            "Caller": self.caller,
            "Called": self.called,
            "CallStatus": self.status,
            "Direction": self.direction,
        }
        form.update({k: str(v) for k, v in extra.items() if v is not None})
        return form

    def request(self, url: str, **extra) -> str:
        status, body = self.exchange.post(url, self.params(**extra))
        if status != 200:
            raise WebhookFailed(f"{url} answered {status}: {body[:200]}")
        try:
            ET.fromstring(body)
        except ET.ParseError as exc:
            raise WebhookFailed(f"{url} answered invalid XML ({exc}): {body[:200]}") from None
        self.last_twiml = body
        return body

    # -- the call ---------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.status == "completed"

    @property
    def in_queue(self) -> bool:
        return self.queue is not None and self.agent is None and not self.ended

    def dial(self, path: str = "/ivr/voice") -> Softphone:
        url = self.exchange.url(path)
        body = self.request(url)
        self.status = "in-progress"
        self.run(url, body)
        return self

    def answer(self, url: str) -> Softphone:
        """An outbound call was answered: Twilio fetches its TwiML."""
        self.status = "in-progress"
        self.run(url, self.request(url))
        return self

    def run(self, url: str, body: str, waiting: bool = False) -> None:
        """Execute a TwiML document from the top, as Twilio does."""
        self.document_url = url
        self._execute(url, list(ET.fromstring(body)), waiting)

    def _execute(self, url: str, verbs: list[ET.Element], waiting: bool) -> None:
        for i, verb in enumerate(verbs):
            tag = verb.tag
            if tag == "Say":
                self.heard.append((verb.text or "").strip())
            elif tag == "Play":
                self.played.append((verb.text or "").strip())
            elif tag == "Pause":
                continue
            elif tag == "Gather":
                for inner in verb:
                    if inner.tag == "Say":
                        self.heard.append((inner.text or "").strip())
                    elif inner.tag == "Play":
                        self.played.append((inner.text or "").strip())
                if waiting:
                    self.wait_gather = verb
                    self.wait_document_url = url
                else:
                    self.gather = verb
                    self._after_gather = verbs[i + 1 :]
                return
            elif tag == "Redirect":
                target = self.exchange.url((verb.text or "").strip() or url, url)
                self.run(target, self.request(target), waiting)
                return
            elif tag == "Hangup":
                self._end()
                return
            elif tag == "Leave":
                self._leave_queue("leave")
                return
            elif tag == "Enqueue":
                self._enqueue(url, verb)
                return
            elif tag == "Dial" and not waiting:
                self._dial(url, verb)
                return
            else:
                raise WebhookFailed(f"unexpected <{tag}> in a caller's document at {url}")
        if not waiting:
            self._end()  # a document that runs out hangs up

    def _end(self) -> None:
        if self.ended:
            return
        self.gather = None
        self.status = "completed"
        self._leave_exchange_queue()
        self.request(self.status_url or self.exchange.url("/ivr/status"), CallDuration="60")

    # -- answering a Gather ----------------------------------------------------------------------

    def _answer(self, **answer) -> Softphone:
        if self.ended:
            raise HangUp("the call has ended")
        if self.gather is None:
            raise WebhookFailed("nothing is being asked")
        gather, self.gather = self.gather, None
        action = self.exchange.url(gather.get("action") or self.document_url, self.document_url)
        if not answer and gather.get("actionOnEmptyResult") != "true":
            self._execute(self.document_url, self._after_gather, False)
            return self
        self.run(action, self.request(action, **answer))
        return self

    def press(self, keys: str) -> Softphone:
        gather = self.gather
        if gather is None:
            raise WebhookFailed("nothing is being asked")
        if "dtmf" not in (gather.get("input") or "dtmf"):
            return self.silence()
        finish = gather.get("finishOnKey", "#")
        if finish and finish in keys:
            keys = keys[: keys.index(finish)]
        if gather.get("numDigits"):
            keys = keys[: int(gather.get("numDigits"))]
        if not keys:
            return self._answer()
        return self._answer(Digits=keys)

    def say(self, text: str, confidence: float = 0.9) -> Softphone:
        gather = self.gather
        if gather is None:
            raise WebhookFailed("nothing is being asked")
        if "speech" not in (gather.get("input") or ""):
            return self.silence()
        if not text:
            return self._answer()
        return self._answer(SpeechResult=text, Confidence=f"{confidence:.2f}")

    def silence(self) -> Softphone:
        return self._answer()

    # -- queues ---------------------------------------------------------------------------------

    def _enqueue(self, url: str, verb: ET.Element) -> None:
        self.queue = (verb.text or "").strip()
        self.agent = None
        self.wait_url = self.exchange.url(verb.get("waitUrl"), url) if verb.get("waitUrl") else None
        self.queue_action = self.exchange.url(verb.get("action") or url, url)
        self.enqueued_at = time.monotonic()
        self.exchange.queues.join(self.queue, self)
        self.wait()

    def wait(self, queue_time: int = 0) -> list[str]:
        """Twilio requests the waitUrl (again); what the caller heard from it."""
        if not self.in_queue or not self.wait_url:
            return []
        position, size = self.exchange.position(self)
        before = len(self.heard)
        body = self.request(
            self.wait_url,
            QueueSid=queue_sid(self.queue),
            QueuePosition=position,
            QueueTime=queue_time,
            AvgQueueTime=queue_time,
            CurrentQueueSize=size,
        )
        self.wait_gather = None
        self.run(self.wait_url, body, waiting=True)
        return self.heard[before:]

    def press_in_queue(self, key: str) -> Softphone:
        """A key pressed during the hold music (the wait document's Gather)."""
        if self.wait_gather is None:
            raise WebhookFailed("the wait document takes no keys")
        gather, self.wait_gather = self.wait_gather, None
        action = self.exchange.url(gather.get("action") or self.wait_url, self.wait_document_url)
        self.run(action, self.request(action, Digits=key), waiting=True)
        return self

    def _leave_exchange_queue(self) -> None:
        if self.queue is not None and self.agent is None:
            self.exchange.queues.leave(self)

    def _leave_queue(self, result: str, queue_time: int = 0) -> None:
        self._leave_exchange_queue()
        action, self.queue_action = self.queue_action, None
        self.queue = None
        self.wait_gather = None
        if action:
            self.run(action, self.request(action, QueueResult=result, QueueTime=queue_time))

    # -- taken out of the queue to an agent's browser phone ---------------------------------

    def redirected(self, url: str) -> Softphone:
        """A Members update took the caller out of the queue to the TwiML at ``url``.

        The Enqueue's action hears ``redirected`` (what it answers is not executed:
        the call is elsewhere now); then Twilio requests ``url`` on the caller's leg.
        """
        action, self.queue_action = self.queue_action, None
        self.wait_gather = None
        if action:
            self.request(action, QueueResult="redirected", QueueTime=0)
        self.queue = None
        self.run(url, self.request(url))
        return self

    def _dial(self, url: str, verb: ET.Element) -> None:
        clients = [child for child in verb if child.tag == "Client"]
        if len(clients) != 1 or len(verb) != 1:
            raise WebhookFailed(f"a caller's <Dial> must ring one <Client> at {url}")
        (client,) = clients
        identity = (client.text or "").strip() or (client.findtext("Identity") or "").strip()
        if not identity:
            raise WebhookFailed(f"<Client> without an identity at {url}")
        answered = client.get("url")
        self.dialing = Dialing(
            identity=identity,
            action=self.exchange.url(verb.get("action") or url, url),
            answered_url=self.exchange.url(answered, url) if answered else None,
            timeout=int(verb.get("timeout") or 30),
        )
        self.exchange.browser(identity).ring(self)

    def dial_over(self, status: str, talked: int | None = None) -> Softphone:
        """The ``<Dial>`` ended with ``status``: Twilio requests its action on the caller's leg."""
        dialing, self.dialing = self.dialing, None
        if dialing is None:
            raise WebhookFailed("no <Dial> is ringing or connected")
        browser = self.exchange.browser(dialing.identity)
        browser.gone(self)
        self.agent = None
        outcome = {"DialCallStatus": status, "DialCallSid": dialing.leg}
        if dialing.answered:
            outcome["DialCallDuration"] = talked if talked is not None else 0
        body = self.request(dialing.action, **outcome)
        if not self.ended:
            self.run(dialing.action, body)
        return self

    def hang_up(self) -> Softphone:
        """The caller hangs up (in a queue: Twilio reports ``hangup`` to the Enqueue action)."""
        if self.ended:
            return self
        self.gather = None
        if self.dialing is not None:
            # The <Dial> ends with the caller's call: its action is told (and not executed).
            self.status = "completed"
            self.dial_over("completed" if self.dialing.answered else "canceled", 60)
        if self.queue_action and self.agent is None:
            self._leave_exchange_queue()
            action, self.queue_action = self.queue_action, None
            self.status = "completed"
            self.request(action, QueueResult="hangup", QueueTime=30)
        elif self.queue_action and self.agent is not None:
            action, self.queue_action = self.queue_action, None
            self.status = "completed"
            self.request(action, QueueResult="bridged", QueueTime=30)
        self.status = "completed"
        self.request(self.status_url or self.exchange.url("/ivr/status"), CallDuration="60")
        return self

    def fail_queue(self, result: str = "queue-full") -> Softphone:
        """Twilio could not keep the caller in the queue."""
        self._leave_queue(result)
        return self


class AgentPhone:
    """An agent's browser phone: its TwiML App posts ``From=client:USERNAME``."""

    def __init__(self, exchange: Exchange, username: str):
        self.exchange = exchange
        self.username = username
        self.call_sid = sid()
        self.heard: list[str] = []
        self.queue: str | None = None
        self.queue_url: str | None = None
        self.caller: Softphone | None = None
        self.status = "ringing"

    def params(self, **extra) -> dict[str, str]:
        identity = f"client:{self.username}"
        form = {
            "AccountSid": self.exchange.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call_sid,
            "From": identity,
            "To": "",
            "Caller": identity,
            "Called": "",
            "CallStatus": self.status,
            "Direction": "inbound",
        }
        form.update({k: str(v) for k, v in extra.items() if v is not None})
        return form

    def dial(self, path: str = "/ivr/agent") -> AgentPhone:
        """Call the agents' TwiML App: which queue will this agent serve?"""
        url = self.exchange.url(path)
        status, body = self.exchange.post(url, self.params())
        if status != 200:
            raise WebhookFailed(f"{url} answered {status}: {body[:200]}")
        self.status = "in-progress"
        root = ET.fromstring(body)
        self.queue = self.queue_url = None
        for verb in root:
            if verb.tag == "Say":
                self.heard.append((verb.text or "").strip())
            elif verb.tag == "Dial":
                (queue,) = list(verb)
                if queue.tag != "Queue":
                    raise WebhookFailed(f"expected <Queue> in <Dial>, got <{queue.tag}>")
                self.queue = (queue.text or "").strip()
                self.queue_url = (
                    self.exchange.url(queue.get("url"), url) if queue.get("url") else None
                )
        return self

    def take(self, queue_time: int = 10) -> Softphone | None:
        """Twilio bridges the front caller of the dialled queue to this agent."""
        caller = self.exchange.queues.pop(self.queue or "", self.exchange)
        if caller is None:
            return None
        caller.agent = self
        caller.wait_gather = None
        self.caller = caller
        if self.queue_url:
            body = caller.request(
                self.queue_url,
                QueueSid=queue_sid(self.queue or ""),
                QueueTime=queue_time,
                DequeingCallSid=self.call_sid,
            )
            for verb in ET.fromstring(body):
                if verb.tag == "Say":
                    caller.heard.append((verb.text or "").strip())
                elif verb.tag in ("Play", "Pause", "Redirect"):
                    continue
                else:
                    raise WebhookFailed(f"<{verb.tag}> is not allowed in a <Queue url> document")
        return caller

    def hang_up(self) -> AgentPhone:
        """The agent's own call ends (e.g. nobody was in the queue): Twilio's status callback."""
        if self.status != "completed":
            self.status = "completed"
            self.exchange.post(self.exchange.url("/ivr/status"), self.params(CallDuration="0"))
        return self


class BrowserPhone:
    """An agent's browser phone (the Voice SDK's Device, registered as the agent's username).

    A caller's ``<Dial><Client>`` rings it; the test (or the simulator) then accepts,
    rejects or lets it ring out, and later hangs up.
    """

    def __init__(self, exchange: Exchange, identity: str):
        self.exchange = exchange
        self.identity = identity
        self.incoming: Softphone | None = None
        self.caller: Softphone | None = None
        self.heard: list[str] = []
        self.rung: list[str] = []

    @property
    def ringing(self) -> bool:
        return self.incoming is not None

    def ring(self, caller: Softphone) -> None:
        if self.incoming is not None or self.caller is not None:
            raise WebhookFailed(f"{self.identity}'s phone is busy: a second call rang it")
        self.incoming = caller
        self.rung.append(caller.call_sid)

    def gone(self, caller: Softphone) -> None:
        if self.incoming is caller:
            self.incoming = None
        if self.caller is caller:
            self.caller = None

    def _ringing(self) -> Softphone:
        if self.incoming is None:
            raise WebhookFailed(f"{self.identity}'s phone is not ringing")
        return self.incoming

    def accept(self) -> Softphone:
        """The agent answers: the ``<Client url>`` runs on their leg, then the two talk."""
        caller = self._ringing()
        dialing = caller.dialing
        if dialing.answered_url:
            form = {
                "AccountSid": self.exchange.account_sid,
                "ApiVersion": API_VERSION,
                "CallSid": dialing.leg,
                "ParentCallSid": caller.call_sid,
                "From": caller.caller,
                "To": f"client:{self.identity}",
                "Caller": caller.caller,
                "Called": f"client:{self.identity}",
                "CallStatus": "in-progress",
                "Direction": "outbound-dial",
            }
            status, body = self.exchange.post(dialing.answered_url, form)
            if status != 200:
                raise WebhookFailed(f"{dialing.answered_url} answered {status}: {body[:200]}")
            for verb in ET.fromstring(body):
                if verb.tag == "Say":
                    self.heard.append((verb.text or "").strip())
                elif verb.tag not in ("Play", "Pause"):
                    raise WebhookFailed(f"<{verb.tag}> in the <Client url> document")
        dialing.answered = True
        self.incoming, self.caller = None, caller
        caller.agent = self
        return caller

    def reject(self) -> Softphone:
        """The agent declines the call."""
        return self._ringing().dial_over(REJECTED)

    def ring_out(self) -> Softphone:
        """Nobody answers within the ``<Dial timeout>``."""
        return self._ringing().dial_over(NO_ANSWER)

    def hang_up(self, talked: int = 60) -> Softphone:
        """The agent ends the call after ``talked`` seconds: the caller's Dial is completed."""
        if self.caller is None:
            raise WebhookFailed(f"{self.identity} is on no call")
        return self.caller.dial_over("completed", talked)


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One request the hotline made to Twilio's REST API."""

    method: str
    url: str
    data: dict[str, str | list[str]]
    # How the library authenticated and described the request (Basic auth, User-Agent, …).
    auth: tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def parts(self) -> list[str]:
        """The path after ``/Accounts/{AccountSid}/``, without ``.json``, split on ``/``."""
        path = urlsplit(self.url).path.split("/Accounts/", 1)[-1].removesuffix(".json")
        return path.split("/")[1:]

    @property
    def resource(self) -> str:
        """ "Calls", "Messages", "Queues" or "Members": the resource the request is about."""
        return self.parts[-2] if len(self.parts) % 2 == 0 else self.parts[-1]


class RecordingTwilio(HttpClient):
    """Twilio's REST API as a pluggable HTTP client: records requests, answers like Twilio.

    Bound to an ``Exchange`` (``exchange``), its queue resources are the exchange's.

    Give it as ``TWILIO_HTTP_CLIENT``. ``fail_next(status)`` makes the next request
    fail the way Twilio's API does (e.g. 400 for an unreachable number, 500 for an
    outage); call it again to fail more. Resource SIDs count the requests made
    (``SM000…001`` for the first), so a test can name the one it expects.
    """

    def __init__(self, exchange: Exchange | None = None):
        super().__init__(logging.getLogger("twilio.http_client"), is_async=False)
        self.requests: list[RestRequest] = []
        self._failures: list[int] = []
        # With an exchange, queue resources are answered from (and act on) its queues.
        self.exchange = exchange

    def fail_next(self, status: int = 500) -> None:
        self._failures.append(status)

    def of(self, resource: str) -> list[RestRequest]:
        return [r for r in self.requests if r.resource == resource]

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        form = {
            k: [str(x) for x in v] if isinstance(v, list | tuple) else str(v)
            for k, v in dict(data or {}).items()
        }
        made = RestRequest(method, url, form, auth and tuple(auth), dict(headers or {}))
        self.requests.append(made)
        if self._failures:
            status = self._failures.pop(0)
            if status < 500:
                # As the API words it: the message quotes the number it refused.
                code, text = 21211, f"The 'To' number {form.get('To')} is not a valid phone number."
            else:
                code, text = 20500, "An internal server error has occurred"
            body = {"code": code, "message": text, "status": status}
            return Response(status, json.dumps(body))
        if made.parts and made.parts[0] == "Queues" and self.exchange is not None:
            status, body = self.exchange.answer_rest(method, made.parts, form)
            return Response(status, json.dumps(body))
        sid = f"{RESOURCE_PREFIXES.get(made.resource, 'XX')}{len(self.requests):032d}"
        return Response(201, json.dumps(created(url, form, sid)))


def created(url: str, form: dict, sid: str) -> dict:
    """The body Twilio answers a created Message or Call with (``url``: the list's)."""
    account = url.split("/Accounts/", 1)[-1].split("/", 1)[0]
    path = urlsplit(url).path if "://" in url else url
    return {
        "sid": sid,
        "account_sid": account,
        "status": "queued",
        "to": form.get("To"),
        "from": form.get("From"),
        "body": form.get("Body"),
        "direction": "outbound-api",
        "api_version": API_VERSION,
        "uri": path.removesuffix(".json") + f"/{sid}.json",
    }
