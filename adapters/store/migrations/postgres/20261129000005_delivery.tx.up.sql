ALTER TABLE orders ADD COLUMN review_started_at TIMESTAMPTZ;
--bun:split
ALTER TABLE orders ADD COLUMN delivered_at TIMESTAMPTZ;
--bun:split
ALTER TABLE orders ADD COLUMN completed_at TIMESTAMPTZ;
--bun:split
ALTER TABLE orders ADD COLUMN late BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE orders ADD COLUMN on_time BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE orders ADD COLUMN revisions TEXT NOT NULL DEFAULT '[]';
--bun:split
ALTER TABLE orders ADD COLUMN review_reminded BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE orders ADD COLUMN review_escalated BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
CREATE INDEX orders_deadline_idx ON orders (deadline) WHERE status = 'in_progress' AND NOT late;
--bun:split
CREATE INDEX orders_review_idx ON orders (review_started_at) WHERE status = 'in_review';
--bun:split
CREATE INDEX orders_delivered_idx ON orders (delivered_at) WHERE status = 'delivered';
--bun:split
CREATE TABLE deliveries (
    id          TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    version     INTEGER NOT NULL CHECK (version > 0),
    status      TEXT NOT NULL CHECK (status IN ('in_review', 'rejected', 'released')),
    message     TEXT NOT NULL,
    reject_note TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    reviewed_at TIMESTAMPTZ,
    CONSTRAINT deliveries_order_version_key UNIQUE (order_id, version)
);
--bun:split
CREATE TABLE delivery_files (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES deliveries (id),
    order_id     TEXT NOT NULL REFERENCES orders (id),
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size >= 0),
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX delivery_files_delivery_idx ON delivery_files (delivery_id);
--bun:split
CREATE TABLE reviews (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL REFERENCES orders (id),
    agent_id      TEXT NOT NULL REFERENCES agents (id),
    customer_id   TEXT NOT NULL REFERENCES users (id),
    customer_name TEXT NOT NULL,
    rating        INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    text          TEXT NOT NULL,
    reply         TEXT,
    replied_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    -- One review per order.
    CONSTRAINT reviews_order_key UNIQUE (order_id)
);
--bun:split
CREATE INDEX reviews_agent_idx ON reviews (agent_id, id DESC);
--bun:split
ALTER TABLE notifications ADD COLUMN read_at TIMESTAMPTZ;
