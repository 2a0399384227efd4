"""What a person reads on the desk and the case page: a Chinese word for every code, and
amounts and times written the way people read them (300,000 元, 12月6日 11:29).

One place for both. The pages use the Jinja filters registered here (``label``,
``amount``, ``when``, ``day``, ``seconds``); the desk's script, which renders what
the event stream and the JSON API send, is handed the same words by ``for_script``
(the desk's ``data-labels``) and writes amounts and times by the same rules
(``static/format.js``). Names of services, tiers and lines are the flows' own.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.cases import CaseStatus, Milestone
from domain.sla import SlaState
from domain.usage import Outcome, Reason
from flows import CALLBACKS, Flows
from runtime import current_clock, current_flows
from services import contact_history, people

CASE_STATUS = {
    CaseStatus.OPEN: "办理中",
    CaseStatus.BOOKED: "已预约",
    CaseStatus.COMPLETED: "已完成",
    CaseStatus.CANCELLED: "已取消",
    CaseStatus.NO_SHOW: "未应约",
}
SLA_STATE = {
    SlaState.OVERDUE: "已超时",
    SlaState.DUE_TODAY: "今日到期",
    SlaState.ON_TRACK: "未到期",
    SlaState.PENDING: "待起算",
    SlaState.MET: "已按时完成",
    SlaState.VOID: "不适用",
}
USE_OUTCOME = {
    Outcome.HELD: "已预占额度",
    Outcome.COUNTED: "已计入次数",
    Outcome.RELEASED: "已释放额度",
}
USE_REASON = {
    Reason.REQUESTED: "已受理",
    Reason.BOOKED: "已预约",
    Reason.BOOKED_IS_USED: "预约即计次",
    Reason.CANCELLED_IN_TIME: "提前取消",
    Reason.CANCELLED_LATE: "临近取消",
    Reason.RESCHEDULED_LATE: "临近改期",
    Reason.NO_SHOW: "未应约",
    Reason.COMPLETED: "已完成",
    Reason.CANCELLED_BY_HOSPITAL: "医院或医生原因取消",
}
MILESTONE = {
    Milestone.REQUESTED: "受理",
    Milestone.CONTACTED: "已联系客户",
    Milestone.MATERIALS_COMPLETE: "资料齐全",
    Milestone.FEEDBACK_GIVEN: "已反馈安排结果",
    Milestone.CONFIRMED: "需求已确认",
    Milestone.BOOKED: "预约成功",
    Milestone.RESCHEDULED: "改期",
    Milestone.CONSULTATION_HELD: "已会诊",
    Milestone.REPORT_ISSUED: "已出具报告",
    Milestone.COMPLETED: "已完成",
    Milestone.CANCELLED: "取消",
    Milestone.NO_SHOW: "未应约",
}
DESIGNATION = {"hospital": "医院", "doctor": "医生"}
UNIT = {"times": "次", "days": "天"}
VISIT_PERIOD = {"am": "上午", "pm": "下午"}
PARTY = {"customer": "客户", "hospital": "医院或医生"}
CALL_KIND = {"inbound": "来电", "callback": "回电"}
CALL_OUTCOME = {
    contact_history.IN_IVR: "语音导航中",
    contact_history.WAITING: "排队中",
    contact_history.ON_CALL: "通话中",
    contact_history.ANSWERED: "已接通",
    contact_history.ABANDONED: "排队放弃",
    contact_history.LEFT_FOR_CALLBACK: "留言回电",
    contact_history.QUEUE_FAILED: "转接失败",
    contact_history.CALLBACK_BOOKED: "非服务时间·已约回电",
    contact_history.AFTER_HOURS: "非服务时间",
    contact_history.SELF_SERVICE: "自助服务",
    contact_history.UNREACHED: "未接通",
}
CALLBACK_STATUS = {
    "pending": "待回电",
    "dialling": "拨打中",
    "connected": "已接通排队",
    "done": "已回电",
    "failed": "未能联系",
}
FOUND_BY = {
    people.BY_ID: "编号",
    people.BY_POLICY: "保单号",
    people.BY_PHONE: "电话",
    people.BY_SUFFIX: "尾号",
    people.BY_NAME: "姓名",
    people.BY_PINYIN: "拼音",
    people.BY_SOUND: "同音",
}
POLICY_REASON = {
    "cooling_off": "犹豫期内",
    "not_in_force": "非有效状态",
    "not_applicable_product": "非适用险种",
}
SERVICE_REASON = {
    "no_tier": "无档位",
    "not_in_tier": "档位不含",
    "waiting_period": "等待期内",
    "quota_used": "额度已用完",
}
HTTP_STATUS = {
    "400": "请求有误",
    "401": "请先登录",
    "403": "无权访问",
    "404": "未找到",
    "405": "不支持此操作",
    "413": "内容过大",
    "429": "尝试过于频繁",
    "500": "服务器出错",
    "503": "暂时无法服务",
}

# Every group of fixed codes by the name pages and the script use for it.
GROUPS: dict[str, dict] = {
    "case_status": CASE_STATUS,
    "sla": SLA_STATE,
    "use_outcome": USE_OUTCOME,
    "use_reason": USE_REASON,
    "milestone": MILESTONE,
    "designation": DESIGNATION,
    "unit": UNIT,
    "visit_period": VISIT_PERIOD,
    "party": PARTY,
    "call_kind": CALL_KIND,
    "call_outcome": CALL_OUTCOME,
    "callback_status": CALLBACK_STATUS,
    "found_by": FOUND_BY,
    "policy_reason": POLICY_REASON,
    "service_reason": SERVICE_REASON,
    "http_status": HTTP_STATUS,
}


def from_flows(flows: Flows) -> dict[str, dict[str, str]]:
    """The configured names: services, tiers, lines, and each queue by its line's name."""
    lines = {code: line.name for code, line in flows.lines.items()}
    queues = {}
    for queue in flows.queues():
        suffix = "·回电" if queue.kind == CALLBACKS else ""
        queues[queue.name] = f"{queue.line.name}{suffix}"
    return {
        "service": {s.code: s.name for s in flows.programme.services},
        "tier": {t.code: t.name for t in flows.programme.tiers},
        "line": lines,
        "queue": queues,
    }


def label(code: object, group: str, default: str | None = None) -> str:
    """The word for ``code`` in ``group`` (a fixed group, or a named one of the flows');
    a code without one is shown as ``default``, else as it is; "—" for none."""
    if code is None or code == "":
        return "—"
    words = GROUPS.get(group)
    if words is None:
        words = from_flows(current_flows()).get(group, {})
    return words.get(str(code), str(code) if default is None else default)


def for_script(flows: Flows) -> dict[str, dict[str, str]]:
    """Every group of words, for the desk's script (JSON keys are the codes as strings)."""
    return {
        **{
            group: {str(code): word for code, word in words.items()}
            for group, words in GROUPS.items()
        },
        **from_flows(flows),
    }


# -- amounts and times -----------------------------------------------------------------


def amount(value: int | None) -> str:
    """Whole yuan with thousands separators: 300,000 元."""
    return "—" if value is None else f"{value:,} 元"


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    tz = current_clock().tz
    return moment.astimezone(tz) if moment.tzinfo else moment


def when(value: datetime | str | None) -> str:
    """A moment as people read it, in the hotline's zone: 12月6日 11:29 (with the year
    when it is not this year's)."""
    moment = _moment(value)
    if moment is None:
        return "—"
    return f"{day(moment.date())} {moment:%H:%M}"


def day(value: date | str | None) -> str:
    """A calendar date: 12月6日 this year, 2025年12月6日 another year."""
    if value is None or value == "":
        return "—"
    on = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    prefix = "" if on.year == current_clock().today().year else f"{on.year}年"
    return f"{prefix}{on.month}月{on.day}日"


def seconds(value: float | None) -> str:
    """A duration: 42 秒, 3 分 05 秒."""
    if value is None:
        return "—"
    whole = max(0, round(value))
    if whole < 60:
        return f"{whole} 秒"
    return f"{whole // 60} 分 {whole % 60:02d} 秒"


# The pages' Jinja filters: ``{{ case.status|label("case_status") }}``, ``{{ x|amount }}``.
FILTERS = {"label": label, "amount": amount, "when": when, "day": day, "seconds": seconds}
