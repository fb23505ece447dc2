/*
 * fuzz_query.c — libFuzzer harness for query-string and cursor decoding:
 * gw_request_parse_query (split, percent-decoding, limits), then every
 * argument through what the catalog does with it: cat_cursor_decode for
 * each sort, cat_search_normalize (q=), gw_parse_i64 (limit=, ids).
 *
 * Invariants: no crash/hang/leak/UB; decoded names and values hold no NUL
 * inside their length (C strings); a cursor that decodes re-encodes to
 * one that decodes to the same key and id; normalised search text is
 * valid UTF-8 and never longer than its buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cat.h"
#include "gw_arena.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_arena arena;
static int             ready;

static void
check_cursor(const char *v)
{
    int64_t key, id, key2, id2;
    char    again[CAT_CURSOR_MAX + 1];
    int     sort;

    for (sort = CAT_SORT_POPULAR; sort <= CAT_SORT_PRICE_DESC; sort++) {
        if (cat_cursor_decode(v, (enum cat_sort) sort, &key, &id) != 0) {
            continue;
        }
        if (cat_cursor_encode((enum cat_sort) sort, key, id, again,
                              sizeof(again))
                != 0
            || cat_cursor_decode(again, (enum cat_sort) sort, &key2, &id2) != 0
            || key2 != key || id2 != id) {
            abort();
        }
    }
}

static void
check_search(const char *v)
{
    char out[CAT_SEARCH_TEXT_MAX];
    long n = cat_search_normalize(v, out, sizeof(out));

    if (n >= 0
        && ((size_t) n >= sizeof(out) || strlen(out) != (size_t) n
            || !gw_utf8_valid(out, (size_t) n))) {
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_request r;
    char             *q;
    int64_t           n;
    size_t            i;

    if (!ready) {
        if (gw_arena_init(&arena) != 0) {
            abort();
        }
        ready = 1;
    }
    q = malloc(size + 1);
    if (q == NULL) {
        return 0;
    }
    memcpy(q, data, size);
    q[size] = '\0';
    memset(&r, 0, sizeof(r));
    r.arena = &arena;
    r.query = q;
    if (gw_request_parse_query(&r) == GW_OK) {
        for (i = 0; i < r.nargs; i++) {
            check_cursor(r.args[i].value);
            check_search(r.args[i].value);
            (void) gw_parse_i64(r.args[i].value, strlen(r.args[i].value), &n);
        }
    }
    check_cursor(q); /* the raw text too: cursors also come unencoded */
    free(q);
    gw_arena_reset(&arena);
    return 0;
}
