-- make bench, lobby rows (issue 9). Setup: scripts/bench/lobby_setup.py.
--   /joinleave  POST join, then (USERS requests later) POST leave, per joiner of this thread
--   /list       GET /v1/lobbies?game_id=LIST_GAME&limit=20
local env = {}
local counter = 0
local threads = 0

function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end

function init(args)
    local root = os.getenv("VAS_ROOT") or "."
    local p = io.popen("/usr/bin/python3 " .. root .. "/scripts/bench/lobby_setup.py")
    for line in p:lines() do
        local k, v = line:match("^([%w_]+)=(.*)$")
        if k then env[k] = v end
    end
    p:close()
end

function request()
    if wrk.path == "/list" then
        return wrk.format("GET", "/v1/lobbies?game_id=" .. env.LIST_GAME .. "&limit=20",
                          {["Authorization"] = "Bearer " .. env.LIST_TOKEN})
    end
    local users, seats = tonumber(env.USERS), tonumber(env.SEATS)
    local t = tid or 0
    local u = counter % users
    local leave = math.floor(counter / users) % 2 == 1
    counter = counter + 1
    local per = math.ceil(users / seats)
    local lobby = env["JOIN" .. (t * per + math.floor(u / seats))]
    local tok = env["TOKEN" .. (t * users + u)]
    return wrk.format("POST", "/v1/lobbies/" .. lobby .. (leave and "/leave" or "/join"),
                      {["Authorization"] = "Bearer " .. tok})
end

-- Paced rows: scripts/bench/pace.lua.
dofile((os.getenv("VAS_ROOT") or ".") .. "/scripts/bench/pace.lua")
