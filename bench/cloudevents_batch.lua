-- POST /api/v1/events with a CloudEvents batch of 1000
-- (application/cloudevents-batch+json). CloudEvents carry a required id, and
-- (source, id) deduplicates, so every event gets a fresh id: a per-run, per-
-- thread prefix and a counter.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local size = common.env_number("BATCH_SIZE", 1000)
local prefix
local counter = 0
local types = {"request", "request", "export", "upload"}
local models = {"small", "medium", "large"}

init = function(args)
  common.seed(size)
  prefix = string.format("ce-%x-%x-", os.time(), math.random(0, 0x7fffffff))
end

request = function()
  local parts = {}
  for i = 1, size do
    counter = counter + 1
    parts[i] = string.format(
      '{"specversion":"1.0","id":"%s%d","source":"bench","type":"%s",' ..
      '"subject":"entity-%d","data":{"tokens":%d,"model":"%s"}}',
      prefix, counter, types[counter % 4 + 1], counter % 1000, counter % 997,
      models[counter % 3 + 1])
  end
  return wrk.format("POST", "/api/v1/events",
                    {["Content-Type"] = "application/cloudevents-batch+json"},
                    "[" .. table.concat(parts, ",") .. "]")
end
done = function(s, l, r) common.report.done(s, l, r, "events_per_request=" .. size) end
