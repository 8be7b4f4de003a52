-- GET /v1/usage/:entityId over the data set's range (BENCH_SINCE..BENCH_UNTIL,
-- epoch ms), a random one of BENCH_ENTITIES entities per request.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local entities = common.env_number("BENCH_ENTITIES", 1000)
local since = common.iso(common.env_number("BENCH_SINCE", 0))
local till = common.iso(common.env_number("BENCH_UNTIL", 0))
init = function(args) common.seed(1) end
request = function()
  return wrk.format("GET", string.format("/v1/usage/entity-%d?since=%s&until=%s",
                                         math.random(0, entities - 1), since, till))
end
done = function(s, l, r) common.report.done(s, l, r) end
