-- make bench, store rows: catalog list/item (GET the row's path), the 300 KB download
-- (path "/download") and purchases (path "/purchase": a game pass, new Idempotency-Key per
-- request, rotating over the bench buyers). Setup: scripts/bench/store_setup.sh.
local env = {}
local counter = 0
local thread_tag = ""
local threads = 0

-- Each wrk thread has its own Lua state with the same default random seed:
-- number the threads so Idempotency-Keys never collide across them.
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

local function load_env()
    local root = os.getenv("VAS_ROOT") or "."
    local p = io.popen(root .. "/scripts/bench/store_setup.sh")
    for line in p:lines() do
        local k, v = line:match("^(%w+)=(.*)$")
        if k then env[k] = v end
    end
    p:close()
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0))
    thread_tag = string.format("%d-%d", tid or 0, math.random(1, 1e9))
    load_env()
end

function request()
    local path = wrk.path
    if path == "/download" then
        return wrk.format("GET", env.DOWNLOAD)
    elseif path == "/purchase" then
        counter = counter + 1
        local n = tonumber(env.BUYERS) or 1
        local tok = env["TOKEN" .. (counter % n)]
        return wrk.format("POST", "/v1/purchases", {
            ["Authorization"] = "Bearer " .. tok,
            ["Content-Type"] = "application/json",
            ["Idempotency-Key"] = "b-" .. thread_tag .. "-" .. counter,
        }, '{"item_id": ' .. env.PASS .. '}')
    end
    return wrk.format("GET", path)
end
