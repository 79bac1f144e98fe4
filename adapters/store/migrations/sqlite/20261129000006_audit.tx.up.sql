CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
    at        TIMESTAMP NOT NULL,
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
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
--bun:split
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
--bun:split
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
--bun:split
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
