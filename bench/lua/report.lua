-- Shared by every bench script: prints one machine-readable line that
-- bench/run parses. Latencies are wrk's (microseconds), reported in ms.
local M = {}

function M.done(summary, latency, requests, extra)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local line = string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f " ..
    "max_ms=%.3f non2xx=%d sock_errors=%d timeouts=%d ok_rps=%.1f",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write, e.timeout,
    -- Answers that were 2xx, per second: what an ingest run stored.
    math.max(0, summary.requests - e.status - e.timeout) / secs)
  if extra then line = line .. " " .. extra end
  io.write(line .. "\n")
end

return M
