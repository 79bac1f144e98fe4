CREATE TABLE audit_events (
    seq       BIGINT PRIMARY KEY CHECK (seq > 0),
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    reason    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
--bun:split
CREATE INDEX audit_events_actor_idx ON audit_events (actor, seq);
--bun:split
CREATE INDEX audit_events_target_idx ON audit_events (target, seq);
--bun:split
-- The chain's head: one row, locked by each append until commit.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
--bun:split
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
--bun:split
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
--bun:split
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
--bun:split
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
