-- GenLens' own audit trail: who exported what and who ran which test generations.
-- Written by the admin connection (GENLENS_ADMIN_DATABASE_URL); read by admins on the Audit page.
CREATE TABLE IF NOT EXISTS genlens_audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text        NOT NULL,
    role      text        NOT NULL,
    method    text        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('export', 'test_run')),
    report    text,
    filters   jsonb,
    row_count bigint,
    detail    jsonb
);
CREATE INDEX IF NOT EXISTS idx_genlens_audit_at ON genlens_audit (at);
COMMENT ON TABLE genlens_audit IS 'GenLens audit trail: CSV exports (report, filters, rows) and admin test runs, with who did them.';
ALTER TABLE genlens_audit ENABLE ROW LEVEL SECURITY;
