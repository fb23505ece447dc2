/*
 * lob_script.c — the Lua scripts, one per lobby transition.
 *
 * Every lobby script gets the seven keys of one lobby (lob.h) and ARGV =
 * now_ms, idle_ms, closed_ttl_ms, user, then its own arguments, and
 * answers {status, events, meta, members, extra}:
 *   status   "ok" or a refusal ("not_found", "full", "closed", …)
 *   events   {{kind, user, other}…} of what happened (joined, left,
 *            owner, invited, closed), for the notifications
 *   meta     HMGET of LOB_META_FIELDS (lob_lobby.c parses it)
 *   members  flat {user, joined_ms, ready(0/1)…}, oldest first
 *   extra    {index_due, attempt}
 * Each script first evicts members silent for idle_ms (only while open)
 * and, when it touched a member, refreshes every key's TTL LAST (a key
 * created after a PEXPIRE would never expire). Scripts never read the
 * clock: now comes from the caller, so replicas replay them exactly.
 */
#include <string.h>

#include <openssl/sha.h>

#include "gw_util.h"
#include "lob_internal.h"

#define LOB_PRELUDE                                                            \
    "local KM, KMEM, KJ, KS, KR, KI, KF = KEYS[1], KEYS[2], KEYS[3],"          \
    " KEYS[4], KEYS[5], KEYS[6], KEYS[7]\n"                                    \
    "local now, idle, closed_ttl, user = tonumber(ARGV[1]),"                   \
    " tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]\n"                         \
    "local ev, extra = {}, {0, 0, ''}\n"                                       \
    "local F = {'id','game_id','game_title','name','owner','state',"           \
    "'visibility','max','min','created_ms','active_ms','started_ms',"          \
    "'attempt','match_id','host','port'}\n"                                    \
    "local function meta(f) return redis.call('HGET', KM, f) end\n"            \
    "local function exists() return redis.call('EXISTS', KM) == 1 end\n"       \
    "local function alive() local s = meta('state')"                           \
    " return s and s ~= 'closed' end\n"                                        \
    "local function is_member(u)"                                              \
    " return redis.call('ZSCORE', KMEM, u) ~= false end\n"                     \
    "local function touch()\n"                                                 \
    "  redis.call('HSET', KM, 'active_ms', now)\n"                             \
    "  for i = 1, 6 do redis.call('PEXPIRE', KEYS[i], idle) end\n"             \
    "end\n"                                                                    \
    "local function present() redis.call('ZADD', KS, now, user) end\n"         \
    "local function idx(force)\n"                                              \
    "  if force or now - tonumber(meta('idx_ms') or 0) > idle / 2 then\n"      \
    "    redis.call('HSET', KM, 'idx_ms', now) extra[1] = 1 end\n"             \
    "end\n"                                                                    \
    "local function close_lobby()\n"                                           \
    "  redis.call('DEL', KMEM, KJ, KS, KR, KI, KF)\n"                          \
    "  redis.call('HSET', KM, 'state', 'closed', 'owner', '')\n"               \
    "  redis.call('PEXPIRE', KM, closed_ttl)\n"                                \
    "  ev[#ev + 1] = {'closed', '', ''} extra[1] = 1\n"                        \
    "end\n"                                                                    \
    "local function remove_member(u, why, fence)\n"                            \
    "  redis.call('ZREM', KMEM, u) redis.call('HDEL', KJ, u)\n"                \
    "  if fence then\n"                                                        \
    "    local t = redis.call('HGET', KM, 'c:' .. u)\n"                        \
    "    if t then redis.call('SADD', KF, t)"                                  \
    " redis.call('PEXPIRE', KF, idle) extra[3] = t end\n"                      \
    "  end\n"                                                                  \
    "  redis.call('HDEL', KM, 'c:' .. u)\n"                                    \
    "  redis.call('ZREM', KS, u) redis.call('SREM', KR, u)\n"                  \
    "  ev[#ev + 1] = {'left', u, why} extra[1] = 1\n"                          \
    "  if redis.call('ZCARD', KMEM) == 0 then close_lobby() return end\n"      \
    "  if meta('owner') == u then\n"                                           \
    "    local nxt = redis.call('ZRANGE', KMEM, 0, 0)[1]\n"                    \
    "    redis.call('HSET', KM, 'owner', nxt)\n"                               \
    "    ev[#ev + 1] = {'owner', nxt, u}\n"                                    \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function evict()\n"                                                 \
    "  if meta('state') ~= 'open' then return end\n"                           \
    "  local gone = redis.call('ZRANGEBYSCORE', KS, '-inf',"                   \
    " '(' .. (now - idle))\n"                                                  \
    "  for _, u in ipairs(gone) do\n"                                          \
    "    if meta('state') ~= 'open' then return end\n"                         \
    "    remove_member(u, 'idle', false)\n"                                    \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "local function visible()\n"                                               \
    "  if is_member(user) or meta('visibility') == 'public' then"              \
    " return true end\n"                                                       \
    "  return redis.call('SISMEMBER', KI, user) == 1\n"                        \
    "end\n"                                                                    \
    "local function render(status)\n"                                          \
    "  local m = redis.call('HMGET', KM, unpack(F))\n"                         \
    "  local mem, j, r = {}, {}, {}\n"                                         \
    "  if m[6] and m[6] ~= 'closed' then\n"                                    \
    "    local jl = redis.call('HGETALL', KJ)\n"                               \
    "    for i = 1, #jl, 2 do j[jl[i]] = jl[i + 1] end\n"                      \
    "    for _, u in ipairs(redis.call('SMEMBERS', KR)) do r[u] = 1 end\n"     \
    "    for _, u in ipairs(redis.call('ZRANGE', KMEM, 0, -1)) do\n"           \
    "      mem[#mem + 1] = u\n"                                                \
    "      mem[#mem + 1] = j[u] or '0'\n"                                      \
    "      mem[#mem + 1] = r[u] or 0\n"                                        \
    "    end\n"                                                                \
    "  end\n"                                                                  \
    "  return {status, ev, m, mem, extra}\n"                                   \
    "end\n"                                                                    \
    "local function hidden_as(st) return {st, ev, {}, {}, extra} end\n"        \
    "local function hidden() return hidden_as('not_found') end\n"              \
    "local function fenced(t)"                                                 \
    " return redis.call('SISMEMBER', KF, t) == 1 end\n"

/* ARGV[5..12]: id, game_id, title, name, visibility, max, min, claim token */
#define LOB_CREATE                                                             \
    "if exists() then return render('exists') end\n"                           \
    "if fenced(ARGV[12]) then return hidden_as('fenced') end\n"                \
    "redis.call('HSET', KM, 'id', ARGV[5], 'game_id', ARGV[6],"                \
    " 'game_title', ARGV[7], 'name', ARGV[8], 'owner', user, 'state',"         \
    " 'open', 'visibility', ARGV[9], 'max', ARGV[10], 'min', ARGV[11],"        \
    " 'created_ms', now, 'attempt', 0, 'seq', 1, 'idx_ms', now,"               \
    " 'c:' .. user, ARGV[12])\n"                                               \
    "redis.call('ZADD', KMEM, 1, user) redis.call('HSET', KJ, user, now)\n"    \
    "present() extra[1] = 1 touch()\n"                                         \
    "return render('ok')\n"

#define LOB_GET                                                                \
    "if not exists() then return hidden() end\n"                               \
    "evict()\n"                                                                \
    "if not visible() then return hidden() end\n"                              \
    "if alive() and is_member(user) then present() idx(false) touch() end\n"   \
    "return render('ok')\n"

/* ARGV[5]: the claim token (a fenced one never takes a seat) */
#define LOB_JOIN                                                               \
    "if not exists() then return hidden() end\n"                               \
    "evict()\n"                                                                \
    "if not visible() then return hidden() end\n"                              \
    "if meta('state') ~= 'open' then return render('closed') end\n"            \
    "if is_member(user) then present() touch() return render('member') end\n"  \
    "if redis.call('ZCARD', KMEM) >= tonumber(meta('max')) then"               \
    " return render('full') end\n"                                             \
    "if fenced(ARGV[5]) then return render('fenced') end\n"                    \
    "local seq = redis.call('HINCRBY', KM, 'seq', 1)\n"                        \
    "redis.call('ZADD', KMEM, seq, user) redis.call('HSET', KJ, user, now)\n"  \
    "redis.call('HSET', KM, 'c:' .. user, ARGV[5])\n"                          \
    "redis.call('SREM', KI, user) present()\n"                                 \
    "ev[#ev + 1] = {'joined', user, ''}\n"                                     \
    "idx(true) touch()\n"                                                      \
    "return render('ok')\n"

/* Member guard shared by the member-only transitions. */
#define LOB_MEMBER_GUARD                                                       \
    "if not exists() then return hidden() end\n"                               \
    "evict()\n"                                                                \
    "if not visible() then return hidden() end\n"                              \
    "if not is_member(user) then return render('not_member') end\n"

/* Leaving is idempotent: a visible lobby the user is not in answers "gone"
 * (a retried leave whose first answer was lost must not fail). */
#define LOB_LEAVE                                                              \
    "if not exists() then return hidden() end\n"                               \
    "evict()\n"                                                                \
    "if not visible() then return hidden() end\n"                              \
    "if not is_member(user) then return render('gone') end\n"                  \
    "if meta('state') == 'starting' then present() touch()"                    \
    " return render('starting') end\n"                                         \
    "remove_member(user, 'left', true)\n"                                      \
    "if alive() then touch() end\n"                                            \
    "return render('ok')\n"

/* ARGV[5]: '1' ready, '0' not */
#define LOB_READY                                                              \
    LOB_MEMBER_GUARD                                                           \
    "local st = meta('state')\n"                                               \
    "if st == 'starting' then return render('starting') end\n"                 \
    "if st ~= 'open' then return render('closed') end\n"                       \
    "if ARGV[5] == '1' then redis.call('SADD', KR, user)"                      \
    " else redis.call('SREM', KR, user) end\n"                                 \
    "present() idx(true) touch()\n"                                            \
    "return render('ok')\n"

/* ARGV[5]: max invitees; ARGV[6..]: user ids */
#define LOB_INVITE                                                             \
    LOB_MEMBER_GUARD                                                           \
    "if meta('state') ~= 'open' then return render('closed') end\n"            \
    "for i = 6, #ARGV do\n"                                                    \
    "  local u = ARGV[i]\n"                                                    \
    "  if not is_member(u) then\n"                                             \
    "    if redis.call('SISMEMBER', KI, u) == 0 and"                           \
    " redis.call('SCARD', KI) >= tonumber(ARGV[5]) then"                       \
    " return render('too_many') end\n"                                         \
    "    redis.call('SADD', KI, u) ev[#ev + 1] = {'invited', u, user}\n"       \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "present() touch()\n"                                                      \
    "return render('ok')\n"

/* ARGV[5]: the member to kick */
#define LOB_KICK                                                               \
    LOB_MEMBER_GUARD                                                           \
    "if meta('owner') ~= user then return render('not_owner') end\n"           \
    "local st = meta('state')\n"                                               \
    "if st == 'starting' then return render('starting') end\n"                 \
    "if st ~= 'open' then return render('closed') end\n"                       \
    "if ARGV[5] == user then return render('self') end\n"                      \
    "if not is_member(ARGV[5]) then return render('no_target') end\n"          \
    "remove_member(ARGV[5], 'kicked', true) present() touch()\n"               \
    "return render('ok')\n"

/* ARGV[5]: how long the start may take (ms) before another may begin */
#define LOB_START_BEGIN                                                        \
    "if not exists() then return hidden() end\n"                               \
    "evict()\n"                                                                \
    "if not visible() then return hidden() end\n"                              \
    "local st = meta('state')\n"                                               \
    "if st == 'started' then\n"                                                \
    "  if is_member(user) then present() touch() end\n"                        \
    "  return render('started') end\n"                                         \
    "if meta('owner') ~= user then return render('not_owner') end\n"           \
    "if st == 'starting' and tonumber(meta('starting_until') or 0) > now"      \
    " then return render('starting') end\n"                                    \
    "if st ~= 'open' and st ~= 'starting' then return render('closed') end\n"  \
    "local n = redis.call('ZCARD', KMEM)\n"                                    \
    "if n < tonumber(meta('min')) then return render('too_few') end\n"         \
    "if redis.call('SCARD', KR) < n then return render('not_ready') end\n"     \
    "extra[2] = redis.call('HINCRBY', KM, 'attempt', 1)\n"                     \
    "redis.call('HSET', KM, 'state', 'starting', 'starting_until',"            \
    " now + tonumber(ARGV[5]))\n"                                              \
    "present() idx(true) touch()\n"                                            \
    "return render('ok')\n"

/* ARGV[5..9]: attempt, match id, host, port, started ms */
#define LOB_START_FINISH                                                       \
    "if not exists() then return hidden() end\n"                               \
    "if meta('state') ~= 'starting' or meta('attempt') ~= ARGV[5] then"        \
    " return render('stale') end\n"                                            \
    "redis.call('HSET', KM, 'state', 'started', 'match_id', ARGV[6], 'host',"  \
    " ARGV[7], 'port', ARGV[8], 'started_ms', ARGV[9])\n"                      \
    "redis.call('HDEL', KM, 'starting_until')\n"                               \
    "extra[1] = 1 touch()\n"                                                   \
    "return render('ok')\n"

/* ARGV[5]: attempt */
#define LOB_START_ABORT                                                        \
    "if not exists() then return hidden() end\n"                               \
    "if meta('state') ~= 'starting' or meta('attempt') ~= ARGV[5] then"        \
    " return render('stale') end\n"                                            \
    "redis.call('HSET', KM, 'state', 'open')\n"                                \
    "redis.call('HDEL', KM, 'starting_until')\n"                               \
    "extra[1] = 1 touch()\n"                                                   \
    "return render('ok')\n"

/*
 * ARGV[5]: the token of the user's claim on this lobby, found by a request
 * that wants the claim for another lobby. 1 when the user is a member of
 * this lobby while it is open or starting (the claim is live). Else 0, and
 * the token is fenced first: a join or create still in flight with it
 * (claimed, script not yet run) can never take a seat here, so moving the
 * claim away is safe. A started or closed lobby seats nobody again.
 */
#define LOB_FENCE                                                              \
    "local st = meta('state')\n"                                               \
    "if st == 'closed' or st == 'started' then return 0 end\n"                 \
    "if st and is_member(user) then return 1 end\n"                            \
    "redis.call('SADD', KF, ARGV[5]) redis.call('PEXPIRE', KF, idle)\n"        \
    "return 0\n"

/*
 * The listing of one game (keys: idx zset id -> created ms, info hash
 * id -> lobby JSON, exp zset id -> expiry ms; all in the game's slot).
 * ARGV: now, id, created_ms, exp_ms, json ('' = remove), ttl_ms. Drops up
 * to 16 expired entries on the way, so nothing outlives its lobby.
 */
#define LOB_IDX_PUT                                                            \
    "local now = tonumber(ARGV[1])\n"                                          \
    "local function drop(x) redis.call('ZREM', KEYS[1], x)"                    \
    " redis.call('HDEL', KEYS[2], x) redis.call('ZREM', KEYS[3], x) end\n"     \
    "if ARGV[5] == '' then drop(ARGV[2]) else\n"                               \
    "  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])\n"                        \
    "  redis.call('HSET', KEYS[2], ARGV[2], ARGV[5])\n"                        \
    "  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2]) end\n"                    \
    "for _, x in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now,"     \
    " 'LIMIT', 0, 16)) do drop(x) end\n"                                       \
    "for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end\n"            \
    "return 1\n"

/*
 * ARGV: now, max score ('+inf' or the cursor's), cursor id ('' = none),
 * limit, scan. Answers {items, last score, last id, more}. Reads the index
 * limit + 1 entries at a time (one ZREVRANGEBYSCORE, ZMSCORE and HMGET
 * each, not two calls per entry nor `scan` entries up front) until the
 * page is full or `scan` entries were looked at; expired entries are
 * dropped at the end (dropping them on the way would shift the offsets).
 */
#define LOB_IDX_LIST                                                           \
    "local now, lim, scan = tonumber(ARGV[1]), tonumber(ARGV[4]),"             \
    " tonumber(ARGV[5])\n"                                                     \
    "local out, ls, li, more, off, dead, ended = {}, '', '', 0, 0, {}, "       \
    "false\n"                                                                  \
    "while more == 0 and off < scan do\n"                                      \
    "  local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf',"   \
    " 'WITHSCORES', 'LIMIT', off, lim + 1)\n"                                  \
    "  off = off + #ids / 2\n"                                                 \
    "  ended = #ids < 2 * (lim + 1)\n"                                         \
    "  local chunk, sc = {}, {}\n"                                             \
    "  for i = 1, #ids, 2 do\n"                                                \
    "    local id, s = ids[i], ids[i + 1]\n"                                   \
    "    if not (ARGV[3] ~= '' and s == ARGV[2] and id >= ARGV[3]) then\n"     \
    "      chunk[#chunk + 1] = id sc[#chunk] = s end\n"                        \
    "  end\n"                                                                  \
    "  if #chunk > 0 then\n"                                                   \
    "    local exps = redis.call('ZMSCORE', KEYS[3], unpack(chunk))\n"         \
    "    local infos = redis.call('HMGET', KEYS[2], unpack(chunk))\n"          \
    "    for k = 1, #chunk do\n"                                               \
    "      local id, exp, info = chunk[k], exps[k], infos[k]\n"                \
    "      if (not exp) or tonumber(exp) <= now or not info then\n"            \
    "        dead[#dead + 1] = id\n"                                           \
    "      else\n"                                                             \
    "        if #out >= lim then more = 1 break end\n"                         \
    "        out[#out + 1] = info\n"                                           \
    "      end\n"                                                              \
    "      ls, li = sc[k], id\n"                                               \
    "    end\n"                                                                \
    "  end\n"                                                                  \
    "  if ended then break end\n"                                              \
    "end\n"                                                                    \
    "if more == 0 and not ended then more = 1 end\n"                           \
    "for _, id in ipairs(dead) do\n"                                           \
    "  redis.call('ZREM', KEYS[1], id) redis.call('HDEL', KEYS[2], id)\n"      \
    "  redis.call('ZREM', KEYS[3], id)\n"                                      \
    "end\n"                                                                    \
    "return {out, ls, li, more}\n"

/* The user's claim on one open lobby (key vas:lobbyuser:{user}). */
#define LOB_USER_CAS                                                           \
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"                          \
    "  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end\n"      \
    "return 0\n"

/* ARGV[1]: "<lobby>.<token>" deletes exactly that claim; "<lobby>" any
 * claim on that lobby (a started lobby releases every member's). */
#define LOB_USER_DEL                                                           \
    "local v = redis.call('GET', KEYS[1])\n"                                   \
    "if v and (v == ARGV[1] or"                                                \
    " string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. '.') then"                  \
    " return redis.call('DEL', KEYS[1]) end\n"                                 \
    "return 0\n"

static const char *const lob_scripts[LOB_S_COUNT] = {
    [LOB_S_CREATE] = LOB_PRELUDE       LOB_CREATE,
    [LOB_S_GET] = LOB_PRELUDE          LOB_GET,
    [LOB_S_JOIN] = LOB_PRELUDE         LOB_JOIN,
    [LOB_S_LEAVE] = LOB_PRELUDE        LOB_LEAVE,
    [LOB_S_READY] = LOB_PRELUDE        LOB_READY,
    [LOB_S_INVITE] = LOB_PRELUDE       LOB_INVITE,
    [LOB_S_KICK] = LOB_PRELUDE         LOB_KICK,
    [LOB_S_START_BEGIN] = LOB_PRELUDE  LOB_START_BEGIN,
    [LOB_S_START_FINISH] = LOB_PRELUDE LOB_START_FINISH,
    [LOB_S_START_ABORT] = LOB_PRELUDE  LOB_START_ABORT,
    [LOB_S_FENCE] = LOB_PRELUDE        LOB_FENCE,
    [LOB_S_IDX_PUT] = LOB_IDX_PUT,
    [LOB_S_IDX_LIST] = LOB_IDX_LIST,
    [LOB_S_USER_CAS] = LOB_USER_CAS,
    [LOB_S_USER_DEL] = LOB_USER_DEL,
};

/* SHA1 hex of each script: EVALSHA names a script by it. */
static char lob_shas[LOB_S_COUNT][41];

int
lob_script_init(void)
{
    unsigned char md[SHA_DIGEST_LENGTH];
    int           i;

    for (i = 0; i < LOB_S_COUNT; i++) {
        if (lob_scripts[i] == NULL) {
            return -1;
        }
        SHA1((const unsigned char *) lob_scripts[i], strlen(lob_scripts[i]),
             md);
        gw_hex_encode(md, sizeof(md), lob_shas[i]);
    }
    return 0;
}

const char *
lob_script_text(enum lob_script_id s)
{
    return lob_scripts[s];
}

const char *
lob_script_sha(enum lob_script_id s)
{
    return lob_shas[s];
}
