-- 009_finance: closed business days, download tracking, reconciliation runs
-- (finance/fin.h, docs/cdr-format.md, docs/reconciliation.md). Re-runnable.

-- A row per closed (final) business day: exporting a day that has ended
-- inserts it, in its own transaction, before the rows are read. From then on
-- the day's CDRs never change (the triggers below). The totals are filled by
-- the export that closed the day; the revenue report reads them instead of
-- scanning the day's CDRs again.
CREATE TABLE IF NOT EXISTS cdr_days (
    day             DATE NOT NULL PRIMARY KEY,
    closed_at       DATETIME(3) NOT NULL,
    closed_by       VARCHAR(80) NOT NULL,
    rows_total      BIGINT NULL,                    -- NULL until summed
    amount_total    BIGINT NULL,                    -- signed sum
    charges         BIGINT NULL,                    -- sum of amount > 0
    refunds         BIGINT NULL,                    -- sum of -amount, amount < 0
    provider_share  BIGINT NULL,
    carrier_share   BIGINT NULL,
    csv_sha256      CHAR(64) NULL                   -- of the day's CSV export
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Per closed day and item, for the top-items report (filled with the totals).
CREATE TABLE IF NOT EXISTS cdr_day_items (
    day             DATE NOT NULL,
    item_id         BIGINT UNSIGNED NOT NULL,       -- 0: no item
    rows_total      BIGINT NOT NULL,
    charges         BIGINT NOT NULL,
    refunds         BIGINT NOT NULL,
    provider_share  BIGINT NOT NULL,
    carrier_share   BIGINT NOT NULL,
    PRIMARY KEY (day, item_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A closed day's CDRs never change. A CDR written for a day that was closed
-- meanwhile (a movement that started before midnight and commits after the
-- close) moves to the next open day. The locking read waits for a close in
-- flight, and an in-flight writer's gap lock makes the close wait for it, so
-- the close's export reads every CDR of the day.
CREATE TRIGGER IF NOT EXISTS trg_cdrs_open_day BEFORE INSERT ON cdrs
FOR EACH ROW
BEGIN
    WHILE EXISTS (SELECT 1 FROM cdr_days WHERE day = NEW.business_day LOCK IN SHARE MODE) DO -- closed
        SET NEW.business_day = NEW.business_day + INTERVAL 1 DAY; -- next day
    END WHILE; -- end
END;

CREATE TRIGGER IF NOT EXISTS trg_cdrs_closed_update BEFORE UPDATE ON cdrs
FOR EACH ROW
BEGIN
    IF EXISTS (SELECT 1 FROM cdr_days WHERE day IN (OLD.business_day, NEW.business_day)) THEN -- closed
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'CDRs of a closed business day never change'; -- refuse
    END IF; -- end
END;

CREATE TRIGGER IF NOT EXISTS trg_cdrs_closed_delete BEFORE DELETE ON cdrs
FOR EACH ROW
BEGIN
    IF EXISTS (SELECT 1 FROM cdr_days WHERE day = OLD.business_day) THEN -- closed
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'CDRs of a closed business day never change'; -- refuse
    END IF; -- end
END;

-- First download per entitlement and format (GET /v1/downloads/{token}):
-- reconciliation's "charged but never delivered".
CREATE TABLE IF NOT EXISTS entitlement_downloads (
    entitlement_id  BIGINT UNSIGNED NOT NULL,
    format          VARCHAR(8) NOT NULL,
    first_at        DATETIME(3) NOT NULL,
    PRIMARY KEY (entitlement_id, format)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per reconciliation of a carrier file against a business day.
-- run_key = SHA-256 of (day, file bytes): the same inputs are one run.
CREATE TABLE IF NOT EXISTS recon_runs (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    run_key             CHAR(64) NOT NULL,
    day                 DATE NOT NULL,
    file_name           VARCHAR(255) NOT NULL,
    file_sha256         CHAR(64) NOT NULL,
    state               ENUM('loading','done') NOT NULL,
    lines_read          BIGINT NOT NULL DEFAULT 0,  -- data lines read
    malformed           BIGINT NOT NULL DEFAULT 0,
    matched             BIGINT NOT NULL DEFAULT 0,
    matched_amount      BIGINT NOT NULL DEFAULT 0,
    mismatch            BIGINT NOT NULL DEFAULT 0,
    mismatch_amount     BIGINT NOT NULL DEFAULT 0,  -- sum of (ours - theirs)
    not_billed          BIGINT NOT NULL DEFAULT 0,
    not_billed_amount   BIGINT NOT NULL DEFAULT 0,
    unknown             BIGINT NOT NULL DEFAULT 0,
    unknown_amount      BIGINT NOT NULL DEFAULT 0,
    twice               BIGINT NOT NULL DEFAULT 0,
    twice_amount        BIGINT NOT NULL DEFAULT 0,
    undelivered         BIGINT NOT NULL DEFAULT 0,
    undelivered_amount  BIGINT NOT NULL DEFAULT 0,
    created_at          DATETIME(3) NOT NULL,
    created_by          VARCHAR(80) NOT NULL,
    UNIQUE KEY uk_recon_runs_key (run_key),
    KEY ix_recon_runs_day (day, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The carrier's records of a run while it is classified (emptied after).
CREATE TABLE IF NOT EXISTS recon_lines (
    run_id      BIGINT UNSIGNED NOT NULL,
    line_no     BIGINT NOT NULL,
    cdr_id      VARCHAR(64) NOT NULL,
    amount      BIGINT NOT NULL,
    currency    CHAR(3) NOT NULL,
    PRIMARY KEY (run_id, line_no),
    KEY ix_recon_lines_cdr (run_id, cdr_id, line_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every record of a run that is not "matched", and every malformed line.
CREATE TABLE IF NOT EXISTS recon_items (
    run_id       BIGINT UNSIGNED NOT NULL,
    seq          BIGINT NOT NULL,
    class        ENUM('amount_mismatch','charged_not_billed','billed_unknown',
                      'billed_twice','charged_not_delivered','malformed') NOT NULL,
    line_no      BIGINT NULL,                       -- in the carrier file
    cdr_id       VARCHAR(64) NULL,
    our_amount   BIGINT NULL,
    their_amount BIGINT NULL,
    detail       VARCHAR(255) NULL,
    PRIMARY KEY (run_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Provider statements read a provider's movements of a month.
CREATE INDEX IF NOT EXISTS ix_txns_provider_created
    ON ledger_txns (provider_id, created_at);
