"""flows/reports.toml: the figures' rules and the live board's thresholds, checked at load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import flows
from domain.thresholds import ALERT, WARN
from flows import FlowError


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    for source in flows.DEFAULT_DIRECTORY.glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def edit(directory: Path, old: str, new: str) -> None:
    path = directory / "reports.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_shipped_rules_are_specs_defaults_with_the_call_flows_service_level():
    settings = flows.load().reports
    assert (settings.rules.service_level_seconds, settings.rules.short_abandon_seconds) == (20, 5)
    assert settings.keep_days == 400
    assert settings.levels({"service_level": 0.7, "waiting": 9, "longest_wait_seconds": 10}) == {
        "service_level": WARN,
        "waiting": ALERT,
    }
    assert set(settings.state_thresholds) == {"break", "wrap_up", "on_call"}


def test_the_service_level_seconds_come_from_the_call_flows_limits(flows_dir):
    path = flows_dir / "call_flow.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("service_level_seconds = 20", "service_level_seconds = 30"), encoding="utf-8"
    )
    assert flows.load(flows_dir).reports.rules.service_level_seconds == 30


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("short_abandon_seconds = 5", "short_abandon_seconds = -1", "short_abandon_seconds"),
        ("keep_days = 400", "keep_days = 0", "keep_days"),
        ("keep_days = 400", "keep_days = 400\ncolour = 1", "colour: unknown key"),
        ("warn_below = 0.80", "warn_below = 80", "fraction"),
        ("alert_below = 0.60", "alert_below = 0.90", "must not be above warn_below"),
        ("alert_above = 1800", "alert_above = 30", "must not be below warn_above"),
        ("[thresholds.waiting]", "[thresholds.queue_length]", "thresholds.queue_length"),
        (
            "[thresholds.agent_state_seconds.break]",
            "[thresholds.agent_state_seconds.lunch]",
            "agent_state_seconds.lunch",
        ),
        ("warn_above = 900", 'warn_above = "soon"', "must be a number"),
    ],
)
def test_a_bad_value_is_refused_with_its_file_and_key(flows_dir, old, new, message):
    edit(flows_dir, old, new)
    with pytest.raises(FlowError, match=r"reports\.toml") as refused:
        flows.load(flows_dir)
    assert message in str(refused.value)


def test_without_thresholds_nothing_is_ever_highlighted(flows_dir):
    path = flows_dir / "reports.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.split("[thresholds.", 1)[0], encoding="utf-8")
    settings = flows.load(flows_dir).reports
    assert settings.levels({"service_level": 0.0, "waiting": 99}) == {}
    assert settings.state_thresholds == {}
