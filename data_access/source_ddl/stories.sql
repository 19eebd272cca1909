-- The Tale Generator's `stories` before the generations migration ("Persistence Layer" seed:
-- 001 + 002 model info + 004 language + 006 rating + 007 generation_info).
CREATE TABLE IF NOT EXISTS stories (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title           text NOT NULL,
    content         text NOT NULL,
    moral           text NOT NULL,
    child_id        uuid,
    child_name      text,
    child_age       integer,
    child_gender    text,
    child_interests text[],
    model_used      text,
    full_response   jsonb,
    generation_info jsonb,
    language        text NOT NULL DEFAULT 'en',
    story_length    integer,
    rating          integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_stories_language ON stories (language);
CREATE INDEX IF NOT EXISTS idx_stories_created_at ON stories (created_at);
