CREATE TABLE ledger_accounts (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('wallet', 'escrow', 'platform', 'mint')),
    user_id    TEXT,
    order_id   TEXT,
    balance    BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL,
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
    amount       BIGINT NOT NULL CHECK (amount > 0),
    memo         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
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
    amount        BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);
--bun:split
CREATE INDEX ledger_entries_posting_idx ON ledger_entries (posting_id);
--bun:split
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;
--bun:split
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
--bun:split
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
--bun:split
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
--bun:split
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
--bun:split
INSERT INTO ledger_accounts (id, kind, balance, created_at) VALUES
    ('mint', 'mint', 0, CURRENT_TIMESTAMP),
    ('platform', 'platform', 0, CURRENT_TIMESTAMP);
--bun:split
CREATE TABLE idempotency_keys (
    principal       TEXT NOT NULL,
    operation       TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('running', 'done')),
    locked_until    TIMESTAMPTZ NOT NULL,
    response_status INTEGER,
    response_header TEXT,
    response_body   BYTEA,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (principal, operation, key)
);
--bun:split
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
