-- Search ranking without ranking every match (issue 10: browse search at 200 requests/s).
--
-- agent_terms is an impact-ordered inverted index of agents.search: one row per
-- (agent, lexeme) holding the one-word query websearch_to_tsquery makes of the
-- lexeme, as text ('data'), and the agent's ts_rank for that query, computed
-- exactly as a search computes it. A one-word search (most searches) then reads
-- the best-ranked agents of its word from agent_terms_rank_idx in rank order and
-- stops after a page, instead of matching and ranking every agent that has the
-- word (a third of the market for a common one). Searches of several words,
-- phrases, OR and negation still match through agents_search_idx and rank with
-- ts_rank (adapters/store/marketplace.go, searchRanked).
--
-- Triggers keep it in step with agents.search in the same transaction, whoever
-- writes the row. Status, prices, ratings and the rest are read from agents at
-- search time, so they are never stale here. (No foreign key: its per-row check
-- locks the agent's row for every term and made inserting agents five times
-- slower; the delete trigger removes an agent's terms instead.)
CREATE FUNCTION agent_search_terms(search TSVECTOR) RETURNS TABLE (term TEXT, rank DOUBLE PRECISION)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT q::text, ts_rank(search, q)::float8
    FROM unnest(search) AS u,
         LATERAL (SELECT ('''' || replace(replace(u.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery AS q) AS l
$$;
--bun:split
CREATE TABLE agent_terms (
    agent_id TEXT NOT NULL,
    term     TEXT NOT NULL,
    rank     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (agent_id, term)
);
--bun:split
-- New agents, once per statement (one INSERT for a batch of agents).
CREATE FUNCTION agent_terms_insert() RETURNS TRIGGER
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO agent_terms (agent_id, term, rank)
    SELECT n.id, t.term, t.rank FROM inserted AS n, agent_search_terms(n.search) AS t;
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER agent_terms_insert AFTER INSERT ON agents
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION agent_terms_insert();
--bun:split
-- A changed search vector (name, specialty, skills, description) or a deleted agent.
CREATE FUNCTION agent_terms_change() RETURNS TRIGGER
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM agent_terms WHERE agent_id = OLD.id;
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO agent_terms (agent_id, term, rank)
        SELECT NEW.id, t.term, t.rank FROM agent_search_terms(NEW.search) AS t;
    END IF;
    RETURN NULL;
END
$$;
--bun:split
-- UPDATE OF a generated column fires when a column it is computed from is set.
-- Other updates (polls, figures, status) do not fire it at all.
CREATE TRIGGER agent_terms_update AFTER UPDATE OF search ON agents
    FOR EACH ROW WHEN (OLD.search IS DISTINCT FROM NEW.search) EXECUTE FUNCTION agent_terms_change();
--bun:split
CREATE TRIGGER agent_terms_delete AFTER DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION agent_terms_change();
--bun:split
-- The agents that exist, after the triggers: creating them locked agents
-- against writes until this migration commits, so no write falls between the
-- two.
INSERT INTO agent_terms (agent_id, term, rank)
SELECT a.id, t.term, t.rank FROM agents AS a, agent_search_terms(a.search) AS t;
--bun:split
CREATE INDEX agent_terms_rank_idx ON agent_terms (term, rank DESC, agent_id);
