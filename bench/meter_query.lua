-- GET /api/v1/meters/bench_tokens/query over the data set's range, windowed
-- (BENCH_WINDOW, default HOUR) and grouped by subject: one row per subject
-- and window. BENCH_SUBJECT=1 asks for one random subject instead.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local entities = common.env_number("BENCH_ENTITIES", 1000)
local from = common.iso(common.env_number("BENCH_SINCE", 0))
local to = common.iso(common.env_number("BENCH_UNTIL", 0))
local window = os.getenv("BENCH_WINDOW") or "HOUR"
local one = os.getenv("BENCH_SUBJECT") == "1"
init = function(args) common.seed(3) end
request = function()
  local path = string.format(
    "/api/v1/meters/bench_tokens/query?from=%s&to=%s&windowSize=%s&groupBy=subject",
    from, to, window)
  if one then
    path = path .. string.format("&subject=entity-%d", math.random(0, entities - 1))
  end
  return wrk.format("GET", path)
end
done = function(s, l, r) common.report.done(s, l, r) end
