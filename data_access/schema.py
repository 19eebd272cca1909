"""Apply `supabase/migrations/*.sql` in file-name order, recording each in a table; seed systems' views.

Each file runs once, in its own transaction, with search_path set to GENLENS_SCHEMA. Running
`apply_migrations` again applies nothing; the files themselves are idempotent too. This is the
library part, used by the embedded start (data_access/bootstrap.py) as well: it works on an engine
in hand and never asks for the process's database. `python -m data_access.migrate` is its command.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Engine, text

from data_access.config import PROJECT_ROOT, validate_schema

MIGRATIONS_DIR = PROJECT_ROOT / "supabase" / "migrations"
LEDGER = "genlens_schema_migrations"


def run_script(conn, sql: str) -> None:
    """Run a multi-statement SQL file on `conn` (a SQLAlchemy Connection) as is.

    Straight to psycopg without parameters, so a literal % in the file is not a placeholder.
    """
    conn.connection.driver_connection.execute(sql)


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("*.sql"))


def apply_migrations(engine: Engine, schema: str) -> list[str]:
    """Apply the files not yet recorded; return their names."""
    schema = validate_schema(schema)
    applied: list[str] = []
    with engine.begin() as conn:
        # Identifiers cannot be bound; schema passed validate_schema above.
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(
            text(
                f'CREATE TABLE IF NOT EXISTS "{schema}".{LEDGER} ('
                " filename text PRIMARY KEY, sha256 text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
        )
    for path in migration_files():
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('genlens-migrate'))"))
            done = conn.execute(
                text(f'SELECT 1 FROM "{schema}".{LEDGER} WHERE filename = :f'), {"f": path.name}
            ).first()
            if done:
                continue
            conn.execute(text(f'SET LOCAL search_path TO "{schema}", public'))
            run_script(conn, path.read_text())
            conn.execute(
                text(f'INSERT INTO "{schema}".{LEDGER} (filename, sha256) VALUES (:f, :h)'),
                {"f": path.name, "h": hashlib.sha256(path.read_bytes()).hexdigest()},
            )
            applied.append(path.name)
    if applied:
        _vacuum_derived(engine, schema)
    return applied


def _vacuum_derived(engine: Engine, schema: str) -> None:
    """After a migration (which may have built the derived tables again): VACUUM them, so that the
    pages' index-only scans need not visit every row until autovacuum gets there (at 10M attempts,
    a page read 20 s instead of 2 s meanwhile). Skipped where this user may not."""
    from data_access.facts import TABLE, TEXT

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (TABLE, TEXT):
            rel = f'"{schema}".{table}'
            owned = conn.execute(
                text(
                    "SELECT to_regclass(:t) IS NOT NULL AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass(:t)), 'USAGE')"
                ),
                {"t": rel},
            ).scalar()
            if owned:
                conn.execute(text(f"VACUUM {rel}"))


def create_source_view(engine: Engine, schema: str, source_name: str, view_schema: str) -> str:
    """Create (or refresh) GenLens' view of attempts over a seed system's table; return its name.

    Only GenLens' own schema is written: the source table is read, never altered or locked beyond
    the catalog lookups of CREATE VIEW.
    """
    from data_access.sources import get_source, view_name

    source = get_source(source_name)
    schema, view_schema = validate_schema(schema), validate_schema(view_schema)
    name = view_name(schema, source)
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".{source.table}'}).scalar()
        if exists is None:
            raise LookupError(f"table {schema}.{source.table} not found: check GENLENS_SCHEMA and GENLENS_SOURCE")
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{view_schema}"'))
        conn.execute(text(f'CREATE OR REPLACE VIEW "{view_schema}"."{name}" AS {source.relation_sql(schema)}'))
        # COMMENT takes no bind parameters; the text is built from constants and validated names.
        comment = f"GenLens: canonical attempts over {schema}.{source.table} ({source.seed})".replace("'", "''")
        conn.execute(text(f'COMMENT ON VIEW "{view_schema}"."{name}" IS \'{comment}\''))
    return f"{view_schema}.{name}"
