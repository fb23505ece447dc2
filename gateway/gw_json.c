/*
 * gw_json.c — limits and typed access around cJSON.
 */
#include <ctype.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_json.h"
#include "gw_limits.h"
#include "gw_status.h"
#include "gw_util.h"

/* Objects up to this many members are checked for a repeated name pair by
 * pair; larger ones by sorting their names. */
#define GW_JSON_PAIRWISE_MAX 16

static const char gw_json_bad_utf8[] =
    "request body is not valid UTF-8 (overlong, surrogate, above U+10FFFF"
    " or a broken sequence)";

int
gw_json_too_deep(const char *text, size_t len, int max)
{
    size_t i;
    int    depth = 0, in_str = 0;

    for (i = 0; i < len; i++) {
        char c = text[i];

        if (in_str) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max) {
                return 1;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 0;
}

/* 1 when the four characters at p are hex for U+0000. */
static int
gw_json_is_nul_escape(const char *p, size_t n)
{
    return n >= 4 && p[0] == '0' && p[1] == '0' && p[2] == '0' && p[3] == '0';
}

/* The index after the digits that start at p[i]. */
static size_t
gw_json_digits(const char *p, size_t n, size_t i)
{
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        i++;
    }
    return i;
}

/*
 * The length of the number token at p when it keeps RFC 8259's grammar
 * (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, followed by no other
 * number character), else 0. cJSON hands the token to strtod, which also
 * takes 041, 41. and 41.e0.
 */
static size_t
gw_json_number_len(const char *p, size_t n)
{
    size_t i = p[0] == '-', d = i;

    i = gw_json_digits(p, n, d);
    if (i == d || (p[d] == '0' && i - d > 1)) {
        return 0; /* no digits, or a leading zero */
    }
    if (i < n && p[i] == '.') {
        d = i + 1;
        if ((i = gw_json_digits(p, n, d)) == d) {
            return 0;
        }
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        d = i + 1 + (i + 1 < n && (p[i + 1] == '+' || p[i + 1] == '-'));
        if ((i = gw_json_digits(p, n, d)) == d) {
            return 0;
        }
    }
    if (i < n && p[i] != '\0' && strchr("0123456789.eE+-", p[i]) != NULL) {
        return 0;
    }
    return i;
}

int
gw_json_text_check(const char *text, size_t len, const char **why)
{
    size_t i, k;
    int    in_str = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        if (c == '\0') {
            *why = "request body contains a NUL byte";
            return GW_EINVAL;
        }
        if (c >= 0x80) {
            k = gw_utf8_seq_len((const unsigned char *) text + i, len - i);
            if (k == 0) {
                *why = gw_json_bad_utf8;
                return GW_EINVAL;
            }
            i += k - 1;
        } else if (in_str && c == '\\') {
            /* cJSON would decode \u0000 into a string that C code sees
             * cut short: "midi\u0000x" must not read as "midi". */
            if (i + 1 < len && text[i + 1] == 'u'
                && gw_json_is_nul_escape(text + i + 2, len - i - 2)) {
                *why = "a string contains U+0000 (NUL)";
                return GW_EINVAL;
            }
            i++;
        } else if (c == '"') {
            in_str = !in_str;
        } else if (!in_str && c < 0x20 && c != ' ' && c != '\t' && c != '\n'
                   && c != '\r') {
            /* cJSON skips every byte up to 0x20 as white space. */
            *why = "a control character between JSON tokens (white space"
                   " is space, tab, LF and CR)";
            return GW_EINVAL;
        } else if (!in_str && (c == '-' || (c >= '0' && c <= '9'))) {
            k = gw_json_number_len(text + i, len - i);
            if (k == 0) {
                *why = "a number is not written as JSON allows (RFC 8259:"
                       " no leading zeros, digits after '.' and 'e')";
                return GW_EINVAL;
            }
            i += k - 1;
        }
    }
    return GW_OK;
}

static int
gw_json_name_cmp(const void *x, const void *y)
{
    return strcmp(*(const char *const *) x, *(const char *const *) y);
}

/* 1 when obj (an object) names a member twice: pairwise for a few
 * members, sorted beyond (a 64 KiB body of 10,000 members must not cost
 * 50 million comparisons); -1 when out of memory. */
static int
gw_json_object_dup(const cJSON *obj)
{
    const cJSON *a, *b;
    const char **names;
    size_t       n = 0, i;
    int          dup = 0;

    for (a = obj->child; a != NULL; a = a->next) {
        n++;
    }
    if (n <= GW_JSON_PAIRWISE_MAX) {
        for (a = obj->child; a != NULL; a = a->next) {
            for (b = a->next; b != NULL; b = b->next) {
                if (strcmp(a->string, b->string) == 0) {
                    return 1;
                }
            }
        }
        return 0;
    }
    names = malloc(n * sizeof(*names));
    if (names == NULL) {
        return -1;
    }
    for (i = 0, a = obj->child; a != NULL; a = a->next) {
        names[i++] = a->string;
    }
    qsort(names, n, sizeof(*names), gw_json_name_cmp);
    for (i = 1; i < n && !dup; i++) {
        dup = strcmp(names[i - 1], names[i]) == 0;
    }
    free(names);
    return dup;
}

int
gw_json_dup_names(const cJSON *item)
{
    const cJSON *c;
    int          rc;

    if (item == NULL) {
        return 0;
    }
    if (cJSON_IsObject(item) && (rc = gw_json_object_dup(item)) != 0) {
        return rc;
    }
    for (c = item->child; c != NULL; c = c->next) {
        if ((rc = gw_json_dup_names(c)) != 0) {
            return rc;
        }
    }
    return 0;
}

static void
gw_json_delete(void *item)
{
    cJSON_Delete(item);
}

cJSON *
gw_json_own(struct gw_arena *a, cJSON *item)
{
    if (item != NULL && gw_arena_cleanup_add(a, gw_json_delete, item) != 0) {
        return NULL;
    }
    return item;
}

int
gw_json_parse(struct gw_arena *a, const char *text, size_t len, int depth_max,
              cJSON **out, const char **why)
{
    const char *end = NULL;
    cJSON      *root;
    int         rc;

    *out = NULL;
    if (len == 0) {
        *why = "request body is empty; a JSON object is required";
        return GW_EINVAL;
    }
    if (gw_json_text_check(text, len, why) != GW_OK) {
        return GW_EINVAL;
    }
    if (gw_json_too_deep(text, len, depth_max)) {
        *why = "JSON nesting too deep";
        return GW_EINVAL;
    }
    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        *why = "malformed JSON";
        return GW_EINVAL;
    }
    while (end != NULL && end < text + len
           && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) {
        end++;
    }
    if (end != NULL && end < text + len) {
        cJSON_Delete(root);
        *why = "trailing characters after the JSON value";
        return GW_EINVAL;
    }
    rc = gw_json_dup_names(root);
    if (rc != 0) {
        cJSON_Delete(root);
        *why = rc > 0 ? "an object names a member twice" : NULL;
        return rc > 0 ? GW_EINVAL : GW_ERROR;
    }
    if (gw_json_own(a, root) == NULL) {
        return GW_ERROR;
    }
    *out = root;
    return GW_OK;
}

static const cJSON *
gw_json_field(struct gw_arena *a, const cJSON *obj, const char *name,
              int required, int *present, const char **why, int *rc)
{
    const cJSON *f;

    *rc = GW_OK;
    if (present != NULL) {
        *present = 0;
    }
    if (!cJSON_IsObject(obj)) {
        *why = "request body must be a JSON object";
        *rc = GW_EINVAL;
        return NULL;
    }
    f = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (f == NULL || cJSON_IsNull(f)) {
        if (required) {
            *why = gw_arena_printf(a, "'%s' is required", name);
            *rc = GW_EINVAL;
        }
        return NULL;
    }
    if (present != NULL) {
        *present = 1;
    }
    return f;
}

int
gw_json_get_i64(struct gw_arena *a, const cJSON *obj, const char *name,
                int required, int64_t min, int64_t max, int64_t *out,
                int *present, const char **why)
{
    const cJSON *f;
    double       d;
    int          rc;

    f = gw_json_field(a, obj, name, required, present, why, &rc);
    if (f == NULL) {
        return rc;
    }
    if (!cJSON_IsNumber(f)) {
        *why = gw_arena_printf(a, "'%s' must be an integer", name);
        return GW_EINVAL;
    }
    d = f->valuedouble;
    /* 2^53 itself is refused: 2^53 + 1 in the text also parses to it. */
    if (!isfinite(d) || d != floor(d) || d >= (double) GW_JSON_INT_MAX
        || d <= -(double) GW_JSON_INT_MAX) {
        *why =
            gw_arena_printf(a, "'%s' must be an integer within +-2^53", name);
        return GW_EINVAL;
    }
    if ((int64_t) d < min || (int64_t) d > max) {
        *why = gw_arena_printf(a, "'%s' must be between %lld and %lld", name,
                               (long long) min, (long long) max);
        return GW_EINVAL;
    }
    *out = (int64_t) d;
    return GW_OK;
}

const char *
gw_text_fault(const char *s, size_t max_chars, unsigned flags)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               len = strlen(s), i;
    long                 chars = gw_utf8_chars(s, len);

    if (chars < 0) {
        return "must be valid UTF-8";
    }
    if (len == 0 || (size_t) chars > max_chars) {
        return "length";
    }
    if (flags & GW_STR_ID) {
        return gw_user_id_valid(s, len)
            ? NULL
            : "must be an identifier: printable ASCII, no spaces";
    }
    for (i = 0; i < len; i++) {
        if ((p[i] < 0x20 || p[i] == 0x7f)
            && !((flags & GW_STR_LINES)
                 && (p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))) {
            return "must not contain control characters";
        }
        /* C1 controls U+0080..U+009F are C2 80..C2 9F. */
        if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
            return "must not contain control characters";
        }
    }
    if (isspace(p[0]) || isspace(p[len - 1])) {
        return "must not start or end with white space";
    }
    return NULL;
}

int
gw_json_get_text(struct gw_arena *a, const cJSON *obj, const char *name,
                 int required, size_t max_chars, unsigned flags,
                 const char **out, int *present, const char **why)
{
    const cJSON *f;
    const char  *fault;
    int          rc;

    f = gw_json_field(a, obj, name, required, present, why, &rc);
    if (f == NULL) {
        return rc;
    }
    if (!cJSON_IsString(f)) {
        *why = gw_arena_printf(a, "'%s' must be a string", name);
        return GW_EINVAL;
    }
    fault = gw_text_fault(f->valuestring, max_chars, flags);
    if (fault != NULL && strcmp(fault, "length") == 0) {
        *why = gw_arena_printf(a, "'%s' must be 1 to %zu characters", name,
                               max_chars);
        return GW_EINVAL;
    }
    if (fault != NULL) {
        *why = gw_arena_printf(a, "'%s' %s", name, fault);
        return GW_EINVAL;
    }
    *out = f->valuestring;
    return GW_OK;
}

int
gw_json_get_str(struct gw_arena *a, const cJSON *obj, const char *name,
                int required, size_t max_chars, const char **out, int *present,
                const char **why)
{
    return gw_json_get_text(a, obj, name, required, max_chars, 0, out, present,
                            why);
}

int
gw_json_get_user_id(struct gw_arena *a, const cJSON *obj, const char *name,
                    int required, const char **out, int *present,
                    const char **why)
{
    return gw_json_get_text(a, obj, name, required, GW_USER_ID_MAX, GW_STR_ID,
                            out, present, why);
}

int
gw_json_get_bool(struct gw_arena *a, const cJSON *obj, const char *name,
                 int required, int *out, int *present, const char **why)
{
    const cJSON *f;
    int          rc;

    f = gw_json_field(a, obj, name, required, present, why, &rc);
    if (f == NULL) {
        return rc;
    }
    if (!cJSON_IsBool(f)) {
        *why = gw_arena_printf(a, "'%s' must be true or false", name);
        return GW_EINVAL;
    }
    *out = cJSON_IsTrue(f);
    return GW_OK;
}

/*
 * The printer: the bytes cJSON_PrintUnformatted makes (test_gw_json
 * compares the two on many trees), without its costs on every reply: a
 * number went through "%1.15g" formatting and a scan back (the C library),
 * the text through a realloc'd buffer and a second copy into the arena.
 */
static int gw_json_put(struct gw_buf *b, const cJSON *item);

/* cJSON's print_string_ptr: NULL prints "". */
static int
gw_json_put_str(struct gw_buf *b, const char *s)
{
    static const char    hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *) (s != NULL ? s : "");
    size_t               n = strlen((const char *) p), i, o;
    char                *d;

    if (gw_buf_reserve(b, n * 6 + 2) != 0) {
        return -1;
    }
    d = b->data + b->len;
    o = 0;
    d[o++] = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = p[i];

        if (c >= 32 && c != '"' && c != '\\') {
            d[o++] = (char) c;
            continue;
        }
        d[o++] = '\\';
        switch (c) {
        case '"':
        case '\\':
            d[o++] = (char) c;
            break;
        case '\b':
            d[o++] = 'b';
            break;
        case '\f':
            d[o++] = 'f';
            break;
        case '\n':
            d[o++] = 'n';
            break;
        case '\r':
            d[o++] = 'r';
            break;
        case '\t':
            d[o++] = 't';
            break;
        default:
            d[o++] = 'u';
            d[o++] = '0';
            d[o++] = '0';
            d[o++] = hex[c >> 4];
            d[o++] = hex[c & 15];
        }
    }
    d[o++] = '"';
    b->len += o;
    b->data[b->len] = '\0';
    return 0;
}

/*
 * cJSON 1.7.15's print_number: NaN and infinities print null; anything
 * else "%1.15g" when it reads back equal (within DBL_EPSILON), else
 * "%1.17g". An integral value below 1e15 prints its digits under "%1.15g"
 * ("-0" for minus zero) and reads back exactly, so it skips printf.
 */
static int
gw_json_put_num(struct gw_buf *b, const cJSON *item)
{
    double d = item->valuedouble, test, big;
    char   text[32], point;
    size_t n;
    int    len;

    if (isnan(d) || isinf(d)) {
        return gw_buf_append(b, "null", 4);
    }
    if (d == floor(d) && fabs(d) < 1e15) {
        if (d == 0 && signbit(d)) {
            return gw_buf_append(b, "-0", 2);
        }
        n = gw_i64_text(text, (int64_t) d);
        return gw_buf_append(b, text, n);
    }
    len = snprintf(text, sizeof(text), "%1.15g", d);
    test = strtod(text, NULL);
    big = fabs(test) > fabs(d) ? fabs(test) : fabs(d);
    if (!(fabs(test - d) <= big * DBL_EPSILON)) {
        len = snprintf(text, sizeof(text), "%1.17g", d);
    }
    if (len < 0 || (size_t) len >= sizeof(text)) {
        return -1;
    }
    point = localeconv()->decimal_point[0];
    for (n = 0; n < (size_t) len; n++) {
        if (text[n] == point) {
            text[n] = '.';
        }
    }
    return gw_buf_append(b, text, (size_t) len);
}

/* Members of an object (keys) or elements of an array, comma separated. */
static int
gw_json_put_kids(struct gw_buf *b, const cJSON *item, int keys)
{
    const cJSON *c;

    if (gw_buf_append(b, keys ? "{" : "[", 1) != 0) {
        return -1;
    }
    for (c = item->child; c != NULL; c = c->next) {
        if (keys
            && (gw_json_put_str(b, c->string) != 0
                || gw_buf_append(b, ":", 1) != 0)) {
            return -1;
        }
        if (gw_json_put(b, c) != 0
            || (c->next != NULL && gw_buf_append(b, ",", 1) != 0)) {
            return -1;
        }
    }
    return gw_buf_append(b, keys ? "}" : "]", 1);
}

static int
gw_json_put(struct gw_buf *b, const cJSON *item)
{
    switch (item->type & 0xFF) {
    case cJSON_NULL:
        return gw_buf_append(b, "null", 4);
    case cJSON_False:
        return gw_buf_append(b, "false", 5);
    case cJSON_True:
        return gw_buf_append(b, "true", 4);
    case cJSON_Number:
        return gw_json_put_num(b, item);
    case cJSON_Raw:
        return item->valuestring != NULL ? gw_buf_appends(b, item->valuestring)
                                         : -1;
    case cJSON_String:
        return gw_json_put_str(b, item->valuestring);
    case cJSON_Array:
        return gw_json_put_kids(b, item, 0);
    case cJSON_Object:
        return gw_json_put_kids(b, item, 1);
    default:
        return -1;
    }
}

char *
gw_json_print(struct gw_arena *a, const cJSON *item)
{
    struct gw_buf b = {0};
    char         *out = NULL;

    if (item != NULL && gw_buf_reserve(&b, GW_JSON_PRINT_START) == 0
        && gw_json_put(&b, item) == 0) {
        out = gw_arena_alloc(a, b.len + 1);
        if (out != NULL) {
            memcpy(out, b.data, b.len + 1);
        }
    }
    gw_buf_free(&b);
    return out;
}
