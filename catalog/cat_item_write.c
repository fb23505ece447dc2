/*
 * cat_item_write.c — content-store file checks and item upserts, shared by
 * the feed importer and the admin API.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cat_feed.h"
#include "gw_status.h"
#include "gw_util.h"

int
cat_slug_valid(const char *s, size_t max, int upper)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || c == '-'
              || (upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z')))) {
            return 0;
        }
    }
    return n >= 1 && n <= max;
}

static int
cat_path_valid(const char *p)
{
    const char *seg = p, *c;
    size_t      n = strlen(p);

    if (n == 0 || n > CAT_PATH_MAX || p[0] == '/') {
        return 0;
    }
    for (c = p;; c++) {
        if (*c == '/' || *c == '\0') {
            size_t len = (size_t) (c - seg);
            if (len == 0 || (len == 1 && seg[0] == '.')
                || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
                return 0;
            }
            if (*c == '\0') {
                return 1;
            }
            seg = c + 1;
        } else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')
                     || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_'
                     || *c == '-')) {
            return 0;
        }
    }
}

static int
cat_magic_ok(const char *format, const unsigned char *b, size_t n)
{
    if (strcmp(format, "midi") == 0) {
        return n >= 4 && memcmp(b, "MThd", 4) == 0;
    }
    if (strcmp(format, "amr") == 0) {
        return n >= 6 && memcmp(b, "#!AMR\n", 6) == 0;
    }
    return n >= 3
        && (memcmp(b, "ID3", 3) == 0
            || (b[0] == 0xff && (b[1] & 0xe0) == 0xe0));
}

/* Reads the whole (size-checked) file and hashes it. */
static int
cat_file_read(const char *full, struct cat_file *f, const char *format,
              const char **why)
{
    struct stat    st;
    unsigned char *buf;
    ssize_t        got;
    size_t         off = 0;
    int            fd, ok;

    if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0
        || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        *why = "file missing or not a regular file";
        return -1;
    }
    if (st.st_size < 1 || st.st_size > CAT_FILE_BYTES_MAX) {
        close(fd);
        *why = "file size outside 1..10485760 bytes";
        return -1;
    }
    if ((buf = malloc((size_t) st.st_size)) == NULL) {
        close(fd);
        *why = "out of memory";
        return -1;
    }
    while (off < (size_t) st.st_size
           && (got = read(fd, buf + off, (size_t) st.st_size - off)) > 0) {
        off += (size_t) got;
    }
    close(fd);
    ok = off == (size_t) st.st_size && cat_magic_ok(format, buf, off);
    if (ok) {
        f->bytes = (int64_t) off;
        gw_sha256_hex(buf, off, f->sha256);
    }
    free(buf);
    if (!ok) {
        *why = "file does not start with its format's magic bytes";
    }
    return ok ? 0 : -1;
}

int
cat_file_check(const char *root, struct cat_file *f, const char **why)
{
    const char *format = f->format ? f->format : "mp3";
    const char *ext = cat_format_ext(format), *dot;
    char        rroot[PATH_MAX], joined[PATH_MAX], full[PATH_MAX];
    size_t      rl;

    if (ext == NULL || !cat_path_valid(f->path)) {
        *why = "path must be 1..255 of [A-Za-z0-9._/-], relative, without"
               " empty, . or .. segments";
        return -1;
    }
    dot = strrchr(f->path, '.');
    if (dot == NULL || strcmp(dot, ext) != 0) {
        *why = "file extension does not match the format";
        return -1;
    }
    if (realpath(root, rroot) == NULL
        || (size_t) snprintf(joined, sizeof(joined), "%s/%s", rroot, f->path)
            >= sizeof(joined)) {
        *why = "content store directory not found";
        return -1;
    }
    if (realpath(joined, full) == NULL) {
        *why = "file missing or not a regular file";
        return -1;
    }
    rl = strlen(rroot);
    if (strncmp(full, rroot, rl) != 0 || full[rl] != '/') {
        *why = "path resolves outside the content store";
        return -1;
    }
    return cat_file_read(full, f, format, why);
}

/* Canonical text of everything a feed sets on an item, hashed. */
static void
cat_spec_hash(const struct cat_item_spec *s, char out[65])
{
    struct gw_buf b = {0};
    size_t        i;

    gw_buf_printf(&b, "%s\n%s\n%s\n%s\n%s\n%lld\n%s\n", s->kind, s->title,
                  s->artist ? s->artist : "\x01", s->category, s->currency,
                  (long long) s->price, s->pricing ? s->pricing : "");
    gw_buf_printf(&b, "%lld %lld %lld %s\n", (long long) s->min_players,
                  (long long) s->max_players, (long long) s->pass_days,
                  s->allocator_url ? s->allocator_url : "");
    for (i = 0; i < s->nassets; i++) {
        gw_buf_printf(&b, "%s %s %lld %s\n", s->assets[i].format,
                      s->assets[i].path, (long long) s->assets[i].bytes,
                      s->assets[i].sha256);
    }
    if (s->has_preview) {
        gw_buf_printf(&b, "p %s %lld %s\n", s->preview.path,
                      (long long) s->preview.bytes, s->preview.sha256);
    }
    gw_sha256_hex(b.data ? b.data : "", b.len, out);
    gw_buf_free(&b);
}

static int
cat_spec_assets_write(struct gw_db *db, const struct cat_item_spec *s,
                      int64_t id)
{
    size_t i;
    int    rc;

    rc = gw_db_exec(db, "DELETE FROM item_assets WHERE item_id = %lld",
                    (long long) id);
    for (i = 0; rc == GW_OK && i < s->nassets; i++) {
        const struct cat_file *f = &s->assets[i];
        rc = gw_db_exec(db,
                        "INSERT INTO item_assets (item_id, format, path,"
                        " mime, bytes, sha256) VALUES (%lld, %s, %s, %s,"
                        " %lld, %s)",
                        (long long) id, f->format, f->path,
                        cat_format_mime(f->format), (long long) f->bytes,
                        f->sha256);
    }
    return rc;
}

/* Writes the item row (insert when *id == 0, else update). A new item's
 * id comes from the sequence items_ids (migration 035), not from
 * AUTO_INCREMENT: RETURNING reads it (there is no insert id). */
static int
cat_spec_row_write(struct gw_db *db, struct gw_arena *a,
                   const struct cat_item_spec *s, int64_t cat_id,
                   const char *search, const char *hash, int64_t *id)
{
    const struct cat_file *pv = s->has_preview ? &s->preview : NULL;
    int                    game = strcmp(s->kind, "game") == 0, rc;
    MYSQL_ROW              row;

#define CAT_ROW_VALUES                                                         \
    s->title, s->artist, (long long) cat_id, (long long) s->price,             \
        s->currency, search, pv ? pv->path : NULL,                             \
        pv ? (long long) pv->bytes : 0LL, pv ? pv->sha256 : NULL, game,        \
        (long long) s->min_players, game, (long long) s->max_players,          \
        game ? s->pricing : NULL, game && s->pass_days > 0,                    \
        (long long) s->pass_days, game ? s->allocator_url : NULL, hash
    if (*id == 0) {
        rc = gw_db_row(
            db, a, &row,
            "INSERT INTO items (provider_id, sku, kind, title, artist,"
            " category_id, price, currency, search_text, preview_path,"
            " preview_bytes, preview_sha256, min_players, max_players,"
            " pricing, pass_days, allocator_url, feed_hash, created_at,"
            " updated_at) VALUES (%lld, %s, %s, %s, %s, %lld, %lld, %s, %s,"
            " %s, NULLIF(%lld, 0), %s, IF(%d, %lld, NULL), IF(%d, %lld, NULL),"
            " %s, IF(%d, %lld, NULL), %s, %s, UTC_TIMESTAMP(3),"
            " UTC_TIMESTAMP(3)) RETURNING id",
            (long long) s->provider_id, s->sku, s->kind, CAT_ROW_VALUES);
        if (rc == GW_OK && row == NULL) {
            rc = GW_ERROR;
        }
        *id = rc == GW_OK ? gw_db_col_i64(row, 0) : 0;
        return rc;
    }
    return gw_db_exec(
        db,
        "UPDATE items SET title = %s, artist = %s, category_id = %lld,"
        " price = %lld, currency = %s, search_text = %s, preview_path = %s,"
        " preview_bytes = NULLIF(%lld, 0), preview_sha256 = %s,"
        " min_players = IF(%d, %lld, NULL), max_players = IF(%d, %lld, NULL),"
        " pricing = %s, pass_days = IF(%d, %lld, NULL), allocator_url = %s,"
        " feed_hash = %s, updated_at = UTC_TIMESTAMP(3) WHERE id = %lld",
        CAT_ROW_VALUES, (long long) *id);
#undef CAT_ROW_VALUES
}

int
cat_item_upsert(struct gw_db *db, struct gw_arena *a,
                const struct cat_item_spec *s, int64_t *id,
                enum cat_upsert *outcome, const char **why)
{
    char      hash[65], raw[CAT_TITLE_MAX * 4 + CAT_ARTIST_MAX * 4 + 2];
    char      search[CAT_SEARCH_TEXT_MAX * 2];
    MYSQL_ROW row;
    int64_t   cat_id;
    int       rc;

    rc = gw_db_row(db, a, &row,
                   "SELECT id, kind FROM categories"
                   " WHERE slug = %s",
                   s->category);
    if (rc != GW_OK) {
        return rc;
    }
    if (row == NULL || strcmp(row[1], s->kind) != 0) {
        *why = row == NULL ? "unknown category" : "category of another kind";
        return GW_EINVAL;
    }
    cat_id = gw_db_col_i64(row, 0);
    snprintf(raw, sizeof(raw), "%s %s", s->title, s->artist ? s->artist : "");
    if (cat_search_normalize(raw, search, CAT_SEARCH_TEXT_MAX) < 0) {
        *why = "title or artist is not valid UTF-8";
        return GW_EINVAL;
    }
    cat_spec_hash(s, hash);
    rc = gw_db_row(db, a, &row,
                   "SELECT id, kind, feed_hash FROM items"
                   " WHERE provider_id = %lld AND sku = %s FOR UPDATE",
                   (long long) s->provider_id, s->sku);
    if (rc != GW_OK) {
        return rc;
    }
    *id = row ? gw_db_col_i64(row, 0) : 0;
    if (row != NULL && strcmp(row[1], s->kind) != 0) {
        *why = "an existing item never changes kind";
        return GW_ECONFLICT;
    }
    if (row != NULL && row[2] != NULL && strcmp(row[2], hash) == 0) {
        *outcome = CAT_UNCHANGED;
        return GW_OK;
    }
    *outcome = row ? CAT_UPDATED : CAT_CREATED;
    rc = cat_spec_row_write(db, a, s, cat_id, search, hash, id);
    return rc == GW_OK ? cat_spec_assets_write(db, s, *id) : rc;
}
