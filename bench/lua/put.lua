-- PUT a 1 KiB value to a rotating list of items with a bearer token.
local paths = {}
for p in string.gmatch(os.getenv("KS_PATHS") or "/", "%S+") do paths[#paths + 1] = p end
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KS_TOKEN") or "")
wrk.headers["Content-Type"] = "application/json"
local body = '{"name":"written","value":"' .. string.rep("w", 1024) .. '"}'
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("PUT", paths[i], nil, body)
end
