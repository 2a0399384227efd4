"""Every Redis key name the hotline uses, in one place (``str.format`` patterns).

One list makes collisions visible and tells an operator what a key in Redis is.
"""

# An IVR call's state, the reply given for each webhook step, and the claim on a step.
CALL_STATE = "hotline:ivr:call:{sid}"
CALL_REPLY = "hotline:ivr:call:{sid}:reply:{step}"
CALL_CLAIM = "hotline:ivr:call:{sid}:claim:{step}"
# The agent a browser phone's call belongs to.
AGENT_CALL = "hotline:ivr:agentcall:{sid}"

# Failed authentication tries (live.lockout): per hashed calling number, per policyholder.
AUTH_NUMBER = "hotline:auth:number:{digest}"
AUTH_HOLDER = "hotline:auth:holder:{id}"

# Agents' statuses: one hash, username -> status and since.
AGENT_STATUS = "hotline:agents:status"
# An agent's recent calls taken (a stream; ids are the SSE event ids).
AGENT_CALLS = "hotline:agent:{agent}:calls"

# Queue figures (live.queueboard) and what an agent may see of a waiting call.
QUEUE_PART = "hotline:queue:{queue}:{part}"
QUEUE_CALL = "hotline:queuecall:{sid}"

# Sign-in attempts per username (the desk's sign-in throttle).
SIGNIN_ATTEMPTS = "hotline:signin:{username}"

# The simulator's queues and calls.
SIM_QUEUE = "hotline:sim:queue:{queue}"
SIM_CALL = "hotline:sim:call:{sid}"
