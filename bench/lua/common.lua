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

-- A random version-4 UUID, as the OpenMeter client and most others make event
-- ids: 122 random bits, so consecutive ids land on random pages of any index
-- keyed by them (sequential ids would flatter a B-tree).
local hex = "0123456789abcdef"
function M.uuid4()
  local t = {}
  for i = 1, 32 do
    local v = math.random(0, 15)
    if i == 13 then v = 4 elseif i == 17 then v = 8 + v % 4 end
    t[#t + 1] = hex:sub(v + 1, v + 1)
    if i == 8 or i == 12 or i == 16 or i == 20 then t[#t + 1] = "-" end
  end
  return table.concat(t)
end

return M
