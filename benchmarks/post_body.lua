-- wrk script: POST the same body (read from the file given after --) on every request, e.g. a GraphQL
-- query; wrk's own report counts the non-2xx answers.
local body

function init(args)
  local file = assert(io.open(args[1], "rb"))
  body = file:read("*a")
  file:close()
end

function request()
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
