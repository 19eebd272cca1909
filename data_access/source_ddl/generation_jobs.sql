-- `generation_jobs` from the "Apply Generation Jobs Migration" seed (10 columns, status workflow
-- queued -> running -> succeeded | failed, cost in cents). Foreign keys to auth.users, projects and
-- assets are left out: those tables belong to that application.
CREATE TABLE IF NOT EXISTS generation_jobs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    project_id     uuid NOT NULL,
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    mode           text NOT NULL,
    input_asset_id uuid,
    error          text,
    cost_cents     integer,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_generation_jobs_user_id ON generation_jobs (user_id);
CREATE INDEX IF NOT EXISTS idx_generation_jobs_project_id ON generation_jobs (project_id);
CREATE INDEX IF NOT EXISTS idx_generation_jobs_status ON generation_jobs (status);
CREATE INDEX IF NOT EXISTS idx_generation_jobs_created_at ON generation_jobs (created_at DESC);
