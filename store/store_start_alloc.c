/*
 * store_start_alloc.c — the game allocator call (step 2 of a paid start).
 *
 * POST <allocator_url> {"lobby_id","game_id","start_id","players":[…]}
 * → 200 {"match_id","host","port"}. libcurl with explicit connect and
 * total timeouts, no redirects, http/https only, the answer capped; one
 * retry on any failure (the start id lets an allocator de-duplicate).
 * Never called inside a MariaDB transaction.
 *
 * Each serving thread keeps one curl handle (a pthread key frees it when
 * the thread ends) and resets its options before every call, so the
 * connection to an allocator is kept alive between starts instead of a
 * TCP handshake per call; a kept connection the allocator has closed is
 * detected by curl and replaced, and the one retry covers the rest.
 */
#include <pthread.h>
#include <string.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "gw_log.h"
#include "gw_status.h"
#include "gw_util.h"
#include "store_start.h"

static size_t
store_alloc_write(char *p, size_t size, size_t n, void *arg)
{
    struct gw_buf *b = arg;

    if (b->len + size * n > STORE_START_REPLY_MAX
        || gw_buf_append(b, p, size * n) != 0) {
        return 0; /* too big: curl fails the transfer */
    }
    return size * n;
}

static char *
store_alloc_body(const struct store_start *s)
{
    cJSON *o = cJSON_CreateObject(), *players;
    char  *text = NULL;
    size_t i;

    if (o == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(o, "lobby_id", s->lobby_id);
    cJSON_AddNumberToObject(o, "game_id", (double) s->game_id);
    cJSON_AddNumberToObject(o, "start_id", (double) s->start_id);
    players = cJSON_AddArrayToObject(o, "players");
    for (i = 0; players != NULL && i < s->nplayers; i++) {
        cJSON_AddItemToArray(players,
                             cJSON_CreateString(s->players[i].user_id));
    }
    if (players != NULL) {
        text = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    return text;
}

/* Printable ASCII without quotes or backslashes (it is echoed in JSON). */
static int
store_alloc_word(const char *s, size_t max)
{
    return gw_is_token(s, strlen(s), max) && strpbrk(s, "\"\\") == NULL;
}

/* The allocator's answer into s; GW_EBADGATEWAY when it is not one. */
static int
store_alloc_parse(const struct gw_buf *b, struct store_start *s)
{
    cJSON *o = cJSON_ParseWithLength(b->data ? b->data : "", b->len);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "match_id");
    cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "host");
    cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "port");
    int    rc = GW_EBADGATEWAY;

    if (cJSON_IsString(m) && cJSON_IsString(h) && cJSON_IsNumber(p)
        && store_alloc_word(m->valuestring, STORE_START_MATCH_MAX)
        && store_alloc_word(h->valuestring, STORE_START_HOST_MAX)
        && p->valuedouble >= 1 && p->valuedouble <= 65535
        && p->valuedouble == (double) (int) p->valuedouble) {
        memcpy(s->match_id, m->valuestring, strlen(m->valuestring) + 1);
        memcpy(s->host, h->valuestring, strlen(h->valuestring) + 1);
        s->port = (int64_t) p->valuedouble;
        rc = GW_OK;
    }
    cJSON_Delete(o);
    return rc;
}

static pthread_key_t  store_alloc_key;
static pthread_once_t store_alloc_key_once = PTHREAD_ONCE_INIT;
static int            store_alloc_key_rc = -1;

static void
store_alloc_handle_free(void *c)
{
    curl_easy_cleanup(c);
}

static void
store_alloc_key_make(void)
{
    store_alloc_key_rc =
        pthread_key_create(&store_alloc_key, store_alloc_handle_free);
}

/* This thread's handle, options reset; NULL when out of memory. */
static CURL *
store_alloc_handle(void)
{
    CURL *c;

    if (pthread_once(&store_alloc_key_once, store_alloc_key_make) != 0
        || store_alloc_key_rc != 0) {
        return NULL;
    }
    c = pthread_getspecific(store_alloc_key);
    if (c != NULL) {
        curl_easy_reset(c);
        return c;
    }
    c = curl_easy_init();
    if (c != NULL && pthread_setspecific(store_alloc_key, c) != 0) {
        curl_easy_cleanup(c);
        c = NULL;
    }
    return c;
}

static int
store_alloc_once(const struct gw_config *cfg, const char *rid,
                 struct store_start *s, const char *body)
{
    struct curl_slist *hdrs = NULL;
    struct gw_buf      reply = {0};
    CURL              *c = store_alloc_handle();
    CURLcode           cc;
    long               status = 0;
    int                rc = GW_EBADGATEWAY;

    if (c == NULL) {
        return GW_ERROR;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, s->allocator_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) cfg->lobby.allocator_connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     (long) cfg->lobby.allocator_timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "vasgw-allocator/1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, store_alloc_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    if (cc != CURLE_OK) {
        gw_log_warn(rid, "allocator %s: %s", s->allocator_url,
                    curl_easy_strerror(cc));
    } else if (status != 200) {
        gw_log_warn(rid, "allocator %s answered %ld", s->allocator_url, status);
    } else if ((rc = store_alloc_parse(&reply, s)) != GW_OK) {
        gw_log_warn(rid, "allocator %s: not an allocation", s->allocator_url);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL); /* hdrs is freed now */
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);  /* and reply */
    curl_slist_free_all(hdrs);
    gw_buf_free(&reply);
    return rc;
}

int
store_start_allocate(const struct gw_config *cfg, const char *rid,
                     struct store_start *s)
{
    char *body = store_alloc_body(s);
    int   rc = GW_ERROR, i;

    if (body == NULL) {
        return GW_ERROR;
    }
    for (i = 0; i < STORE_START_ALLOC_TRIES; i++) {
        rc = store_alloc_once(cfg, rid, s, body);
        if (rc != GW_EBADGATEWAY) {
            break;
        }
    }
    cJSON_free(body);
    return rc;
}
