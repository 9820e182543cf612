-- GET $PREFIX<query> with a query from $QUERIES_FILE, one line each, URL-encoded (wrk script).
local prefix = os.getenv("PREFIX")
local auth = os.getenv("AUTH")
local queries = {}
for line in io.lines(os.getenv("QUERIES_FILE")) do
  queries[#queries + 1] = line:gsub("([^%w])", function(c) return string.format("%%%02X", string.byte(c)) end)
end
math.randomseed(7)
request = function()
  local headers = {}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("GET", prefix .. queries[math.random(#queries)], headers)
end
