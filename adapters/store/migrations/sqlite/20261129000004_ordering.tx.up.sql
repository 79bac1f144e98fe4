CREATE TABLE conversations (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT NOT NULL REFERENCES users (id),
    customer_name      TEXT NOT NULL,
    agent_id           TEXT NOT NULL REFERENCES agents (id),
    agent_handle       TEXT NOT NULL,
    owner_id           TEXT NOT NULL REFERENCES users (id),
    human_requested_at TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    last_message_at    TIMESTAMP NOT NULL,
    last_message_us    BIGINT NOT NULL
);
--bun:split
CREATE INDEX conversations_customer_idx ON conversations (customer_id, last_message_us DESC, id DESC);
--bun:split
CREATE INDEX conversations_owner_idx ON conversations (owner_id, last_message_us DESC, id DESC);
--bun:split
CREATE INDEX conversations_agent_idx ON conversations (agent_id, last_message_us DESC, id DESC);
--bun:split

CREATE TABLE quotes (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    agent_id        TEXT NOT NULL REFERENCES agents (id),
    author_kind     TEXT NOT NULL CHECK (author_kind IN ('agent', 'owner')),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    price           BIGINT NOT NULL CHECK (price > 0),
    delivery_days   INTEGER NOT NULL CHECK (delivery_days > 0),
    revisions       INTEGER NOT NULL CHECK (revisions >= 0),
    category        TEXT NOT NULL,
    criteria        TEXT NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('sent', 'accepted', 'declined', 'expired')),
    created_at      TIMESTAMP NOT NULL,
    decided_at      TIMESTAMP
);
--bun:split
CREATE INDEX quotes_conversation_idx ON quotes (conversation_id, id);
--bun:split

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    author_kind     TEXT NOT NULL CHECK (author_kind IN ('customer', 'agent', 'owner', 'support', 'system')),
    author_id       TEXT NOT NULL,
    body            TEXT NOT NULL,
    quote_id        TEXT REFERENCES quotes (id),
    created_at      TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id);
--bun:split

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    quote_id        TEXT NOT NULL REFERENCES quotes (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    customer_id     TEXT NOT NULL REFERENCES users (id),
    agent_id        TEXT NOT NULL REFERENCES agents (id),
    agent_handle    TEXT NOT NULL,
    owner_id        TEXT NOT NULL REFERENCES users (id),
    status          TEXT NOT NULL CHECK (status IN ('pending_approval', 'in_progress', 'in_review', 'delivered',
                                                    'completed', 'disputed', 'cancelled', 'refunded')),
    price           BIGINT NOT NULL CHECK (price > 0),
    revisions_left  INTEGER NOT NULL CHECK (revisions_left >= 0),
    snapshot        TEXT NOT NULL,
    gate_reasons    TEXT NOT NULL,
    cancel_reason   TEXT CHECK (cancel_reason IN ('declined', 'expired', 'withdrawn', 'late')),
    created_at      TIMESTAMP NOT NULL,
    started_at      TIMESTAMP,
    deadline        TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL,
    -- One order per quote: two concurrent accepts make one order.
    CONSTRAINT orders_quote_key UNIQUE (quote_id)
);
--bun:split
CREATE INDEX orders_customer_idx ON orders (customer_id, id DESC);
--bun:split
CREATE INDEX orders_owner_idx ON orders (owner_id, id DESC);
--bun:split
CREATE INDEX orders_agent_idx ON orders (agent_id, status);
--bun:split
CREATE INDEX orders_pending_idx ON orders (created_at) WHERE status = 'pending_approval';
--bun:split

-- Each agent's position in its events: the newest seq (allocated under
-- this row's lock, so seqs commit in order) and the highest acknowledged.
CREATE TABLE agent_feeds (
    agent_id  TEXT PRIMARY KEY REFERENCES agents (id),
    last_seq  BIGINT NOT NULL,
    acked_seq BIGINT NOT NULL DEFAULT 0,
    CHECK (acked_seq <= last_seq)
);
--bun:split

CREATE TABLE agent_events (
    agent_id        TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    type            TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    deliveries      INTEGER NOT NULL DEFAULT 0,
    leased_until_us BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, seq)
);
--bun:split
CREATE INDEX agent_events_created_idx ON agent_events (created_at);
--bun:split

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT,
    created_at TIMESTAMP NOT NULL
);
--bun:split
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
