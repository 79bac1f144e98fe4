CREATE TABLE ledger_accounts (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('wallet', 'escrow', 'platform', 'mint')),
    user_id    TEXT,
    order_id   TEXT,
    balance    INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    CONSTRAINT ledger_accounts_no_negative CHECK (kind = 'mint' OR balance >= 0)
);
--bun:split
CREATE INDEX ledger_accounts_escrow_user_idx ON ledger_accounts (user_id) WHERE kind = 'escrow';
--bun:split
CREATE UNIQUE INDEX ledger_accounts_wallet_user_key ON ledger_accounts (user_id) WHERE kind = 'wallet';
--bun:split
CREATE TABLE ledger_postings (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    order_id     TEXT,
    effect_key   TEXT NOT NULL,
    from_account TEXT NOT NULL REFERENCES ledger_accounts (id),
    to_account   TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount       INTEGER NOT NULL CHECK (amount > 0),
    memo         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    CONSTRAINT ledger_postings_effect_key UNIQUE (effect_key),
    CONSTRAINT ledger_postings_two_accounts CHECK (from_account <> to_account)
);
--bun:split
CREATE UNIQUE INDEX ledger_postings_order_kind_key ON ledger_postings (order_id, kind) WHERE order_id IS NOT NULL;
--bun:split
CREATE INDEX ledger_postings_from_idx ON ledger_postings (from_account);
--bun:split
CREATE INDEX ledger_postings_to_idx ON ledger_postings (to_account);
--bun:split
CREATE TABLE ledger_entries (
    id            TEXT PRIMARY KEY,
    posting_id    TEXT NOT NULL REFERENCES ledger_postings (id),
    account_id    TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount        INTEGER NOT NULL CHECK (amount <> 0),
    balance_after INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);
--bun:split
CREATE INDEX ledger_entries_posting_idx ON ledger_entries (posting_id);
--bun:split
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: UPDATE on ledger_postings refused'); END;
--bun:split
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: DELETE on ledger_postings refused'); END;
--bun:split
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: UPDATE on ledger_entries refused'); END;
--bun:split
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: DELETE on ledger_entries refused'); END;
--bun:split
INSERT INTO ledger_accounts (id, kind, balance, created_at) VALUES
    ('mint', 'mint', 0, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    ('platform', 'platform', 0, strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'));
--bun:split
CREATE TABLE idempotency_keys (
    principal       TEXT NOT NULL,
    operation       TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('running', 'done')),
    locked_until    TIMESTAMP NOT NULL,
    response_status INTEGER,
    response_header TEXT,
    response_body   BLOB,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (principal, operation, key)
);
--bun:split
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
