-- wrk script: POST one new OpenLineage event per request.
-- Templates (one JSON event per line, from benchmarks/ingest.py) carry __S__ where a unique
-- suffix goes (names and run id), so every request is a new event, not a duplicate.
local templates = {}
local counter = 0
local failures = 0

function init(args)
  for line in io.lines(args[1]) do templates[#templates + 1] = line end
  thread_id = args[2] or "0"
end

function setup(thread)
  thread:set("thread_id", tostring(math.random(1, 1e9)))
end

function request()
  counter = counter + 1
  local body = templates[(counter % #templates) + 1]:gsub("__S__", thread_id .. "x" .. counter)
  return wrk.format("POST", "/api/v1/lineage", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 201 then failures = failures + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-201 responses: %d\n", summary.errors.status))
end
