-- POST /v1/events/batch with 1000 v1 events per request (no client id: each
-- event is new; timestamp "now"). Bodies are made once per thread and cycled,
-- so wrk spends its CPU on sending, not on building JSON.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local size = common.env_number("BATCH_SIZE", 1000)
local bodies = {}
local next_body = 0
local types = {"request", "request", "export", "upload"}
local models = {"small", "medium", "large"}

init = function(args)
  common.seed(size)
  for b = 1, 8 do
    local parts = {}
    for i = 1, size do
      local n = b * size + i
      parts[i] = string.format(
        '{"entityId":"entity-%d","eventType":"%s","metadata":{"tokens":%d,"model":"%s"}}',
        math.random(0, 999), types[n % 4 + 1], n % 997, models[n % 3 + 1])
    end
    bodies[b] = '{"events":[' .. table.concat(parts, ",") .. ']}'
  end
end

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/v1/events/batch", {["Content-Type"] = "application/json"},
                    bodies[next_body])
end
done = function(s, l, r) common.report.done(s, l, r, "events_per_request=" .. size) end
