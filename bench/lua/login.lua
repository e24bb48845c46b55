-- POST /v1/login with the bench user's password.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"' .. os.getenv("KS_USER") .. '","password":"' .. os.getenv("KS_PASSWORD") .. '"}'
wrk.path = "/v1/login"
