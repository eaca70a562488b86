-- The refresh functions keep their plans.
--
-- The nine depin_refresh_* functions were SQL functions, which PostgreSQL 15 parses and
-- plans again at every call. Their statements are a DELETE and one or two INSERTs joining
-- three to six laterals, and the refresher calls each once per refresh: planning cost
-- 0.4 to 1.3 ms a call (devices, deals, energy; measured in psql with two keys), most of
-- what a refresh of a small batch does. As PL/pgSQL functions their statements are planned
-- once per session and kept (custom plans for the first calls, then a generic plan while
-- it costs no more): 0.3 to 0.5 ms a call for the same three.
--
-- The bodies are unchanged: each is re-created from its own source, wrapped in a PL/pgSQL
-- block, with its `enable_seqscan = off` (V13). The definitions to read stay in V2, V4, V5
-- and V9.

DO $$
DECLARE
    f RECORD;
    body TEXT;
BEGIN
    FOR f IN
        SELECT p.proname, pg_get_function_arguments(p.oid) AS args, p.prosrc
        FROM pg_proc p
        WHERE p.proname LIKE 'depin\_refresh\_%'
          AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')
    LOOP
        body := rtrim(f.prosrc, E' \n\t');
        IF right(body, 1) <> ';' THEN
            body := body || ';';
        END IF;
        EXECUTE format('CREATE OR REPLACE FUNCTION %I(%s) RETURNS VOID LANGUAGE plpgsql '
                       'SET enable_seqscan = off AS %L',
                       f.proname, f.args, E'BEGIN\n' || body || E'\nEND');
    END LOOP;
END $$;
