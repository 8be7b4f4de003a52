-- GET /health (also used against nginx for the ceiling).
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
done = function(s, l, r) common.report.done(s, l, r) end
