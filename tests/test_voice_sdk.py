"""The browser phone's SDK is Twilio's published release, byte for byte, served by the desk."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts/fetch_voice_sdk.py"
VENDORED = ROOT / "agent_assist/static/vendor/twilio-voice-sdk"


def check(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_vendored_sdk_is_the_pinned_release_with_its_licence():
    pin = json.loads((VENDORED / "pinned.json").read_text(encoding="utf-8"))
    assert pin["package"] == "@twilio/voice-sdk"
    assert pin["tarball"].startswith("https://registry.npmjs.org/@twilio/voice-sdk/-/")
    assert pin["version"] in pin["tarball"]
    assert set(pin["files"]) == {"twilio.min.js", "LICENSE.md"}
    done = check(VENDORED)
    assert done.returncode == 0, done.stderr
    assert f"{pin['version']}: files as pinned" in done.stdout


def test_a_changed_byte_in_the_sdk_is_refused(tmp_path):
    copy = shutil.copytree(VENDORED, tmp_path / "sdk")
    with open(copy / "twilio.min.js", "ab") as sdk:
        sdk.write(b"\n")
    done = check(copy)
    assert done.returncode == 1
    assert "twilio.min.js: SHA-256" in done.stderr


def test_a_missing_licence_is_refused(tmp_path):
    copy = shutil.copytree(VENDORED, tmp_path / "sdk")
    (copy / "LICENSE.md").unlink()
    done = check(copy)
    assert (done.returncode, done.stderr.strip()) == (1, "LICENSE.md: missing")


def test_the_desk_serves_the_sdk_from_its_own_static_files(client):
    served = client.get("/agent/static/vendor/twilio-voice-sdk/twilio.min.js")
    assert served.status_code == 200
    assert served.data == (VENDORED / "twilio.min.js").read_bytes()
    assert "javascript" in served.content_type
