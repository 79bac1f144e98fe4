-- Webhooks (ADR 11): one endpoint per agent, and the delivery log.
CREATE TABLE webhook_endpoints (
    agent_id             TEXT PRIMARY KEY REFERENCES agents (id),
    url                  TEXT NOT NULL,
    secret               TEXT NOT NULL,
    -- The secret a rotation replaced; it signs beside the new one until previous_until.
    previous_secret      TEXT,
    previous_until       TIMESTAMPTZ,
    disabled_at          TIMESTAMPTZ,
    disabled_reason      TEXT CHECK (disabled_reason IN ('gone', 'failing')),
    -- The first failed attempt since the last success.
    failing_since        TIMESTAMPTZ,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    agent_id        TEXT NOT NULL REFERENCES webhook_endpoints (agent_id) ON DELETE CASCADE,
    event_seq       BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    last_attempt_at TIMESTAMPTZ,
    -- Pending only: when the next attempt is due (µs since the epoch, by heepr's clock).
    next_attempt_us BIGINT,
    -- A job is queued for the delivery until then: the sweep does not queue another.
    queued_until_us BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ
);
--bun:split
CREATE UNIQUE INDEX webhook_deliveries_event_key ON webhook_deliveries (agent_id, event_seq);
--bun:split
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (agent_id, id);
--bun:split
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_us) WHERE state = 'pending';
--bun:split
CREATE INDEX webhook_deliveries_purge_idx ON webhook_deliveries (created_at) WHERE state <> 'pending';
