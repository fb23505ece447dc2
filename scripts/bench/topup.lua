-- wrk: admin top-ups with a fresh Idempotency-Key each, spread over the
-- bench subscribers (scripts/bench/setup.sh), 1 fen each, each with its own
-- reference (a reference is unique per subscriber: a reused one is 409).
local admin = os.getenv("VAS_ADMIN_KEY")
local n = tonumber(os.getenv("BENCH_SUBSCRIBERS") or "200")
local counter, prefix = 0, ""
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0))
    prefix = string.format("b%d-%d-", tid or 0, math.random(1, 1e9))
end

request = function()
    counter = counter + 1
    local msisdn = string.format("86137%08d", math.random(0, n - 1))
    return wrk.format("POST", "/v1/admin/subscribers/" .. msisdn .. "/topups",
        { ["Authorization"] = "Bearer " .. admin,
          ["Content-Type"] = "application/json",
          ["Idempotency-Key"] = prefix .. counter },
        '{"amount":1,"reference":"' .. prefix .. counter .. '"}')
end

-- Paced rows: scripts/bench/pace.lua.
dofile((os.getenv("VAS_ROOT") or ".") .. "/scripts/bench/pace.lua")
