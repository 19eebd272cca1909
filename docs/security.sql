-- GenLens least-privilege roles. Run as the table owner, with search_path set to the schema that
-- holds `generations` (GENLENS_SCHEMA), e.g.:
--   psql "$ADMIN_URL" -c 'SET search_path TO public' -f docs/security.sql
-- Replace the two passwords first (or ALTER ROLE ... PASSWORD afterwards). Safe to run again.
--
--   genlens_reader: the dashboard (DATABASE_URL). SELECT only, and every transaction read-only.
--   genlens_writer: the admin page's test generations (GENLENS_ADMIN_DATABASE_URL). SELECT, INSERT
--                   and UPDATE on generations; no DELETE, no DDL.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genlens_reader') THEN
        CREATE ROLE genlens_reader LOGIN PASSWORD 'change-me-reader';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'genlens_writer') THEN
        CREATE ROLE genlens_writer LOGIN PASSWORD 'change-me-writer';
    END IF;
END
$$;

ALTER ROLE genlens_reader SET default_transaction_read_only = on;

DO $$
DECLARE
    s text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE c.oid = 'generations'::regclass);
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO genlens_reader, genlens_writer', s);
    EXECUTE format('GRANT SELECT ON %I.generations TO genlens_reader', s);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.generations TO genlens_writer', s);
    -- Row level security is on for generations: without a policy these roles would see no rows.
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = s AND tablename = 'generations'
                   AND policyname = 'GenLens reader sees all rows') THEN
        EXECUTE format('CREATE POLICY "GenLens reader sees all rows" ON %I.generations FOR SELECT TO genlens_reader USING (true)', s);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = s AND tablename = 'generations'
                   AND policyname = 'GenLens writer records test generations') THEN
        EXECUTE format('CREATE POLICY "GenLens writer records test generations" ON %I.generations FOR ALL TO genlens_writer USING (true) WITH CHECK (true)', s);
    END IF;
    -- The facts table and daily rollups GenLens keeps beside generations
    -- (supabase/migrations/*_genlens_facts.sql, *_genlens_rollups.sql, *_genlens_model_facts.sql): pages read them when they may, else they read
    -- generations directly. Their triggers append to the change log as its owner: the writer needs nothing on them.
    IF to_regclass(format('%I.genlens_facts', s)) IS NOT NULL THEN
        EXECUTE format('GRANT SELECT ON %I.genlens_facts, %I.genlens_facts_broken, %I.genlens_rollup,'
                       ' %I.genlens_rollup_latency TO genlens_reader', s, s, s, s);
        IF to_regclass(format('%I.genlens_rollup_phase', s)) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT ON %I.genlens_rollup_phase, %I.genlens_rollup_error,'
                           ' %I.genlens_rollup_retries, %I.genlens_rollup_quality TO genlens_reader', s, s, s, s);
        END IF;
        IF to_regclass(format('%I.genlens_rollup_model_retries', s)) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT ON %I.genlens_rollup_model_retries TO genlens_reader', s);
        END IF;
        EXECUTE format('GRANT EXECUTE ON FUNCTION %I.genlens_latency_bucket(float8) TO genlens_reader', s);
        -- Writes reach the facts when the change log is folded: the reader may fold (and ask how far
        -- behind the facts are) through these two functions, which run as their owner; it can write
        -- nothing else (its default read-only transactions are a guard, the grants the rule).
        IF to_regclass(format('%I.genlens_changes', s)) IS NOT NULL THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %I.genlens_fold(integer), %I.genlens_pending(integer)'
                           ' TO genlens_reader', s, s);
        END IF;
        -- the Explorer's search reads the prompts and errors through their trigram index
        IF to_regclass(format('%I.genlens_text', s)) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT ON %I.genlens_text TO genlens_reader', s);
        END IF;
        -- error groups: the dashboard places new error signatures and saves admins' marks (it may
        -- add and change groups, never delete them)
        IF to_regclass(format('%I.genlens_error_groups', s)) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.genlens_error_groups, %I.genlens_error_members'
                           ' TO genlens_reader', s, s);
        END IF;
    END IF;
    -- The audit trail (row level security on, no policy by default): the reader reads it for the
    -- Audit page, the writer appends to it (no UPDATE, no DELETE).
    IF to_regclass(format('%I.genlens_audit', s)) IS NOT NULL THEN
        EXECUTE format('GRANT SELECT ON %I.genlens_audit TO genlens_reader', s);
        EXECUTE format('GRANT INSERT ON %I.genlens_audit TO genlens_writer', s);
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = s AND tablename = 'genlens_audit'
                       AND policyname = 'GenLens reader reads the audit trail') THEN
            EXECUTE format('CREATE POLICY "GenLens reader reads the audit trail" ON %I.genlens_audit FOR SELECT TO genlens_reader USING (true)', s);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = s AND tablename = 'genlens_audit'
                       AND policyname = 'GenLens writer appends to the audit trail') THEN
            EXECUTE format('CREATE POLICY "GenLens writer appends to the audit trail" ON %I.genlens_audit FOR INSERT TO genlens_writer WITH CHECK (true)', s);
        END IF;
    END IF;
END
$$;
