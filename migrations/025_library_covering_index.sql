-- 025_library_covering_index: the library page's walk reads only the owner's
-- index (issue 15; store/store_library.c). GET /v1/library walks
-- ix_entitlements_owner (owner_user_id, id) from the cursor backwards and
-- returns each entitlement's status, expiry, grant time, kind and item; with
-- only (owner, id) in the index, each of the page's limit + 1 entries also
-- cost a primary-key lookup of the entitlement's row. The index now carries
-- those columns after (owner, id), which stay its order, so the walk, the
-- page's order and the keyset are unchanged: InnoDB pages touched by the
-- 20-item page's entitlements 46 -> 2 at 100,000 entitlements of one user
-- (ANALYZE FORMAT=JSON r_engine_stats). Entitlements change on purchase,
-- refund and pass renewal only; the index is replaced, not added (same
-- count of indexes to maintain). Same name, so a binary of before this
-- migration still finds it.
-- Re-runnable: a re-run rebuilds the same index; depends on 003, 010.

ALTER TABLE entitlements
    DROP INDEX IF EXISTS ix_entitlements_owner,
    ADD KEY ix_entitlements_owner
        (owner_user_id, id, status, kind, item_id, granted_at, expires_at);
