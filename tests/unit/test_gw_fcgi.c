/*
 * test_gw_fcgi.c — FastCGI framing of long replies (gw_fcgi_records,
 * gateway/gw_fcgi.c): the records that go out in one writev(2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "gw_fcgi.h"

/* Parses the iovecs back as a FastCGI byte stream: every record is a
 * version 1 STDOUT record of request id, without padding; their contents
 * joined are returned (malloc'd), their count in *records. */
static char *
test_unframe(const struct iovec *iov, int n, int id, size_t *len,
             size_t *records)
{
    size_t total = 0, at = 0, out = 0, clen;
    char  *flat, *content;
    int    i;

    for (i = 0; i < n; i++) {
        total += iov[i].iov_len;
    }
    flat = malloc(total + 1);
    content = malloc(total + 1);
    assert_non_null(flat);
    assert_non_null(content);
    for (i = 0; i < n; i++) {
        memcpy(flat + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    *records = 0;
    for (at = 0; at < total; at += 8 + clen) {
        const unsigned char *h = (const unsigned char *) flat + at;

        assert_true(at + 8 <= total);
        assert_int_equal(h[0], 1);
        assert_int_equal(h[1], 6);
        assert_int_equal((h[2] << 8) | h[3], id);
        clen = (size_t) ((h[4] << 8) | h[5]);
        assert_int_equal(h[6], 0);
        assert_true(clen > 0 && clen <= GW_FCGI_RECORD_MAX);
        assert_true(at + 8 + clen <= total);
        memcpy(content + out, flat + at + 8, clen);
        out += clen;
        (*records)++;
    }
    free(flat);
    *len = out;
    return content;
}

/* Head and body across record boundaries (a head alone, a record that
 * ends inside the head or the body, exact multiples): catches a lost or
 * repeated byte at a boundary, a wrong length byte order and a record over
 * 65,535 bytes. */
static void
test_records_round_trip(void **state)
{
    static const size_t heads[] = {0, 1, 200, GW_FCGI_RECORD_MAX,
                                   GW_FCGI_RECORD_MAX + 3};
    static const size_t bodies[] = {
        0, 1, 8185, GW_FCGI_RECORD_MAX - 200, GW_FCGI_RECORD_MAX * 2, 300000};
    unsigned char hdr[GW_FCGI_RECORDS_MAX * 8];
    struct iovec  iov[GW_FCGI_RECORDS_MAX * 3];
    char         *head = malloc(GW_FCGI_RECORD_MAX + 3);
    char         *body = malloc(300000), *want, *got;
    size_t        h, b, i, len, records;
    int           n;

    (void) state;
    assert_non_null(head);
    assert_non_null(body);
    for (i = 0; i < GW_FCGI_RECORD_MAX + 3; i++) {
        head[i] = (char) ('A' + i % 23);
    }
    for (i = 0; i < 300000; i++) {
        body[i] = (char) ('a' + i % 19);
    }
    want = malloc(GW_FCGI_RECORD_MAX + 3 + 300000);
    assert_non_null(want);
    for (h = 0; h < sizeof(heads) / sizeof(*heads); h++) {
        for (b = 0; b < sizeof(bodies) / sizeof(*bodies); b++) {
            n = gw_fcgi_records(0x1234, head, heads[h], body, bodies[b], hdr,
                                GW_FCGI_RECORDS_MAX, iov,
                                GW_FCGI_RECORDS_MAX * 3);
            got = test_unframe(iov, n, 0x1234, &len, &records);
            memcpy(want, head, heads[h]);
            memcpy(want + heads[h], body, bodies[b]);
            assert_int_equal(len, heads[h] + bodies[b]);
            assert_memory_equal(got, want, len);
            assert_int_equal(
                records, (len + GW_FCGI_RECORD_MAX - 1) / GW_FCGI_RECORD_MAX);
            free(got);
        }
    }
    free(want);
    free(head);
    free(body);
}

/* Too few records or iovecs: 0 (the caller then writes through libfcgi),
 * never a write past the arrays. */
static void
test_records_refuses_what_does_not_fit(void **state)
{
    unsigned char hdr[2 * 8];
    struct iovec  iov[6];
    static char   body[GW_FCGI_RECORD_MAX * 2]; /* + 1 of head: 3 records */

    (void) state;
    assert_int_equal(
        gw_fcgi_records(1, "h", 1, body, sizeof(body) - 1, hdr, 2, iov, 6), 5);
    assert_int_equal(
        gw_fcgi_records(1, "h", 1, body, sizeof(body), hdr, 2, iov, 6), 0);
    assert_int_equal(
        gw_fcgi_records(1, "h", 1, body, sizeof(body) - 1, hdr, 2, iov, 4), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_round_trip),
        cmocka_unit_test(test_records_refuses_what_does_not_fit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
