-- POST a new record to $CREATE_PATH (wrk script).
local path = os.getenv("CREATE_PATH")
local auth = os.getenv("AUTH")
local n = 0
request = function()
  n = n + 1
  local headers = { ["Content-Type"] = "application/json" }
  if auth and auth ~= "" then headers["Authorization"] = auth end
  local body = string.format('{"title":"bench %d","body":"body text of a benchmark post","published":true,"views":%d}', n, n % 1000)
  return wrk.format("POST", path, headers, body)
end
