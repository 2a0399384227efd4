"""A telephone that talks to the hotline the way Twilio does, in process.

It posts signed, form-encoded webhooks with Twilio's standard parameters, reads
the TwiML that comes back (``xml.etree``), "hears" ``<Say>``, answers
``<Gather>`` by posting to its action, follows ``<Redirect>``, waits in
``<Enqueue>`` by requesting the waitUrl, leaves with ``<Leave/>`` and reports the
queue result to the Enqueue's action; agents ``<Dial><Queue>`` and take the
front caller of a queue. Tests use it, and so does the ``hotline call`` terminal.

Transport is anything with ``post(url, form, headers) -> (status, body)`` (and
``get`` for the simulator's JSON): ``FlaskTransport`` wraps an app's test client,
``HttpTransport`` reaches a running server. The queues are the Exchange's
``QueueHolder``: in memory for tests, the app's store for the simulator
(``simulator.switchboard``), the simulator's endpoints for the terminal (``simulator.terminal``).
"""

from __future__ import annotations

import json
import logging
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
TWILIO_API = "https://api.twilio.com"
RESOURCE_PREFIXES = {"Calls": "CA", "Messages": "SM"}
DEFAULT_BASE_URL = "https://hotline.example.com"


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
        self.agent: AgentPhone | None = None
        self.last_twiml: str = ""

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
        self.request(self.exchange.url("/ivr/status"), CallDuration="60")

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
        self.wait_url = self.exchange.url(verb.get("waitUrl"), url) if verb.get("waitUrl") else None
        self.queue_action = self.exchange.url(verb.get("action") or url, url)
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
            QueueSid="QU" + "0" * 32,
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

    def hang_up(self) -> Softphone:
        """The caller hangs up (in a queue: Twilio reports ``hangup`` to the Enqueue action)."""
        if self.ended:
            return self
        self.gather = None
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
        self.request(self.exchange.url("/ivr/status"), CallDuration="60")
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
                QueueSid="QU" + "0" * 32,
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


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One request the hotline made to Twilio's REST API."""

    method: str
    url: str
    data: dict[str, str | list[str]]

    @property
    def resource(self) -> str:
        """ "Calls" or "Messages": the last path segment, without ``.json``."""
        return self.url.rsplit("/", 1)[-1].removesuffix(".json")


class RecordingTwilio(HttpClient):
    """Twilio's REST API as a pluggable HTTP client: records requests, answers like Twilio.

    Give it as ``TWILIO_HTTP_CLIENT``. ``fail_next(status)`` makes the next request
    fail the way Twilio's API does (e.g. 400 for an unreachable number, 500 for an
    outage); call it again to fail more. Resource SIDs count the requests made
    (``SM000…001`` for the first), so a test can name the one it expects.
    """

    def __init__(self):
        super().__init__(logging.getLogger("twilio.http_client"), is_async=False)
        self.requests: list[RestRequest] = []
        self._failures: list[int] = []

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
        made = RestRequest(method, url, form)
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
        sid = f"{RESOURCE_PREFIXES.get(made.resource, 'XX')}{len(self.requests):032d}"
        account = url.split("/Accounts/", 1)[-1].split("/", 1)[0]
        body = {
            "sid": sid,
            "account_sid": account,
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "uri": url.removeprefix(TWILIO_API).removesuffix(".json") + f"/{sid}.json",
        }
        return Response(201, json.dumps(body))
