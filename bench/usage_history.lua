-- GET /v1/usage/:entityId/history?interval=hour over the data set's range.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local entities = common.env_number("BENCH_ENTITIES", 1000)
local since = common.iso(common.env_number("BENCH_SINCE", 0))
local till = common.iso(common.env_number("BENCH_UNTIL", 0))
local interval = os.getenv("BENCH_INTERVAL") or "hour"
init = function(args) common.seed(2) end
request = function()
  return wrk.format("GET", string.format(
    "/v1/usage/entity-%d/history?interval=%s&since=%s&until=%s",
    math.random(0, entities - 1), interval, since, till))
end
done = function(s, l, r) common.report.done(s, l, r) end
