-- GET /api/insureds/<random insured id>/eligibility with a Bearer token, for wrk.
-- wrk ... -s eligibility.lua URL -- IDS_FILE TOKEN [RATE]
-- Each thread draws ids from its own seeded sequence, so a run is repeatable.
-- RATE (requests/s for this thread; 0 or absent: as fast as answered) spaces the requests
-- on a schedule, so latency is measured at a set load rather than at saturation, where
-- it only says how long the queue is.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } hotline_timespec;
  int clock_gettime(int clock_id, hotline_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now = ffi.new("hotline_timespec")

local function milliseconds()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
  return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
end

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  local path, token, rate = args[1], args[2], tonumber(args[3] or "0")
  if not path or not token then
    error("usage: wrk ... -s eligibility.lua URL -- IDS_FILE TOKEN")
  end
  ids = {}
  for line in io.lines(path) do
    if #line > 0 then
      ids[#ids + 1] = line
    end
  end
  if #ids == 0 then
    error(path .. ": no ids")
  end
  headers = { ["Authorization"] = "Bearer " .. token }
  interval = rate > 0 and 1000 / rate or 0
  slot = nil
  math.randomseed(seed or 1)
end

-- Milliseconds to wait before the next request: the next free slot of the schedule. A
-- server that falls behind is not sent a burst to catch up (the schedule restarts at now).
function delay()
  if interval == 0 then
    return 0
  end
  local t = milliseconds()
  if slot == nil or slot < t then
    slot = t
  end
  local wait = slot - t
  slot = slot + interval
  return math.floor(wait + 0.5)
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/insureds/" .. id .. "/eligibility", headers)
end
