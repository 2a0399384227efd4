"""Loading the flows folder: read each TOML file, check it, and build ``Flows``.

The files are read in this folder (or in ``HOTLINE_FLOWS_DIR``) and checked in a
fixed order, so the first mistake an operator is told about is always the same.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from flows import call_flow_loader, catalogue, lines, reports, working_days
from flows.checks import TomlTable
from flows.configuration import Flows
from flows.exceptions import FlowError

DEFAULT_DIRECTORY = Path(__file__).resolve().parent


def load(directory: str | Path | None = None) -> Flows:
    directory = Path(directory) if directory else DEFAULT_DIRECTORY
    programme, categories = catalogue.parse(
        _read(directory, "programme.toml"), _read(directory, "services.toml")
    )
    line_by_code = lines.parse(_read(directory, "lines.toml"))
    days = working_days.parse(_read(directory, "calendar.toml"))
    call_flow = call_flow_loader.parse(
        _read(directory, call_flow_loader.FILE), programme, line_by_code
    )
    return Flows(
        directory=directory,
        programme=programme,
        categories=categories,
        lines=line_by_code,
        working_days=days,
        call_flow=call_flow,
        reports=reports.parse(
            _read(directory, reports.FILE), call_flow.limits.service_level_seconds
        ),
    )


def _read(directory: Path, name: str) -> TomlTable:
    path = directory / name
    try:
        with path.open("rb") as handle:
            return TomlTable(name, tomllib.load(handle))
    except FileNotFoundError:
        raise FlowError(f"{name}: missing from {directory}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FlowError(f"{name}: not valid TOML ({exc})") from None
