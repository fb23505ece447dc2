/*
 * ntf_webhook.c — signed webhook delivery with retries and dead-lettering.
 *
 * Why a lease instead of holding the row lock during the POST: a slow
 * provider would keep a MariaDB transaction open for the whole timeout.
 * The claim commits at once (attempts + 1, next_attempt_at = now + lease),
 * the POST runs outside any transaction, and the outcome is written only if
 * the row is still ours (same attempts, still pending).
 *
 * Why the address check is in CURLOPT_OPENSOCKETFUNCTION: it sees every
 * address curl is about to connect to, after its own DNS resolution, so a
 * name that resolves to a public address when checked and to 127.0.0.1 when
 * connected (DNS rebinding) is still refused; no proxy is used (CURLOPT_PROXY
 * "") so the address checked is the provider's.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "gw_backoff.h"
#include "gw_db.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "ntf_webhook.h"
#include "ntf_wire.h"

/* Delivery outcomes, for the metrics. */
enum ntf_webhook_outcome {
    NTF_WEBHOOK_DELIVERED,
    NTF_WEBHOOK_RETRY, /* failed attempt, retry scheduled */
    NTF_WEBHOOK_DEAD   /* last retry failed or refused: dead-lettered */
};

static struct {
    int delivered, retried, dead, latency;
} ntf_webhook_m = {-1, -1, -1, -1};

struct ntf_webhook_event {
    int64_t     id;
    const char *event_id;
    int64_t     provider_id;
    const char *type;
    const char *payload;
    int64_t     created_ms;
    int64_t     attempts; /* after this claim */
    /* The provider, read once per batch (ntf_webhook_providers). */
    int         looked_up; /* 0: look it up at delivery */
    int         skipped;   /* no webhook_url: recorded already */
    const char *url, *secret;
};

struct ntf_webhook_result {
    long    http_status; /* 0: no HTTP answer */
    int     ok;
    int     refused; /* not sent, never will be: dead-letter now */
    char    error[NTF_WEBHOOK_ERROR_MAX + 1];
    int64_t latency_ms;
};

struct ntf_webhook_loop {
    const struct gw_config     *cfg;
    struct gw_thread            t;
    struct ntf_webhook_schedule sched;
    struct ntf_webhook_nets     allow;
    CURL                       *curl;
};

/* What the socket callback saw during one POST. */
struct ntf_webhook_guard {
    const struct ntf_webhook_nets *allow;
    int                            blocked; /* an address was refused */
};

/*
 * Never-public ranges (RFC 6890 and friends). IPv6 forms of IPv4 addresses
 * (::ffff:0:0/96, 64:ff9b::/96) are checked again as IPv4.
 */
static const struct {
    const char *addr;
    int         prefix;
} ntf_webhook_blocked[] = {
    {"0.0.0.0", 8},     {"10.0.0.0", 8},      {"100.64.0.0", 10},
    {"127.0.0.0", 8},   {"169.254.0.0", 16},  {"172.16.0.0", 12},
    {"192.0.0.0", 24},  {"192.0.2.0", 24},    {"192.168.0.0", 16},
    {"198.18.0.0", 15}, {"198.51.100.0", 24}, {"203.0.113.0", 24},
    {"224.0.0.0", 4},   {"240.0.0.0", 4},     {"::", 128},
    {"::1", 128},       {"fc00::", 7},        {"fe80::", 10},
    {"fec0::", 10},     {"ff00::", 8},        {"2001:db8::", 32},
    {"100::", 64},
};

static struct ntf_webhook_loop ntf_webhook_loop;

int
ntf_webhook_metrics_register(void)
{
    enum gw_metric_type C = GW_METRIC_COUNTER, H = GW_METRIC_HISTOGRAM;

    ntf_webhook_m.delivered = gw_metrics_register(
        "vasgw_webhook_delivered_total", "Webhook events delivered (2xx)", C);
    ntf_webhook_m.retried = gw_metrics_register(
        "vasgw_webhook_attempt_failures_total",
        "Webhook attempts that failed and were rescheduled", C);
    ntf_webhook_m.dead = gw_metrics_register("vasgw_webhook_failed_total",
                                             "Webhook events dead-lettered", C);
    ntf_webhook_m.latency =
        gw_metrics_register("vasgw_webhook_attempt_duration_seconds",
                            "Webhook attempt durations", H);
    return ntf_webhook_m.latency < 0 ? -1 : 0;
}

static void
ntf_webhook_metrics_add(int outcome, int64_t latency_ms)
{
    gw_metrics_add(outcome == NTF_WEBHOOK_DELIVERED  ? ntf_webhook_m.delivered
                       : outcome == NTF_WEBHOOK_DEAD ? ntf_webhook_m.dead
                                                     : ntf_webhook_m.retried,
                   1);
    gw_metrics_observe_us(ntf_webhook_m.latency, latency_ms * 1000);
}

/* Fills n from "addr" or "addr/prefix"; 0 or -1. */
static int
ntf_net_parse(const char *text, size_t len, struct ntf_net *n)
{
    char        buf[INET6_ADDRSTRLEN + 8];
    const char *slash;
    int64_t     prefix;
    int         max;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    slash = strchr(buf, '/');
    if (slash != NULL) {
        buf[slash - buf] = '\0';
    }
    memset(n, 0, sizeof(*n));
    if (inet_pton(AF_INET, buf, n->addr) == 1) {
        n->family = AF_INET, max = 32;
    } else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
        n->family = AF_INET6, max = 128;
    } else {
        return -1;
    }
    prefix = max;
    if (slash != NULL
        && (gw_parse_i64(slash + 1, strlen(slash + 1), &prefix) != 0
            || prefix < 0 || prefix > max)) {
        return -1;
    }
    n->prefix = (int) prefix;
    return 0;
}

/* 1 when the first n->prefix bits of addr (same family) match n. */
static int
ntf_net_contains(const struct ntf_net *n, int family, const unsigned char *addr)
{
    int full = n->prefix / 8, rest = n->prefix % 8;

    if (n->family != family || memcmp(n->addr, addr, (size_t) full) != 0) {
        return 0;
    }
    return rest == 0
        || ((n->addr[full] ^ addr[full]) & (unsigned char) (0xff << (8 - rest)))
        == 0;
}

/*
 * The next item of a list separated by spaces and/or commas (the config's
 * nets and schedules): skips separators, sets *len; 0 at the end.
 */
static int
ntf_list_next(const char **p, size_t *len)
{
    *p += strspn(*p, " ,");
    *len = strcspn(*p, " ,");
    return **p != '\0';
}

int
ntf_webhook_nets_parse(const char *s, struct ntf_webhook_nets *out)
{
    const char *p;
    size_t      len;

    out->n = 0;
    for (p = s; ntf_list_next(&p, &len); p += len) {
        if (out->n == NTF_WEBHOOK_NETS_MAX
            || ntf_net_parse(p, len, &out->net[out->n]) != 0) {
            return -1;
        }
        out->n++;
    }
    return 0;
}

/* 1 when family/addr is inside a never-public range. */
static int
ntf_webhook_addr_blocked(int family, const unsigned char *addr)
{
    struct ntf_net n;
    size_t         i;

    for (i = 0;
         i < sizeof(ntf_webhook_blocked) / sizeof(ntf_webhook_blocked[0]);
         i++) {
        const char *a = ntf_webhook_blocked[i].addr;
        if (ntf_net_parse(a, strlen(a), &n) == 0
            && (n.prefix = ntf_webhook_blocked[i].prefix,
                ntf_net_contains(&n, family, addr))) {
            return 1;
        }
    }
    return 0;
}

int
ntf_webhook_addr_allowed(const struct sockaddr         *sa,
                         const struct ntf_webhook_nets *allow)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
    const unsigned char       *addr;
    int                        family, i;

    if (sa->sa_family == AF_INET) {
        family = AF_INET;
        addr = (const unsigned char *) &((const struct sockaddr_in *) sa)
                   ->sin_addr;
    } else if (sa->sa_family == AF_INET6) {
        family = AF_INET6;
        addr = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
        if (memcmp(addr, mapped, 12) == 0 || memcmp(addr, nat64, 12) == 0) {
            family = AF_INET, addr += 12; /* an IPv4 address in disguise */
        }
    } else {
        return 0;
    }
    for (i = 0; allow != NULL && i < allow->n; i++) {
        if (ntf_net_contains(&allow->net[i], family, addr)) {
            return 1;
        }
    }
    return !ntf_webhook_addr_blocked(family, addr);
}

/* curl's socket factory: refuses addresses a webhook must not reach. */
static curl_socket_t
ntf_webhook_opensocket(void *clientp, curlsocktype purpose,
                       struct curl_sockaddr *address)
{
    struct ntf_webhook_guard *g = clientp;

    if (purpose != CURLSOCKTYPE_IPCXN
        || !ntf_webhook_addr_allowed(&address->addr, g->allow)) {
        g->blocked = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

int
ntf_webhook_schedule_parse(const char *s, struct ntf_webhook_schedule *out)
{
    const char *p;
    size_t      len;
    int64_t     v;

    out->n = 0;
    for (p = s; ntf_list_next(&p, &len); p += len) {
        if (out->n == NTF_WEBHOOK_SCHEDULE_MAX || gw_parse_i64(p, len, &v) != 0
            || v < 1 || v > NTF_WEBHOOK_DELAY_MAX_S) {
            return -1;
        }
        out->delay_s[out->n++] = v;
    }
    return 0;
}

int
ntf_webhook_sign(const void *secret, size_t secret_len, int64_t t,
                 const char *body, size_t body_len, char *out, size_t cap)
{
    struct gw_buf signed_text = {0};
    unsigned char mac[32];
    char          hex[65];
    int           n;

    if (gw_buf_printf(&signed_text, "%lld.", (long long) t) != 0
        || gw_buf_append(&signed_text, body, body_len) != 0) {
        gw_buf_free(&signed_text);
        return -1;
    }
    gw_hmac_sha256(secret, secret_len, signed_text.data, signed_text.len, mac);
    gw_buf_free(&signed_text);
    gw_hex_encode(mac, sizeof(mac), hex);
    n = snprintf(out, cap, "t=%lld,v1=%s", (long long) t, hex);
    return n < 0 || (size_t) n >= cap ? -1 : 0;
}

int
ntf_webhook_next_delay(const struct ntf_webhook_schedule *s, int64_t attempts,
                       int64_t *delay_s)
{
    if (attempts < 1 || attempts > s->n) {
        *delay_s = 0;
        return 0;
    }
    *delay_s = s->delay_s[attempts - 1];
    return 1;
}

/* Claims due events and commits a lease on them; ev[] in the arena. */
static int
ntf_webhook_claim(struct ntf_webhook_loop *l, struct ntf_webhook_event **ev,
                  size_t *n)
{
    struct gw_db *db = &l->t.db;
    struct gw_buf ids = {0};
    MYSQL_RES    *res;
    MYSQL_ROW     row;
    int64_t       lease_s;
    size_t        i = 0;
    int           rc;

    lease_s = NTF_WEBHOOK_BATCH
            * (l->cfg->relay.webhook_connect_timeout_ms
               + l->cfg->relay.webhook_timeout_ms)
            / 1000
        + NTF_WEBHOOK_LEASE_SLACK_S;
    *n = 0;
    rc = gw_db_exec(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
    rc = rc == GW_OK ? gw_db_begin(db) : rc;
    if (rc != GW_OK) {
        return rc;
    }
    rc = gw_db_query(db, &l->t.arena, &res,
                     "SELECT id, event_id, provider_id, type, payload,"
                     " TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at)"
                     " DIV 1000, attempts + 1 FROM webhook_events"
                     " WHERE state = 'pending'"
                     " AND next_attempt_at <= UTC_TIMESTAMP(3)"
                     " ORDER BY next_attempt_at LIMIT %d"
                     " FOR UPDATE SKIP LOCKED",
                     NTF_WEBHOOK_BATCH);
    if (rc != GW_OK) {
        goto fail;
    }
    *ev =
        gw_arena_calloc(&l->t.arena, (mysql_num_rows(res) + 1) * sizeof(**ev));
    if (*ev == NULL) {
        rc = GW_ERROR;
        goto fail;
    }
    gw_buf_appends(&ids, "[");
    while ((row = mysql_fetch_row(res)) != NULL) {
        struct ntf_webhook_event *e = &(*ev)[i++];
        e->id = gw_db_col_i64(row, 0);
        e->event_id = gw_db_col_str(row, 1);
        e->provider_id = gw_db_col_i64(row, 2);
        e->type = gw_db_col_str(row, 3);
        e->payload = gw_db_col_str(row, 4);
        e->created_ms = gw_db_col_i64(row, 5);
        e->attempts = gw_db_col_i64(row, 6);
        gw_buf_printf(&ids, "%s%lld", i > 1 ? "," : "", (long long) e->id);
    }
    if (gw_buf_appends(&ids, "]") != 0) {
        rc = GW_ERROR;
        goto fail;
    }
    if (i > 0) {
        rc = gw_db_exec(db,
                        "UPDATE webhook_events w JOIN JSON_TABLE(%s, '$[*]'"
                        " COLUMNS (jid BIGINT UNSIGNED PATH '$')) j"
                        " ON w.id = j.jid SET w.attempts = w.attempts + 1,"
                        " w.next_attempt_at = UTC_TIMESTAMP(3)"
                        " + INTERVAL %lld SECOND",
                        ids.data, (long long) lease_s);
    }
    rc = rc == GW_OK ? gw_db_commit(db) : rc;
    if (rc == GW_OK) {
        *n = i;
    }
fail:
    if (rc != GW_OK) {
        gw_db_rollback(db);
    }
    gw_buf_free(&ids);
    return rc;
}

/* Counts response bytes and stops reading past the limit. */
static size_t
ntf_webhook_sink(char *p, size_t size, size_t nmemb, void *ud)
{
    size_t *got = ud;

    (void) p;
    *got += size * nmemb;
    return *got > NTF_WEBHOOK_RESPONSE_MAX ? 0 : size * nmemb;
}

/* Appends one header line; on failure keeps the list and sets *oom. */
static struct curl_slist *
ntf_webhook_header(struct curl_slist *list, const char *line, int *oom)
{
    struct curl_slist *h = curl_slist_append(list, line);

    if (h == NULL) {
        *oom = 1;
        return list;
    }
    return h;
}

/*
 * last_error for a failed transfer: a refusal says why; anything else is
 * one of a few fixed texts (curl's own would tell a port scanner whether a
 * port is closed, filtered or open). "curl:" marks transport failures.
 */
static void
ntf_webhook_error(CURL *curl, CURLcode cc, const struct ntf_webhook_guard *g,
                  struct ntf_webhook_result *res)
{
    curl_off_t connect_us = 0;

    curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (g->blocked && connect_us == 0) {
        res->refused = 1;
        snprintf(res->error, sizeof(res->error),
                 "refused: the webhook URL resolves to a loopback, link-local"
                 " or private address (not in relay.webhook_allow_nets)");
    } else if (connect_us == 0) {
        snprintf(res->error, sizeof(res->error),
                 "curl: could not connect to the webhook URL");
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(res->error, sizeof(res->error),
                 "curl: timed out waiting for the response");
    } else {
        snprintf(res->error, sizeof(res->error),
                 "curl: the transfer failed after connecting");
    }
}

/* One POST with every limit set explicitly; fills res. */
static void
ntf_webhook_post(struct ntf_webhook_loop *l, const char *url,
                 const struct gw_buf *body, const char *sig,
                 const char *event_id, struct ntf_webhook_result *res)
{
    struct ntf_webhook_guard guard = {&l->allow, 0};
    struct curl_slist       *hdrs = NULL;
    char                     line[NTF_WEBHOOK_SIG_MAX + 64];
    size_t                   got = 0;
    int                      oom = 0;
    int64_t                  t0 = gw_mono_us();
    CURLcode                 cc;

    snprintf(line, sizeof(line), "Vas-Signature: %s", sig);
    hdrs = ntf_webhook_header(hdrs, "Content-Type: application/json", &oom);
    hdrs = ntf_webhook_header(hdrs, "Expect:", &oom);
    hdrs = ntf_webhook_header(hdrs, line, &oom);
    snprintf(line, sizeof(line), "Vas-Event-Id: %s", event_id);
    hdrs = ntf_webhook_header(hdrs, line, &oom);
    if (oom) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        curl_slist_free_all(hdrs);
        return;
    }
    curl_easy_reset(l->curl);
    curl_easy_setopt(l->curl, CURLOPT_URL, url);
    curl_easy_setopt(l->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(l->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(l->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(l->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) l->cfg->relay.webhook_connect_timeout_ms);
    curl_easy_setopt(l->curl, CURLOPT_TIMEOUT_MS,
                     (long) l->cfg->relay.webhook_timeout_ms);
    curl_easy_setopt(l->curl, CURLOPT_MAXFILESIZE,
                     (long) NTF_WEBHOOK_RESPONSE_MAX);
    curl_easy_setopt(l->curl, CURLOPT_USERAGENT, "vasgw-webhook/1");
    curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(l->curl, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(l->curl, CURLOPT_POSTFIELDSIZE, (long) body->len);
    curl_easy_setopt(l->curl, CURLOPT_WRITEFUNCTION, ntf_webhook_sink);
    curl_easy_setopt(l->curl, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(l->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(l->curl, CURLOPT_OPENSOCKETFUNCTION,
                     ntf_webhook_opensocket);
    curl_easy_setopt(l->curl, CURLOPT_OPENSOCKETDATA, &guard);
    cc = curl_easy_perform(l->curl);
    curl_easy_getinfo(l->curl, CURLINFO_RESPONSE_CODE, &res->http_status);
    res->latency_ms = (gw_mono_us() - t0) / 1000;
    res->ok = res->http_status >= 200 && res->http_status < 300;
    if (cc != CURLE_OK && !(res->ok && cc == CURLE_WRITE_ERROR)) {
        res->ok = 0;
        ntf_webhook_error(l->curl, cc, &guard, res);
    } else if (!res->ok) {
        snprintf(res->error, sizeof(res->error), "HTTP %ld", res->http_status);
    }
    curl_easy_setopt(l->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
}

/* Writes the outcome if the claim is still ours. */
static int
ntf_webhook_record(struct ntf_webhook_loop         *l,
                   const struct ntf_webhook_event  *e,
                   const struct ntf_webhook_result *res, const char *state)
{
    int64_t delay_s = 0;
    int     outcome = -1;

    if (state != NULL) {
        /* "skipped": nothing to send, not a delivery outcome. */
    } else if (res->ok) {
        outcome = NTF_WEBHOOK_DELIVERED;
    } else if (res->refused) {
        outcome = NTF_WEBHOOK_DEAD; /* retrying would not change a thing */
    } else if (ntf_webhook_next_delay(&l->sched, e->attempts, &delay_s)) {
        outcome = NTF_WEBHOOK_RETRY;
    } else {
        outcome = NTF_WEBHOOK_DEAD;
    }
    if (state == NULL) {
        state = outcome == NTF_WEBHOOK_DELIVERED ? "delivered"
            : outcome == NTF_WEBHOOK_RETRY       ? "pending"
                                                 : "failed";
    }
    if (outcome >= 0) {
        ntf_webhook_metrics_add(outcome, res->latency_ms);
    }
    if (outcome == NTF_WEBHOOK_DEAD) {
        gw_log_warn(NULL, "webhook %s dead-lettered after %lld attempts: %s",
                    e->event_id, (long long) e->attempts, res->error);
    }
    return gw_db_exec(&l->t.db,
                      "UPDATE webhook_events SET state = %s,"
                      " last_status = NULLIF(%ld, 0), last_error = %s,"
                      " delivered_at = IF(%s = 'delivered', UTC_TIMESTAMP(3),"
                      " NULL), next_attempt_at = UTC_TIMESTAMP(3)"
                      " + INTERVAL %lld SECOND WHERE id = %lld"
                      " AND attempts = %lld AND state = 'pending'",
                      state, res->http_status, res->ok ? NULL : res->error,
                      state, (long long) delay_s, (long long) e->id,
                      (long long) e->attempts);
}

/* "[1,2,…]" of the events' provider ids, or "[[id,attempts],…]" of the
 * events without a webhook_url (pairs: which claim is still ours). */
static int
ntf_webhook_ids_json(const struct ntf_webhook_event *ev, size_t n, int skipped,
                     struct gw_buf *out)
{
    size_t i, k = 0;

    gw_buf_appends(out, "[");
    for (i = 0; i < n; i++) {
        if (skipped && !ev[i].skipped) {
            continue;
        }
        if (skipped) {
            gw_buf_printf(out, "%s[%lld,%lld]", k++ ? "," : "",
                          (long long) ev[i].id, (long long) ev[i].attempts);
        } else {
            gw_buf_printf(out, "%s%lld", k++ ? "," : "",
                          (long long) ev[i].provider_id);
        }
    }
    return gw_buf_appends(out, "]") == 0 ? (int) k : -1;
}

/*
 * The batch's providers in one SELECT, and every event of a provider
 * without a webhook_url recorded "skipped" in one UPDATE (per event that
 * was two statements, the larger part of what a purchase cost the
 * deliverer). On any failure the events are delivered one by one as before.
 */
static void
ntf_webhook_providers(struct ntf_webhook_loop *l, struct ntf_webhook_event *ev,
                      size_t n)
{
    struct gw_db *db = &l->t.db;
    struct gw_buf ids = {0};
    MYSQL_RES    *res;
    MYSQL_ROW     row;
    size_t        i;
    int           rc, k;

    if (n == 0 || ntf_webhook_ids_json(ev, n, 0, &ids) < 0) {
        goto done;
    }
    rc = gw_db_query(db, &l->t.arena, &res,
                     "SELECT p.id, p.webhook_url, p.webhook_secret FROM"
                     " providers p JOIN JSON_TABLE(%s, '$[*]' COLUMNS (pid"
                     " BIGINT UNSIGNED PATH '$')) j ON p.id = j.pid"
                     " GROUP BY p.id",
                     ids.data);
    if (rc != GW_OK) {
        goto done;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        for (i = 0; i < n; i++) {
            if (ev[i].provider_id == gw_db_col_i64(row, 0)) {
                ev[i].looked_up = 1;
                ev[i].url = gw_db_col_str(row, 1);
                ev[i].secret = gw_db_col_str(row, 2);
                ev[i].skipped = ev[i].url == NULL || *ev[i].url == '\0';
            }
        }
    }
    ids.len = 0;
    k = ntf_webhook_ids_json(ev, n, 1, &ids);
    if (k > 0
        && gw_db_exec(db,
                      "UPDATE webhook_events w JOIN JSON_TABLE(%s, '$[*]'"
                      " COLUMNS (jid BIGINT UNSIGNED PATH '$[0]', jatt BIGINT"
                      " PATH '$[1]')) j ON w.id = j.jid AND w.attempts ="
                      " j.jatt SET w.state = 'skipped', w.last_status = NULL,"
                      " w.last_error = 'provider has no webhook_url',"
                      " w.delivered_at = NULL, w.next_attempt_at ="
                      " UTC_TIMESTAMP(3) WHERE w.state = 'pending'",
                      ids.data)
            != GW_OK) {
        for (i = 0; i < n; i++) {
            ev[i].skipped = 0; /* recorded one by one at delivery */
        }
    }
done:
    gw_buf_free(&ids);
}

/* Looks up the provider, signs and sends one event, records the outcome. */
static int
ntf_webhook_deliver(struct ntf_webhook_loop        *l,
                    const struct ntf_webhook_event *e)
{
    struct ntf_item           it;
    struct ntf_webhook_result res;
    struct gw_buf             body = {0};
    char                      sig[NTF_WEBHOOK_SIG_MAX];
    const char               *url, *secret;
    MYSQL_ROW                 row;
    int                       rc;

    memset(&res, 0, sizeof(res));
    if (e->skipped) {
        return GW_OK; /* recorded with its batch */
    }
    if (e->looked_up) {
        url = e->url;
        secret = e->secret;
    } else {
        rc = gw_db_row(&l->t.db, &l->t.arena, &row,
                       "SELECT webhook_url, webhook_secret FROM providers"
                       " WHERE id = %lld",
                       (long long) e->provider_id);
        if (rc != GW_OK) {
            snprintf(res.error, sizeof(res.error), "provider lookup failed");
            return ntf_webhook_record(l, e, &res, NULL);
        }
        url = row != NULL ? gw_db_col_str(row, 0) : NULL;
        secret = row != NULL ? gw_db_col_str(row, 1) : NULL;
    }
    if (url == NULL || *url == '\0') {
        snprintf(res.error, sizeof(res.error), "provider has no webhook_url");
        return ntf_webhook_record(l, e, &res, "skipped");
    }
    if (secret == NULL || *secret == '\0') {
        /* Unsigned events could be forged by anyone who knows the URL. */
        res.refused = 1;
        snprintf(res.error, sizeof(res.error),
                 "refused: the provider has no webhook signing secret");
        return ntf_webhook_record(l, e, &res, NULL);
    }
    it.id = e->event_id, it.user = "", it.type = e->type;
    it.payload = e->payload, it.created_ms = e->created_ms;
    if (ntf_item_json(&it, &body) != 0
        || ntf_webhook_sign(secret, strlen(secret), gw_now_s(), body.data,
                            body.len, sig, sizeof(sig))
            != 0) {
        gw_buf_free(&body);
        return GW_ERROR;
    }
    ntf_webhook_post(l, url, &body, sig, e->event_id, &res);
    gw_buf_free(&body);
    return ntf_webhook_record(l, e, &res, NULL);
}

static void *
ntf_webhook_main(void *arg)
{
    struct ntf_webhook_loop  *l = arg;
    struct ntf_webhook_event *ev = NULL;
    size_t                    n, i;
    int64_t                   backoff_ms = 0;
    int                       rc;

    while (!gw_role_stopping()) {
        rc = ntf_webhook_claim(l, &ev, &n);
        if (rc == GW_OK) {
            ntf_webhook_providers(l, ev, n);
        }
        for (i = 0; rc == GW_OK && i < n && !gw_role_stopping(); i++) {
            ntf_webhook_deliver(l, &ev[i]);
        }
        gw_arena_reset(&l->t.arena);
        if (rc == GW_OK && n == NTF_WEBHOOK_BATCH) {
            backoff_ms = 0;
            continue;
        }
        backoff_ms = rc == GW_OK ? 0 : gw_backoff_next(backoff_ms);
        gw_role_sleep_ms(rc == GW_OK ? NTF_WEBHOOK_IDLE_MS : backoff_ms);
    }
    curl_easy_cleanup(l->curl);
    gw_thread_fini(&l->t);
    return NULL;
}

int
ntf_webhook_thread_start(const struct gw_config *cfg, pthread_t *tid)
{
    struct ntf_webhook_loop *l = &ntf_webhook_loop;

    memset(l, 0, sizeof(*l));
    l->cfg = cfg;
    if (ntf_webhook_schedule_parse(cfg->relay.webhook_schedule_s, &l->sched)
        != 0) {
        gw_log_error(NULL, "bad relay.webhook_schedule_s '%s'",
                     cfg->relay.webhook_schedule_s);
        return -1;
    }
    if (ntf_webhook_nets_parse(cfg->relay.webhook_allow_nets, &l->allow) != 0) {
        gw_log_error(NULL, "bad relay.webhook_allow_nets '%s'",
                     cfg->relay.webhook_allow_nets);
        return -1;
    }
    if (gw_thread_init(&l->t, cfg, 1) != 0) {
        return -1;
    }
    l->curl = curl_easy_init();
    if (l->curl == NULL
        || pthread_create(tid, NULL, ntf_webhook_main, l) != 0) {
        if (l->curl != NULL) {
            curl_easy_cleanup(l->curl);
        }
        gw_thread_fini(&l->t);
        return -1;
    }
    return 0;
}

/* One dead letter as a JSON object, appended to out. */
static int
ntf_webhook_dead_json(MYSQL_ROW row, struct gw_buf *out)
{
    const char *err = gw_db_col_str(row, 6);
    char        ts[32];

    gw_time_rfc3339_ms(gw_db_col_i64(row, 7), ts, sizeof(ts));
    if (gw_buf_appends(out, "{\"event_id\":") != 0
        || gw_buf_append_json_str(out, gw_db_col_str(row, 1)) != 0
        || gw_buf_printf(out, ",\"provider_id\":%lld,\"type\":",
                         (long long) gw_db_col_i64(row, 2))
            != 0
        || gw_buf_append_json_str(out, gw_db_col_str(row, 3)) != 0
        || gw_buf_printf(out, ",\"attempts\":%lld,\"last_status\":",
                         (long long) gw_db_col_i64(row, 4))
            != 0) {
        return -1;
    }
    if ((row[5] == NULL
             ? gw_buf_appends(out, "null")
             : gw_buf_printf(out, "%lld", (long long) gw_db_col_i64(row, 5)))
            != 0
        || gw_buf_appends(out, ",\"last_error\":") != 0
        || (err == NULL ? gw_buf_appends(out, "null")
                        : gw_buf_append_json_str(out, err))
            != 0
        || gw_buf_printf(out, ",\"created_at\":\"%s\"}", ts) != 0) {
        return -1;
    }
    return 0;
}

int
ntf_webhook_dead_page(struct gw_db *db, struct gw_arena *a, int64_t before_id,
                      int64_t limit, struct gw_buf *out, int64_t *next_before,
                      int64_t *total)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int64_t    n = 0, last = 0;
    int        rc;

    *next_before = 0;
    *total = 0;
    rc =
        gw_db_row(db, a, &row,
                  "SELECT COUNT(*) FROM webhook_events WHERE state = 'failed'");
    if (rc != GW_OK) {
        return rc;
    }
    *total = row != NULL ? gw_db_col_i64(row, 0) : 0;
    rc = gw_db_query(db, a, &res,
                     "SELECT id, event_id, provider_id, type, attempts,"
                     " last_status, last_error, TIMESTAMPDIFF(MICROSECOND,"
                     " '1970-01-01', created_at) DIV 1000 FROM webhook_events"
                     " WHERE state = 'failed' AND id < %lld ORDER BY id DESC"
                     " LIMIT %lld",
                     (long long) (before_id > 0 ? before_id : INT64_MAX),
                     (long long) limit + 1);
    if (rc != GW_OK) {
        return rc;
    }
    if (gw_buf_appends(out, "[") != 0) {
        return GW_ERROR;
    }
    while ((row = mysql_fetch_row(res)) != NULL) {
        if (n++ == limit) {
            *next_before = last;
            break;
        }
        last = gw_db_col_i64(row, 0);
        if ((n > 1 && gw_buf_appends(out, ",") != 0)
            || ntf_webhook_dead_json(row, out) != 0) {
            return GW_ERROR;
        }
    }
    return gw_buf_appends(out, "]") == 0 ? GW_OK : GW_ERROR;
}
