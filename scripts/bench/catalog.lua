-- make bench, uncached catalog rows (issue 15): every request is a different page, so the
-- reply cache misses on purpose, as varied real traffic does. The row's path names the kind:
--   /list      sort=popular from a random keyset cursor (any page costs what the first does)
--   /new       sort=new from a random id (a cursor whose id is past its key: see cursor())
--   /category  one of the 12 generated categories, random sort and cursor
--   /search    one of the 100 generated Chinese words (each in ~1% of the items), random limit,
--              half of them from a random cursor
--   /search-latin  the same with one of 20 of the generated Latin words (each in 2% of the items)
--   /search-nohit  a Chinese term no item has whose bigrams are two generated words (~1% each:
--              "林琵琶" is "林琵" + "琵琶"; at 1,000,000 items one may match by chance)
--   /search-latin-nohit  a misspelt Latin word no item has whose bigrams are common ("loon",
--              "sumer"; "moutain", "wintar": every trigram is in some word too)
--   BENCH_SEARCH_WORDS (comma-separated) replaces either list: one term's figures
--              (scripts/bench/search_terms.sh)
--   /library-first, /library-deep  GET /v1/library of "bench-heavy" (BENCH_ENTITLEMENTS, made by
--              catalog_data.sh): the first page, or a page from a random cursor within the user's
--              entitlements (per-user: never cached)
-- BENCH_ITEMS (the generated catalog's size) bounds the random ids.
local items = tonumber(os.getenv("BENCH_ITEMS") or "1000")
local words = {"琵琶", "二胡", "光明", "春兰", "花月", "月空", "江南", "白笛", "青歌", "黄云",
               "彩蝶", "秋海", "森林", "珠海", "雪莉", "长虹", "金流", "鼓子", "竹乡", "水古"}
local latin = {"love", "night", "dance", "rain", "summer", "blue", "dream", "river", "moon",
               "star", "melody", "rhythm", "harmony", "sunrise", "forest", "mountain", "valley",
               "island", "bridge", "tower"}
local nohit = {"林琵琶", "桥二胡", "月桥二", "筝桥二", "花月桥", "夏月空", "云光明", "小云光",
               "鸟云夏", "黄云明", "春兰乐", "春南明", "蝴南浪", "水歌乐", "青歌乐", "河春声",
               "月蝶河", "蝶河龙", "莉月桥", "彩莉月"}
local latin_nohit = {"loon", "sumer", "witer", "wino", "utorm", "unow", "sung", "stoum",
                     "sterm", "onow", "nght", "moutain", "wintar", "inght", "fluto", "ligha",
                     "olute", "itorm", "arin", "mountan"}
if os.getenv("BENCH_SEARCH_WORDS") then
    words = {}
    for w in os.getenv("BENCH_SEARCH_WORDS"):gmatch("[^,]+") do words[#words + 1] = w end
    latin, nohit, latin_nohit = words, words, words
end
local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

function setup(thread)
    thread:set("tid", (tid_counter or 0) + 1)
    tid_counter = (tid_counter or 0) + 1
end

local token, ent_lo, ent_hi

-- The library rows: a token for bench-heavy and the range of its entitlement ids.
local function library_setup()
    local p = io.popen(os.getenv("VASCTL") .. " token mint bench-heavy")
    token = p:read("*l")
    p:close()
    p = io.popen("mariadb --no-defaults --socket='" .. os.getenv("VAS_MYSQL_SOCKET")
                 .. "' --user='" .. os.getenv("VAS_MYSQL_USER") .. "' --password='"
                 .. os.getenv("VAS_MYSQL_PASSWORD") .. "' --batch --skip-column-names "
                 .. os.getenv("VAS_MYSQL_DATABASE") .. " -e \"SELECT MIN(id), MAX(id)"
                 .. " FROM entitlements WHERE owner_user_id = 'bench-heavy'\"")
    local lo, hi = p:read("*l"):match("^(%d+)%s+(%d+)")
    p:close()
    ent_lo, ent_hi = tonumber(lo), tonumber(hi)
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0))
    if wrk.path:sub(1, 8) == "/library" then library_setup() end
end

local function b64url(s)
    local out, n = {}, #s
    for i = 1, n, 3 do
        local a, b, c = s:byte(i, i + 2)
        local v = a * 65536 + (b or 0) * 256 + (c or 0)
        local k = (b == nil) and 2 or ((c == nil) and 3 or 4)
        for j = 1, k do
            local idx = math.floor(v / 2 ^ (6 * (4 - j))) % 64
            out[#out + 1] = b64:sub(idx + 1, idx + 1)
        end
    end
    return table.concat(out)
end

-- sort: 0 popular, 1 new, 2 price_asc, 3 price_desc (cat_cursor_encode)
local function cursor(sort)
    local id = math.random(1, items)
    local key = id
    if sort == 0 then key = math.random(0, 100000) end
    if sort >= 2 then key = math.random(100, 999) end
    -- sort=new's key is the id, so key = id would give only BENCH_ITEMS distinct cursors
    -- (and reply-cache keys: a quarter of the /new row hit the cache in a 5 s run at
    -- 100,000 items); a larger id after the same key is the same page under another key.
    if sort == 1 then id = key + math.random(0, 1000000) end
    return b64url(string.format("v1.%d.%d.%d", sort, key, id))
end

local sorts = {"popular", "new", "price_asc", "price_desc"}

local function urlencode(s)
    return (s:gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function request()
    local p = wrk.path
    local url
    if p == "/list" then
        url = "/v1/catalog/items?limit=20&cursor=" .. cursor(0)
    elseif p == "/new" then
        url = "/v1/catalog/items?sort=new&limit=20&cursor=" .. cursor(1)
    elseif p == "/category" then
        local s = math.random(0, 3)
        local c = math.random(0, 11)
        local slug = c < 10 and ("scale-rt-" .. c) or ("scale-gm-" .. (c - 10))
        url = "/v1/catalog/items?limit=20&category=" .. slug .. "&sort=" .. sorts[s + 1]
              .. "&cursor=" .. cursor(s)
    elseif p == "/library-first" or p == "/library-deep" then
        url = "/v1/library?limit=20"
        if p == "/library-deep" then
            local id = math.random(ent_lo, ent_hi)
            url = url .. "&cursor=" .. b64url(string.format("v1.1.%d.%d", id, id))
        end
        return wrk.format("GET", url, {["Authorization"] = "Bearer " .. token})
    else
        local lists = {["/search-latin"] = latin, ["/search-nohit"] = nohit,
                       ["/search-latin-nohit"] = latin_nohit}
        local list = lists[p] or words
        url = "/v1/catalog/items?q=" .. urlencode(list[math.random(1, #list)])
              .. "&limit=" .. math.random(10, 30)
        if math.random(0, 1) == 1 then url = url .. "&cursor=" .. cursor(0) end
    end
    return wrk.format("GET", url)
end
