/*
 * gw_json.h — request-body JSON with limits, and typed field access that
 * turns wrong types into GW_EINVAL with a detail naming the field.
 *
 * Parsing checks the nesting depth before cJSON sees the text (cJSON's own
 * limit is 1000, far above ours), and rejects trailing garbage. Trees made
 * by gw_json_parse are freed at the arena's reset.
 *
 * Numbers: cJSON stores doubles, so integers are accepted only when they
 * are integral and within +-2^53 (exactly representable); money amounts
 * also have their own range checks in the domain.
 */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "gw_arena.h"

#define GW_JSON_INT_MAX 9007199254740992LL /* 2^53 */

/* 1 when text nests deeper than max (objects + arrays), else 0. */
int gw_json_too_deep(const char *text, size_t len, int max);

/*
 * The raw-text rule, checked before cJSON sees the text: valid UTF-8
 * throughout (no overlongs, surrogates, code points above U+10FFFF), no
 * NUL byte and no \u0000 escape (cJSON would hand C code a string cut at
 * the NUL). GW_OK or GW_EINVAL with a static reason in *why. Used for
 * request bodies and JWT parts.
 */
int gw_json_text_check(const char *text, size_t len, const char **why);

/*
 * 1 when an object anywhere in item names a member twice ({"a":1,"a":2}:
 * cJSON answers the first, other parsers the last, so a proxy or log and
 * the gateway could read two different requests; RFC 7519 section 4 makes
 * JWT parsers refuse them), -1 when out of memory, else 0.
 */
int gw_json_dup_names(const cJSON *item);

/*
 * Parses len bytes of text as one JSON value (gw_json_text_check first;
 * an object with a repeated member name is refused). GW_OK, or GW_EINVAL
 * with a static reason in *why. The tree is freed at a's reset.
 */
int gw_json_parse(struct gw_arena *a, const char *text, size_t len,
                  int depth_max, cJSON **out, const char **why);

/*
 * Field getters on an object. required = 1: missing is an error; else a
 * missing (or JSON null) field leaves *out untouched and returns GW_OK with
 * *present = 0 (present may be NULL). Errors are GW_EINVAL with a reason
 * written to why (an arena string naming the field).
 */
int gw_json_get_i64(struct gw_arena *a, const cJSON *obj, const char *name,
                    int required, int64_t min, int64_t max, int64_t *out,
                    int *present, const char **why);

/*
 * The one strict string reader: every JSON string a handler reads goes
 * through it. The value must be valid UTF-8 of 1..max_chars characters
 * (code points, not bytes), without C0/C1 controls or DEL (GW_STR_LINES
 * allows tab, CR, LF), without leading or trailing white space;
 * GW_STR_ID applies the IM user id rule instead (gw_user_id_valid).
 * gw_json_get_str is gw_json_get_text with flags 0; gw_json_get_user_id
 * reads an IM user id.
 */
enum gw_json_str_flags {
    GW_STR_LINES = 1 << 0, /* free text: tab, CR, LF allowed */
    GW_STR_ID = 1 << 1,    /* an IM user id (gw_user_id_valid) */
};

/*
 * Why s breaks that rule ("length" when it is empty or longer than
 * max_chars), or NULL when it keeps it. For text that arrives other than
 * in JSON (vasctl's options), so both doors refuse the same bytes.
 */
const char *gw_text_fault(const char *s, size_t max_chars, unsigned flags);

int gw_json_get_text(struct gw_arena *a, const cJSON *obj, const char *name,
                     int required, size_t max_chars, unsigned flags,
                     const char **out, int *present, const char **why);
int gw_json_get_str(struct gw_arena *a, const cJSON *obj, const char *name,
                    int required, size_t max_chars, const char **out,
                    int *present, const char **why);
int gw_json_get_user_id(struct gw_arena *a, const cJSON *obj, const char *name,
                        int required, const char **out, int *present,
                        const char **why);
int gw_json_get_bool(struct gw_arena *a, const cJSON *obj, const char *name,
                     int required, int *out, int *present, const char **why);

/* Serialises item (unformatted) into the arena; NULL on failure. */
char *gw_json_print(struct gw_arena *a, const cJSON *item);

/* Registers cJSON_Delete(item) with the arena; returns item. */
cJSON *gw_json_own(struct gw_arena *a, cJSON *item);

#endif /* GW_JSON_H */
