/*
 * test_gw_request.c — query parsing, param access and the reply builders,
 * problem+json above all (gateway/gw_request.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "gw_arena.h"
#include "gw_request.h"
#include "gw_status.h"

struct fixture {
    struct gw_arena   arena;
    struct gw_request r;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL || gw_arena_init(&f->arena) != 0) {
        free(f);
        return -1;
    }
    f->r.arena = &f->arena;
    f->r.route_index = -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    gw_arena_fini(&f->arena);
    free(f);
    return 0;
}

static int
query(struct gw_request *r, const char *q)
{
    r->query = q;
    return gw_request_parse_query(r);
}

/* Splitting and decoding: '+' is a space, %XX both cases, empty values,
 * names without '=', empty pairs skipped, '=' inside a value kept, first
 * duplicate wins. */
static void
test_query_valid(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;

    assert_int_equal(query(r, NULL), GW_OK);
    assert_int_equal(r->nargs, 0);
    assert_int_equal(query(r, ""), GW_OK);
    assert_int_equal(r->nargs, 0);

    assert_int_equal(query(r, "q=%E9%93%83%e5%a3%b0&kind=ringtone&limit=20"),
                     GW_OK);
    assert_int_equal(r->nargs, 3);
    assert_string_equal(gw_request_arg(r, "q"), "\xe9\x93\x83\xe5\xa3\xb0");
    assert_string_equal(gw_request_arg(r, "kind"), "ringtone");
    assert_string_equal(gw_request_arg(r, "limit"), "20");
    assert_null(gw_request_arg(r, "cursor"));
    assert_null(gw_request_arg(r, "Kind"));

    assert_int_equal(query(r, "a=1+2%2B3&&b&c=&=v&d=x=y&a=second&"), GW_OK);
    assert_string_equal(gw_request_arg(r, "a"), "1 2+3");
    assert_string_equal(gw_request_arg(r, "b"), "");
    assert_string_equal(gw_request_arg(r, "c"), "");
    assert_string_equal(gw_request_arg(r, ""), "v");
    assert_string_equal(gw_request_arg(r, "d"), "x=y");
    assert_int_equal(r->nargs, 6);
    /* Escaped separators are data, not separators. */
    assert_int_equal(query(r, "k%3D1=v%26w"), GW_OK);
    assert_int_equal(r->nargs, 1);
    assert_string_equal(gw_request_arg(r, "k=1"), "v&w");
    /* A reparse starts from scratch. */
    assert_int_equal(query(r, "x=1"), GW_OK);
    assert_int_equal(r->nargs, 1);
    assert_null(gw_request_arg(r, "k=1"));
    gw_arena_reset(&f->arena);
}

/* Bad escapes (truncated at the end of a value or of the string, non-hex),
 * %00 (a NUL would truncate the value silently) → GW_EINVAL. */
static void
test_query_invalid(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;

    assert_int_equal(query(r, "a=%"), GW_EINVAL);
    assert_int_equal(query(r, "a=%4"), GW_EINVAL);
    assert_int_equal(query(r, "a=%4&b=1"), GW_EINVAL);
    assert_int_equal(query(r, "a=%&b=1"), GW_EINVAL);
    assert_int_equal(query(r, "a=%zz"), GW_EINVAL);
    assert_int_equal(query(r, "a=%g1"), GW_EINVAL);
    assert_int_equal(query(r, "a=%1g"), GW_EINVAL);
    assert_int_equal(query(r, "a=%00"), GW_EINVAL);
    assert_int_equal(query(r, "a%00=1"), GW_EINVAL);
    assert_int_equal(query(r, "%=1"), GW_EINVAL);
    assert_int_equal(query(r, "a=%%41"), GW_EINVAL);
    /* Edge: an escape that ends exactly at the end is fine. */
    assert_int_equal(query(r, "a=%41"), GW_OK);
    assert_string_equal(gw_request_arg(r, "a"), "A");
    assert_int_equal(query(r, "%41"), GW_OK);
    assert_string_equal(gw_request_arg(r, "A"), "");
    gw_arena_reset(&f->arena);
}

/* Counts and sizes: exactly GW_QUERY_ARGS_MAX pairs pass, one more fails
 * (an unchecked count overflows r->args); over GW_QUERY_BYTES_MAX fails. */
static void
test_query_limits(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;
    char               q[GW_QUERY_BYTES_MAX + 16];
    size_t             len = 0;
    int                i;

    for (i = 0; i < GW_QUERY_ARGS_MAX; i++) {
        len += (size_t) snprintf(q + len, sizeof(q) - len, "%sk%d=%d",
                                 i ? "&" : "", i, i);
    }
    assert_int_equal(query(r, q), GW_OK);
    assert_int_equal(r->nargs, GW_QUERY_ARGS_MAX);
    assert_string_equal(gw_request_arg(r, "k31"), "31");
    snprintf(q + len, sizeof(q) - len, "&x=1");
    assert_int_equal(query(r, q), GW_EINVAL);
    /* Empty pairs do not count. */
    snprintf(q + len, sizeof(q) - len, "&&&");
    assert_int_equal(query(r, q), GW_OK);

    memset(q, 'a', GW_QUERY_BYTES_MAX);
    q[0] = 'k';
    q[1] = '=';
    q[GW_QUERY_BYTES_MAX] = '\0';
    assert_int_equal(query(r, q), GW_OK);
    q[GW_QUERY_BYTES_MAX] = 'a';
    q[GW_QUERY_BYTES_MAX + 1] = '\0';
    assert_int_equal(query(r, q), GW_EINVAL);
    gw_arena_reset(&f->arena);
}

/* FastCGI params: exact names only ("HTTP_X" must not match "HTTP_X_Y"
 * nor "HTTP_XY"), empty values, first occurrence, no envp. */
static void
test_param(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;
    char              *env[] = {"HTTP_X_REQUEST_ID_EXTRA=no",
                                "HTTP_X_REQUEST_IDX=no",
                                "HTTP_X_REQUEST_ID=abc-1",
                                "CONTENT_LENGTH=",
                                "QUERY_STRING=a=b",
                                "HTTP_X_REQUEST_ID=second",
                                NULL};

    assert_null(gw_request_param(r, "REQUEST_METHOD"));
    r->envp = env;
    assert_string_equal(gw_request_param(r, "HTTP_X_REQUEST_ID"), "abc-1");
    assert_string_equal(gw_request_param(r, "CONTENT_LENGTH"), "");
    assert_string_equal(gw_request_param(r, "QUERY_STRING"), "a=b");
    assert_null(gw_request_param(r, "HTTP_X"));
    assert_null(gw_request_param(r, "QUERY"));
    assert_null(gw_request_param(r, "REQUEST_METHOD"));
    r->envp = NULL;

    r->route_params[0] = "42";
    r->route_params[1] = "x";
    r->nroute_params = 2;
    assert_string_equal(gw_request_route_param(r, 0), "42");
    assert_string_equal(gw_request_route_param(r, 1), "x");
    assert_null(gw_request_route_param(r, 2));
    assert_null(gw_request_route_param(r, 1000));
}

/* Parses a reply body as a JSON object (fails the test if it is not). */
static cJSON *
reply_obj(const struct gw_request *r)
{
    cJSON *j = cJSON_ParseWithLength(r->reply_body, r->reply_len);

    assert_non_null(j);
    assert_true(cJSON_IsObject(j));
    return j;
}

static const char *
str_member(const cJSON *j, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, name);

    assert_true(cJSON_IsString(m));
    return m->valuestring;
}

/* The problem document: RFC 9457 members with the right types and values,
 * the problem+json content type, the status line; detail defaults to the
 * title; details and paths with quotes/newlines stay valid JSON; extra
 * members are merged at the top level. */
static void
test_reply_problem(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;
    cJSON             *j;
    const cJSON       *st;

    memcpy(r->request_id, "rid-1", 6);
    r->path = "/v1/x";
    assert_int_equal(gw_reply_problem(r, GW_ENOTFOUND), 0);
    assert_int_equal(r->status, 404);
    assert_string_equal(r->content_type, "application/problem+json");
    assert_int_equal(strlen(r->reply_body), r->reply_len);
    j = reply_obj(r);
    st = cJSON_GetObjectItemCaseSensitive(j, "status");
    assert_true(cJSON_IsNumber(st));
    assert_int_equal(st->valueint, 404);
    assert_string_equal(str_member(j, "code"), "not_found");
    assert_string_equal(str_member(j, "title"), gw_status_title(GW_ENOTFOUND));
    assert_string_equal(str_member(j, "detail"), gw_status_title(GW_ENOTFOUND));
    assert_non_null(strstr(str_member(j, "type"), "not_found"));
    assert_string_equal(str_member(j, "instance"), "/v1/x");
    assert_string_equal(str_member(j, "request_id"), "rid-1");
    cJSON_Delete(j);

    gw_request_problem(r, "bad \"%s\"\n\t\\ %d", "quote", 7);
    r->path = "/v1/\"odd\"\npath";
    r->problem_extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->problem_extra, "balance", 120);
    cJSON_AddItemToObject(
        r->problem_extra, "members",
        cJSON_CreateStringArray((const char *[]){"a", "b"}, 2));
    assert_int_equal(gw_reply_problem(r, GW_EFUNDS), 0);
    assert_int_equal(r->status, 402);
    j = reply_obj(r);
    assert_string_equal(str_member(j, "detail"), "bad \"quote\"\n\t\\ 7");
    assert_string_equal(str_member(j, "code"), "insufficient_funds");
    assert_string_equal(str_member(j, "instance"), "/v1/\"odd\"\npath");
    assert_int_equal(cJSON_GetObjectItem(j, "balance")->valueint, 120);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "members")), 2);
    cJSON_Delete(j);
    cJSON_Delete(r->problem_extra);
    r->problem_extra = NULL;

    /* No path (a request rejected before routing) and an unknown rc. */
    r->path = NULL;
    r->problem_detail = NULL;
    assert_int_equal(gw_reply_problem(r, -999), 0);
    assert_int_equal(r->status, 500);
    j = reply_obj(r);
    assert_string_equal(str_member(j, "code"), "internal");
    assert_string_equal(str_member(j, "instance"), "");
    cJSON_Delete(j);
    gw_arena_reset(&f->arena);
}

/* Every error status renders a parseable problem whose status/code match
 * the mapping (catches a status table entry that breaks the document). */
static void
test_reply_problem_all(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;
    int                rc;

    r->path = "/";
    for (rc = GW_ERROR; rc >= GW_STATUS_MIN; rc--) {
        cJSON *j;
        assert_int_equal(gw_reply_problem(r, rc), 0);
        j = reply_obj(r);
        assert_int_equal(cJSON_GetObjectItem(j, "status")->valueint,
                         gw_status_http(rc));
        assert_string_equal(str_member(j, "code"), gw_status_code(rc));
        cJSON_Delete(j);
    }
    gw_arena_reset(&f->arena);
}

/* Reply headers: CR/LF in a value refused (header injection), the buffer
 * never overflows and stays NUL-terminated when full. */
static void
test_reply_header(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;
    char               big[600];
    int                i, rc = 0;

    assert_int_equal(gw_reply_header(r, "ETag", "\"v1\""), 0);
    assert_string_equal(r->headers, "ETag: \"v1\"\r\n");
    assert_int_equal(gw_reply_header(r, "X", "a\r\nSet-Cookie: x=1"), -1);
    assert_int_equal(gw_reply_header(r, "X", "a\nb"), -1);
    assert_string_equal(r->headers, "ETag: \"v1\"\r\n");
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (i = 0; i < 10 && rc == 0; i++) {
        rc = gw_reply_header(r, "X-Big", big);
    }
    assert_int_equal(rc, -1);
    assert_true(r->headers_len < sizeof(r->headers));
    assert_int_equal(strlen(r->headers), r->headers_len);

    assert_int_equal(gw_reply_raw(r, 204, NULL, NULL, 0), 0);
    assert_int_equal(r->status, 204);
}

/* gw_reply_json serialises now (the caller may free the tree at once). */
static void
test_reply_json(void **state)
{
    struct fixture    *f = *state;
    struct gw_request *r = &f->r;
    cJSON             *j = cJSON_CreateObject();

    cJSON_AddStringToObject(j, "k", "v");
    assert_int_equal(gw_reply_json(r, 201, j), 0);
    cJSON_Delete(j);
    assert_int_equal(r->status, 201);
    assert_string_equal(r->content_type, "application/json");
    assert_string_equal(r->reply_body, "{\"k\":\"v\"}");
    assert_int_equal(r->reply_len, 9);
    gw_arena_reset(&f->arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_param, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_problem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_problem_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reply_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_json, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
