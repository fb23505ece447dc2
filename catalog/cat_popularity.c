/*
 * cat_popularity.c — the janitor's popularity refresh: purchases folded
 * into items.popularity (the sort key of sort=popular) from a watermark.
 */
#include "cat.h"
#include "gw_status.h"

int
cat_popularity_refresh(struct gw_db *db, struct gw_arena *a, int64_t batch,
                       int64_t *folded)
{
    MYSQL_ROW row;
    int64_t   mark, hi;
    int       rc;

    *folded = 0;
    if ((rc = gw_db_begin(db)) != GW_OK) {
        return rc;
    }
    /* The row lock also keeps two janitors (two hosts) from folding one
     * range twice. */
    rc = gw_db_row(db, a, &row,
                   "SELECT j.mark, (SELECT COALESCE(MAX(id), 0) FROM"
                   " purchases) FROM catalog_jobs j WHERE j.name ="
                   " 'popularity' FOR UPDATE");
    if (rc != GW_OK || row == NULL) {
        gw_db_rollback(db);
        return rc != GW_OK ? rc : GW_ERROR; /* migration 012 makes the row */
    }
    mark = gw_db_col_i64(row, 0);
    hi = gw_db_col_i64(row, 1);
    if (hi > mark + batch) {
        hi = mark + batch;
    }
    if (hi <= mark) {
        gw_db_rollback(db);
        return GW_OK;
    }
    rc = gw_db_exec(db,
                    "UPDATE items i JOIN (SELECT item_id, COUNT(*) n FROM"
                    " purchases WHERE id > %lld AND id <= %lld GROUP BY"
                    " item_id) p ON p.item_id = i.id SET i.popularity ="
                    " i.popularity + p.n",
                    (long long) mark, (long long) hi);
    if (rc == GW_OK) {
        rc = gw_db_exec(db,
                        "UPDATE catalog_jobs SET mark = %lld, updated_at ="
                        " UTC_TIMESTAMP(3) WHERE name = 'popularity'",
                        (long long) hi);
    }
    if (rc == GW_OK) {
        rc = gw_db_commit(db);
    } else {
        gw_db_rollback(db);
    }
    if (rc == GW_OK) {
        *folded = hi - mark;
    }
    return rc;
}
