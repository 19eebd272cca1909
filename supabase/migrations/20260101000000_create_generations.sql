-- GenLens: the generations table of the "Generations Table Implementation Summary" seed, with the
-- generation_metadata JSONB of the "Stage 5 Generation Metadata Migration" seed.
--
-- Unqualified names on purpose: `python -m data_access.migrate` runs this with search_path set to
-- GENLENS_SCHEMA, and `supabase db push` applies it to public. Safe to run more than once; it never
-- drops or rewrites anything, so it also applies to a database that already has the table.

CREATE TABLE IF NOT EXISTS generations (
    generation_id            uuid        NOT NULL,
    attempt_number           integer     NOT NULL CHECK (attempt_number >= 1),
    status                   text        NOT NULL DEFAULT 'pending'
                                         CHECK (status IN ('pending', 'success', 'failed', 'timeout')),
    model_used               text        NOT NULL,
    prompt                   text        NOT NULL,
    user_id                  uuid        NOT NULL,
    story_type               text        CHECK (story_type IN ('child', 'hero', 'combined')),
    story_length             integer,
    hero_appearance          text,
    relationship_description text,
    moral                    text,
    error_message            text,
    full_response            jsonb,
    generation_metadata      jsonb,
    created_at               timestamptz NOT NULL DEFAULT now(),
    completed_at             timestamptz,
    PRIMARY KEY (generation_id, attempt_number)
);

-- What the pages filter on: the time window (every query), status and model within it, one user.
CREATE INDEX IF NOT EXISTS idx_generations_created_at ON generations (created_at);
CREATE INDEX IF NOT EXISTS idx_generations_status_created_at ON generations (status, created_at);
CREATE INDEX IF NOT EXISTS idx_generations_model_created_at ON generations (model_used, created_at);
CREATE INDEX IF NOT EXISTS idx_generations_user_created_at ON generations (user_id, created_at);
CREATE INDEX IF NOT EXISTS idx_generations_metadata ON generations USING gin (generation_metadata);

COMMENT ON TABLE generations IS 'One row per generation attempt; a generation is all rows sharing generation_id.';
COMMENT ON COLUMN generations.generation_id IS 'Identifies one generation request across its retry attempts.';
COMMENT ON COLUMN generations.attempt_number IS 'Attempt number within the generation, starting at 1.';
COMMENT ON COLUMN generations.status IS 'pending while the model is called, then success, failed or timeout.';
COMMENT ON COLUMN generations.model_used IS 'Model identifier the attempt called (e.g. an OpenRouter model id).';
COMMENT ON COLUMN generations.prompt IS 'The full prompt sent to the model.';
COMMENT ON COLUMN generations.user_id IS 'The user who requested the generation.';
COMMENT ON COLUMN generations.story_type IS 'child, hero or combined; NULL when not a story.';
COMMENT ON COLUMN generations.story_length IS 'Requested story length in minutes.';
COMMENT ON COLUMN generations.hero_appearance IS 'Requested hero appearance, for hero stories.';
COMMENT ON COLUMN generations.relationship_description IS 'Requested relationship, for combined stories.';
COMMENT ON COLUMN generations.moral IS 'Requested moral of the story.';
COMMENT ON COLUMN generations.error_message IS 'Error reported by the provider or pipeline for failed and timed-out attempts.';
COMMENT ON COLUMN generations.full_response IS 'Raw response returned by the model provider.';
COMMENT ON COLUMN generations.generation_metadata IS 'Stage 5 metrics: model_used, total_tokens, cost_usd, duration_ms, quality_scores, batch_count, retry_count per phase; test_run_id marks test generations.';
COMMENT ON COLUMN generations.created_at IS 'When the attempt started.';
COMMENT ON COLUMN generations.completed_at IS 'When the attempt finished; NULL while pending.';

ALTER TABLE generations ENABLE ROW LEVEL SECURITY;

-- Supabase policies only where Supabase's auth schema exists, so plain PostgreSQL takes the same file.
DO $$
DECLARE
    tbl_schema text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE c.oid = 'generations'::regclass);
BEGIN
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = tbl_schema AND tablename = 'generations'
                       AND policyname = 'Service role has full access') THEN
            EXECUTE 'CREATE POLICY "Service role has full access" ON generations FOR ALL TO service_role USING (true) WITH CHECK (true)';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = tbl_schema AND tablename = 'generations'
                       AND policyname = 'Users can view own generations') THEN
            EXECUTE 'CREATE POLICY "Users can view own generations" ON generations FOR SELECT TO authenticated USING (auth.uid() = user_id)';
        END IF;
    END IF;
END
$$;
