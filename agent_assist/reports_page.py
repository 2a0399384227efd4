"""The reports page (``/supervisor/reports``): a day by the half hour, or a range by the day.

Charts of the service level and of calls offered and answered (``agent_assist.charts``,
SVG drawn here), the period's figures per queue, and per agent, with links to the
same figures as CSV (``/api/reports/…``). Everything comes from the interval history
(``services.reports``): what the page draws is what the CSV holds. Supervisors only.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import flash, g, render_template, request, url_for

from agent_assist import charts
from agent_assist.supervisor import bp, supervisors_only
from domain.dates import iso_date
from domain.intervals import INTERVAL, intervals_of
from domain.service_level import QueueTotals
from flows import Flows
from runtime import current_clock, current_flows
from services import reports
from storage import db

OFFERED = charts.Series("offered", "来电 Offered", "#9db9d8")
ANSWERED = charts.Series("answered", "接通 Answered", "#0b5cad")
SERVICE_LEVEL_COLOUR = "#1c6b33"
WARN_COLOUR, ALERT_COLOUR = "#b36b00", "#b00020"


@bp.get("/reports")
@supervisors_only
def reports_page():
    flows, clock = current_flows(), current_clock()
    today = clock.today()
    first, last = _period(today, flows.reports.keep_days)
    queue = request.args.get("queue") or None
    if queue is not None and flows.queue(queue) is None:
        flash(f"没有队列 {queue} (unknown queue): 显示全部队列", "error")
        queue = None
    session, tz = db.session(), clock.tz
    by_day = reports.days(session, first, last, tz, queue)
    if first == last:
        found = reports.intervals(session, first, last, tz, queue)
        starts = intervals_of(first, tz)
        summed = _summed((start, totals) for start, _queue, totals in found)
        periods = []
        for start in starts:
            begins, ends = start.astimezone(tz), (start + INTERVAL).astimezone(tz)
            title = f"{begins:%H:%M}–{'24:00' if ends.date() > begins.date() else f'{ends:%H:%M}'}"
            periods.append(_period_of(f"{begins:%H:%M}", title, summed.get(start)))
        rows_title = "每半小时 Per half hour"
    else:
        summed = _summed((day, totals) for day, _queue, totals in by_day)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        periods = [_period_of(f"{day:%m-%d}", day.isoformat(), summed.get(day)) for day in days]
        rows_title = "每日 Per day"
    per_queue = _summed((name, totals) for _day, name, totals in by_day)
    everything = reports.total(per_queue.values())
    span = "当天每半小时 per half hour" if first == last else "每日 per day"
    return render_template(
        "supervisor/reports.html",
        agent=g.desk_agent,
        first=first,
        last=last,
        today=today,
        queue=queue,
        queues=flows.queues(),
        shortcuts=[
            (label, url_for("supervisor.reports_page", **_asked(a, b, queue)))
            for label, a, b in _shortcuts(today)
        ],
        service_level_chart=charts.fraction_line(
            periods,
            "service_level",
            "服务水平 Service level",
            SERVICE_LEVEL_COLOUR,
            _marks(flows),
            f"服务水平 Service level, {span}",
            "服务水平 = 在服务水平秒数内接通 ÷ (接通 + 超过短放弃秒数的放弃)",
        ),
        volume_chart=charts.bars(
            periods,
            [OFFERED, ANSWERED],
            f"来电与接通 Offered and answered, {span}",
            "每个时段进入队列的来电与接通的来电 (calls offered to and answered from the queues)",
        ),
        periods=periods,
        rows_title=rows_title,
        per_queue=[(name, reports.figures(per_queue[name])) for name in sorted(per_queue)],
        everything=reports.figures(everything),
        agents=reports.agents(session, first, last, tz, clock.now()),
        rules=flows.reports.rules,
        csv={
            name: url_for(
                f"api.report_{name}",
                **_asked(first, last, None if name == "agents" else queue),
                format="csv",
            )
            for name in ("intervals", "days", "agents")
        },
    )


def _asked(first: date, last: date, queue: str | None) -> dict[str, str]:
    asked = {"from": first.isoformat(), "to": last.isoformat()}
    return asked | {"queue": queue} if queue else asked


def _period(today: date, keep_days: int) -> tuple[date, date]:
    """The days asked for (default today); a bad or too long request is said and mended."""
    first = _day("from", today)
    last = _day("to", first if "from" in request.args and "to" not in request.args else today)
    if last < first:
        flash("结束日期早于开始日期 (to is before from): 已对调", "error")
        first, last = last, first
    if (last - first).days >= keep_days:
        flash(f"最多 {keep_days} 天 (at most {keep_days} days): 已缩短", "error")
        first = last - timedelta(days=keep_days - 1)
    return first, last


def _day(name: str, default: date) -> date:
    value = request.args.get(name)
    if not value:
        return default
    day = iso_date(value)
    if day is None:
        flash(f"{name}: “{value}” 不是日期 YYYY-MM-DD (not a date)", "error")
        return default
    return day


def _summed(pairs) -> dict:
    out: dict = {}
    for key, totals in pairs:
        out[key] = out.get(key, QueueTotals()) + totals
    return out


def _period_of(label: str, title: str, totals: QueueTotals | None) -> charts.Period:
    totals = totals or QueueTotals()
    return charts.Period(label, title, reports.figures(totals))


def _marks(flows: Flows) -> list[charts.Mark]:
    threshold = flows.reports.thresholds.get("service_level")
    if threshold is None:
        return []
    return [
        charts.Mark(threshold.warn, f"提醒 Warn {threshold.warn:.0%}", WARN_COLOUR),
        charts.Mark(threshold.alert, f"警告 Alert {threshold.alert:.0%}", ALERT_COLOUR),
    ]


def _shortcuts(today: date) -> list[tuple[str, date, date]]:
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        ("今天 Today", today, today),
        ("昨天 Yesterday", today - timedelta(days=1), today - timedelta(days=1)),
        ("最近7天 Last 7 days", today - timedelta(days=6), today),
        ("本月 This month", month_start, today),
        ("上月 Last month", last_month_end.replace(day=1), last_month_end),
    ]


@bp.app_template_filter("duration")
def duration(seconds: float | int | None) -> str:
    """Seconds as h:mm:ss (or m:ss under an hour); — when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
