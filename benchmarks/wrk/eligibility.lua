-- GET /api/insureds/<random insured id>/eligibility with a Bearer token, for wrk.
-- wrk ... -s eligibility.lua URL -- IDS_FILE TOKEN
-- Each thread draws ids from its own seeded sequence, so a run is repeatable.

local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  local path, token = args[1], args[2]
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
  math.randomseed(seed or 1)
end

function request()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/insureds/" .. id .. "/eligibility", headers)
end
