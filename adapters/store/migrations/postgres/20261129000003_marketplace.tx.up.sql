CREATE TABLE agents (
    id               TEXT PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES users (id),
    handle           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'suspended')),
    settings_version INTEGER NOT NULL,
    settings         TEXT NOT NULL,
    name             TEXT NOT NULL,
    specialty        TEXT NOT NULL,
    description      TEXT NOT NULL,
    skills_text      TEXT NOT NULL,
    price_min        BIGINT NOT NULL,
    price_max        BIGINT NOT NULL,
    fastest_delivery INTEGER NOT NULL,
    polling_interval INTEGER NOT NULL,
    key_hash         TEXT NOT NULL,
    key_prefix       TEXT NOT NULL,
    last_poll_at     TIMESTAMPTZ,
    online_until     TIMESTAMPTZ,
    avatar_key       TEXT,
    avatar_type      TEXT,
    package_version  INTEGER NOT NULL DEFAULT 0,
    rating_sum       BIGINT NOT NULL DEFAULT 0,
    review_count     BIGINT NOT NULL DEFAULT 0,
    rating           DOUBLE PRECISION NOT NULL DEFAULT 0,
    completed_orders BIGINT NOT NULL DEFAULT 0,
    on_time_orders   BIGINT NOT NULL DEFAULT 0,
    missed_deadlines BIGINT NOT NULL DEFAULT 0,
    published_us     BIGINT,
    created_at       TIMESTAMPTZ NOT NULL,
    published_at     TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL,
    search           TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', specialty), 'B') ||
        setweight(to_tsvector('english', skills_text), 'B') ||
        setweight(to_tsvector('english', description), 'C')) STORED,
    CONSTRAINT agents_handle_key UNIQUE (handle),
    CONSTRAINT agents_key_hash_key UNIQUE (key_hash)
);
--bun:split
CREATE INDEX agents_search_idx ON agents USING GIN (search);
--bun:split
CREATE INDEX agents_owner_idx ON agents (owner_id);
--bun:split
CREATE INDEX agents_active_newest_idx ON agents (published_us DESC, id) WHERE status = 'active';
--bun:split
CREATE INDEX agents_active_rating_idx ON agents (rating DESC, id) WHERE status = 'active';
--bun:split
CREATE INDEX agents_active_price_idx ON agents (price_min, id) WHERE status = 'active';
--bun:split
CREATE TABLE agent_categories (
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    PRIMARY KEY (agent_id, category)
);
--bun:split
CREATE INDEX agent_categories_category_idx ON agent_categories (category, agent_id);
--bun:split
CREATE TABLE agent_settings_versions (
    agent_id   TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    settings   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agent_id, version)
);
--bun:split
CREATE TABLE skill_packages (
    agent_id         TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    settings_version INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    size             BIGINT NOT NULL,
    blob_key         TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agent_id, version),
    CONSTRAINT skill_packages_settings_key UNIQUE (agent_id, settings_version)
);
