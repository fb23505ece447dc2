/*
 * cat_item.c — loading items (one SELECT with the assets folded in by
 * GROUP_CONCAT, so a page is one round trip) and their API JSON.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cat.h"
#include "cat_internal.h"
#include "gw_status.h"

static const struct {
    const char *format, *mime, *ext;
} cat_formats[] = {
    {"midi", "audio/midi", ".mid"},
    {"amr", "audio/amr", ".amr"},
    {"mp3", "audio/mpeg", ".mp3"},
};

#define CAT_NFORMATS (sizeof(cat_formats) / sizeof(cat_formats[0]))

const char *
cat_format_mime(const char *format)
{
    size_t i;

    for (i = 0; format != NULL && i < CAT_NFORMATS; i++) {
        if (strcmp(format, cat_formats[i].format) == 0) {
            return cat_formats[i].mime;
        }
    }
    return NULL;
}

const char *
cat_format_ext(const char *format)
{
    size_t i;

    for (i = 0; format != NULL && i < CAT_NFORMATS; i++) {
        if (strcmp(format, cat_formats[i].format) == 0) {
            return cat_formats[i].ext;
        }
    }
    return NULL;
}

/* "fmt:mime:bytes:path|fmt:…" (paths never hold ':' or '|'). */
static void
cat_assets_parse(struct gw_arena *a, const char *s, struct cat_item *it)
{
    char *dup, *rec, *next, *f[4];
    int   k;

    it->nassets = 0;
    if (s == NULL || (dup = gw_arena_strdup(a, s)) == NULL) {
        return;
    }
    for (rec = dup; rec != NULL && it->nassets < CAT_FORMATS_MAX; rec = next) {
        next = strchr(rec, '|');
        if (next != NULL) {
            *next++ = '\0';
        }
        for (k = 0, f[0] = rec; k < 3; k++) {
            char *c = strchr(f[k], ':');
            if (c == NULL) {
                break;
            }
            *c = '\0';
            f[k + 1] = c + 1;
        }
        if (k == 3) {
            struct cat_asset *as = &it->assets[it->nassets++];
            as->format = f[0];
            as->mime = f[1];
            as->bytes = strtoll(f[2], NULL, 10);
            as->path = f[3];
        }
    }
}

void
cat_item_from_row(struct gw_arena *a, MYSQL_ROW row, struct cat_item *it)
{
    cat_item_base_from_row(row, it);
    cat_assets_parse(a, row[19], it);
}

void
cat_item_base_from_row(MYSQL_ROW row, struct cat_item *it)
{
    memset(it, 0, sizeof(*it));
    it->id = gw_db_col_i64(row, 0);
    it->kind = row[1];
    it->sku = row[2];
    it->title = row[3];
    it->artist = row[4];
    it->provider_id = gw_db_col_i64(row, 5);
    it->provider_name = row[6];
    it->category = row[7];
    it->price = gw_db_col_i64(row, 8);
    it->currency = row[9];
    it->status = row[10];
    it->popularity = gw_db_col_i64(row, 11);
    it->created_at = row[12];
    it->preview_path = row[13];
    it->min_players = gw_db_col_i64(row, 14);
    it->max_players = gw_db_col_i64(row, 15);
    it->pricing = row[16];
    it->pass_days = gw_db_col_i64(row, 17);
    it->share_bp = gw_db_col_i64(row, 18);
}

/* Columns of CAT_ITEM_COLS. */
#define CAT_ITEM_NCOLS 20

static int
cat_item_row(struct gw_db *db, struct gw_arena *a, int64_t id, MYSQL_ROW *row)
{
    int rc;

    rc = gw_db_row(db, a, row,
                   "SELECT " CAT_ITEM_COLS " FROM " CAT_ITEM_FROM
                   " WHERE i.id = %lld",
                   (long long) id);
    return rc == GW_OK && *row == NULL ? GW_ENOTFOUND : rc;
}

static int
cat_item_use(struct gw_arena *a, MYSQL_ROW row, int active_only,
             struct cat_item *out)
{
    cat_item_from_row(a, row, out);
    if (active_only && strcmp(out->status, "active") != 0) {
        return GW_ENOTFOUND;
    }
    return GW_OK;
}

int
cat_item_find(struct gw_db *db, struct gw_arena *a, int64_t id, int active_only,
              struct cat_item *out)
{
    MYSQL_ROW row;
    int       rc = cat_item_row(db, a, id, &row);

    return rc != GW_OK ? rc : cat_item_use(a, row, active_only, out);
}

/*
 * The item cache: one row per slot, packed as CAT_ITEM_NCOLS records of a
 * length (-1: SQL NULL) and the bytes with a NUL, in one malloc'd blob.
 */
struct cat_item_slot {
    pthread_mutex_t lock;
    int64_t         id, gen;
    char           *blob;
    size_t          len;
};

static struct cat_item_slot cat_item_slots[CAT_ITEM_CACHE_SLOTS];
static pthread_once_t       cat_item_once = PTHREAD_ONCE_INIT;

static void
cat_item_slots_init(void)
{
    size_t i;

    for (i = 0; i < CAT_ITEM_CACHE_SLOTS; i++) {
        pthread_mutex_init(&cat_item_slots[i].lock, NULL);
    }
}

static char *
cat_item_pack(MYSQL_ROW row, size_t *len)
{
    size_t  n = 0, i, l;
    int64_t sl;
    char   *blob, *p;

    for (i = 0; i < CAT_ITEM_NCOLS; i++) {
        n += sizeof(int64_t) + (row[i] != NULL ? strlen(row[i]) + 1 : 0);
    }
    if ((blob = malloc(n)) == NULL) {
        return NULL;
    }
    for (i = 0, p = blob; i < CAT_ITEM_NCOLS; i++) {
        l = row[i] != NULL ? strlen(row[i]) : 0;
        sl = row[i] != NULL ? (int64_t) l : -1;
        memcpy(p, &sl, sizeof(sl));
        p += sizeof(sl);
        if (row[i] != NULL) {
            memcpy(p, row[i], l + 1);
            p += l + 1;
        }
    }
    *len = n;
    return blob;
}

/* The slot's row copied into a (strings live until the arena's reset). */
static MYSQL_ROW
cat_item_unpack(struct gw_arena *a, const char *blob, size_t len)
{
    MYSQL_ROW row = gw_arena_alloc(a, CAT_ITEM_NCOLS * sizeof(char *));
    char     *p = gw_arena_alloc(a, len);
    int64_t   sl;
    size_t    i;

    if (row == NULL || p == NULL) {
        return NULL;
    }
    memcpy(p, blob, len);
    for (i = 0; i < CAT_ITEM_NCOLS; i++) {
        memcpy(&sl, p, sizeof(sl));
        p += sizeof(sl);
        row[i] = sl >= 0 ? p : NULL;
        p += sl >= 0 ? (size_t) sl + 1 : 0;
    }
    return row;
}

int
cat_item_find_gen(struct gw_db *db, struct gw_arena *a, int64_t id, int64_t gen,
                  int active_only, struct cat_item *out)
{
    struct cat_item_slot *s;
    MYSQL_ROW             row = NULL;
    char                 *blob, *old;
    size_t                len = 0;
    int                   rc;

    if (gen < 0 || id <= 0) {
        return cat_item_find(db, a, id, active_only, out);
    }
    pthread_once(&cat_item_once, cat_item_slots_init);
    s = &cat_item_slots[(uint64_t) id % CAT_ITEM_CACHE_SLOTS];
    pthread_mutex_lock(&s->lock);
    if (s->blob != NULL && s->id == id && s->gen == gen) {
        row = cat_item_unpack(a, s->blob, s->len);
    }
    pthread_mutex_unlock(&s->lock);
    if (row != NULL) {
        return cat_item_use(a, row, active_only, out);
    }
    rc = cat_item_row(db, a, id, &row);
    if (rc != GW_OK) {
        return rc;
    }
    if ((blob = cat_item_pack(row, &len)) != NULL) {
        pthread_mutex_lock(&s->lock);
        old = s->blob;
        s->blob = blob;
        s->len = len;
        s->id = id;
        s->gen = gen;
        pthread_mutex_unlock(&s->lock);
        free(old);
    }
    return cat_item_use(a, row, active_only, out);
}

const struct cat_asset *
cat_item_asset(const struct cat_item *item, const char *format)
{
    size_t i;

    for (i = 0; format != NULL && i < item->nassets; i++) {
        if (strcmp(item->assets[i].format, format) == 0) {
            return &item->assets[i];
        }
    }
    return NULL;
}

static void
cat_item_json_game(cJSON *o, const struct cat_item *it)
{
    cJSON_AddNumberToObject(o, "min_players", (double) it->min_players);
    cJSON_AddNumberToObject(o, "max_players", (double) it->max_players);
    cJSON_AddStringToObject(o, "pricing", it->pricing ? it->pricing : "");
    if (it->pricing != NULL && strcmp(it->pricing, "pass") == 0) {
        cJSON_AddNumberToObject(o, "pass_days", (double) it->pass_days);
    } else {
        cJSON_AddNullToObject(o, "pass_days");
    }
}

cJSON *
cat_item_json_new(const struct cat_item *it)
{
    cJSON *o = cJSON_CreateObject(), *prov, *fmts, *f;
    char   url[64];
    size_t i;

    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double) it->id);
    cJSON_AddStringToObject(o, "kind", it->kind);
    cJSON_AddStringToObject(o, "sku", it->sku);
    cJSON_AddStringToObject(o, "title", it->title);
    if (it->artist != NULL) {
        cJSON_AddStringToObject(o, "artist", it->artist);
    } else {
        cJSON_AddNullToObject(o, "artist");
    }
    prov = cJSON_AddObjectToObject(o, "provider");
    if (prov != NULL) {
        cJSON_AddNumberToObject(prov, "id", (double) it->provider_id);
        cJSON_AddStringToObject(prov, "name", it->provider_name);
    }
    cJSON_AddStringToObject(o, "category", it->category);
    cJSON_AddNumberToObject(o, "price", (double) it->price);
    cJSON_AddStringToObject(o, "currency", it->currency);
    fmts = cJSON_AddArrayToObject(o, "formats");
    for (i = 0; fmts != NULL && i < it->nassets; i++) {
        f = cJSON_CreateObject();
        if (f == NULL) {
            break;
        }
        cJSON_AddStringToObject(f, "format", it->assets[i].format);
        cJSON_AddStringToObject(f, "mime", it->assets[i].mime);
        cJSON_AddNumberToObject(f, "bytes", (double) it->assets[i].bytes);
        cJSON_AddItemToArray(fmts, f);
    }
    if (it->preview_path != NULL) {
        snprintf(url, sizeof(url), "/v1/previews/%lld", (long long) it->id);
        cJSON_AddStringToObject(o, "preview_url", url);
    } else {
        cJSON_AddNullToObject(o, "preview_url");
    }
    cJSON_AddNumberToObject(o, "popularity", (double) it->popularity);
    cJSON_AddStringToObject(o, "created_at", it->created_at);
    if (strcmp(it->kind, "game") == 0) {
        cat_item_json_game(o, it);
    }
    return o;
}

int
cat_generation_bump(struct gw_db *db)
{
    return gw_db_exec(db,
                      "UPDATE catalog_meta SET generation = generation"
                      " + 1, updated_at = UTC_TIMESTAMP(3) WHERE id = 1");
}

int
cat_generation_get(struct gw_db *db, struct gw_arena *a, int64_t *gen)
{
    MYSQL_ROW row;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT generation FROM catalog_meta WHERE id = 1");
    if (rc != GW_OK) {
        return rc;
    }
    *gen = row != NULL ? gw_db_col_i64(row, 0) : 0;
    return GW_OK;
}
