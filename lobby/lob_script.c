/*
 * lob_script.c — the Lua scripts, one per lobby transition.
 *
 * Every lobby script gets the three keys of one lobby (lob.h) and ARGV =
 * now_ms, idle_ms, closed_ttl_ms, user, "(<now_ms - idle_ms>" (the
 * eviction bound), then its own arguments, and answers {status, events,
 * extra}:
 *   status   "ok" or a refusal ("not_found", "full", "closed", …)
 *   events   {{kind, user, other}…} of what happened (joined, left,
 *            owner, invited, closed), for the notifications
 *   extra    {index_due, attempt, the removed member's claim token}
 * The lobby itself is not rendered by the script: the caller reads the
 * hash with HGETALL right after it, inside one MULTI/EXEC (lob_redis.c),
 * so the reply is the state the transition left, and Redis sends the
 * fields as they are instead of converting each into Lua and back.
 * Each script first evicts members silent for idle_ms (only while open)
 * and, when it touched a member, refreshes the keys' TTLs LAST (a key
 * created after a PEXPIRE would never expire). Scripts never read the
 * clock: now comes from the caller, so replicas replay them exactly.
 *
 * What a script costs (Redis 7.0, instructions, measured with callgrind
 * on redis-server: scripts/bench/lobby_cost.sh has the per-request CPU):
 * an EVALSHA is ~13k plus ~1k per key and argument, each call from Lua
 * ~2.5k plus ~1k per argument and per reply element, each closure the
 * script creates ~1.4k, each number turned into text ~2k. So the scripts
 * read what they decide on with one HMGET, write with few calls, create
 * the helpers they need only on the rare paths (eviction, a departing
 * owner, closing), and let Redis format the reply.
 *
 * Layout (the second; lob.h): the hash holds the lobby's fields, each
 * member as "m:<user>" = "<seq> <joined ms> <ready 0|1> <claim token>"
 * (seq: join order, the longest-waiting member has the lowest) and each
 * invitee as "i:<user>"; presence is the zset ":s" (member -> last seen)
 * so that eviction is one range query; fenced claim tokens the set ":f".
 * The state is the field "st" (the first layout, seven keys, called it
 * "state"): scripts of that layout, still running for a moment during a
 * binary upgrade, see these lobbies as closed and leave them alone, and
 * these scripts answer lobbies of the first layout as not found (they
 * expire within lobby_idle_s).
 */
#include <string.h>

#include <openssl/sha.h>

#include "gw_util.h"
#include "lob_internal.h"

/*
 * Common to the lobby scripts. The helpers for the rare paths are created
 * by rare() only when one is needed (a closure costs as much as a call).
 */
#define LOB_PRELUDE                                                            \
    "local KM, KS, KF = KEYS[1], KEYS[2], KEYS[3]\n"                           \
    "local now, idle, user = ARGV[1], ARGV[2], ARGV[4]\n"                      \
    "local ev, extra, owner, R = {}, {0, 0, ''}, nil, nil\n"                   \
    "local function rare()\n"                                                  \
    "  if R then return R end\n"                                               \
    "  R = {}\n"                                                               \
    "  function R.close()\n"                                                   \
    "    local d = {}\n"                                                       \
    "    for _, f in ipairs(redis.call('HKEYS', KM)) do\n"                     \
    "      local p = string.sub(f, 1, 2)\n"                                    \
    "      if p == 'm:' or p == 'i:' then d[#d + 1] = f end\n"                 \
    "    end\n"                                                                \
    "    if #d > 0 then redis.call('HDEL', KM, unpack(d)) end\n"               \
    "    redis.call('DEL', KS, KF)\n"                                          \
    "    redis.call('HSET', KM, 'st', 'closed', 'owner', '')\n"                \
    "    redis.call('PEXPIRE', KM, ARGV[3])\n"                                 \
    "    ev[#ev + 1] = {'closed', '', ''} extra[1] = 1\n"                      \
    "  end\n"                                                                  \
    "  function R.oldest()\n"                                                  \
    "    local h, best, bs = redis.call('HGETALL', KM), nil, nil\n"            \
    "    for i = 1, #h, 2 do\n"                                                \
    "      if string.sub(h[i], 1, 2) == 'm:' then\n"                           \
    "        local s = tonumber(string.match(h[i + 1], '^%d+'))\n"             \
    "        if not bs or s < bs then best, bs = string.sub(h[i], 3), s end\n" \
    "      end\n"                                                              \
    "    end\n"                                                                \
    "    return best\n"                                                        \
    "  end\n"                                                                  \
    "  function R.ninvited()\n"                                                \
    "    local n = 0\n"                                                        \
    "    for _, f in ipairs(redis.call('HKEYS', KM)) do\n"                     \
    "      if string.sub(f, 1, 2) == 'i:' then n = n + 1 end end\n"            \
    "    return n\n"                                                           \
    "  end\n"                                                                  \
    "  return R\n"                                                             \
    "end\n" /* Removes member u (rec: its record); true when that closed the   \
               lobby */                                                        \
    "local function remove_member(u, why, fence, rec)\n"                       \
    "  if fence then\n"                                                        \
    "    local t = string.match(rec, '^%d+ %d+ %d (.*)$')\n"                   \
    "    redis.call('SADD', KF, t) redis.call('PEXPIRE', KF, idle)"            \
    " extra[3] = t\n"                                                          \
    "  end\n"                                                                  \
    "  redis.call('HDEL', KM, 'm:' .. u) redis.call('ZREM', KS, u)\n"          \
    "  ev[#ev + 1] = {'left', u, why} extra[1] = 1\n"                          \
    "  if redis.call('ZCARD', KS) == 0 then rare().close() return true end\n"  \
    "  if owner == u then\n"                                                   \
    "    owner = rare().oldest()\n"                                            \
    "    redis.call('HSET', KM, 'owner', owner)\n"                             \
    "    ev[#ev + 1] = {'owner', owner, u}\n"                                  \
    "  end\n"                                                                  \
    "  return false\n"                                                         \
    "end\n"                                                                    \
    "local function touch(...)\n"                                              \
    "  redis.call('HSET', KM, 'active_ms', now, ...)\n"                        \
    "  redis.call('PEXPIRE', KM, idle) redis.call('PEXPIRE', KS, idle)\n"      \
    "end\n"                                                                    \
    "local function present() redis.call('ZADD', KS, now, user) end\n"

/*
 * The start of a transition on an existing lobby: h = HMGET of the common
 * fields (st, visibility, owner, the user's record, the user's invitation)
 * and the script's own (h[6]…); members silent for idle are evicted first
 * (h read again after); a lobby the user may not see answers not_found.
 */
#define LOB_GUARD(own)                                                         \
    "local F = {'st', 'visibility', 'owner', 'm:' .. user, 'i:' .. user" own   \
    "}\n"                                                                      \
    "local h = redis.call('HMGET', KM, unpack(F))\n"                           \
    "if not h[1] then return {'not_found', ev, extra} end\n"                   \
    "owner = h[3]\n"                                                           \
    "if h[1] == 'open' then\n"                                                 \
    "  local gone = redis.call('ZRANGEBYSCORE', KS, '-inf', ARGV[5])\n"        \
    "  for _, u in ipairs(gone) do\n"                                          \
    "    if remove_member(u, 'idle', false) then break end end\n"              \
    "  if #gone > 0 then h = redis.call('HMGET', KM, unpack(F))"               \
    " owner = h[3] end\n"                                                      \
    "end\n"                                                                    \
    "if not (h[4] or h[2] == 'public' or h[5]) then"                           \
    " return {'not_found', ev, extra} end\n"

#define LOB_MEMBER_GUARD(own)                                                  \
    LOB_GUARD(own)                                                             \
    "if not h[4] then return {'not_member', ev, extra} end\n"

/* ARGV[6..13]: id, game_id, title, name, visibility, max, min, claim token */
#define LOB_CREATE                                                             \
    "if redis.call('EXISTS', KM) == 1 then return {'exists', ev, extra} end\n" \
    "if redis.call('SISMEMBER', KF, ARGV[13]) == 1 then"                       \
    " return {'fenced', ev, extra} end\n"                                      \
    "redis.call('HSET', KM, 'id', ARGV[6], 'game_id', ARGV[7], 'game_title',"  \
    " ARGV[8], 'name', ARGV[9], 'owner', user, 'st', 'open', 'visibility',"    \
    " ARGV[10], 'max', ARGV[11], 'min', ARGV[12], 'created_ms', now,"          \
    " 'attempt', 0, 'seq', 1, 'row_ms', now,"                                  \
    " 'm:' .. user, '1 ' .. now .. ' 0 ' .. ARGV[13])\n"                       \
    "present() extra[1] = 1 touch()\n"                                         \
    "return {'ok', ev, extra}\n"

/* h[6]: when the listing entry was last refreshed */
#define LOB_GET                                                                \
    LOB_GUARD(", 'row_ms'")                                                    \
    "if h[1] ~= 'closed' and h[4] then\n"                                      \
    "  present()\n"                                                            \
    "  if tonumber(now) - tonumber(h[6] or 0) > tonumber(idle) / 2 then\n"     \
    "    extra[1] = 1 touch('row_ms', now) else touch() end\n"                 \
    "end\n"                                                                    \
    "return {'ok', ev, extra}\n"

/* ARGV[6]: the claim token (a fenced one never takes a seat) */
#define LOB_JOIN                                                               \
    LOB_GUARD(", 'max'")                                                       \
    "if h[1] ~= 'open' then return {'closed', ev, extra} end\n"                \
    "if h[4] then present() touch() return {'member', ev, extra} end\n"        \
    "if redis.call('ZCARD', KS) >= tonumber(h[6]) then"                        \
    " return {'full', ev, extra} end\n"                                        \
    "if redis.call('SISMEMBER', KF, ARGV[6]) == 1 then"                        \
    " return {'fenced', ev, extra} end\n"                                      \
    "local seq = redis.call('HINCRBY', KM, 'seq', 1)\n"                        \
    "if h[5] then redis.call('HDEL', KM, 'i:' .. user) end\n"                  \
    "present()\n"                                                              \
    "ev[#ev + 1] = {'joined', user, ''} extra[1] = 1\n"                        \
    "touch('m:' .. user, seq .. ' ' .. now .. ' 0 ' .. ARGV[6],"               \
    " 'row_ms', now)\n"                                                        \
    "return {'ok', ev, extra}\n"

/* Leaving is idempotent: a visible lobby the user is not in answers "gone"
 * (a retried leave whose first answer was lost must not fail). */
#define LOB_LEAVE                                                              \
    LOB_GUARD("")                                                              \
    "if not h[4] then return {'gone', ev, extra} end\n"                        \
    "if h[1] == 'starting' then present() touch()"                             \
    " return {'starting', ev, extra} end\n"                                    \
    "if not remove_member(user, 'left', true, h[4]) then touch() end\n"        \
    "return {'ok', ev, extra}\n"

/* ARGV[6]: '1' ready, '0' not */
#define LOB_READY                                                              \
    LOB_MEMBER_GUARD("")                                                       \
    "if h[1] == 'starting' then return {'starting', ev, extra} end\n"          \
    "if h[1] ~= 'open' then return {'closed', ev, extra} end\n"                \
    "local rec = string.gsub(h[4], '^(%d+ %d+) %d',"                           \
    " '%1 ' .. (ARGV[6] == '1' and '1' or '0'))\n"                             \
    "present() extra[1] = 1\n"                                                 \
    "touch('m:' .. user, rec, 'row_ms', now)\n"                                \
    "return {'ok', ev, extra}\n"

/* ARGV[6]: max invitees; ARGV[7..]: user ids */
#define LOB_INVITE                                                             \
    LOB_MEMBER_GUARD("")                                                       \
    "if h[1] ~= 'open' then return {'closed', ev, extra} end\n"                \
    "local n = nil\n"                                                          \
    "for i = 7, #ARGV do\n"                                                    \
    "  local u = ARGV[i]\n"                                                    \
    "  if redis.call('HEXISTS', KM, 'm:' .. u) == 0 then\n"                    \
    "    if redis.call('HEXISTS', KM, 'i:' .. u) == 0 then\n"                  \
    "      n = n or rare().ninvited()\n"                                       \
    "      if n >= tonumber(ARGV[6]) then"                                     \
    " return {'too_many', ev, extra} end\n"                                    \
    "      n = n + 1 redis.call('HSET', KM, 'i:' .. u, '1')\n"                 \
    "    end\n"                                                                \
    "    ev[#ev + 1] = {'invited', u, user}\n"                                 \
    "  end\n"                                                                  \
    "end\n"                                                                    \
    "present() touch()\n"                                                      \
    "return {'ok', ev, extra}\n"

/* ARGV[6]: the member to kick */
#define LOB_KICK                                                               \
    LOB_MEMBER_GUARD("")                                                       \
    "if owner ~= user then return {'not_owner', ev, extra} end\n"              \
    "if h[1] == 'starting' then return {'starting', ev, extra} end\n"          \
    "if h[1] ~= 'open' then return {'closed', ev, extra} end\n"                \
    "if ARGV[6] == user then return {'self', ev, extra} end\n"                 \
    "local rec = redis.call('HGET', KM, 'm:' .. ARGV[6])\n"                    \
    "if not rec then return {'no_target', ev, extra} end\n"                    \
    "remove_member(ARGV[6], 'kicked', true, rec) present() touch()\n"          \
    "return {'ok', ev, extra}\n"

/* ARGV[6]: how long the start may take (ms) before another may begin;
 * h[6..7]: min players, the running attempt's deadline */
#define LOB_START_BEGIN                                                        \
    LOB_GUARD(", 'min', 'starting_until'")                                     \
    "local st = h[1]\n"                                                        \
    "if st == 'started' then\n"                                                \
    "  if h[4] then present() touch() end\n"                                   \
    "  return {'started', ev, extra} end\n"                                    \
    "if owner ~= user then return {'not_owner', ev, extra} end\n"              \
    "if st == 'starting' and tonumber(h[7] or 0) > tonumber(now) then"         \
    " return {'starting', ev, extra} end\n"                                    \
    "if st ~= 'open' and st ~= 'starting' then"                                \
    " return {'closed', ev, extra} end\n"                                      \
    "if redis.call('ZCARD', KS) < tonumber(h[6]) then"                         \
    " return {'too_few', ev, extra} end\n"                                     \
    "local all = redis.call('HGETALL', KM)\n"                                  \
    "for i = 1, #all, 2 do\n"                                                  \
    "  if string.sub(all[i], 1, 2) == 'm:'"                                    \
    " and not string.match(all[i + 1], '^%d+ %d+ 1') then"                     \
    " return {'not_ready', ev, extra} end\n"                                   \
    "end\n"                                                                    \
    "extra[2] = redis.call('HINCRBY', KM, 'attempt', 1)\n"                     \
    "present() extra[1] = 1\n"                                                 \
    "touch('st', 'starting', 'starting_until',"                                \
    " tonumber(now) + tonumber(ARGV[6]), 'row_ms', now)\n"                     \
    "return {'ok', ev, extra}\n"

/* ARGV[6..10]: attempt, match id, host, port, started ms */
#define LOB_START_FINISH                                                       \
    "local h = redis.call('HMGET', KM, 'st', 'attempt')\n"                     \
    "if not h[1] then return {'not_found', ev, extra} end\n"                   \
    "if h[1] ~= 'starting' or h[2] ~= ARGV[6] then"                            \
    " return {'stale', ev, extra} end\n"                                       \
    "redis.call('HDEL', KM, 'starting_until')\n"                               \
    "extra[1] = 1\n"                                                           \
    "touch('st', 'started', 'match_id', ARGV[7], 'host', ARGV[8], 'port',"     \
    " ARGV[9], 'started_ms', ARGV[10])\n"                                      \
    "return {'ok', ev, extra}\n"

/* ARGV[6]: attempt */
#define LOB_START_ABORT                                                        \
    "local h = redis.call('HMGET', KM, 'st', 'attempt')\n"                     \
    "if not h[1] then return {'not_found', ev, extra} end\n"                   \
    "if h[1] ~= 'starting' or h[2] ~= ARGV[6] then"                            \
    " return {'stale', ev, extra} end\n"                                       \
    "redis.call('HDEL', KM, 'starting_until')\n"                               \
    "extra[1] = 1 touch('st', 'open')\n"                                       \
    "return {'ok', ev, extra}\n"

/*
 * ARGV[6]: the token of the user's claim on this lobby, found by a request
 * that wants the claim for another lobby. 1 when the user is a member of
 * this lobby while it is open or starting (the claim is live). Else 0, and
 * the token is fenced first: a join or create still in flight with it
 * (claimed, script not yet run) can never take a seat here, so moving the
 * claim away is safe. A started or closed lobby seats nobody again.
 * (KEYS and ARGV as the other lobby scripts, without their prelude.)
 */
#define LOB_FENCE                                                              \
    "local v = redis.call('HMGET', KEYS[1], 'st', 'm:' .. ARGV[4])\n"          \
    "if v[1] == 'closed' or v[1] == 'started' then return 0 end\n"             \
    "if v[1] and v[2] then return 1 end\n"                                     \
    "redis.call('SADD', KEYS[3], ARGV[6])"                                     \
    " redis.call('PEXPIRE', KEYS[3], ARGV[2])\n"                               \
    "return 0\n"

/*
 * The sweep of one game's listing (KEYS: rows, exps; lob_internal.h),
 * ARGV: now. Drops up to 16 rows whose expiry passed (the expiry of a row
 * and its row are written in one MULTI/EXEC, so the expiry named is the
 * row's), so nothing outlives its lobby; only short strings enter Lua.
 */
#define LOB_ROWS_SWEEP                                                         \
    "for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf',"          \
    " ARGV[1], 'LIMIT', 0, 16)) do\n"                                          \
    "  redis.call('ZREMRANGEBYLEX', KEYS[1], '[' .. k .. '.', '[' .. k .. "    \
    "'/')"                                                                     \
    "\n  redis.call('ZREM', KEYS[2], k)\n"                                     \
    "end\n"                                                                    \
    "return 1\n"

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
    [LOB_S_FENCE] = LOB_FENCE,
    [LOB_S_ROWS_SWEEP] = LOB_ROWS_SWEEP,
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
