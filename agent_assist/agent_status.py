"""An agent's status as the desk and the API show and change it (SPEC §6).

The labels people read, and the answer to a change asked for: 200 with the state
when it is taken now, 202 ``{"status": current, "next": asked}`` when a call holds
the agent and it is kept for later. The desk's status form, ``POST
/api/agents/me/status`` and the wrap-up controls all answer through here.
"""

from __future__ import annotations

from flask import jsonify
from redis import RedisError

from agent_assist.errors import error_response
from domain import agent_states as rules
from domain.agent_states import CHOOSABLE, Status
from live.agent_states import Change
from runtime import current_clock
from services import accounts, agent_shift
from storage.models import Agent

LABELS = {
    Status.OFFLINE: "离线 Offline",
    Status.AVAILABLE: "空闲 Available",
    Status.BREAK: "小休 Break",
    Status.OFFERED: "振铃 Ringing",
    Status.ON_CALL: "通话中 On a call",
    Status.WRAP_UP: "话后处理 Wrap-up",
}
REASON_LABELS = {
    rules.MISSED: "未接来电 Missed a call",
    rules.DESK_GONE: "坐席页面已关闭 Desk closed",
    rules.SIGNED_OUT: "已退出 Signed out",
}
# The reason beside the state on the supervisors' board: 小休（未接）.
SHORT_REASONS = {rules.MISSED: "未接", rules.DESK_GONE: "页面关闭", rules.SIGNED_OUT: "已退出"}
# Statuses in the order the desk's selector lists them; only CHOOSABLE ones may be picked.
ORDER = (
    Status.AVAILABLE,
    Status.BREAK,
    Status.OFFLINE,
    Status.OFFERED,
    Status.ON_CALL,
    Status.WRAP_UP,
)
# A refusal's HTTP status: a value that is no status, or one calls set, is the request's
# fault (422); the others refuse a change the agent's state does not allow now (409).
REFUSAL_STATUS = {"invalid_status": 422, "not_choosable": 422}


def choices() -> list[dict]:
    """The selector's options: every status, with whether the agent may pick it."""
    return [{"value": str(s), "label": LABELS[s], "choosable": s in CHOOSABLE} for s in ORDER]


def refused(refusal: rules.Refused):
    return error_response(REFUSAL_STATUS.get(refusal.code, 409), refusal.code, refusal.message)


def unavailable():
    return error_response(503, "store_unavailable", "the status cannot be read or saved right now")


def not_an_agent():
    return error_response(403, "not_an_agent", "supervisors take no calls: they have no status")


def shown(done: Change):
    """200 with the state taken, or 202 with the state now and the one kept for later."""
    now = current_clock().now()
    body = agent_shift.Shown(done.username, done.after).as_dict(now)
    kept = done.after.status in rules.HELD and done.after.next is not None
    response = jsonify(body)
    response.status_code = 202 if kept else 200
    return response


def choose(agent: Agent, wanted: object, reason: object = None):
    """The agent asks for ``wanted``: the JSON answer (200, 202, or the error)."""
    if agent.role != accounts.AGENT:
        return not_an_agent()
    try:
        done = agent_shift.choose(
            agent,
            wanted if isinstance(wanted, str) else "",
            reason.strip()[:32] if isinstance(reason, str) and reason.strip() else None,
        )
    except rules.Refused as refusal:
        return refused(refusal)
    except RedisError:
        return unavailable()
    return shown(done)
