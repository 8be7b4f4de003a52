-- Loaded by every bench script (package.path is set by the caller).
local M = {}

M.report = require("report")

-- An ISO 8601 UTC timestamp with milliseconds from epoch milliseconds.
function M.iso(ms)
  local s = math.floor(ms / 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%03dZ", ms - s * 1000)
end

function M.env_number(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return tonumber(v)
end

-- Seeds math.random differently in each thread (wrk threads share a clock).
local seeded = false
function M.seed(extra)
  if not seeded then
    math.randomseed(os.time() + (extra or 0) * 7919 + math.floor(os.clock() * 1e6))
    seeded = true
  end
end

return M
