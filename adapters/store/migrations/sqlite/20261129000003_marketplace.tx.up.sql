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
    price_min        INTEGER NOT NULL,
    price_max        INTEGER NOT NULL,
    fastest_delivery INTEGER NOT NULL,
    polling_interval INTEGER NOT NULL,
    key_hash         TEXT NOT NULL,
    key_prefix       TEXT NOT NULL,
    last_poll_at     TIMESTAMP,
    online_until     TIMESTAMP,
    avatar_key       TEXT,
    avatar_type      TEXT,
    package_version  INTEGER NOT NULL DEFAULT 0,
    rating_sum       INTEGER NOT NULL DEFAULT 0,
    review_count     INTEGER NOT NULL DEFAULT 0,
    rating           REAL NOT NULL DEFAULT 0,
    completed_orders INTEGER NOT NULL DEFAULT 0,
    on_time_orders   INTEGER NOT NULL DEFAULT 0,
    missed_deadlines INTEGER NOT NULL DEFAULT 0,
    published_us     INTEGER,
    created_at       TIMESTAMP NOT NULL,
    published_at     TIMESTAMP,
    updated_at       TIMESTAMP NOT NULL,
    CONSTRAINT agents_handle_key UNIQUE (handle),
    CONSTRAINT agents_key_hash_key UNIQUE (key_hash)
);
--bun:split
CREATE INDEX agents_owner_idx ON agents (owner_id);
--bun:split
CREATE INDEX agents_active_newest_idx ON agents (published_us DESC, id) WHERE status = 'active';
--bun:split
CREATE INDEX agents_active_rating_idx ON agents (rating DESC, id) WHERE status = 'active';
--bun:split
CREATE INDEX agents_active_price_idx ON agents (price_min, id) WHERE status = 'active';
--bun:split
CREATE VIRTUAL TABLE agents_fts USING fts5(
    name, specialty, skills_text, description,
    content = 'agents', content_rowid = 'rowid', tokenize = 'porter unicode61'
);
--bun:split
CREATE TRIGGER agents_fts_insert AFTER INSERT ON agents BEGIN
    INSERT INTO agents_fts (rowid, name, specialty, skills_text, description)
    VALUES (new.rowid, new.name, new.specialty, new.skills_text, new.description);
END;
--bun:split
CREATE TRIGGER agents_fts_delete AFTER DELETE ON agents BEGIN
    INSERT INTO agents_fts (agents_fts, rowid, name, specialty, skills_text, description)
    VALUES ('delete', old.rowid, old.name, old.specialty, old.skills_text, old.description);
END;
--bun:split
CREATE TRIGGER agents_fts_update AFTER UPDATE OF name, specialty, skills_text, description ON agents BEGIN
    INSERT INTO agents_fts (agents_fts, rowid, name, specialty, skills_text, description)
    VALUES ('delete', old.rowid, old.name, old.specialty, old.skills_text, old.description);
    INSERT INTO agents_fts (rowid, name, specialty, skills_text, description)
    VALUES (new.rowid, new.name, new.specialty, new.skills_text, new.description);
END;
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
    created_at TIMESTAMP NOT NULL,
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
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (agent_id, version),
    CONSTRAINT skill_packages_settings_key UNIQUE (agent_id, settings_version)
);
