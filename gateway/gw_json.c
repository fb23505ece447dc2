/*
 * gw_json.c — limits and typed access around cJSON.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gw_json.h"
#include "gw_status.h"

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

    *out = NULL;
    if (len == 0) {
        *why = "request body is empty; a JSON object is required";
        return GW_EINVAL;
    }
    if (memchr(text, '\0', len) != NULL) {
        *why = "request body contains a NUL byte";
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

int
gw_json_get_str(struct gw_arena *a, const cJSON *obj, const char *name,
                int required, size_t max_len, const char **out, int *present,
                const char **why)
{
    const cJSON *f;
    size_t       len;
    int          rc;

    f = gw_json_field(a, obj, name, required, present, why, &rc);
    if (f == NULL) {
        return rc;
    }
    if (!cJSON_IsString(f)) {
        *why = gw_arena_printf(a, "'%s' must be a string", name);
        return GW_EINVAL;
    }
    len = strlen(f->valuestring);
    if (len == 0 || len > max_len) {
        *why = gw_arena_printf(a, "'%s' must be 1 to %zu bytes", name, max_len);
        return GW_EINVAL;
    }
    *out = f->valuestring;
    return GW_OK;
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

char *
gw_json_print(struct gw_arena *a, const cJSON *item)
{
    char *s, *copy;

    s = cJSON_PrintUnformatted(item);
    if (s == NULL) {
        return NULL;
    }
    copy = gw_arena_strdup(a, s);
    cJSON_free(s);
    return copy;
}
