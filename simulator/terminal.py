"""``hotline call``: a telephone in the terminal, for newcomers and operators.

It plays one call against the hotline the way Twilio would: every webhook signed
with the auth token, each ``<Say>`` printed as the caller hears it, each
``<Gather>`` answered from the keyboard or from ``--script`` (digits are keys,
anything else is speech, an empty answer is silence). In a queue it registers
with the server's simulator (``/simulator``), hears its position again every few
seconds as Twilio re-requests the waitUrl, may press 1 for a callback, and ends
when an agent takes the call. The telephone itself is ``simulator.softphone``.

With ``--speak`` the prompts are also read aloud by ``espeak-ng`` (Mandarin voice
``cmn``), so a newcomer hears the flow; nothing else needs it.
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from simulator.softphone import AgentPhone, Exchange, Softphone, WebhookFailed
from simulator.switchboard import BRIDGED, ENDED, RINGING, WAITING

DIGITS = re.compile(r"[0-9*#]+")


class CallFailed(Exception):
    """The call could not be placed or went wrong; the message says what to do."""


class SimulatorQueues:
    """``simulator.softphone.QueueHolder`` kept by the server's simulator, over signed requests."""

    def __init__(self, exchange: Exchange):
        self.exchange = exchange

    def _json(self, status: int, body: str, url: str) -> dict:
        if status == 404 and "/simulator/callers/" not in url:
            raise CallFailed(SIMULATOR_OFF)
        if status == 403:
            raise CallFailed(SIGNATURE_REFUSED)
        try:
            found = json.loads(body)
        except ValueError:
            raise CallFailed(f"{url} answered {status} without JSON: {body[:120]}") from None
        if status >= 400:
            message = (found.get("error") or {}).get("message", body[:120])
            raise CallFailed(f"{url} answered {status}: {message}")
        return found

    def check(self) -> dict:
        """The simulator is on, and takes our signature."""
        url = self.exchange.url("/simulator/")
        return self._json(*self.exchange.get(url), url)

    def state(self, phone: Softphone) -> dict:
        url = self.exchange.url(f"/simulator/callers/{phone.call_sid}")
        status, body = self.exchange.get(url)
        if status == 404:
            return {"state": "unknown", "position": 0, "size": 0}
        return self._json(status, body, url)

    def handset(self, number: str) -> dict:
        """What reached ``number``: texts, and the hotline's calls ringing it."""
        url = self.exchange.url(f"/simulator/phones/{number}")
        return self._json(*self.exchange.get(url), url)

    def answer(self, number: str, call_sid: str) -> dict:
        """``number`` picks up the hotline's call ``call_sid``: its Url, From and To."""
        url = self.exchange.url(f"/simulator/phones/{number}/answer")
        return self._json(*self.exchange.post(url, {"CallSid": call_sid}), url)

    def hang_up(self, phone: Softphone) -> dict:
        """The caller hangs up on an agent's ringing phone or call (Twilio tells the Dial)."""
        url = self.exchange.url(f"/simulator/callers/{phone.call_sid}/hangup")
        return self._json(*self.exchange.post(url, {}), url)

    # -- QueueHolder -------------------------------------------------------------------------

    def join(self, queue_name: str, phone: Softphone) -> None:
        url = self.exchange.url("/simulator/callers")
        form = {
            "CallSid": phone.call_sid,
            "From": phone.caller,
            "To": phone.called,
            "Queue": queue_name,
            "Action": phone.queue_action or "",
            "WaitUrl": phone.wait_url or "",
            "Direction": phone.direction,
        }
        self._json(*self.exchange.post(url, form), url)

    def leave(self, phone: Softphone) -> None:
        url = self.exchange.url(f"/simulator/callers/{phone.call_sid}/leave")
        status, body = self.exchange.post(url, {})
        if status != 404:  # 404: the simulator has forgotten the call already
            self._json(status, body, url)

    def position(self, phone: Softphone) -> tuple[int, int]:
        found = self.state(phone)
        return int(found.get("position") or 0), int(found.get("size") or 0)

    def pop(self, queue_name: str, exchange: Exchange) -> Softphone | None:
        raise NotImplementedError("agents take calls on the server (/simulator/take)")

    def members(self, queue_name: str) -> list[str]:
        raise NotImplementedError("the server's simulator answers for its queues")

    def take(self, queue_name: str, call_sid: str, exchange: Exchange) -> Softphone | None:
        raise NotImplementedError("the server's simulator answers for its queues")

    def names(self) -> list[str]:
        raise NotImplementedError("the server's simulator answers for its queues")


NO_TOKEN = (
    "no auth token to sign the call with: start the server with `hotline serve --demo` "
    "(it keeps one in instance/), or give the server's token with --auth-token or "
    "TWILIO_AUTH_TOKEN"
)
SIMULATOR_OFF = (
    "the hotline's simulator is off, so nobody could take the call: start the server with "
    "`hotline serve --demo`, or set HOTLINE_SIMULATOR=1 in its environment"
)
SIGNATURE_REFUSED = (
    "the hotline refused the request's signature: give the server's TWILIO_AUTH_TOKEN "
    "(--auth-token, or the TWILIO_AUTH_TOKEN environment variable; `hotline serve --demo` "
    "keeps its own in instance/demo_twilio_auth_token, which `hotline call` reads by itself)"
)


ESPEAK = "espeak-ng"
ESPEAK_MISSING = (
    "--speak reads the prompts aloud with espeak-ng, which is not installed "
    "(Debian/Ubuntu: sudo apt install espeak-ng); leave out --speak to read them only"
)


def espeak(
    voice: str = "cmn", program: str = ESPEAK, warn: Callable[[str], None] | None = None
) -> Callable[[str], None]:
    """A voice for ``Terminal(speak=…)``: each prompt said aloud before the caller answers.

    Raises ``CallFailed`` when espeak-ng is not installed, before the call is placed.
    If it cannot play (no sound device), ``warn`` is told once and the call goes on.
    """
    found = shutil.which(program)
    if found is None:
        raise CallFailed(ESPEAK_MISSING)
    warn = warn or (lambda text: print(text, file=sys.stderr))
    failed = []

    def speak(text: str) -> None:
        # Waits until the prompt is said, as a caller hears it before answering.
        done = subprocess.run(
            [found, "-v", voice, text],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0 and not failed:
            failed.append(done.returncode)
            why = (done.stderr or "").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            warn(f"（espeak-ng could not play the prompts: {why[0]}; is there a sound device?）")

    return speak


class Answers:
    """What the caller says or presses: from ``--script``, else typed lines (none without stdin)."""

    def __init__(self, script: Iterable[str] | None = None, stdin: TextIO | None = None):
        self.script = list(script) if script is not None else None
        self.lines: queue.Queue[str | None] = queue.Queue()
        if self.script is None and stdin is not None:
            threading.Thread(target=self._read, args=(stdin,), daemon=True).start()
        elif self.script is None:
            self.lines.put(None)

    def _read(self, stdin: TextIO) -> None:
        for line in stdin:
            self.lines.put(line.rstrip("\r\n"))
        self.lines.put(None)  # end of input

    @property
    def scripted(self) -> bool:
        return self.script is not None

    def next(self) -> str | None:
        """The next answer; None when there are no more (the caller hangs up)."""
        if self.script is not None:
            return self.script.pop(0).strip() if self.script else None
        answer = self.lines.get()
        if answer is None:
            self.lines.put(None)  # stays at the end
        return answer

    def poll(self, timeout: float) -> str | None:
        """A key pressed while on hold, if any within ``timeout`` seconds."""
        if self.script is not None:
            if self.script:
                return self.script.pop(0).strip()
            time.sleep(timeout)
            return None
        try:
            answer = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if answer is None:
            self.lines.put(None)
            time.sleep(timeout)
        return answer or None


@dataclass
class Terminal:
    """One call, played out loud: ``run()`` returns the exit status."""

    exchange: Exchange
    answers: Answers
    caller: str = "+8613900000606"
    echo: Callable[[str], None] = print
    # Twilio re-requests the waitUrl when its document has played; the terminal every this often.
    wait_every: float = 5.0
    poll_every: float = 1.0
    # Hang up after waiting this long in a queue (None: wait until an agent answers).
    max_wait: float | None = None
    hold: bool = False
    # Says each prompt aloud (``espeak()``), or None to print them only.
    speak: Callable[[str], None] | None = None
    # Wait for the hotline to call ``caller`` (a callback) and answer, instead of dialling.
    answer: bool = False
    # After the call, how long the phone stays on the screen for texts still on their way.
    sms_wait: float = 0.0

    def __post_init__(self):
        self.queues = SimulatorQueues(self.exchange)
        self.exchange.queues = self.queues
        self.phone: Softphone | None = None
        self._printed = 0
        # Offered by the distribution: the server holds the caller's leg (ringing, talking).
        self.offered = False
        self._ringing: str | None = None
        self._leg_heard = 0
        self._texts: set[str] = set()

    def run(self) -> int:
        try:
            self.queues.check()
            self._read_texts(self.queues.handset(self.caller), show=False)
            if self.answer:
                if not self._answer_the_hotline():
                    return 1
            else:
                self.phone = self.exchange.call(self.caller)
                self.echo(f"拨打 {self.exchange.number}，来电号码 {self.caller}")
                self._play(self.phone.dial)
            while not self.phone.ended:
                if self.phone.gather is not None:
                    if not self._answer():
                        self.echo("（挂机 hung up）")
                        self._play(self.phone.hang_up)
                elif self.phone.in_queue:
                    self._wait_in_queue()
                elif self.phone.agent is not None:
                    self._talk()
                else:
                    self._play(self.phone.hang_up)
        except KeyboardInterrupt:
            if self.phone is not None and not self.phone.ended:
                self._hang_up()
            self.echo("（挂机 hung up）")
            return 130
        except CallFailed:
            raise
        except WebhookFailed as exc:
            if " answered 403" in str(exc):
                raise CallFailed(SIGNATURE_REFUSED) from None
            raise CallFailed(
                f"the hotline answered something Twilio would not accept: {exc}"
            ) from None
        except OSError as exc:  # requests' connection errors are OSErrors too
            raise CallFailed(
                f"cannot reach the hotline at {self.exchange.base_url}: {exc}; "
                "is `hotline serve --demo` running there?"
            ) from None
        self.echo("通话结束 call ended")
        self._late_texts()
        return 0

    def _hang_up(self) -> None:
        if self.offered:
            # The server holds the leg: Twilio tells the Dial's action, not this phone.
            found = self.queues.hang_up(self.phone)
            self.phone.status = "completed"
            self._leg(found)
        else:
            self._play(self.phone.hang_up)

    # -- a callback: the hotline calls this phone -------------------------------------------------

    def _answer_the_hotline(self) -> bool:
        self.echo(f"等待热线来电 waiting for the hotline to call {self.caller}（Ctrl-C 退出）")
        started = time.monotonic()
        while True:
            found = self.queues.handset(self.caller)
            self._read_texts(found)
            if found.get("calls"):
                break
            if self.max_wait is not None and time.monotonic() - started >= self.max_wait:
                self.echo(f"（{round(time.monotonic() - started)} 秒内没有来电 no call came）")
                return False
            time.sleep(self.poll_every)
        ringing = found["calls"][0]
        call = self.queues.answer(self.caller, ringing["sid"])
        self.echo(f"来电 {call['from']} 振铃，接听 answered")
        self.phone = Softphone(
            self.exchange,
            caller=call["from"],
            called=call["to"],
            call_sid=call["sid"],
            direction="outbound-api",
        )
        self.phone.status_url = call.get("status_callback") or None
        self._play(self.phone.answer, call["url"])
        return True

    # -- texts on the phone's screen ---------------------------------------------------------

    def _read_texts(self, found: dict, show: bool = True) -> None:
        for text in found.get("messages") or []:
            if text["sid"] in self._texts:
                continue
            self._texts.add(text["sid"])
            if show:
                self.echo(f"  短信 SMS（{text.get('from')}）: {text.get('body')}")

    def _late_texts(self) -> None:
        """Texts sent as the call ends (a link, a confirmation) still reach the screen."""
        deadline = time.monotonic() + self.sms_wait
        while True:
            self._read_texts(self.queues.handset(self.caller))
            if time.monotonic() >= deadline:
                return
            time.sleep(min(self.poll_every, max(0.0, deadline - time.monotonic())))

    # -- what the caller hears ------------------------------------------------------------------

    def _play(self, action: Callable, *args) -> None:
        action(*args)
        self._flush()

    def _flush(self) -> None:
        heard = self.phone.heard
        for line in heard[self._printed :]:
            self._hear(line)
        self._printed = len(heard)

    def _hear(self, line: str) -> None:
        if line:
            self.echo(f"  热线: {line}")
            if self.speak is not None:
                self.speak(line)

    # -- answering a Gather ---------------------------------------------------------------------

    def _answer(self) -> bool:
        gather = self.phone.gather
        kinds = (gather.get("input") or "dtmf").split()
        hint = " / ".join(
            ("按键 keys" if kind == "dtmf" else "说话 speech") for kind in kinds if kind
        )
        if not self.answers.scripted:
            self.echo(f"  [{hint}; 回车 = 不出声 Enter = silence]")
        answer = self.answers.next()
        if answer is None:
            return False
        if self.answers.scripted:
            self.echo(f"  我: {answer}" if answer else "  我: （不出声 silence）")
        if not answer:
            self._play(self.phone.silence)
        elif DIGITS.fullmatch(answer) and "dtmf" in kinds:
            self._play(self.phone.press, answer)
        elif "speech" in kinds:
            self._play(self.phone.say, answer)
        else:
            self._play(self.phone.press, answer)
        return True

    # -- the queue --------------------------------------------------------------------------------

    def _wait_in_queue(self) -> None:
        phone = self.phone
        self.echo(f"（排队中 in the {phone.queue} queue：按 1 留下回电 press 1 for a callback）")
        started = last_wait = time.monotonic()
        self._flush()
        while phone.in_queue:
            now = time.monotonic()
            found = self.queues.state(phone)
            self._read_texts(found)
            if found.get("state") == RINGING:
                # Offered: taken out of the queue to an agent whose phone rings.
                self._offered_to(found)
                time.sleep(self.poll_every)
                continue
            if self._ringing is not None and found.get("state") == WAITING:
                self._not_answered()
            if found.get("state") == BRIDGED:
                self._bridged(found)
                return
            if found.get("state") == ENDED:
                self._leg(found)
                phone.status = "completed"
                return
            if found.get("state") != WAITING:
                self.echo("（已不在队列中 no longer in the queue）")
                self._play(phone.hang_up)
                return
            if self.max_wait is not None and now - started >= self.max_wait:
                self.echo(f"（等待 {round(now - started)} 秒后挂机 hung up after waiting）")
                self._play(phone.hang_up)
                return
            if now - last_wait >= self.wait_every:
                last_wait = now
                before = len(phone.heard)
                phone.wait(queue_time=round(now - started))
                heard = phone.heard[before:]
                if heard == phone.heard[before - len(heard) : before]:
                    self._printed = len(phone.heard)  # the same words again: not reprinted
                self._flush()
                continue
            key = self.answers.poll(self.poll_every)
            if key and phone.in_queue and phone.wait_gather is not None:
                self.echo(f"  我: {key}")
                self._play(phone.press_in_queue, key[:1])

    def _offered_to(self, found: dict) -> None:
        """Rung at an agent's phone (perhaps another's than last time we looked)."""
        self.offered = True
        agent = found.get("agent")
        if agent == self._ringing:
            return
        if self._ringing is not None:
            self._not_answered()
        self._ringing = agent
        self.echo(f"（转接坐席 {agent}，振铃中 ringing the agent）")
        self._leg(found)

    def _not_answered(self) -> None:
        self.echo(f"（坐席 {self._ringing} 未接，继续排队 not answered: back in the queue）")
        self._ringing = None
        self._leg_heard = 0  # back in the queue, the leg starts again

    def _bridged(self, found: dict) -> None:
        phone = self.phone
        if found.get("offer"):
            self._offered_to(found)
        phone.agent = AgentPhone(self.exchange, found.get("agent") or "?")
        phone.wait_gather = None
        self._leg(found)
        self.echo(f"已接通坐席 {found.get('agent')}")

    def _leg(self, found: dict) -> None:
        """What the caller heard on the leg the server holds, not yet printed."""
        heard = found.get("heard") or []
        for line in heard[self._leg_heard :]:
            self._hear(line)
        self._leg_heard = len(heard)

    def _talk(self) -> None:
        if self.offered:
            self._talk_to_offered()
            return
        if self.hold:
            self.echo("（通话中 talking：回车或 Ctrl-C 挂机 Enter or Ctrl-C hangs up）")
            with contextlib.suppress(KeyboardInterrupt):
                self.answers.next()
        self._play(self.phone.hang_up)

    def _talk_to_offered(self) -> None:
        """On the line with the agent until one of them hangs up (``--hold``), else hang up."""
        phone = self.phone
        if self.hold:
            self.echo("（通话中 talking：等坐席挂机；Ctrl-C 挂机 Ctrl-C hangs up）")
            while True:
                found = self.queues.state(phone)
                self._read_texts(found)
                if found.get("state") != BRIDGED:
                    self._leg(found)
                    self.echo("（坐席已挂机 the agent hung up）")
                    phone.status = "completed"
                    return
                time.sleep(self.poll_every)
        self._hang_up()


def script(text: str | None) -> list[str] | None:
    """``--script "000606,张伟,1,2"``: answers in order (an empty item is silence)."""
    if text is None:
        return None
    return [item.strip() for item in text.split(",")]


def stdin_or_none() -> TextIO | None:
    return None if sys.stdin is None or sys.stdin.closed else sys.stdin
