"""README.md starts with the two quick-start commands, and CI runs the second verbatim."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_starts_with_the_serve_and_test_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    serve, test = commands()[:2]
    assert readme.index(serve) < readme.index("## ")
    assert serve.startswith("python3 -m venv .venv && ")
    assert serve.endswith("hotline serve --demo")
    assert test.startswith("python3 -m venv .venv && ")
    assert test.endswith("-m pytest")


def test_ci_runs_the_readme_test_command_as_its_last_step():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert script.rstrip().splitlines()[-1] == commands()[1]
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
