"""``hotline call``: a call played in the terminal, in process and against a running server."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from ivr_calls import make_available, message

from benchmarks.callers import open_zone
from hotline import defaults, demo, gunicorn_app
from hotline.loopback import free_port
from runtime import current_flows
from simulator import terminal as terminal_module
from simulator.softphone import Exchange, FlaskTransport, HttpTransport
from simulator.terminal import SIGNATURE_REFUSED, Answers, CallFailed, Terminal, script
from storage import db

D06 = "000606,张伟"  # the demo's 张伟 (D06), by the last six digits of his phone
TO_THE_MEDICAL_QUEUE = f"{D06},1,2,1"  # himself, 精准诊疗, 门诊预约


@pytest.fixture
def people_of_the_demo(app, clock):
    """The demo data set (D06 张伟, ...), as ``hotline serve --demo`` loads it."""
    with app.app_context():
        demo.load(db.engine(), current_flows().programme, clock.now())


def call(runner, *args):
    return runner.invoke(args=["call", "--in-process", "--demo", *args])


def terminal(app, answers: str | None, token: str = "test-auth-token", **options) -> Terminal:
    """A terminal phone over ``app``'s test client, printing into ``.lines``."""
    app.config["TWILIO_AUTH_TOKEN"] = "test-auth-token"
    exchange = Exchange(FlaskTransport(app.test_client()), token, base_url="http://localhost")
    lines: list[str] = []
    phone = Terminal(exchange, Answers(script(answers)), echo=lines.append, **options)
    phone.lines = lines
    return phone


# -- in process ---------------------------------------------------------------------------------


def test_a_scripted_call_in_process_reaches_the_medical_queue(runner):
    result = call(runner, "--script", TO_THE_MEDICAL_QUEUE, "--max-wait", "0")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("  我: 000606") < out.index("  我: 张伟") < out.index("身份验证成功")
    # The insured people's names are masked, and said with 某 (SPEC §8).
    assert "为张某办理请按1" in out and "张*" not in out
    assert message("queue_head") not in out  # no agent is available: nobody promises one
    assert "排队中 in the medical queue" in out
    assert out.rstrip().endswith("通话结束 call ended")


def test_three_wrong_answers_go_to_a_person_unverified(runner):
    result = call(runner, "--script", "111111,张伟,222222,张伟,333333,张伟", "--max-wait", "0")
    assert result.exit_code == 0, result.output
    assert result.output.count(message("not_verified")) == 2
    assert message("verify_gave_up") in result.output
    assert "排队中 in the medical queue" in result.output


def test_pressing_1_on_hold_leaves_a_callback_instead(runner):
    result = call(runner, "--script", f"{TO_THE_MEDICAL_QUEUE},1", "--every", "0.1")
    assert result.exit_code == 0, result.output
    on_hold = result.output.split("排队中", 1)[1]
    assert "  我: 1" in on_hold
    assert "已为您预约回电" in on_hold


def test_typed_lines_answer_the_questions_as_keys_speech_and_silence(simulated, people_of_the_demo):
    phone = terminal(simulated, None, max_wait=0)
    phone.answers = Answers(stdin=io.StringIO("\n000606\n张伟\n1\n2\n1\n"))
    assert phone.run() == 0
    out = "\n".join(phone.lines)
    # The empty line was silence: the question came again, then the digits and the name.
    assert out.count(message("ask_suffix")) == 2
    assert "[按键 keys / 说话 speech; 回车 = 不出声 Enter = silence]" in out
    assert "身份验证成功" in out and "排队中 in the medical queue" in out
    forms = [form for _, form, _ in phone.exchange.log]
    assert {"Digits": "000606"}.items() <= next(f for f in forms if "Digits" in f).items()
    assert any(f.get("SpeechResult") == "张伟" for f in forms)


def test_with_no_input_the_caller_hangs_up_at_the_first_question(simulated, people_of_the_demo):
    phone = terminal(simulated, None)
    assert phone.run() == 0
    assert phone.lines[-2:] == ["（挂机 hung up）", "通话结束 call ended"]
    assert phone.phone.ended


def test_with_speak_every_prompt_printed_is_also_said(simulated, people_of_the_demo):
    said: list[str] = []
    phone = terminal(simulated, "000606,,张伟,1", speak=said.append)
    assert phone.run() == 0
    printed = [line.removeprefix("  热线: ") for line in phone.lines if line.startswith("  热线: ")]
    assert said == printed and message("welcome") in said
    assert message("no_speech") in said  # the silence at the name was answered as one


def test_espeak_says_a_prompt_with_the_mandarin_voice(tmp_path):
    program = tmp_path / "espeak-ng"
    heard = tmp_path / "heard"
    program.write_text(f'#!/bin/sh\nprintf "%s|" "$@" > {heard}\n', encoding="utf-8")
    program.chmod(0o755)
    speak = terminal_module.espeak(program=str(program))
    speak("为张某办理请按1。")
    assert heard.read_text(encoding="utf-8") == "-v|cmn|为张某办理请按1。|"


def test_espeak_that_cannot_play_says_so_once_and_the_call_goes_on(tmp_path):
    program = tmp_path / "espeak-ng"
    program.write_text('#!/bin/sh\necho "error: No such file or directory" >&2\nexit 1\n')
    program.chmod(0o755)
    warnings: list[str] = []
    speak = terminal_module.espeak(program=str(program), warn=warnings.append)
    speak("您好。")
    speak("再见。")
    assert warnings == [
        "（espeak-ng could not play the prompts: error: No such file or directory; "
        "is there a sound device?）"
    ]


def test_speak_without_espeak_installed_says_how_to_get_it(runner, monkeypatch):
    monkeypatch.setattr(terminal_module.shutil, "which", lambda program: None)
    result = call(runner, "--script", D06, "--speak")
    assert result.exit_code == 1
    assert "espeak-ng, which is not installed" in result.output
    assert "apt install espeak-ng" in result.output
    assert "拨打" not in result.output  # no call was placed


def test_the_caller_hears_the_agent_take_the_call(
    simulated, people_of_the_demo, make_agent, auth_for
):
    make_agent("ann")
    make_available(simulated, "ann")
    phone = terminal(simulated, TO_THE_MEDICAL_QUEUE, wait_every=0.2, poll_every=0.05)
    done: list[int] = []
    caller = threading.Thread(target=lambda: done.append(phone.run()))
    caller.start()
    client = simulated.test_client()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "排队中" not in "".join(phone.lines):
        time.sleep(0.05)
    time.sleep(0.6)  # on hold long enough for the waitUrl to be requested again
    taken = client.post(
        "/simulator/take", headers={"Accept": "application/json", **auth_for("ann")}
    )
    caller.join(20)
    assert taken.status_code == 200, taken.get_data(as_text=True)
    assert done == [0], phone.lines
    assert phone.lines[-3:] == [
        f"  热线: {message('queue_connecting')}",
        "已接通坐席 ann",
        "通话结束 call ended",
    ]
    # Twilio repeats the wait document; the terminal prints an announcement when it changes.
    waits = [url for url, _, _ in phone.exchange.log if "/ivr/queue/wait" in url]
    assert len(waits) >= 2
    assert phone.lines.count(f"  热线: {message('queue_head')}") == 1
    results = [form.get("QueueResult") for _, form, _ in phone.exchange.log]
    assert results.count("bridged") == 1


# -- clear errors -------------------------------------------------------------------------------


def test_without_the_simulator_the_terminal_says_how_to_turn_it_on(app, people_of_the_demo):
    with pytest.raises(CallFailed, match="HOTLINE_SIMULATOR=1") as failed:
        terminal(app, TO_THE_MEDICAL_QUEUE).run()
    assert "hotline serve --demo" in str(failed.value)


def test_a_wrong_token_is_refused_and_the_terminal_says_which_token_to_give(simulated):
    with pytest.raises(CallFailed) as failed:
        terminal(simulated, TO_THE_MEDICAL_QUEUE, token="not-the-token").run()
    assert str(failed.value) == SIGNATURE_REFUSED


def test_an_unreachable_server_is_one_clear_line_and_exit_status_1(runner):
    port = free_port()
    result = runner.invoke(
        args=["call", "--url", f"http://127.0.0.1:{port}", "--auth-token", "t", "--script", "1"]
    )
    assert result.exit_code == 1
    assert f"cannot reach the hotline at http://127.0.0.1:{port}" in result.output


# -- the demo's signing token -------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch, app, tmp_path):
    """``serve --demo`` up to starting gunicorn; the app factory its workers would call."""
    started = {}
    monkeypatch.setattr(
        gunicorn_app.Server, "run", lambda self: started.update(factory=self.factory)
    )
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("HOTLINE_SIMULATOR", raising=False)
    return started


def test_the_demo_signs_with_a_token_made_once_and_kept_in_the_instance_folder(
    runner, served, tmp_path
):
    first = runner.invoke(args=["serve", "--demo"])
    assert first.exit_code == 0, first.output
    kept = (tmp_path / defaults.DEMO_AUTH_TOKEN_FILENAME).read_text()
    assert len(kept) >= 32
    assert "hotline call --script 000606,张伟,1,2,1" in first.stdout
    worker = served["factory"]()
    assert worker.config["TWILIO_AUTH_TOKEN"] == kept
    assert "simulator" in worker.blueprints
    # Unsigned webhooks are still refused.
    assert worker.test_client().post("/ivr/voice", data={"CallSid": "CA1"}).status_code == 403
    assert runner.invoke(args=["serve", "--demo"]).exit_code == 0
    assert served["factory"]().config["TWILIO_AUTH_TOKEN"] == kept


def test_the_demo_keeps_a_real_token_and_writes_none(app, runner, served, tmp_path):
    app.config["TWILIO_AUTH_TOKEN"] = "from-twilio"
    result = runner.invoke(args=["serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / defaults.DEMO_AUTH_TOKEN_FILENAME).exists()
    assert "TWILIO_AUTH_TOKEN" not in served["factory"].args[0]
    assert served["factory"].args[0]["HOTLINE_SIMULATOR"] is True


def test_hotline_simulator_0_in_the_environment_keeps_the_demo_without_it(
    runner, served, monkeypatch
):
    monkeypatch.setenv("HOTLINE_SIMULATOR", "0")
    result = runner.invoke(args=["serve", "--demo"])
    assert result.exit_code == 0, result.output
    assert "simulator" not in served["factory"]().blueprints
    assert "hotline call --script" not in result.stdout


# -- against a running server ------------------------------------------------------------------


class Server:
    """``hotline serve --demo`` in a process group of its own, its output collected."""

    def __init__(self, tmp_path: Path, token: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "PUBLIC_BASE_URL", "HOTLINE_SIMULATOR", "CI")
        }
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
            TWILIO_AUTH_TOKEN=token,
            # A zone where the lines are open now, whenever the suite runs: in Beijing
            # time the medical line closes at 22:00, and the caller would hear the
            # callback offer instead of reaching the queue.
            HOTLINE_TZ=open_zone(hours_ahead=0.5),
        )
        self.env = env
        hotline = Path(sys.executable).parent / "hotline"
        self.process = subprocess.Popen(
            [str(hotline), "serve", "--demo", "--port", str(self.port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def wait_until_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.output)
            try:
                if requests.get(self.url + "/agent/signin", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        pytest.fail("the server did not come up:\n" + "\n".join(self.output))

    def token_of(self, username: str) -> str:
        text = "\n".join(self.output)
        found = re.search(rf"{re.escape(username)} .*\n\s+token:\s+(\S+)", text)
        assert found, text
        return found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def screen_pop(url: str, token: str, found: list, ready: threading.Event) -> None:
    """Read the agent's event stream until a screen_pop arrives."""
    headers = {"Authorization": f"Bearer {token}"}
    with requests.get(url + "/agent/events", headers=headers, stream=True, timeout=30) as stream:
        ready.set()
        event = None
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "screen_pop":
                found.append(json.loads(line[len("data: ") :]))
                return


@pytest.mark.slow
def test_a_newcomer_calls_the_demo_server_and_the_agents_take_pops_the_callers_eligibility(
    tmp_path,
):
    server = Server(tmp_path, token="e2e-token")
    try:
        server.wait_until_up()
        agent_token = server.token_of("demo-agent")
        available = requests.post(
            server.url + "/api/agents/me/status",
            json={"status": "available"},
            headers={"Authorization": f"Bearer {agent_token}"},
            timeout=20,
        )
        assert available.status_code == 200, available.text
        lines: list[str] = []
        exchange = Exchange(HttpTransport(server.url), "e2e-token", base_url=server.url)
        phone = Terminal(
            exchange,
            Answers(script(TO_THE_MEDICAL_QUEUE)),
            echo=lines.append,
            wait_every=0.5,
            poll_every=0.1,
            max_wait=60,
        )
        done: list[int] = []
        caller = threading.Thread(target=lambda: done.append(phone.run()), daemon=True)
        pops: list[dict] = []
        listening = threading.Event()
        reader = threading.Thread(
            target=screen_pop, args=(server.url, agent_token, pops, listening), daemon=True
        )
        reader.start()
        assert listening.wait(20)
        caller.start()
        # Nobody presses "take next": the demo offers the caller to the available agent
        # (its simulated Twilio dequeues him to her), her phone rings, and she accepts.
        bearer = {"Authorization": f"Bearer {agent_token}"}
        deadline = time.monotonic() + 30
        ringing: dict = {}
        while time.monotonic() < deadline and ringing.get("state") != "ringing":
            time.sleep(0.1)
            ringing = requests.get(
                server.url + "/simulator/phone", headers=bearer, timeout=20
            ).json()
        assert ringing.get("state") == "ringing", (ringing, lines)
        assert ringing["caller"] == "139****0606"
        accepted = requests.post(server.url + "/simulator/phone/accept", headers=bearer, timeout=20)
        assert accepted.status_code == 200, accepted.text
        caller.join(30)
        reader.join(30)
        assert done == [0], lines
        assert "已接通坐席 demo-agent" in lines
        (pop,) = pops
        assert pop["call_sid"] == phone.phone.call_sid == ringing["call_sid"]
        assert pop["offer"] is True and "（转接坐席 demo-agent，振铃中 ringing the agent）" in lines
        assert (pop["verified"], pop["insured_id"], pop["service"]) == (
            True,
            "D06",
            "outpatient_booking",
        )
        assert pop["policyholder"]["name"] == "张*"
        assert pop["eligibility"]["tier"] == "zunxiang"

        wrong = subprocess.run(
            [
                *(str(Path(sys.executable).parent / "hotline"), "call", "--url", server.url),
                *("--auth-token", "wrong", "--script", TO_THE_MEDICAL_QUEUE),
            ],
            cwd=tmp_path,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert wrong.returncode == 1
        assert "refused the request's signature" in wrong.stderr
    finally:
        server.stop()
