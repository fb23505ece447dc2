/* test_cat_pure.c — catalog pure logic: links, cursors, search text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cat.h"
#include "cat_cache.h"
#include "cat_frag.h"
#include "cat_frag_internal.h"
#include "cat_link.h"

#define FRAG_RING (64 << 20) /* [catalog] fragment_cache_mb = 64 */

static const unsigned char key[] = "test-secret";

static void
test_link_roundtrip(void **state)
{
    struct cat_link in = {42, "amr", 1900000000}, out;
    char            tok[CAT_LINK_TOKEN_MAX];

    (void) state;
    assert_int_equal(cat_link_sign(key, 11, &in, tok, sizeof(tok)), 0);
    assert_int_equal(cat_link_verify(key, 11, tok, &out), 0);
    assert_int_equal(out.entitlement_id, 42);
    assert_string_equal(out.format, "amr");
    assert_int_equal(out.expires_s, 1900000000);
}

static void
test_link_tamper(void **state)
{
    struct cat_link in = {7, "midi", 1900000000}, out;
    char            tok[CAT_LINK_TOKEN_MAX];
    size_t          i;

    (void) state;
    assert_int_equal(cat_link_sign(key, 11, &in, tok, sizeof(tok)), 0);
    for (i = 0; i < strlen(tok); i++) {
        char save = tok[i];
        tok[i] = save == 'A' ? 'B' : 'A';
        assert_int_equal(cat_link_verify(key, 11, tok, &out), -1);
        tok[i] = save;
    }
    assert_int_equal(
        cat_link_verify((const unsigned char *) "other", 5, tok, &out), -1);
    assert_int_equal(cat_link_verify(key, 11, "", &out), -1);
    assert_int_equal(cat_link_verify(key, 11, "!!!", &out), -1);
    in.format = "wav";
    assert_int_equal(cat_link_sign(key, 11, &in, tok, sizeof(tok)), -1);
}

static void
test_cursor(void **state)
{
    char    c[CAT_CURSOR_MAX + 1];
    int64_t k, id;

    (void) state;
    assert_int_equal(
        cat_cursor_encode(CAT_SORT_PRICE_ASC, 150, 9, c, sizeof(c)), 0);
    assert_int_equal(cat_cursor_decode(c, CAT_SORT_PRICE_ASC, &k, &id), 0);
    assert_int_equal(k, 150);
    assert_int_equal(id, 9);
    assert_int_equal(cat_cursor_decode(c, CAT_SORT_NEW, &k, &id), -1);
    assert_int_equal(cat_cursor_decode("zz", CAT_SORT_NEW, &k, &id), -1);
    assert_int_equal(cat_cursor_decode("", CAT_SORT_NEW, &k, &id), -1);
}

static void
test_search_normalize(void **state)
{
    char out[64];

    (void) state;
    assert_int_equal(cat_search_normalize("  Ode  TO\tJoy ", out, sizeof(out)),
                     10);
    assert_string_equal(out, "ode to joy");
    cat_search_normalize("\xef\xbc\xb4\xef\xbd\x85st\xe3\x80\x80\xe8\x8c\x89",
                         out, sizeof(out)); /* full-width "Te", U+3000 */
    assert_string_equal(out, "test \xe8\x8c\x89");
    assert_int_equal(cat_search_normalize("\xff", out, sizeof(out)), -1);
    assert_int_equal(cat_search_normalize("\xe8\x8c", out, sizeof(out)), -1);
    /* never splits a character when out is short */
    assert_int_equal(cat_search_normalize("a\xe8\x8c\x89", out, 3), 1);
}

static void
test_search_like(void **state)
{
    char out[32];

    (void) state;
    cat_search_like("50%_a\\", 6, out);
    assert_string_equal(out, "%50\\%\\_a\\\\%");
}

/* A term of three or more characters looks up its trigrams (migration
 * 027), a shorter one is its own gram; terms take turns, CJK grams first.
 * Catches a search that falls back to bigrams ("loon": "lo", "oo", "on" are
 * common, "loo" is not) or a gram cut mid-character. */
static void
test_search_grams(void **state)
{
    char   g[CAT_SEARCH_CANDIDATES_MAX][CAT_GRAM_BYTES_MAX];
    size_t n;

    (void) state;
    n = cat_search_grams("loon", g);
    assert_int_equal(n, 2);
    assert_string_equal(g[0], "loo");
    assert_string_equal(g[1], "oon");
    n = cat_search_grams("moon song", g);
    assert_int_equal(n, 4);
    assert_string_equal(g[0], "moo");
    assert_string_equal(g[1], "son");
    assert_string_equal(g[2], "oon");
    assert_string_equal(g[3], "ong");
    /* every trigram is a candidate: "tan" is the one no item has */
    n = cat_search_grams("mountan", g);
    assert_int_equal(n, 5);
    assert_string_equal(g[4], "tan");
    n = cat_search_grams("abcdefghijkl", g);
    assert_int_equal(n, CAT_SEARCH_CANDIDATES_MAX);
    assert_string_equal(g[7], "hij");
    assert_int_equal(cat_search_grams("lo", g), 1);
    assert_string_equal(g[0], "lo");
    assert_int_equal(cat_search_grams("\xe7\x90\xb5\xe7\x90\xb6", g), 1);
    assert_string_equal(g[0], "\xe7\x90\xb5\xe7\x90\xb6"); /* one word */
    /* "ab琵琶乐": every trigram has a CJK character but "ab" alone; in
     * turn, the first of them first */
    n = cat_search_grams("ab\xe7\x90\xb5\xe7\x90\xb6\xe4\xb9\x90", g);
    assert_int_equal(n, 3);
    assert_string_equal(g[0], "ab\xe7\x90\xb5");
    assert_string_equal(g[1], "b\xe7\x90\xb5\xe7\x90\xb6");
    assert_int_equal(cat_search_grams("", g), 0);
}

/* The fragment cache answers only for the (id, version, generation) it
 * holds; a colliding id replaces the slot; oversized bodies are not kept. */
static void
test_frag_cache(void **state)
{
    struct cat_frag_cache *c = cat_frag_new(FRAG_RING);
    struct gw_arena        a;
    const char            *b;
    size_t                 n;
    static char            big[CAT_FRAG_BODY_MAX + 2];

    (void) state;
    assert_non_null(c);
    assert_int_equal(gw_arena_init(&a), 0);
    assert_int_equal(cat_frag_get(c, 5, 1, 9, &a, &b, &n), 0);
    cat_frag_put(c, 5, 1, 9, "{\"id\":5}", 8);
    assert_int_equal(cat_frag_get(c, 5, 1, 9, &a, &b, &n), 1);
    assert_int_equal(n, 8);
    assert_memory_equal(b, "{\"id\":5}", 8);
    assert_int_equal(cat_frag_get(c, 5, 2, 9, &a, &b, &n), 0);  /* version */
    assert_int_equal(cat_frag_get(c, 5, 1, 10, &a, &b, &n), 0); /* gen */
    cat_frag_put(c, 5 + (int64_t) cat_frag_slots(c), 1, 9, "x", 1);
    assert_int_equal(cat_frag_get(c, 5, 1, 9, &a, &b, &n), 0);
    assert_int_equal(
        cat_frag_get(c, 5 + (int64_t) cat_frag_slots(c), 1, 9, &a, &b, &n), 1);
    memset(big, 'x', sizeof(big) - 1);
    cat_frag_put(c, 6, 1, 9, big, sizeof(big) - 1);
    assert_int_equal(cat_frag_get(c, 6, 1, 9, &a, &b, &n), 0);
    cat_frag_put(c, 7, 1, -1, "y", 1); /* generation unknown */
    assert_int_equal(cat_frag_get(c, 7, 1, -1, &a, &b, &n), 0);
    assert_int_equal(cat_frag_get(NULL, 5, 1, 9, &a, &b, &n), 0);
    cat_frag_put(NULL, 5, 1, 9, "z", 1);
    gw_arena_fini(&a);
    cat_frag_free(c);
}

/* [catalog] fragment_cache_mb sizes the ring and the slots with it; a
 * ring under the minimum is refused. */
static void
test_frag_cache_sizes(void **state)
{
    struct cat_frag_cache *c;
    struct gw_arena        a;
    const char            *b;
    size_t                 n, slots;

    (void) state;
    assert_null(cat_frag_new(CAT_FRAG_RING_MIN - 1));
    assert_int_equal(cat_frag_slots(NULL), 0);
    assert_int_equal(gw_arena_init(&a), 0);
    c = cat_frag_new(CAT_FRAG_RING_MIN);
    assert_non_null(c);
    slots = cat_frag_slots(c);
    assert_int_equal(slots, CAT_FRAG_RING_MIN / CAT_FRAG_BYTES_PER_SLOT);
    cat_frag_put(c, 3, 1, 9, "three", 5);
    assert_int_equal(cat_frag_get(c, 3, 1, 9, &a, &b, &n), 1);
    cat_frag_put(c, 3 + (int64_t) slots, 1, 9, "other", 5); /* same slot */
    assert_int_equal(cat_frag_get(c, 3, 1, 9, &a, &b, &n), 0);
    assert_int_equal(cat_frag_get(c, 3 + (int64_t) slots, 1, 9, &a, &b, &n), 1);
    cat_frag_free(c);
    c = cat_frag_new((size_t) 512 << 20);
    assert_non_null(c);
    assert_int_equal(cat_frag_slots(c), 1048576);
    cat_frag_put(c, 1000000, 1, 9, "million", 7);
    assert_int_equal(cat_frag_get(c, 1000000, 1, 9, &a, &b, &n), 1);
    assert_memory_equal(b, "million", 7);
    gw_arena_fini(&a);
    cat_frag_free(c);
}

/* One cache for the host: what a forked child (a worker) stores, its
 * parent (and every later child: a recycled worker) reads. */
static void
test_frag_cache_shared_by_forked_workers(void **state)
{
    struct cat_frag_cache *c = cat_frag_new(FRAG_RING);
    struct gw_arena        a;
    const char            *b;
    size_t                 n;
    pid_t                  pid;
    int                    st;

    (void) state;
    assert_non_null(c);
    assert_int_equal(gw_arena_init(&a), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cat_frag_put(c, 11, 3, 9, "{\"id\":11}", 9);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(cat_frag_get(c, 11, 3, 9, &a, &b, &n), 1);
    assert_int_equal(n, 9);
    assert_memory_equal(b, "{\"id\":11}", 9);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a new worker finds it too */
        _exit(cat_frag_get(c, 11, 3, 9, &a, &b, &n) == 1 && n == 9 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    gw_arena_fini(&a);
    cat_frag_free(c);
}

/* The ring: a fragment whose bytes newer ones overwrote is a miss, never
 * their bytes; the newest ones read back whole, also one that wraps
 * around the ring's end. */
static void
test_frag_cache_ring_overwrites_oldest(void **state)
{
    struct cat_frag_cache *c = cat_frag_new(FRAG_RING);
    struct gw_arena        a;
    const char            *b;
    size_t                 n, k, laps = FRAG_RING / 4000 + 2;
    static char            body[4000], want[4000];

    (void) state;
    assert_non_null(c);
    assert_int_equal(gw_arena_init(&a), 0);
    for (k = 1; k <= laps; k++) {
        memset(body, (int) ('a' + k % 26), sizeof(body));
        snprintf(body, sizeof(body), "{\"id\":%zu}", k);
        cat_frag_put(c, (int64_t) k, 1, 9, body, sizeof(body));
    }
    assert_int_equal(cat_frag_get(c, 1, 1, 9, &a, &b, &n), 0);
    assert_int_equal(cat_frag_get(c, 2, 1, 9, &a, &b, &n), 0);
    for (k = laps - 20; k <= laps; k++) { /* the wrap is among them */
        memset(want, (int) ('a' + k % 26), sizeof(want));
        snprintf(want, sizeof(want), "{\"id\":%zu}", k);
        assert_int_equal(cat_frag_get(c, (int64_t) k, 1, 9, &a, &b, &n), 1);
        assert_int_equal(n, sizeof(want));
        assert_memory_equal(b, want, sizeof(want));
    }
    gw_arena_fini(&a);
    cat_frag_free(c);
}

/* A slot left mid-write by a killed worker is taken over by the next
 * writer; one being written by a live writer is skipped and reads as a
 * miss. */
static void
test_frag_cache_dead_writer_slot_is_taken_over(void **state)
{
    struct cat_frag_cache *c = cat_frag_new(FRAG_RING);
    struct gw_arena        a;
    const char            *b;
    size_t                 n;
    pid_t                  dead;
    int                    st;

    (void) state;
    assert_non_null(c);
    assert_int_equal(gw_arena_init(&a), 0);
    cat_frag_put(c, 21, 1, 9, "old", 3);
    dead = fork();
    assert_true(dead >= 0);
    if (dead == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(dead, &st, 0), dead); /* gone: reaped */
    c->slots[21].word = CAT_FRAG_WORD(dead, 7);
    assert_int_equal(cat_frag_get(c, 21, 1, 9, &a, &b, &n), 0);
    cat_frag_put(c, 21, 2, 9, "new", 3);
    assert_int_equal(cat_frag_get(c, 21, 2, 9, &a, &b, &n), 1);
    assert_memory_equal(b, "new", 3);
    c->slots[22].word = CAT_FRAG_WORD(getppid(), 7); /* alive */
    cat_frag_put(c, 22, 1, 9, "x", 1);
    assert_int_equal(c->slots[22].word, CAT_FRAG_WORD(getppid(), 7));
    assert_int_equal(cat_frag_get(c, 22, 1, 9, &a, &b, &n), 0);
    gw_arena_fini(&a);
    cat_frag_free(c);
}

/* Readers racing writers in other processes (two ids sharing one slot,
 * bodies that lap the ring many times over): every hit is the whole body
 * of the (id, version) asked for, never a torn or overwritten one. */
static void
frag_stress_body(char *body, size_t n, int64_t id, int64_t version)
{
    size_t k;

    for (k = 0; k < n; k++) {
        body[k] = (char) ('A' + (id * 7 + version * 3 + (int64_t) k) % 26);
    }
}

static void
test_frag_cache_readers_never_see_torn_fragments(void **state)
{
    struct cat_frag_cache *c = cat_frag_new(FRAG_RING);
    struct gw_arena        a;
    const int64_t          ids[2] = {31, 31 + (int64_t) (FRAG_RING / 512)};
    static char            want[3000];
    pid_t                  w[2];
    int                    i, st, hits = 0, alive = 2;
    long                   round;

    (void) state;
    assert_non_null(c);
    assert_int_equal(gw_arena_init(&a), 0);
    for (i = 0; i < 2; i++) {
        w[i] = fork();
        assert_true(w[i] >= 0);
        if (w[i] == 0) {
            static char body[3000];
            int64_t     v;
            for (v = 0; v < 60000; v++) {
                size_t  len = 1000 + (size_t) (v * 37 % 2000);
                int64_t id = ids[(v + i) % 2];
                frag_stress_body(body, len, id, v % 4);
                cat_frag_put(c, id, v % 4, 9, body, len);
                cat_frag_put(c, 100000 + (v % 5000), 0, 9, body, 3000);
            }
            _exit(0);
        }
    }
    /* Read for as long as either writer runs (not a fixed count: under
     * ASan the writers may not have started when a fixed loop ends). */
    for (round = 0; alive > 0; round++) {
        const char *b;
        size_t      n;
        int64_t     id = ids[round % 2], version = (round / 2) % 4;
        if (cat_frag_get(c, id, version, 9, &a, &b, &n)) {
            assert_true(n >= 1000 && n < 3000);
            frag_stress_body(want, n, id, version);
            assert_memory_equal(b, want, n);
        }
        if (round % 1000 == 0) {
            gw_arena_reset(&a);
            for (i = 0; i < 2; i++) {
                if (w[i] > 0 && waitpid(w[i], &st, WNOHANG) == w[i]) {
                    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                    w[i] = 0;
                    alive--;
                }
            }
        }
    }
    /* Each writer's last put of the slot was version 3: one of them is
     * there, whole. */
    for (i = 0; i < 2; i++) {
        const char *b;
        size_t      n;
        if (cat_frag_get(c, ids[i], 3, 9, &a, &b, &n)) {
            frag_stress_body(want, n, ids[i], 3);
            assert_memory_equal(b, want, n);
            hits++;
        }
    }
    assert_int_equal(hits, 1);
    gw_arena_fini(&a);
    cat_frag_free(c);
}

/* The ETag is XXH3-64 of the body, big-endian hex in quotes: known
 * answers (the empty input's is xxHash's published one), and a body that
 * changes in one byte changes its ETag. */
static void
test_cache_etag(void **state)
{
    char e1[CAT_ETAG_MAX], e2[CAT_ETAG_MAX];

    (void) state;
    cat_cache_etag("", 0, e1);
    assert_string_equal(e1, "\"2d06800538d394c2\"");
    cat_cache_etag("{\"items\":[]}", 12, e1);
    assert_string_equal(e1, "\"ab6c3e086fed5ec0\"");
    cat_cache_etag("{\"items\":[1]}", 13, e1);
    cat_cache_etag("{\"items\":[2]}", 13, e2);
    assert_int_equal(strlen(e1), 18);
    assert_string_not_equal(e1, e2);
}

/* A slot's buffer is reused or replaced as bodies grow and shrink: each
 * lookup returns exactly the last body stored, NUL-terminated, with its
 * ETag. */
static void
test_cache_put_sizes(void **state)
{
    static const size_t sizes[] = {100, 80, 100, 300, 10, 10, 2000, 0, 51};
    struct gw_arena     a;
    char                body[2001], etag[CAT_ETAG_MAX];
    const char         *b, *e;
    size_t              i, n;

    (void) state;
    assert_int_equal(gw_arena_init(&a), 0);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        memset(body, 'a' + (int) i, sizes[i]);
        body[sizes[i]] = '\0';
        snprintf(etag, sizeof(etag), "\"e%zu\"", i);
        cat_cache_put("test\x1fsizes", 7, body, sizes[i], etag);
        assert_int_equal(cat_cache_get("test\x1fsizes", 7, &a, &b, &n, &e), 1);
        assert_int_equal(n, sizes[i]);
        assert_memory_equal(b, body, sizes[i] + 1);
        assert_string_equal(e, etag);
        assert_int_equal(cat_cache_get("test\x1fsizes", 8, &a, &b, &n, &e), 0);
    }
    gw_arena_fini(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_roundtrip),
        cmocka_unit_test(test_link_tamper),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_search_normalize),
        cmocka_unit_test(test_search_like),
        cmocka_unit_test(test_search_grams),
        cmocka_unit_test(test_frag_cache),
        cmocka_unit_test(test_frag_cache_sizes),
        cmocka_unit_test(test_frag_cache_shared_by_forked_workers),
        cmocka_unit_test(test_frag_cache_ring_overwrites_oldest),
        cmocka_unit_test(test_frag_cache_dead_writer_slot_is_taken_over),
        cmocka_unit_test(test_frag_cache_readers_never_see_torn_fragments),
        cmocka_unit_test(test_cache_etag),
        cmocka_unit_test(test_cache_put_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
