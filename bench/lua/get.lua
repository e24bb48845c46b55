-- GET a rotating list of paths with one header (credentials come from the environment,
-- not from wrk's command line).
local paths = {}
for p in string.gmatch(os.getenv("KS_PATHS") or "/", "%S+") do paths[#paths + 1] = p end
wrk.headers[os.getenv("KS_HEADER_NAME") or "X-None"] = os.getenv("KS_HEADER_VALUE") or ""
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
