/*
 * cat_feed.h — content-store files, item upserts, and the provider catalog
 * feed importer (docs/catalog-feed.md).
 *
 * The importer parses and validates a whole feed before writing anything,
 * collects up to CAT_FEED_ERRORS_MAX errors ("SOURCE:LINE: PATH: reason"),
 * then applies it in ONE transaction (provider, its revenue accounts,
 * categories, items, assets, catalog generation): all or nothing.
 * Importing the same feed again changes nothing.
 *
 * Thread-safety: reentrant. Memory: the feed text is the caller's; all
 * else lives in the arena given.
 */
#ifndef CAT_FEED_H
#define CAT_FEED_H

#include <stdint.h>
#include <stdio.h>

#include "cat.h"
#include "gw_arena.h"
#include "gw_db.h"

#define CAT_FEED_BYTES_MAX    (8 * 1024 * 1024)
#define CAT_FEED_ITEMS_MAX    10000
#define CAT_FEED_CATS_MAX     1000
#define CAT_FEED_ERRORS_MAX   100
#define CAT_FEED_DEPTH_MAX    16
#define CAT_PROVIDER_CODE_MAX 64
#define CAT_PROVIDER_NAME_MAX 200
#define CAT_SHARE_BP_MAX      10000 /* basis points (= BILL_SHARE_BP_MAX) */

struct cat_file {
    const char *format; /* NULL for a preview (always mp3) */
    const char *path;
    int64_t     bytes;
    char        sha256[65];
};

/* An item as a feed or the admin API describes it. */
struct cat_item_spec {
    int64_t         provider_id;
    const char     *kind, *sku, *title, *artist, *category, *currency;
    int64_t         price;
    struct cat_file assets[CAT_FORMATS_MAX];
    size_t          nassets;
    int             has_preview;
    struct cat_file preview;
    int64_t         min_players, max_players, pass_days; /* games */
    const char     *pricing, *allocator_url;
};

enum cat_upsert { CAT_CREATED, CAT_UPDATED, CAT_UNCHANGED };

/*
 * Checks a content-store file: path rules (no absolute, no "." or ".."
 * segment, allowed characters, extension of format), resolves inside root
 * (symlinks too), regular file, 1..CAT_FILE_BYTES_MAX bytes, the format's
 * magic; fills f->bytes and f->sha256. 0, or -1 with *why (static text).
 */
int cat_file_check(const char *root, struct cat_file *f, const char **why);

/* 1 when s matches [a-z0-9-]{1,max} (upper: [A-Z0-9-]). */
int cat_slug_valid(const char *s, size_t max, int upper);

/*
 * Creates or updates the item (provider, sku) inside the caller's
 * transaction; the category must exist with the item's kind
 * (GW_EINVAL, *why), an existing item never changes kind (GW_ECONFLICT).
 * Status is never touched. Sets *id and *outcome.
 */
int cat_item_upsert(struct gw_db *db, struct gw_arena *a,
                    const struct cat_item_spec *s, int64_t *id,
                    enum cat_upsert *outcome, const char **why);

/*
 * Validates and imports the feed text (len bytes) named source (file name
 * or URL) with files under content_root. Errors and the summary line go
 * to out. Returns GW_OK, GW_EINVAL (feed rejected, nothing changed) or a
 * database status.
 */
/*
 * Called inside the import's transaction once the provider row exists, so
 * the caller (vasctl) can onboard it in other modules (billing's revenue
 * accounts) atomically with the import; the catalog itself depends only on
 * the gateway. GW_OK or a status that rolls the import back.
 */
typedef int (*cat_provider_onboard_pt)(struct gw_db *db, int64_t provider_id,
                                       const char *currency, void *arg);

int cat_feed_import(struct gw_db *db, struct gw_arena *a, const char *source,
                    const char *text, size_t len, const char *content_root,
                    const char *currency, FILE *out,
                    cat_provider_onboard_pt onboard, void *onboard_arg);

#endif /* CAT_FEED_H */
