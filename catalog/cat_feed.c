/*
 * cat_feed.c — the catalog feed importer (docs/catalog-feed.md).
 *
 * Three passes: syntax (UTF-8, integers only, depth, cJSON with the line
 * of a parse error), then shape/reference/file checks that collect every
 * error, then one transaction that applies the feed. Field errors carry
 * the line where the offending item (or section) starts: cJSON keeps no
 * positions, so a small scanner records where each items[] element begins.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cat_feed.h"
#include "gw_json.h"
#include "gw_status.h"
#include "gw_util.h"

struct cat_feed {
    const char             *source, *text, *root, *currency;
    size_t                  len;
    FILE                   *out;
    int                     nerr;
    size_t                  item_off[CAT_FEED_ITEMS_MAX];
    size_t                  nitem_off;
    struct gw_arena        *a;
    struct cat_item_spec   *specs;
    size_t                  nspecs;
    cat_provider_onboard_pt onboard; /* the caller's, in the transaction */
    void                   *onboard_arg;
};

static int
cat_feed_line(const struct cat_feed *f, size_t off)
{
    int    line = 1;
    size_t i;

    for (i = 0; i < off && i < f->len; i++) {
        line += f->text[i] == '\n';
    }
    return line;
}

static void cat_feed_err(struct cat_feed *f, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cat_feed_err(struct cat_feed *f, size_t off, const char *fmt, ...)
{
    va_list ap;

    if (++f->nerr > CAT_FEED_ERRORS_MAX) {
        if (f->nerr == CAT_FEED_ERRORS_MAX + 1) {
            fprintf(f->out, "%s: too many errors\n", f->source);
        }
        return;
    }
    fprintf(f->out, "%s:%d: ", f->source, cat_feed_line(f, off));
    va_start(ap, fmt);
    vfprintf(f->out, fmt, ap);
    va_end(ap);
    fputc('\n', f->out);
}

/* Skips one JSON value of already-parsed text; returns the offset after. */
static size_t
cat_json_skip(const char *t, size_t n, size_t i)
{
    int depth = 0;

    do {
        while (i < n && strchr(" \t\r\n,:", t[i]) != NULL)
            i++;
        if (i >= n)
            return n;
        if (t[i] == '"') {
            for (i++; i < n && t[i] != '"'; i++) {
                if (t[i] == '\\')
                    i++;
            }
            i++;
        } else if (t[i] == '{' || t[i] == '[') {
            depth++, i++;
        } else if (t[i] == '}' || t[i] == ']') {
            depth--, i++;
        } else {
            while (i < n && strchr(" \t\r\n,:]}", t[i]) == NULL)
                i++;
        }
    } while (depth > 0);
    return i;
}

/* Records where each element of the top-level "items" array starts. */
static void
cat_feed_scan_items(struct cat_feed *f)
{
    const char *t = f->text;
    size_t      n = f->len, i = 0, key;

    while (i < n && t[i] != '{')
        i++;
    for (i++; i < n;) {
        while (i < n && strchr(" \t\r\n,", t[i]) != NULL)
            i++;
        if (i >= n || t[i] != '"')
            return;
        key = i;
        i = cat_json_skip(t, n, i);
        while (i < n && strchr(" \t\r\n:", t[i]) != NULL)
            i++;
        if (i - key >= 7 && strncmp(t + key, "\"items\"", 7) == 0 && i < n
            && t[i] == '[') {
            for (i++; f->nitem_off < CAT_FEED_ITEMS_MAX;) {
                while (i < n && strchr(" \t\r\n,", t[i]) != NULL)
                    i++;
                if (i >= n || t[i] == ']')
                    return;
                f->item_off[f->nitem_off++] = i;
                i = cat_json_skip(t, n, i);
            }
            return;
        }
        i = cat_json_skip(t, n, i);
    }
}

/* UTF-8 validity and "integers only" over the raw text. */
static int
cat_feed_lex(struct cat_feed *f)
{
    const unsigned char *t = (const unsigned char *) f->text;
    size_t               i, n;
    int                  in_str = 0;

    for (i = 0; i < f->len; i++) {
        if (t[i] >= 0x80) {
            n = gw_utf8_seq_len(t + i, f->len - i);
            if (n == 0) {
                cat_feed_err(f, i, "not valid UTF-8");
                return -1;
            }
            i += n - 1;
        } else if (in_str && t[i] == '\\') {
            i++;
        } else if (t[i] == '"') {
            in_str = !in_str;
        } else if (!in_str && (t[i] == '.' || t[i] == 'e' || t[i] == 'E')
                   && i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9') {
            cat_feed_err(f, i,
                         "numbers must be integers (no fraction or"
                         " exponent)");
            return -1;
        }
    }
    return 0;
}

static int
cat_feed_parse(struct cat_feed *f, cJSON **root)
{
    const char *end = NULL, *why = NULL;

    if (f->len > CAT_FEED_BYTES_MAX) {
        cat_feed_err(f, 0, "feed larger than %d bytes", CAT_FEED_BYTES_MAX);
        return -1;
    }
    if (f->len >= 3 && memcmp(f->text, "\xef\xbb\xbf", 3) == 0) {
        cat_feed_err(f, 0, "byte order mark not allowed");
        return -1;
    }
    if (gw_json_too_deep(f->text, f->len, CAT_FEED_DEPTH_MAX)) {
        cat_feed_err(f, 0, "nested deeper than %d", CAT_FEED_DEPTH_MAX);
        return -1;
    }
    if (cat_feed_lex(f) != 0) {
        return -1;
    }
    if (gw_json_text_check(f->text, f->len, &why) != GW_OK) {
        cat_feed_err(f, 0, "%s", why); /* a NUL, raw or \u0000 */
        return -1;
    }
    *root = cJSON_ParseWithLengthOpts(f->text, f->len, &end, 0);
    if (*root == NULL || !cJSON_IsObject(*root)) {
        size_t off = end ? (size_t) (end - f->text) : 0;
        if (*root == NULL && end == NULL) {
            off = f->len;
        }
        cat_feed_err(f, off, "not a JSON object (syntax error here)");
        cJSON_Delete(*root);
        *root = NULL;
        return -1;
    }
    for (; end != NULL && (size_t) (end - f->text) < f->len; end++) {
        if (strchr(" \t\r\n", *end) == NULL) {
            cat_feed_err(f, (size_t) (end - f->text),
                         "trailing data after"
                         " the JSON object");
            cJSON_Delete(*root);
            *root = NULL;
            return -1;
        }
    }
    gw_json_own(f->a, *root);
    cat_feed_scan_items(f);
    return 0;
}

static int
cat_feed_members(struct cat_feed *f, size_t off, const cJSON *obj,
                 const char *path, const char *const *allowed)
{
    const cJSON *m;
    size_t       k;
    int          bad = 0;

    cJSON_ArrayForEach(m, obj)
    {
        for (k = 0; allowed[k] != NULL; k++) {
            if (strcmp(allowed[k], m->string) == 0)
                break;
        }
        if (allowed[k] == NULL) {
            cat_feed_err(f, off, "%s.%s: unknown member", path, m->string);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

/* A string member; nullable: null/absent allowed (out = NULL). */
static int
cat_feed_str(struct cat_feed *f, size_t off, const cJSON *obj, const char *path,
             const char *name, int nullable, size_t max_chars, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    const char  *s;
    int          blank = 1;

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        if (nullable)
            return 0;
        cat_feed_err(f, off, "%s.%s: required", path, name);
        return -1;
    }
    if (!cJSON_IsString(v)) {
        cat_feed_err(f, off, "%s.%s: must be a string", path, name);
        return -1;
    }
    for (s = v->valuestring; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20) {
            cat_feed_err(f, off, "%s.%s: control character", path, name);
            return -1;
        }
        blank = blank && (*s == ' ' || *s == '\t');
    }
    if ((!nullable && blank)
        || (size_t) gw_utf8_chars(v->valuestring, strlen(v->valuestring))
            > max_chars) {
        cat_feed_err(f, off, "%s.%s: must be %s1..%zu characters", path, name,
                     nullable ? "null or " : "", max_chars);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static int
cat_feed_int(struct cat_feed *f, size_t off, const cJSON *obj, const char *path,
             const char *name, int nullable, int64_t min, int64_t max,
             int64_t *out, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    *present = 0;
    if (v == NULL || cJSON_IsNull(v)) {
        if (nullable)
            return 0;
        cat_feed_err(f, off, "%s.%s: required", path, name);
        return -1;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < (double) min
        || v->valuedouble > (double) max
        || v->valuedouble != (double) (int64_t) v->valuedouble) {
        cat_feed_err(f, off, "%s.%s: must be an integer %lld..%lld", path, name,
                     (long long) min, (long long) max);
        return -1;
    }
    *out = (int64_t) v->valuedouble;
    *present = 1;
    return 0;
}

static int
cat_url_valid(const char *u)
{
    return u != NULL && strlen(u) <= CAT_URL_MAX
        && ((strncmp(u, "http://", 7) == 0 && u[7] != '\0')
            || (strncmp(u, "https://", 8) == 0 && u[8] != '\0'))
        && strpbrk(u, " \"<>") == NULL;
}

static const char *const cat_provider_members[] = {
    "code", "name", "revenue_share_bp", "webhook_url", NULL};
static const char *const cat_category_members[] = {"slug", "name", "kind",
                                                   NULL};
static const char *const cat_item_members[] = {
    "sku",         "kind",     "title",     "artist",        "category",
    "price",       "currency", "assets",    "preview",       "min_players",
    "max_players", "pricing",  "pass_days", "allocator_url", NULL};
static const char *const cat_file_members[] = {"format", "path", "bytes",
                                               "sha256", NULL};

struct cat_feed_provider {
    const char *code, *name, *webhook_url;
    int64_t     share_bp;
};

static void
cat_feed_provider(struct cat_feed *f, const cJSON *root,
                  struct cat_feed_provider *p)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "provider");
    size_t       off = o ? (size_t) 0 : 0;
    int          present;

    memset(p, 0, sizeof(*p));
    if (!cJSON_IsObject(o)) {
        cat_feed_err(f, off, "provider: required object");
        return;
    }
    cat_feed_members(f, off, o, "provider", cat_provider_members);
    if (cat_feed_str(f, off, o, "provider", "code", 0, 64, &p->code) == 0
        && !cat_slug_valid(p->code, CAT_PROVIDER_CODE_MAX, 0)) {
        cat_feed_err(f, off, "provider.code: must match [a-z0-9-]{1,64}");
    }
    cat_feed_str(f, off, o, "provider", "name", 0, CAT_PROVIDER_NAME_MAX,
                 &p->name);
    cat_feed_int(f, off, o, "provider", "revenue_share_bp", 0, 0,
                 CAT_SHARE_BP_MAX, &p->share_bp, &present);
    if (cat_feed_str(f, off, o, "provider", "webhook_url", 1, CAT_URL_MAX,
                     &p->webhook_url)
            == 0
        && p->webhook_url != NULL && !cat_url_valid(p->webhook_url)) {
        cat_feed_err(f, off,
                     "provider.webhook_url: must be an absolute"
                     " http(s) URL");
    }
}

struct cat_feed_cat {
    const char *slug, *name, *kind;
};

static int
cat_kind_valid(const char *k)
{
    return k != NULL && (strcmp(k, "ringtone") == 0 || strcmp(k, "game") == 0);
}

static size_t
cat_feed_categories(struct cat_feed *f, const cJSON *root,
                    struct cat_feed_cat *cats)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "categories");
    const cJSON *o;
    size_t       n = 0, k;
    char         path[48];

    if (!cJSON_IsArray(arr)) {
        cat_feed_err(f, 0, "categories: required array");
        return 0;
    }
    cJSON_ArrayForEach(o, arr)
    {
        struct cat_feed_cat c = {0};
        snprintf(path, sizeof(path), "categories[%zu]", n);
        if (n >= CAT_FEED_CATS_MAX || !cJSON_IsObject(o)) {
            cat_feed_err(f, 0, "%s: must be an object (at most %d)", path,
                         CAT_FEED_CATS_MAX);
            break;
        }
        cat_feed_members(f, 0, o, path, cat_category_members);
        if (cat_feed_str(f, 0, o, path, "slug", 0, CAT_SLUG_MAX, &c.slug) == 0
            && !cat_slug_valid(c.slug, CAT_SLUG_MAX, 0)) {
            cat_feed_err(f, 0, "%s.slug: must match [a-z0-9-]{1,64}", path);
        }
        cat_feed_str(f, 0, o, path, "name", 0, CAT_CATEGORY_NAME_MAX, &c.name);
        if (cat_feed_str(f, 0, o, path, "kind", 0, 16, &c.kind) == 0
            && !cat_kind_valid(c.kind)) {
            cat_feed_err(f, 0, "%s.kind: must be ringtone or game", path);
        }
        for (k = 0; c.slug != NULL && k < n; k++) {
            if (cats[k].slug != NULL && strcmp(cats[k].slug, c.slug) == 0) {
                cat_feed_err(f, 0, "%s.slug: duplicate slug \"%s\"", path,
                             c.slug);
            }
        }
        cats[n++] = c;
    }
    return n;
}

/* One asset or preview object into *file (format NULL for previews). */
static void
cat_feed_file(struct cat_feed *f, size_t off, const cJSON *o, const char *path,
              int is_asset, struct cat_file *file)
{
    const char *sha = NULL, *why = NULL;
    int64_t     bytes = 0;
    int         present, bad;
    size_t      k;

    memset(file, 0, sizeof(*file));
    if (!cJSON_IsObject(o)) {
        cat_feed_err(f, off, "%s: must be an object", path);
        return;
    }
    bad = cat_feed_members(f, off, o, path, cat_file_members + !is_asset);
    if (is_asset
        && cat_feed_str(f, off, o, path, "format", 0, 8, &file->format) == 0
        && cat_format_mime(file->format) == NULL) {
        cat_feed_err(f, off, "%s.format: must be midi, amr or mp3", path);
        bad = 1;
    }
    bad |= cat_feed_str(f, off, o, path, "path", 0, CAT_PATH_MAX, &file->path);
    bad |= cat_feed_int(f, off, o, path, "bytes", 0, 1, CAT_FILE_BYTES_MAX,
                        &bytes, &present);
    if (cat_feed_str(f, off, o, path, "sha256", 0, 64, &sha) == 0) {
        for (k = 0; sha[k] != '\0'
             && ((sha[k] >= '0' && sha[k] <= '9')
                 || (sha[k] >= 'a' && sha[k] <= 'f'));
             k++) {
        }
        if (k != 64 || sha[k] != '\0') {
            cat_feed_err(f, off, "%s.sha256: must be 64 lower-case hex digits",
                         path);
            bad = 1;
        }
    } else {
        bad = 1;
    }
    if (bad || (is_asset && file->format == NULL)) {
        return;
    }
    if (cat_file_check(f->root, file, &why) != 0) {
        cat_feed_err(f, off, "%s.path: %s: %s", path, why, file->path);
    } else if (file->bytes != bytes) {
        cat_feed_err(f, off, "%s.bytes: size mismatch for %s (file has %lld)",
                     path, file->path, (long long) file->bytes);
    } else if (strcmp(file->sha256, sha) != 0) {
        cat_feed_err(f, off, "%s.sha256: checksum mismatch for %s", path,
                     file->path);
    }
}

static void
cat_feed_ringtone(struct cat_feed *f, size_t off, const cJSON *o,
                  const char *path, struct cat_item_spec *s)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "assets"), *a;
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(o, "preview");
    const char  *game[] = {"min_players", "max_players", "pricing", "pass_days",
                           "allocator_url"};
    char         sub[80];
    size_t       k, j, dl = 0;

    for (k = 0; k < sizeof(game) / sizeof(game[0]); k++) {
        if (cJSON_GetObjectItemCaseSensitive(o, game[k]) != NULL) {
            cat_feed_err(f, off, "%s.%s: not allowed on a ringtone", path,
                         game[k]);
        }
    }
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1
        || cJSON_GetArraySize(arr) > CAT_FORMATS_MAX) {
        cat_feed_err(f, off, "%s.assets: must be an array of 1..3 assets",
                     path);
        return;
    }
    cJSON_ArrayForEach(a, arr)
    {
        struct cat_file *fl = &s->assets[s->nassets];
        snprintf(sub, sizeof(sub), "%s.assets[%zu]", path, s->nassets);
        cat_feed_file(f, off, a, sub, 1, fl);
        for (j = 0; fl->format != NULL && j < s->nassets; j++) {
            if (s->assets[j].format != NULL
                && strcmp(s->assets[j].format, fl->format) == 0) {
                cat_feed_err(f, off, "%s.format: duplicate format", sub);
            }
        }
        dl += fl->format != NULL && strcmp(fl->format, "mp3") != 0;
        s->nassets++;
    }
    if (dl == 0) {
        cat_feed_err(f, off, "%s.assets: needs a midi or amr asset", path);
    }
    if (pv != NULL && !cJSON_IsNull(pv)) {
        snprintf(sub, sizeof(sub), "%s.preview", path);
        cat_feed_file(f, off, pv, sub, 0, &s->preview);
        s->has_preview = 1;
    }
}

static void
cat_feed_game(struct cat_feed *f, size_t off, const cJSON *o, const char *path,
              struct cat_item_spec *s)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "assets");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(o, "preview");
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(o, "pass_days");
    int          p1, p2, p3;

    if ((arr != NULL && !(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 0))
        || (pv != NULL && !cJSON_IsNull(pv))) {
        cat_feed_err(f, off, "%s: a game has no assets or preview", path);
    }
    if (cat_feed_int(f, off, o, path, "min_players", 0, 1, CAT_PLAYERS_MAX,
                     &s->min_players, &p1)
            == 0
        && cat_feed_int(f, off, o, path, "max_players", 0, 1, CAT_PLAYERS_MAX,
                        &s->max_players, &p2)
            == 0
        && s->max_players < s->min_players) {
        cat_feed_err(f, off, "%s.max_players: below min_players", path);
    }
    if (cat_feed_str(f, off, o, path, "pricing", 0, 16, &s->pricing) == 0) {
        int pass = strcmp(s->pricing, "pass") == 0;
        if (!pass && strcmp(s->pricing, "per_play") != 0) {
            cat_feed_err(f, off, "%s.pricing: must be per_play or pass", path);
        } else if (pd == NULL) {
            cat_feed_err(f, off,
                         "%s.pass_days: required (null for"
                         " per_play)",
                         path);
        } else if (pass) {
            cat_feed_int(f, off, o, path, "pass_days", 0, 1, CAT_PASS_DAYS_MAX,
                         &s->pass_days, &p3);
        } else if (!cJSON_IsNull(pd)) {
            cat_feed_err(f, off, "%s.pass_days: must be null for per_play",
                         path);
        }
    }
    if (cat_feed_str(f, off, o, path, "allocator_url", 0, CAT_URL_MAX,
                     &s->allocator_url)
            == 0
        && !cat_url_valid(s->allocator_url)) {
        cat_feed_err(f, off,
                     "%s.allocator_url: must be an absolute http(s)"
                     " URL",
                     path);
    }
}

static const struct cat_feed_cat *
cat_feed_cat_find(const struct cat_feed_cat *cats, size_t n, const char *s)
{
    size_t k;

    for (k = 0; s != NULL && k < n; k++) {
        if (cats[k].slug != NULL && strcmp(cats[k].slug, s) == 0) {
            return &cats[k];
        }
    }
    return NULL;
}

static void
cat_feed_item(struct cat_feed *f, size_t idx, const cJSON *o,
              const struct cat_feed_cat *cats, size_t ncats,
              struct cat_item_spec *s)
{
    size_t                     off = idx < f->nitem_off ? f->item_off[idx] : 0;
    const struct cat_feed_cat *c;
    char                       path[64];
    int                        present;

    memset(s, 0, sizeof(*s));
    snprintf(path, sizeof(path), "items[%zu]", idx);
    if (!cJSON_IsObject(o)) {
        cat_feed_err(f, off, "%s: must be an object", path);
        return;
    }
    cat_feed_members(f, off, o, path, cat_item_members);
    if (cat_feed_str(f, off, o, path, "sku", 0, CAT_SKU_MAX, &s->sku) == 0
        && !cat_slug_valid(s->sku, CAT_SKU_MAX, 1)) {
        cat_feed_err(f, off, "%s.sku: must match [A-Z0-9-]{1,64}", path);
    }
    if (s->sku != NULL) {
        snprintf(path, sizeof(path), "items[%zu] (%s)", idx, s->sku);
    }
    if (cat_feed_str(f, off, o, path, "kind", 0, 16, &s->kind) == 0
        && !cat_kind_valid(s->kind)) {
        cat_feed_err(f, off, "%s.kind: must be ringtone or game", path);
        s->kind = NULL;
    }
    cat_feed_str(f, off, o, path, "title", 0, CAT_TITLE_MAX, &s->title);
    cat_feed_str(f, off, o, path, "artist", 1, CAT_ARTIST_MAX, &s->artist);
    if (cat_feed_str(f, off, o, path, "category", 0, CAT_SLUG_MAX, &s->category)
        == 0) {
        c = cat_feed_cat_find(cats, ncats, s->category);
        if (c == NULL) {
            cat_feed_err(f, off, "%s.category: unknown category \"%s\"", path,
                         s->category);
        } else if (s->kind != NULL && c->kind != NULL
                   && strcmp(c->kind, s->kind) != 0) {
            cat_feed_err(f, off, "%s.kind: category \"%s\" holds %s items",
                         path, s->category, c->kind);
        }
    }
    cat_feed_int(f, off, o, path, "price", 0, 0, CAT_PRICE_MAX, &s->price,
                 &present);
    if (cat_feed_str(f, off, o, path, "currency", 0, 3, &s->currency) == 0
        && strcmp(s->currency, f->currency) != 0) {
        cat_feed_err(f, off, "%s.currency: must be %s", path, f->currency);
    }
    if (s->kind != NULL && strcmp(s->kind, "game") == 0) {
        cat_feed_game(f, off, o, path, s);
    } else if (s->kind != NULL) {
        cat_feed_ringtone(f, off, o, path, s);
    }
}

static void
cat_feed_items(struct cat_feed *f, const cJSON *root,
               const struct cat_feed_cat *cats, size_t ncats)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "items"), *o;
    size_t       n = 0, k;

    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1
        || cJSON_GetArraySize(arr) > CAT_FEED_ITEMS_MAX) {
        cat_feed_err(f, 0, "items: must be an array of 1..%d items",
                     CAT_FEED_ITEMS_MAX);
        return;
    }
    f->specs = gw_arena_calloc(
        f->a, sizeof(*f->specs) * (size_t) cJSON_GetArraySize(arr));
    if (f->specs == NULL) {
        cat_feed_err(f, 0, "out of memory");
        return;
    }
    cJSON_ArrayForEach(o, arr)
    {
        cat_feed_item(f, n, o, cats, ncats, &f->specs[n]);
        for (k = 0; f->specs[n].sku != NULL && k < n; k++) {
            if (f->specs[k].sku
                && strcmp(f->specs[k].sku, f->specs[n].sku) == 0) {
                cat_feed_err(
                    f, n < f->nitem_off ? f->item_off[n] : 0,
                    "items[%zu].sku: duplicate sku \"%s\" (first at"
                    " items[%zu], line %d)",
                    n, f->specs[n].sku, k,
                    cat_feed_line(f, k < f->nitem_off ? f->item_off[k] : 0));
            }
        }
        n++;
    }
    f->nspecs = n;
}

static int
cat_feed_apply_cats(struct cat_feed *f, struct gw_db *db,
                    const struct cat_feed_cat *cats, size_t ncats, int *made)
{
    MYSQL_ROW row;
    size_t    k;
    int       rc;

    for (k = 0; k < ncats; k++) {
        rc = gw_db_row(db, f->a, &row,
                       "SELECT kind FROM categories WHERE"
                       " slug = %s FOR UPDATE",
                       cats[k].slug);
        if (rc != GW_OK) {
            return rc;
        }
        if (row != NULL && strcmp(row[0], cats[k].kind) != 0) {
            cat_feed_err(f, 0,
                         "categories[%zu].kind: category \"%s\" exists"
                         " with kind %s",
                         k, cats[k].slug, row[0]);
            return GW_EINVAL;
        }
        if (row == NULL) {
            rc = gw_db_exec(db,
                            "INSERT INTO categories (slug, name, kind,"
                            " created_at) VALUES (%s, %s, %s,"
                            " UTC_TIMESTAMP(3))",
                            cats[k].slug, cats[k].name, cats[k].kind);
            if (rc != GW_OK) {
                return rc;
            }
            (*made)++;
        }
    }
    return GW_OK;
}

/*
 * The provider's row. *changed = 1 when an existing row took new values
 * (ON DUPLICATE KEY UPDATE answers 2 affected rows only then): its share
 * and name live in every host's cached items, so the caller bumps the
 * catalog generation (a purchase must never split by a replaced share).
 */
static int
cat_feed_apply_provider(struct cat_feed *f, struct gw_db *db,
                        const struct cat_feed_provider *p, int64_t *pid,
                        int *changed)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_exec(db,
                    "INSERT INTO providers (code, name, revenue_share_bp,"
                    " webhook_url, created_at, updated_at) VALUES (%s, %s,"
                    " %lld, %s, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))"
                    " ON DUPLICATE KEY UPDATE name = VALUES(name),"
                    " revenue_share_bp = VALUES(revenue_share_bp),"
                    " webhook_url = VALUES(webhook_url)",
                    p->code, p->name, (long long) p->share_bp, p->webhook_url);
    *changed = rc == GW_OK && db->affected == 2;
    if (rc == GW_OK) {
        rc = gw_db_row(db, f->a, &row,
                       "SELECT id FROM providers WHERE"
                       " code = %s",
                       p->code);
    }
    if (rc != GW_OK) {
        return rc;
    }
    *pid = row ? gw_db_col_i64(row, 0) : 0;
    return f->onboard != NULL
        ? f->onboard(db, *pid, f->currency, f->onboard_arg)
        : GW_OK;
}

static int
cat_feed_apply(struct cat_feed *f, struct gw_db *db,
               const struct cat_feed_provider *p,
               const struct cat_feed_cat *cats, size_t ncats, int counts[3])
{
    enum cat_upsert how;
    const char     *why = NULL;
    int64_t         pid, id;
    size_t          k;
    int             rc, made = 0, moved = 0;

    memset(counts, 0, 3 * sizeof(int));
    if ((rc = gw_db_begin(db)) != GW_OK) {
        return rc;
    }
    rc = cat_feed_apply_provider(f, db, p, &pid, &moved);
    if (rc == GW_OK) {
        rc = cat_feed_apply_cats(f, db, cats, ncats, &made);
    }
    for (k = 0; rc == GW_OK && k < f->nspecs; k++) {
        f->specs[k].provider_id = pid;
        rc = cat_item_upsert(db, f->a, &f->specs[k], &id, &how, &why);
        if (rc == GW_OK) {
            counts[how]++;
        } else if (rc == GW_EINVAL || rc == GW_ECONFLICT) {
            cat_feed_err(f, k < f->nitem_off ? f->item_off[k] : 0,
                         "items[%zu] (%s): %s", k, f->specs[k].sku, why);
            rc = GW_EINVAL;
        }
    }
    if (rc == GW_OK
        && (moved || made > 0
            || counts[CAT_CREATED] + counts[CAT_UPDATED] > 0)) {
        rc = cat_generation_bump(db);
    }
    if (rc != GW_OK) {
        gw_db_rollback(db);
        return rc;
    }
    return gw_db_commit(db);
}

int
cat_feed_import(struct gw_db *db, struct gw_arena *a, const char *source,
                const char *text, size_t len, const char *content_root,
                const char *currency, FILE *out,
                cat_provider_onboard_pt onboard, void *onboard_arg)
{
    static struct cat_feed   f; /* big (item offsets): one import at a time */
    struct cat_feed_provider p;
    struct cat_feed_cat     *cats;
    cJSON                   *root = NULL;
    const cJSON             *ver;
    size_t                   ncats;
    int                      counts[3], rc, attempt;

    memset(&f, 0, sizeof(f));
    f.source = source, f.text = text, f.len = len, f.root = content_root;
    f.currency = currency, f.out = out, f.a = a;
    f.onboard = onboard, f.onboard_arg = onboard_arg;
    if (cat_feed_parse(&f, &root) != 0) {
        return GW_EINVAL;
    }
    ver = cJSON_GetObjectItemCaseSensitive(root, "feed_version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) {
        cat_feed_err(&f, 0, "feed_version: must be 1");
        return GW_EINVAL;
    }
    cats = gw_arena_calloc(a, sizeof(*cats) * CAT_FEED_CATS_MAX);
    if (cats == NULL) {
        return GW_ERROR;
    }
    cat_feed_members(&f, 0, root, "feed",
                     (const char *const[]){"feed_version", "provider",
                                           "categories", "items", NULL});
    cat_feed_provider(&f, root, &p);
    ncats = cat_feed_categories(&f, root, cats);
    cat_feed_items(&f, root, cats, ncats);
    if (f.nerr > 0) {
        fprintf(out, "%s: rejected, %d error(s); nothing changed\n", source,
                f.nerr);
        return GW_EINVAL;
    }
    for (attempt = 0; attempt < 3; attempt++) {
        rc = cat_feed_apply(&f, db, &p, cats, ncats, counts);
        if (rc != GW_ERETRY) {
            break;
        }
    }
    if (rc != GW_OK) {
        fprintf(out, "%s: rejected (%s); nothing changed\n", source,
                rc == GW_EINVAL ? "see above" : "database error");
        return rc;
    }
    fprintf(out, "%s: %zu items: %d created, %d updated, %d unchanged\n",
            p.code, f.nspecs, counts[CAT_CREATED], counts[CAT_UPDATED],
            counts[CAT_UNCHANGED]);
    return GW_OK;
}
