-- 010_nopad_identifiers: identifiers compare byte for byte, trailing spaces included.
--
-- utf8mb4_bin is a PAD SPACE collation in MariaDB 10.11: 'demo-user ' = 'demo-user' is true,
-- so a trailing space aliased an account (IM user ids, MSISDNs, references, idempotency keys,
-- key hashes). utf8mb4_nopad_bin compares the same bytes without padding. Every table of the
-- schema is converted, whichever migration created it: 001-005 (admin_keys, idempotency_keys,
-- outbox, webhook_events, accounts, subscribers, ledger_txns, postings, holds, cdrs, providers,
-- categories, items, item_assets, entitlements, purchases, refunds, catalog_meta) and any table
-- that an earlier-numbered migration adds. The database default changes too, so a table created
-- later without an explicit collation is NO PAD. Tables created later WITH an explicit
-- COLLATE=utf8mb4_bin must say utf8mb4_nopad_bin instead (a test checks every column).
ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;

-- One statement (the migration runner splits on ";\n"): convert every base table whose
-- collation is not NO PAD yet.
BEGIN NOT ATOMIC DECLARE done INT DEFAULT 0; DECLARE t VARCHAR(64); DECLARE c CURSOR FOR SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' AND table_collation <> 'utf8mb4_nopad_bin'; DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; OPEN c; l: LOOP FETCH c INTO t; IF done THEN LEAVE l; END IF; EXECUTE IMMEDIATE CONCAT('ALTER TABLE `', t, '` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin'); END LOOP; CLOSE c; END;
