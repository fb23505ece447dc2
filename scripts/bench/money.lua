-- make bench, money rows (issue 8). The row's path picks the request:
--   /buy       a game pass, buyer drawn at random from BENCH_SUBSCRIBERS (10,000+)
--   /buy-hot   the same pass, always buyer 0 (one hot account row)
--   /gift      the pass as a gift from a random buyer to another random one
--   /refund    full refunds of purchases made by the rows before and not yet
--              refunded (each id once: threads split the ids by a hash of the id;
--              the warm-up walks from the newest down, the measured run from the
--              oldest up)
-- A fresh Idempotency-Key per request. Setup: scripts/bench/money_setup.py (once, cached).
local env, tokens = {}, {}
local counter, tag, threads = 0, "", 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
    thread:set("nthreads", threads)
end

local function load()
    local dir = os.getenv("VAS_STACK_DIR")
    local f = io.open(dir .. "/money-bench.env")
    for line in f:lines() do
        local k, v = line:match("^(%w+)=(.*)$")
        if k then env[k] = v end
    end
    f:close()
    for line in io.lines(env.TOKENFILE) do tokens[#tokens + 1] = line end
    if wrk.path == "/refund" then
        local p = io.popen(dir .. "/../../scripts/bench/money_refund_ids.sh")
        -- Each thread reads the list itself (at slightly different moments) and keeps
        -- the ids that hash to it: no id goes to two threads, whatever each list holds.
        local n = tonumber(os.getenv("BENCH_THREADS") or "2")
        env.IDS = {}
        for line in p:lines() do
            local id = tonumber(line)
            if math.floor(id * 618.0339887) % n == (tid or 1) - 1 then
                env.IDS[#env.IDS + 1] = id
            end
        end
        p:close()
    end
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0))
    tag = string.format("%d-%d", tid or 0, math.random(1, 1e9))
    load()
end

local function post(path, tok, body)
    counter = counter + 1
    return wrk.format("POST", path, {
        ["Authorization"] = "Bearer " .. tok,
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = "m-" .. tag .. "-" .. counter,
    }, body)
end

-- The hot row's buyer: one account at a time for both threads, but a new one every
-- HOT_SPAN requests of a thread. Each purchase of the 1-day pass extends that buyer's pass
-- by a day, and an end after 2038-01-19 is refused (409, store_buy.c): a single buyer hit
-- ~700 times a second crossed it within one 10 s run. The start is drawn from the minute and
-- the phase (warm-up or not) so a kept stack's runs use other buyers.
local HOT_SPAN = 1000
function hot_buyer()
    local warm = os.getenv("BENCH_PHASE") == "warmup" and 5003 or 0
    local base = (math.floor(os.time() / 60) * 7919 + warm) % #tokens
    return (base + math.floor(counter / HOT_SPAN)) % #tokens + 1
end

function request()
    local p = wrk.path
    if p == "/buy" then
        return post("/v1/purchases", tokens[math.random(1, #tokens)],
            '{"item_id": ' .. env.PASS .. '}')
    elseif p == "/buy-hot" then
        return post("/v1/purchases", tokens[hot_buyer()], '{"item_id": ' .. env.PASS .. '}')
    elseif p == "/gift" then
        local a = math.random(1, #tokens)
        local b = a % #tokens + math.random(0, #tokens - 2)
        b = b % #tokens
        return post("/v1/purchases", tokens[a],
            '{"item_id": ' .. env.PASS .. ', "gift_to": "bench-' .. b .. '"}')
    elseif p == "/refund" then
        -- the warm-up walks this thread's ids from the newest, the measured run from the
        -- oldest: its list is read as the warm-up stops, so it may hold the warm-up's
        -- in-flight ids (at the newest end)
        local ids = env.IDS
        local k = os.getenv("BENCH_PHASE") == "warmup" and counter + 1 or #ids - counter
        local id = ids[k] or 0
        return post("/v1/admin/purchases/" .. id .. "/refunds", os.getenv("VAS_ADMIN_KEY"),
            '{"reason": "bench"}')
    end
    return wrk.format("GET", p)
end

-- Paced rows: scripts/bench/pace.lua.
dofile((os.getenv("VAS_ROOT") or ".") .. "/scripts/bench/pace.lua")
