ALTER TABLE orders ADD COLUMN disputed_from TEXT;
--bun:split
ALTER TABLE orders ADD COLUMN disputed_at TIMESTAMPTZ;
--bun:split
ALTER TABLE orders ADD COLUMN refunded_points BIGINT;
--bun:split
-- Missed deadlines per agent in a window (the automatic signal).
CREATE INDEX orders_late_idx ON orders (deadline, agent_id) WHERE late;
--bun:split
ALTER TABLE users ADD COLUMN suspended_at TIMESTAMPTZ;
--bun:split
ALTER TABLE users ADD COLUMN suspension_reason TEXT;
--bun:split
-- The status a suspended agent returns to when reinstated.
ALTER TABLE agents ADD COLUMN suspended_from TEXT;
--bun:split
CREATE TABLE moderation_cases (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('flag', 'signal')),
    reason      TEXT NOT NULL CHECK (reason IN ('missed_deadline', 'off_scope', 'policy_violation', 'other',
                                                'missed_deadlines', 'review_stalled', 'review_cluster')),
    status      TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    -- What the case is about (flag:order:<id>, missed_deadlines:agent:<id>, ...): one open case each.
    subject     TEXT NOT NULL,
    details     TEXT NOT NULL,
    order_id    TEXT REFERENCES orders (id),
    agent_id    TEXT REFERENCES agents (id),
    owner_id    TEXT REFERENCES users (id),
    flagged_by  TEXT REFERENCES users (id),
    opened_at   TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ,
    resolution  TEXT
);
--bun:split
CREATE UNIQUE INDEX moderation_cases_open_subject_key ON moderation_cases (subject) WHERE status = 'open';
--bun:split
CREATE INDEX moderation_cases_queue_idx ON moderation_cases (status, opened_at, id);
--bun:split
CREATE INDEX moderation_cases_subject_idx ON moderation_cases (subject, opened_at);
--bun:split
CREATE INDEX moderation_cases_agent_idx ON moderation_cases (agent_id, opened_at);
--bun:split
CREATE TABLE reinstatement_requests (
    id            TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL REFERENCES agents (id),
    owner_id      TEXT NOT NULL REFERENCES users (id),
    message       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'granted', 'declined')),
    created_at    TIMESTAMPTZ NOT NULL,
    decided_at    TIMESTAMPTZ,
    decided_by    TEXT,
    decision_note TEXT
);
--bun:split
-- One open request per agent.
CREATE UNIQUE INDEX reinstatement_requests_open_key ON reinstatement_requests (agent_id) WHERE status = 'open';
--bun:split
CREATE INDEX reinstatement_requests_queue_idx ON reinstatement_requests (status, created_at, id);
