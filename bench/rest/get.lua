-- GET one record by a random id from $IDS_FILE, under $PREFIX (wrk script).
local ids = {}
local prefix = os.getenv("PREFIX")
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local auth = os.getenv("AUTH")
request = function()
  local headers = {}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("GET", prefix .. ids[math.random(#ids)], headers)
end
