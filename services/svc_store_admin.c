/*
 * svc_store_admin.c — admin items (create, price change, retire) and
 * refunds of purchases. Catalog changes bump the catalog generation in
 * their transaction and refresh this host's copy right after the commit,
 * so the next catalog GET on this host is already fresh.
 */
#include <string.h>

#include "bill.h"
#include "cat.h"
#include "cat_cache.h"
#include "cat_feed.h"
#include "gw_idem.h"
#include "gw_json.h"
#include "gw_outbox.h"
#include "gw_request.h"
#include "gw_status.h"
#include "gw_thread.h"
#include "svc_account.h"
#include "svc_store.h"
#include "svc_store_internal.h"

/* assets: [{"format","path"}] → spec files (checked in the store). */
static int
svc_item_assets(struct gw_request *r, struct cat_item_spec *s)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r->json, "assets");
    const cJSON *a,
        *pv = cJSON_GetObjectItemCaseSensitive(r->json, "preview_path");
    const char *why = NULL;

    if (arr != NULL && !cJSON_IsArray(arr)) {
        gw_request_problem(r, "assets must be an array");
        return GW_EINVAL;
    }
    cJSON_ArrayForEach(a, arr)
    {
        struct cat_file *f = &s->assets[s->nassets];
        if (s->nassets == CAT_FORMATS_MAX
            || gw_json_get_str(r->arena, a, "format", 1, 8, &f->format, NULL,
                               &why)
                != GW_OK
            || gw_json_get_str(r->arena, a, "path", 1, CAT_PATH_MAX, &f->path,
                               NULL, &why)
                != GW_OK
            || cat_format_mime(f->format) == NULL
            || cat_file_check(r->cfg->downloads.content_dir, f, &why) != 0) {
            gw_request_problem(r, "assets[%zu]: %s", s->nassets,
                               why ? why : "format must be midi|amr|mp3");
            return GW_EINVAL;
        }
        s->nassets++;
    }
    if (pv != NULL && !cJSON_IsNull(pv)) {
        if (gw_json_get_str(r->arena, r->json, "preview_path", 1, CAT_PATH_MAX,
                            &s->preview.path, NULL, &why)
            != GW_OK) {
            gw_request_problem(r, "%s", why);
            return GW_EINVAL;
        }
        s->has_preview = 1;
        if (cat_file_check(r->cfg->downloads.content_dir, &s->preview, &why)
            != 0) {
            gw_request_problem(r, "preview_path: %s", why);
            return GW_EINVAL;
        }
    }
    if (strcmp(s->kind, "ringtone") == 0 && s->nassets == 0) {
        gw_request_problem(r, "a ringtone needs assets");
        return GW_EINVAL;
    }
    return GW_OK;
}

static int
svc_item_spec(struct gw_request *r, struct cat_item_spec *s)
{
    const char *why = NULL;
    int         rc, game;

    memset(s, 0, sizeof(*s));
    s->currency = r->cfg->billing.currency;
    rc =
        gw_json_get_str(r->arena, r->json, "kind", 1, 16, &s->kind, NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_str(r->arena, r->json, "sku", 1, CAT_SKU_MAX, &s->sku,
                             NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_str(r->arena, r->json, "title", 1, CAT_TITLE_MAX,
                             &s->title, NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_str(r->arena, r->json, "artist", 0, CAT_ARTIST_MAX,
                             &s->artist, NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_i64(r->arena, r->json, "provider_id", 1, 1,
                             GW_JSON_INT_MAX, &s->provider_id, NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_str(r->arena, r->json, "category", 1, CAT_SLUG_MAX,
                             &s->category, NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_i64(r->arena, r->json, "price", 1, 0, CAT_PRICE_MAX,
                             &s->price, NULL, &why);
    if (rc == GW_OK)
        rc = gw_json_get_str(r->arena, r->json, "currency", 0, 3, &s->currency,
                             NULL, &why);
    if (rc != GW_OK
        || (strcmp(s->kind, "ringtone") != 0 && strcmp(s->kind, "game") != 0)
        || !cat_slug_valid(s->sku, CAT_SKU_MAX, 1) || s->title[0] == '\0'
        || strcmp(s->currency, r->cfg->billing.currency) != 0) {
        gw_request_problem(
            r, "%s",
            why ? why : "kind, sku ([A-Z0-9-]), title or currency invalid");
        return GW_EINVAL;
    }
    game = strcmp(s->kind, "game") == 0;
    if (game) {
        rc = gw_json_get_i64(r->arena, r->json, "min_players", 1, 1,
                             CAT_PLAYERS_MAX, &s->min_players, NULL, &why);
        if (rc == GW_OK)
            rc = gw_json_get_i64(r->arena, r->json, "max_players", 1,
                                 s->min_players, CAT_PLAYERS_MAX,
                                 &s->max_players, NULL, &why);
        if (rc == GW_OK)
            rc = gw_json_get_str(r->arena, r->json, "pricing", 1, 16,
                                 &s->pricing, NULL, &why);
        if (rc == GW_OK)
            rc = gw_json_get_i64(r->arena, r->json, "pass_days", 0, 1,
                                 CAT_PASS_DAYS_MAX, &s->pass_days, NULL, &why);
        if (rc == GW_OK)
            rc = gw_json_get_str(r->arena, r->json, "allocator_url", 1,
                                 CAT_URL_MAX, &s->allocator_url, NULL, &why);
        if (rc != GW_OK
            || (strcmp(s->pricing, "pass") == 0) != (s->pass_days > 0)
            || (strcmp(s->pricing, "pass") != 0
                && strcmp(s->pricing, "per_play") != 0)) {
            gw_request_problem(
                r, "%s",
                why ? why : "pricing pass needs pass_days; per_play none");
            return GW_EINVAL;
        }
        return GW_OK;
    }
    return svc_item_assets(r, s);
}

/* Commits the open transaction, refreshes the host's generation, replies. */
static int
svc_item_commit_reply(struct gw_request *r, int64_t id, int status)
{
    struct cat_item it;
    int             rc = gw_db_commit(&r->thr->db);

    if (rc != GW_OK) {
        return rc;
    }
    cat_cache_refresh(&r->thr->db, r->arena);
    rc = cat_item_find(&r->thr->db, r->arena, id, 0, &it);
    if (rc != GW_OK) {
        return rc;
    }
    return svc_store_reply(r, status, cat_item_json_new(&it));
}

static int
svc_item_provider_check(struct gw_request *r, int64_t id, const char **why)
{
    MYSQL_ROW row;
    int       rc =
        gw_db_row(&r->thr->db, r->arena, &row,
                  "SELECT id FROM providers WHERE id = %lld", (long long) id);

    if (rc == GW_OK && row == NULL) {
        *why = "unknown provider_id";
        return GW_EINVAL;
    }
    return rc;
}

int
svc_admin_item_create(struct gw_request *r)
{
    struct cat_item_spec s;
    enum cat_upsert      how = CAT_CREATED;
    const char          *why = NULL;
    int64_t              id = 0;
    int                  rc = svc_item_spec(r, &s);

    if (rc != GW_OK) {
        return rc;
    }
    if ((rc = gw_db_begin(&r->thr->db)) != GW_OK) {
        return rc;
    }
    rc = svc_item_provider_check(r, s.provider_id, &why);
    if (rc == GW_OK) {
        rc = cat_item_upsert(&r->thr->db, r->arena, &s, &id, &how, &why);
    }
    if (rc == GW_OK && how != CAT_CREATED) {
        rc = GW_ECONFLICT;
        why = "an item with this provider and sku exists";
    }
    if (rc == GW_OK) {
        rc = cat_generation_bump(&r->thr->db);
    }
    if (rc != GW_OK) {
        gw_db_rollback(&r->thr->db);
        if (why != NULL) {
            gw_request_problem(r, "%s", why);
        }
        /* A provider that does not exist fails the insert: say so. */
        return rc == GW_ERROR ? GW_EINVAL : rc;
    }
    r->location =
        gw_arena_printf(r->arena, "/v1/catalog/items/%lld", (long long) id);
    return svc_item_commit_reply(r, id, 201);
}

int
svc_admin_item_patch(struct gw_request *r)
{
    struct cat_item it;
    const char     *status = NULL, *title = NULL, *why = NULL;
    char            raw[CAT_TITLE_MAX * 8 + 2], search[CAT_SEARCH_TEXT_MAX];
    int64_t         id, price = 0;
    int             has_price = 0, rc;

    if ((rc = svc_store_id_param(r, 0, &id)) != GW_OK) {
        return rc;
    }
    rc = gw_json_get_i64(r->arena, r->json, "price", 0, 0, CAT_PRICE_MAX,
                         &price, &has_price, &why);
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "status", 0, 16, &status, NULL,
                             &why);
    }
    if (rc == GW_OK) {
        rc = gw_json_get_str(r->arena, r->json, "title", 0, CAT_TITLE_MAX,
                             &title, NULL, &why);
    }
    if (rc != GW_OK
        || (status != NULL && strcmp(status, "active") != 0
            && strcmp(status, "retired") != 0)
        || (title != NULL && title[0] == '\0')) {
        gw_request_problem(r, "%s",
                           why ? why
                               : "status must be active or"
                                 " retired; title not empty");
        return GW_EINVAL;
    }
    if ((rc = cat_item_find(&r->thr->db, r->arena, id, 0, &it)) != GW_OK) {
        gw_request_problem(r, "no such item");
        return rc;
    }
    snprintf(raw, sizeof(raw), "%s %s", title ? title : it.title,
             it.artist ? it.artist : "");
    if (cat_search_normalize(raw, search, sizeof(search)) < 0) {
        gw_request_problem(r, "title is not valid UTF-8");
        return GW_EINVAL;
    }
    if ((rc = gw_db_begin(&r->thr->db)) != GW_OK) {
        return rc;
    }
    rc = gw_db_exec(&r->thr->db,
                    "UPDATE items SET price = IF(%d, %lld, price), status ="
                    " COALESCE(%s, status), title = COALESCE(%s, title),"
                    " search_text = %s, updated_at = UTC_TIMESTAMP(3)"
                    " WHERE id = %lld",
                    has_price, (long long) price, status, title, search,
                    (long long) id);
    if (rc == GW_OK) {
        rc = cat_generation_bump(&r->thr->db);
    }
    if (rc != GW_OK) {
        gw_db_rollback(&r->thr->db);
        return rc;
    }
    return svc_item_commit_reply(r, id, 200);
}
