/*
 * cat_category.c — a category's slug as its (id, kind), remembered by the
 * worker process.
 *
 * A category page reads items' (category_id, status, key, id) index from
 * the cursor on. Turning the slug into the id inside the page's statement
 * (a join with categories, read by the optimizer as a constant table)
 * cost each page a unique-key lookup and a second table in the plan: 0.12
 * against 0.08 ms of mariadbd CPU for the 20-item id query at 100,000
 * items. Categories are never renamed, re-kinded or deleted (a feed only
 * adds them, cat_feed.c, and bumps the catalog generation), so a slug's
 * (id, kind) is read once per process and generation; a slug that is not
 * found is not remembered (the next import may add it).
 *
 * Direct-mapped by a hash of the slug, one mutex (held for a copy of a
 * slot). Thread-safe.
 */
#include <pthread.h>
#include <string.h>

#include "cat_internal.h"
#include "gw_status.h"
#include "gw_util.h"

#define CAT_CATEGORY_SLOTS 256

struct cat_category_slot {
    int64_t gen; /* 0: empty */
    int64_t id;
    char    slug[CAT_SLUG_MAX + 1];
    char    kind[CAT_CATEGORY_KIND_MAX];
};

static struct cat_category_slot cat_categories[CAT_CATEGORY_SLOTS];
static pthread_mutex_t          cat_categories_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cat_category_slot *
cat_category_slot(const char *slug)
{
    return &cat_categories[gw_hash_str(slug) % CAT_CATEGORY_SLOTS];
}

/* 1 and the slot's (id, kind) when it holds slug for gen. */
static int
cat_category_get(const char *slug, int64_t gen, int64_t *id,
                 char kind[CAT_CATEGORY_KIND_MAX])
{
    struct cat_category_slot *s = cat_category_slot(slug);
    int                       hit;

    pthread_mutex_lock(&cat_categories_lock);
    hit = s->gen == gen && strcmp(s->slug, slug) == 0;
    if (hit) {
        *id = s->id;
        memcpy(kind, s->kind, CAT_CATEGORY_KIND_MAX);
    }
    pthread_mutex_unlock(&cat_categories_lock);
    return hit;
}

static void
cat_category_put(const char *slug, int64_t gen, int64_t id, const char *kind)
{
    struct cat_category_slot *s = cat_category_slot(slug);

    pthread_mutex_lock(&cat_categories_lock);
    s->gen = gen;
    s->id = id;
    memcpy(s->slug, slug, strlen(slug) + 1);
    memcpy(s->kind, kind, strlen(kind) + 1);
    pthread_mutex_unlock(&cat_categories_lock);
}

int
cat_category_find(struct gw_db *db, struct gw_arena *a, const char *slug,
                  int64_t gen, int64_t *id, char kind[CAT_CATEGORY_KIND_MAX])
{
    MYSQL_ROW row;
    int       rc;

    *id = 0;
    kind[0] = '\0';
    if (strlen(slug) > CAT_SLUG_MAX) {
        return GW_OK; /* no such category (the handler refuses these) */
    }
    if (gen > 0 && cat_category_get(slug, gen, id, kind)) {
        return GW_OK;
    }
    rc = gw_db_row(db, a, &row,
                   "SELECT id, kind FROM categories WHERE slug = %s", slug);
    if (rc != GW_OK || row == NULL) {
        return rc;
    }
    if (strlen(row[1]) >= CAT_CATEGORY_KIND_MAX) {
        return GW_ERROR; /* an enum of the schema: cannot happen */
    }
    *id = gw_db_col_i64(row, 0);
    memcpy(kind, row[1], strlen(row[1]) + 1);
    if (gen > 0) {
        cat_category_put(slug, gen, *id, kind);
    }
    return GW_OK;
}
