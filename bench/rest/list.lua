-- GET a filtered page of 20 records from $LIST_PATH (wrk script).
local path = os.getenv("LIST_PATH")
local auth = os.getenv("AUTH")
request = function()
  local headers = {}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("GET", path, headers)
end
