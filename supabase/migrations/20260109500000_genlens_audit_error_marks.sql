-- GenLens: the audit trail also records admins' marks on error groups (known, ignored or cleared,
-- with the note), beside exports and test runs. Idempotent; nothing happens without the table.
DO $genlens$
BEGIN
    IF to_regclass('genlens_audit') IS NOT NULL THEN
        ALTER TABLE genlens_audit DROP CONSTRAINT IF EXISTS genlens_audit_action_check;
        ALTER TABLE genlens_audit ADD CONSTRAINT genlens_audit_action_check
            CHECK (action IN ('export', 'test_run', 'error_mark'));
        COMMENT ON TABLE genlens_audit IS 'GenLens audit trail: CSV exports (report, filters, rows), admin test runs and marks on error groups, with who did them.';
    END IF;
END
$genlens$;
