-- make bench, paced rows (scripts/bench.sh: a row whose sixth field is "half:ROW"). Each
-- connection waits a random 0 to 2 x BENCH_PACE_MS milliseconds (BENCH_PACE_MS on average)
-- before each request, so the row offers about connections x 1000 / BENCH_PACE_MS requests a
-- second instead of as many as the stack can take. Its p99 is then the latency at that load:
-- a closed loop at full load only measures its own queue (64 connections / throughput).
-- The rows' own scripts load this file; the floors' paced rows use it alone.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace and pace > 0 then
    function delay()
        return math.random() * 2 * pace
    end
end
