-- The course platform's `courses` table, as far as the "Stage 5 Generation Metadata Migration" seed
-- shows it: the columns GenLens reads, course_structure, and the Stage 5 generation_metadata + GIN index.
CREATE TABLE IF NOT EXISTS courses (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title               text NOT NULL,
    user_id             uuid,
    course_structure    jsonb,
    generation_metadata jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_courses_generation_metadata ON courses USING GIN (generation_metadata);
