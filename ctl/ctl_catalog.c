/*
 * ctl_catalog.c — `vasctl catalog import FILE|URL [--content-dir DIR]`:
 * reads a provider feed (a file, or an http(s) URL fetched with libcurl
 * under explicit timeouts and a size cap) and hands it to the importer
 * (catalog/cat_feed.h), which validates it whole and applies it in one
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bill.h"
#include "cat.h"
#include "cat_feed.h"
#include "ctl.h"
#include "gw_status.h"
#include "gw_util.h"

#define CTL_FEED_CONNECT_TIMEOUT_MS 5000
#define CTL_FEED_TIMEOUT_MS         30000
#define CTL_FEED_REDIRECTS_MAX      3

static int ctl_catalog_import(struct ctl *c, int argc, char **argv);
static int ctl_catalog_page(struct ctl *c, int argc, char **argv);

static const struct ctl_option ctl_opts_catalog_import[] = {
    {"--content-dir", "DIR",
     "where the feed's files are copied (default [downloads] content_dir)", 0},
    {0}};

static const struct ctl_option ctl_opts_catalog_page[] = {
    {"--sort", "SORT", "popular (default), new, price_asc or price_desc", 0},
    {"--kind", "KIND", "ringtone or game", 0},
    {"--category", "SLUG", "one category", 0},
    {"--q", "TEXT", "search text", 0},
    {"--limit", "N", "items per page (default 20, at most 100)", 0},
    {"--cursor", "CURSOR", "next_cursor of the previous page", 0},
    {"--rows-read", NULL, "print the rows the server read (stderr)", 0},
    {0}};

const struct ctl_command ctl_catalog_commands[] = {
    {"catalog import", ctl_catalog_import, "FILE|URL", 1, 1,
     ctl_opts_catalog_import,
     "validate and upsert a content provider's catalog feed",
     "The whole feed is validated first and applied in one transaction"
     " (docs/catalog-feed.md).",
     0},
    {"catalog page", ctl_catalog_page, "", 0, 0, ctl_opts_catalog_page,
     "one catalog page as GET /v1/catalog/items renders it (no cache)",
     "With --rows-read, prints on stderr how many rows and index entries"
     " the\nserver read for the page (its Handler_read_* counters): a page"
     " costs\nO(limit), whatever the size of the catalog.",
     0},
    {0}};

static size_t
ctl_feed_write(char *p, size_t size, size_t n, void *arg)
{
    struct gw_buf *b = arg;

    if (b->len + size * n > CAT_FEED_BYTES_MAX
        || gw_buf_append(b, p, size * n) != 0) {
        return 0; /* aborts the transfer */
    }
    return size * n;
}

static int
ctl_feed_fetch(const char *url, struct gw_buf *b)
{
    CURL    *h = curl_easy_init();
    CURLcode cc;
    long     status = 0;

    if (h == NULL) {
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long) CTL_FEED_REDIRECTS_MAX);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) CTL_FEED_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) CTL_FEED_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) CAT_FEED_BYTES_MAX);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctl_feed_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (cc != CURLE_OK || status != 200) {
        fprintf(stderr, "vasctl: %s: %s (HTTP %ld; limit %d bytes)\n", url,
                cc != CURLE_OK ? curl_easy_strerror(cc) : "bad status", status,
                CAT_FEED_BYTES_MAX);
        return -1;
    }
    return 0;
}

static int
ctl_feed_read(const char *path, struct gw_buf *b)
{
    FILE  *f = fopen(path, "rb");
    char   chunk[65536];
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "vasctl: cannot open %s\n", path);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b->len + n > CAT_FEED_BYTES_MAX || gw_buf_append(b, chunk, n)) {
            fprintf(stderr, "%s:1: feed larger than %d bytes\n", path,
                    CAT_FEED_BYTES_MAX);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* A feed's provider gets its revenue accounts in the import's transaction:
 * the catalog does not know billing, vasctl knows both. */
static int
ctl_provider_onboard(struct gw_db *db, int64_t provider_id,
                     const char *currency, void *arg)
{
    (void) arg;
    return bill_provider_accounts_ensure(db, provider_id, currency);
}

static int
ctl_catalog_import(struct ctl *c, int argc, char **argv)
{
    const char   *src, *dir = ctl_opt(argc, argv, "--content-dir");
    struct gw_buf b = {0};
    int           rc, url;

    (void) argc;
    src = argv[0];
    url = strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0;
    if (dir == NULL) {
        dir = c->cfg->downloads.content_dir;
    }
    if (url) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
    }
    rc = url ? ctl_feed_fetch(src, &b) : ctl_feed_read(src, &b);
    if (rc == 0) {
        rc = cat_feed_import(&c->t.db, &c->t.arena, src, b.data ? b.data : "",
                             b.len, dir, c->cfg->billing.currency, stdout,
                             ctl_provider_onboard, NULL);
    }
    gw_arena_reset(&c->t.arena);
    gw_buf_free(&b);
    if (url) {
        curl_global_cleanup();
    }
    return rc == GW_OK ? 0 : 1;
}

/* Sum of this session's Handler_read_* counters (rows and index entries
 * the server read for us). */
static int
ctl_rows_read(struct ctl *c, int64_t *n)
{
    MYSQL_RES *res;
    MYSQL_ROW  row;
    int        rc;

    rc = gw_db_query(&c->t.db, &c->t.arena, &res,
                     "SHOW SESSION STATUS LIKE 'Handler_read%%'");
    *n = 0;
    while (rc == GW_OK && (row = mysql_fetch_row(res)) != NULL) {
        *n += gw_db_col_i64(row, 1);
    }
    return rc;
}

static int
ctl_page_query(int argc, char **argv, struct cat_query *q)
{
    const char *limit = ctl_opt(argc, argv, "--limit");
    const char *cursor = ctl_opt(argc, argv, "--cursor");

    memset(q, 0, sizeof(*q));
    q->kind = ctl_opt(argc, argv, "--kind");
    q->category = ctl_opt(argc, argv, "--category");
    q->q = ctl_opt(argc, argv, "--q");
    q->limit = CAT_PAGE_LIMIT_DEFAULT;
    if (cat_sort_parse(ctl_opt(argc, argv, "--sort"), &q->sort) != 0
        || (limit != NULL
            && (gw_parse_i64(limit, strlen(limit), &q->limit) != 0
                || q->limit < 1 || q->limit > CAT_PAGE_LIMIT_MAX))) {
        fprintf(stderr, "vasctl: bad --sort or --limit\n");
        return -1;
    }
    q->has_cursor = cursor != NULL;
    if (cursor != NULL
        && cat_cursor_decode(cursor, q->sort, &q->after_key, &q->after_id)
            != 0) {
        fprintf(stderr, "vasctl: bad --cursor (or another sort's)\n");
        return -1;
    }
    return 0;
}

static int
ctl_catalog_page(struct ctl *c, int argc, char **argv)
{
    struct cat_query q;
    const char      *page = NULL;
    int64_t          r0, r1, r2;
    int              rc;

    if (ctl_page_query(argc, argv, &q) != 0) {
        return CTL_EXIT_USAGE;
    }
    /* Reading the counters reads rows too: subtract one reading's cost. */
    rc = ctl_rows_read(c, &r0);
    if (rc == GW_OK) {
        rc = ctl_rows_read(c, &r1);
    }
    if (rc == GW_OK) {
        /* No fragment cache: every item's details are read, as a
         * worker's first page does. */
        int64_t gen = 0;

        rc =
            cat_items_page_render(&c->t.db, &c->t.arena, &q, NULL, &gen, &page);
    }
    if (rc == GW_OK) {
        rc = ctl_rows_read(c, &r2);
    }
    if (rc != GW_OK) {
        fprintf(stderr, "vasctl: catalog page failed (%d)\n", rc);
        return 1;
    }
    printf("%s\n", page);
    if (ctl_flag(argc, argv, "--rows-read")) {
        fprintf(stderr, "rows_read %lld\n",
                (long long) ((r2 - r1) - (r1 - r0)));
    }
    gw_arena_reset(&c->t.arena);
    return 0;
}
