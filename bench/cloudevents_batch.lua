-- POST /api/v1/events with a CloudEvents batch of 1000
-- (application/cloudevents-batch+json). CloudEvents carry a required id, and
-- (source, id) deduplicates: every event gets a random version-4 UUID, as
-- clients make them. CE_TYPE and CE_SUBJECT_PREFIX replace the event types
-- and the `entity-` subjects (bench/run's into-store run uses them so that
-- what it adds to the data set is read by no query).
local dir = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
package.path = dir .. "lua/?.lua;" .. package.path
local common = require("common")
local size = common.env_number("BATCH_SIZE", 1000)
local counter = 0
local types = {"request", "request", "export", "upload"}
local subject_prefix = os.getenv("CE_SUBJECT_PREFIX") or "entity-"
if (os.getenv("CE_TYPE") or "") ~= "" then types = {os.getenv("CE_TYPE")} end
local models = {"small", "medium", "large"}

init = function(args)
  common.seed(size)
end

request = function()
  local parts = {}
  for i = 1, size do
    counter = counter + 1
    parts[i] = string.format(
      '{"specversion":"1.0","id":"%s","source":"bench","type":"%s",' ..
      '"subject":"%s%d","data":{"tokens":%d,"model":"%s"}}',
      common.uuid4(), types[counter % #types + 1], subject_prefix, counter % 1000, counter % 997,
      models[counter % 3 + 1])
  end
  return wrk.format("POST", "/api/v1/events",
                    {["Content-Type"] = "application/cloudevents-batch+json"},
                    "[" .. table.concat(parts, ",") .. "]")
end
done = function(s, l, r) common.report.done(s, l, r, "events_per_request=" .. size) end
