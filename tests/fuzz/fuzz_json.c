/*
 * fuzz_json.c — libFuzzer harness for request-body JSON (gw_json.c):
 * depth check, parse with length (the input is not NUL-terminated, as a
 * FastCGI body is not), typed getters and re-serialisation.
 *
 * Invariants checked: no crash/leak/UB; a parsed tree re-serialises and
 * parses again; too-deep input never reaches cJSON as a success.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_arena.h"
#include "gw_json.h"
#include "gw_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct gw_arena a;
    static int             ready;
    const char            *text = (const char *) data, *why = NULL, *s;
    cJSON                 *root = NULL;
    int64_t                v;
    int                    b, present, depth = 1 + (size ? data[0] % 40 : 0);

    if (!ready) {
        if (gw_arena_init(&a) != 0) {
            abort();
        }
        ready = 1;
    }
    /* A copy exactly size bytes long: ASan sees any read past the end. */
    char *copy = malloc(size ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, text, size);
    (void) gw_json_too_deep(copy, size, depth);
    if (gw_json_parse(&a, copy, size, depth, &root, &why) == GW_OK) {
        if (root == NULL || gw_json_too_deep(copy, size, depth)) {
            abort();
        }
        char *out = gw_json_print(&a, root);
        if (out != NULL) {
            cJSON *again = cJSON_Parse(out);
            if (again == NULL) {
                abort();
            }
            cJSON_Delete(again);
        }
        if (cJSON_IsObject(root)) {
            const cJSON *it;
            cJSON_ArrayForEach(it, root)
            {
                if (it->string == NULL) {
                    continue;
                }
                (void) gw_json_get_i64(&a, root, it->string, 1, INT64_MIN,
                                       INT64_MAX, &v, &present, &why);
                (void) gw_json_get_str(&a, root, it->string, 0, 64, &s,
                                       &present, &why);
                (void) gw_json_get_bool(&a, root, it->string, 0, &b, &present,
                                        &why);
            }
        }
    } else if (why == NULL && root != NULL) {
        abort();
    }
    free(copy);
    gw_arena_reset(&a);
    return 0;
}
