"""Every Redis key the hotline writes, in one place: ``hotline:`` then what it holds.

Templates are filled with ``str.format``. Keys show up in monitoring tools, so
none carries personal data: people appear by id, calls by Twilio's CallSid (phone
numbers, where one is a key, are hashed).
"""

# The IVR's state of one call, the reply given for each step, the claim on a step
# (a retried webhook waits for the first), and which agent an agent's call leg is.
CALL_STATE = "hotline:ivr:call:{sid}"
CALL_REPLY = "hotline:ivr:call:{sid}:reply:{step}"
CALL_CLAIM = "hotline:ivr:call:{sid}:claim:{step}"
AGENT_CALL = "hotline:ivr:agentcall:{sid}"

# The queue board: per queue ``hotline:queue:{queue}:{part}`` (waiting ZSET, recent
# answers, pending callbacks), and what agents may see of a caller.
QUEUE_PART = "hotline:queue:{queue}:{part}"
QUEUE_CALL = "hotline:queuecall:{sid}"

# Each agent's calls offered and taken, a stream (screen-pops).
AGENT_CALLS = "hotline:agent:{agent}:calls"

# Agents' states (SPEC §6): each agent's, the agents in each state (ZSET username → when
# it began), the desk's heartbeat, and the marker that the states are here (absent after
# Redis lost them: they are restored from the SQL log).
AGENT_STATE = "hotline:agent:{agent}:state"
AGENTS_IN = "hotline:agents:in:{status}"
AGENT_DESK = "hotline:agent:{agent}:desk"
AGENTS_KEPT = "hotline:agents:kept"

# Distribution: the offer reserving a caller for an agent, Twilio's queue SIDs by name,
# a dispatch asked for and not yet begun, the last check of Twilio's queue members, and
# the run that is planning.
OFFER = "hotline:offer:{sid}"
QUEUE_SIDS = "hotline:queues:sids"
DISPATCH_ASKED = "hotline:dispatch:asked"
DISPATCH_RECONCILED = "hotline:dispatch:reconciled"
DISPATCH_PLANNING = "hotline:dispatch:planning"

# Sign-in attempts at the desk, per username.
SIGNIN_ATTEMPTS = "hotline:signin:{username}"

# The simulator's stand-in for Twilio's queues (``HOTLINE_SIMULATOR`` only).
SIM_QUEUE = "hotline:sim:queue:{queue}"
SIM_CALL = "hotline:sim:call:{sid}"
# Every queue that has held a caller (Twilio keeps a queue once made, empty or not).
SIM_QUEUE_NAMES = "hotline:sim:queues"
# An agent's simulated browser phone (what rings it, since when), and the phones ringing
# now by the time they ring out (a sorted set: identity → deadline).
SIM_PHONE = "hotline:sim:phone:{agent}"
SIM_RINGING = "hotline:sim:ringing"
# Texts a number received (newest last), and the calls the hotline placed to it.
SIM_MESSAGES = "hotline:sim:messages:{number}"
SIM_OUTBOUND = "hotline:sim:outbound:{sid}"
SIM_OUTBOUND_TO = "hotline:sim:outbound-to:{number}"
# Outbound calls ringing now by the time Twilio gives up on them (CallSid → deadline).
SIM_DIALLING = "hotline:sim:dialling"

# Degraded answers given per day (a hash: reason → count), summed over every process.
DEGRADED_ANSWERS = "hotline:degraded:{day}"
