-- Postgres gains agent_terms, an impact-ordered index of one-word search
-- ranks (see the Postgres migration of this version). SQLite ranks with FTS5's
-- bm25, whose figures depend on the whole market (term frequencies, average
-- lengths), so they cannot be computed ahead per agent: nothing changes here.
SELECT 1;
