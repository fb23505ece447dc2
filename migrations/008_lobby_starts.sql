-- 008_lobby_starts: paid lobby starts (store/store_start.c, README "Lobbies").
-- Lobbies themselves live in Redis only; what involves money is recorded here.
-- Games already carry their allocator in items.allocator_url (003).

-- One row per start attempt of a lobby: the anchor that replays a start and
-- the record of who was charged. (lobby_id, attempt) is unique, so one attempt
-- is recorded once whatever retries or concurrent requests do.
CREATE TABLE IF NOT EXISTS lobby_starts (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    lobby_id        CHAR(32) NOT NULL,
    attempt         INT NOT NULL,
    game_id         BIGINT UNSIGNED NOT NULL,
    owner_user_id   VARCHAR(64) NOT NULL,
    state           ENUM('reserved','captured','released','abandoned') NOT NULL,
    fee             BIGINT NOT NULL,                  -- per paying player
    currency        CHAR(3) NOT NULL,
    players         INT NOT NULL,
    payers          INT NOT NULL,                     -- players without a pass
    match_id        VARCHAR(64) NULL,
    server_host     VARCHAR(255) NULL,
    server_port     INT NULL,
    failure         VARCHAR(255) NULL,                -- why it was released
    result          MEDIUMTEXT NULL,                  -- the 200 body, replayed
    created_at      DATETIME(3) NOT NULL,
    settled_at      DATETIME(3) NULL,
    UNIQUE KEY uk_lobby_starts_attempt (lobby_id, attempt),
    KEY ix_lobby_starts_state (state, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The players of a start: the hold reserved for each payer (NULL for a pass
-- holder) and, once captured, the ledger transaction of the charge.
CREATE TABLE IF NOT EXISTS lobby_start_players (
    start_id        BIGINT UNSIGNED NOT NULL,
    user_id         VARCHAR(64) NOT NULL,
    subscriber_id   BIGINT UNSIGNED NULL,
    fee             BIGINT NOT NULL,                  -- 0: pass holder
    hold_id         BIGINT UNSIGNED NULL,
    capture_txn_id  BIGINT UNSIGNED NULL,
    PRIMARY KEY (start_id, user_id),
    KEY ix_lobby_start_players_hold (hold_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
