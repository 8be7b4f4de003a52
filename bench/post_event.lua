-- One v1 event per request, spread over 1000 entities.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"entityId":"entity-%d","eventType":"api_call","metadata":{"n":%d}}',
    counter % 1000, counter)
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end
done = function(s, l, r) common.report.done(s, l, r) end
