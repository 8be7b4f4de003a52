-- The data-set loader, itself an ingest benchmark: posts batches of 1000 v1
-- events (POST /v1/events/batch) over several connections, one wrk thread.
--
-- Event n (0 <= n < LOAD_TOTAL) is fully determined by n, so a chunk can be
-- posted again after an interruption: its ids deduplicate.
--   id        a version-4 UUID drawn from a generator seeded by n's batch: random
--             as clients' ids are (sequential ids would flatter the indexes),
--             and the same on every run
--   entityId  entity-<n mod LOAD_ENTITIES>
--   eventType request, request, export, upload by (n div LOAD_ENTITIES) mod 4
--   timestamp LOAD_START_MS + floor(n * LOAD_SPAN_MS / LOAD_TOTAL)
--   metadata  {"tokens": n mod 997, "model": small|medium|large by n mod 3}
-- This run posts batches LOAD_FIRST .. LOAD_FIRST + LOAD_COUNT - 1 (batch b
-- holds events b*1000 .. b*1000+999, cut at LOAD_TOTAL), then ends wrk (a
-- SIGINT to itself: wrk then reports at once instead of waiting out -d). Once
-- every batch is sent, idle connections send GET /health every 50 ms, which is
-- not counted.
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local size = common.env_number("BATCH_SIZE", 1000)
local first = common.env_number("LOAD_FIRST", 0)
local count = common.env_number("LOAD_COUNT", 1)
local total = common.env_number("LOAD_TOTAL", 1000)
local entities = common.env_number("LOAD_ENTITIES", 1000)
local start_ms = common.env_number("LOAD_START_MS", 0)
local span_ms = common.env_number("LOAD_SPAN_MS", 30 * 86400000)
local types = {"request", "request", "export", "upload"}
local models = {"small", "medium", "large"}

-- Globals, so that done() can read them with thread:get.
issued, ok, failed = 0, 0, 0
local health = wrk.format("GET", "/health")

local ffi = require("ffi")
ffi.cdef("int getpid(void); int kill(int pid, int sig);")
local function finish()
  wrk.thread:stop()
  ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT: wrk's handler ends the run and reports
end

delay = function()
  if issued >= count then return 50 end
  return 0
end

local function body_of(batch)
  local lo = batch * size
  local hi = math.min(lo + size, total) - 1
  local parts = {}
  local sec_cache, sec_text = -1, ""
  math.randomseed(batch * 7919 + 17)
  for n = lo, hi do
    local t = start_ms + math.floor(n * span_ms / total)
    local s = math.floor(t / 1000)
    if s ~= sec_cache then
      sec_cache, sec_text = s, os.date("!%Y-%m-%dT%H:%M:%S", s)
    end
    parts[#parts + 1] = string.format(
      '{"id":"%s","entityId":"entity-%d","eventType":"%s","timestamp":"%s.%03dZ",' ..
      '"metadata":{"tokens":%d,"model":"%s"}}',
      common.uuid4(), n % entities, types[math.floor(n / entities) % 4 + 1], sec_text, t - s * 1000,
      n % 997, models[n % 3 + 1])
  end
  return '{"events":[' .. table.concat(parts, ",") .. ']}'
end

-- wrk calls request() once right after init() to check the script (thread 0,
-- and the loader runs one thread): that call must not use up a batch.
local checked = false
init = function(args) checked = false end

request = function()
  if not checked then
    checked = true
    return health
  end
  if issued >= count then return health end
  local batch = first + issued
  issued = issued + 1
  return wrk.format("POST", "/v1/events/batch", {["Content-Type"] = "application/json"},
                    body_of(batch))
end

response = function(status, headers, body)
  if status == 200 and body:sub(1, 10) == '{"status":' then return end -- filler
  if status == 201 and body:sub(1, 11) == '{"success":' then
    ok = ok + 1
  else
    failed = failed + 1
  end
  if ok + failed >= count then finish() end
end

local threads = {}
setup = function(thread) threads[#threads + 1] = thread end

done = function(s, l, r)
  local oks, fails = 0, 0
  for _, t in ipairs(threads) do
    oks = oks + t:get("ok")
    fails = fails + t:get("failed")
  end
  common.report.done(s, l, r, string.format("batches_ok=%d batches_failed=%d", oks, fails))
end
