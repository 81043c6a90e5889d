-- wrk script: POST one new OpenLineage event per request.
-- Templates (one JSON event per line, from benchmarks/ingest.py) carry __S__ where a unique
-- suffix goes (names and run id), so every request is a new event, not a duplicate.
-- Arguments after --: the templates file, then a tag unique to this wrk run. The suffix is
-- tag, thread and request number: without the tag, wrk's unseeded math.random gave every run
-- the same suffixes, so repeats posted the earlier repeats' events again (duplicates, which
-- the catalog acknowledges without writing the graph).
local templates = {}
local counter = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_no", threads)
end

function init(args)
  for line in io.lines(args[1]) do templates[#templates + 1] = line end
  assert(args[2], "give a tag unique to this run after the templates file")
  suffix_prefix = args[2] .. "t" .. thread_no .. "x"
end

function request()
  counter = counter + 1
  local body = templates[(counter % #templates) + 1]:gsub("__S__", suffix_prefix .. counter)
  return wrk.format("POST", "/api/v1/lineage", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-201 responses: %d\n", summary.errors.status))
end
