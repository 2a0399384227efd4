"""Charts for the reports page, drawn here as SVG: no script, no library, nothing to load.

The page is read on a supervisor's desk and printed for meetings; SVG written by the
server shows at once, prints sharp, works without JavaScript and is tested like any
other HTML. Two kinds are enough: bars side by side per period (offered / answered)
and a line of a fraction with its threshold marks (the service level). Every label
goes through ``markupsafe`` (queue names come from configuration); every bar and
point carries a ``<title>``, which browsers show on hover and screen readers read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 1200, 250
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 34
LABEL_EVERY_PIXELS = 56


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # under the axis (10:00, 03-09)
    title: str  # in full, on hover (10:00–10:30, 2026-03-09)
    values: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A horizontal line across the chart: a threshold."""

    value: float
    label: str
    colour: str


def _nice_top(value: float) -> float:
    """The round number (1, 2 or 5 × 10ⁿ) at or above ``value``."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _frame(title: str, description: str, body: list[str], legend: Sequence[tuple[str, str]]):
    keys = "".join(
        f'<span class="key"><i style="background:{colour}"></i>{escape(label)}</span>'
        for label, colour in legend
    )
    return Markup(
        f'<figure class="chart"><svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
        + "".join(body)
        + f'</svg><figcaption class="legend">{keys}</figcaption></figure>'
    )


def _axes(periods: Sequence[Period], top: float, ticks: Sequence[tuple[float, str]]) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = []
    for value, label in ticks:
        y = TOP + plot_h * (1 - value / top)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e8ee"/><text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="12" fill="#5b6b7b">{escape(label)}</text>'
        )
    step = max(1, math.ceil(LABEL_EVERY_PIXELS / (plot_w / max(1, len(periods)))))
    slot = plot_w / max(1, len(periods))
    for i, period in enumerate(periods):
        if i % step == 0:
            x = LEFT + slot * (i + 0.5)
            out.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="12" fill="#5b6b7b">{escape(period.label)}</text>'
            )
    return out


def bars(
    periods: Sequence[Period], series: Sequence[Series], title: str, description: str
) -> Markup:
    """Bars side by side per period, one per series; counts on the axis."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max((p.values.get(s.key) or 0 for p in periods for s in series), default=0)
    # Whole calls: a round step of at least 1, about four of them up to the highest bar.
    step = max(1, _nice_top(highest / 4))
    top = step * max(1, math.ceil(highest / step))
    ticks = [(step * i, f"{step * i:g}") for i in range(round(top / step) + 1)]
    body = _axes(periods, top, ticks)
    slot = plot_w / max(1, len(periods))
    width = slot * 0.8 / max(1, len(series))
    for i, period in enumerate(periods):
        for j, one in enumerate(series):
            value = period.values.get(one.key) or 0
            height = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + width * j
            body.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{width:.1f}" '
                f'height="{height:.1f}" fill="{one.colour}" data-series="{escape(one.key)}">'
                f"<title>{escape(period.title)} {escape(one.label)} {value:g}</title></rect>"
            )
    return _frame(title, description, body, [(s.label, s.colour) for s in series])


def fraction_line(
    periods: Sequence[Period],
    key: str,
    label: str,
    colour: str,
    marks: Sequence[Mark],
    title: str,
    description: str,
) -> Markup:
    """A fraction (0–1) per period as a line with points, broken where it is unknown."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _axes(periods, 1.0, [(v / 100, f"{v}%") for v in (0, 25, 50, 75, 100)])
    for mark in marks:
        y = TOP + plot_h * (1 - mark.value)
        body.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{mark.colour}" stroke-dasharray="6 4"><title>{escape(mark.label)}</title>'
            f"</line>"
        )
    slot = plot_w / max(1, len(periods))
    run: list[str] = []
    points = []
    for i, period in enumerate(periods):
        value = period.values.get(key)
        if value is None:
            if len(run) > 1:
                body.append(_polyline(run, colour))
            run = []
            continue
        x, y = LEFT + slot * (i + 0.5), TOP + plot_h * (1 - value)
        run.append(f"{x:.1f},{y:.1f}")
        points.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" data-value="{value}">'
            f"<title>{escape(period.title)} {escape(label)} {value * 100:.0f}%</title></circle>"
        )
    if len(run) > 1:
        body.append(_polyline(run, colour))
    body.extend(points)
    legend = [(label, colour), *((m.label, m.colour) for m in marks)]
    return _frame(title, description, body, legend)


def _polyline(points: list[str], colour: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'
