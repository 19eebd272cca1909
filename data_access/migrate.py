"""Apply `supabase/migrations/*.sql` to the configured database (or the embedded one).

    python -m data_access.migrate            # the configured database (or the embedded one)

Each file runs once, in its own transaction, with search_path set to GENLENS_SCHEMA. Running the
command again applies nothing; the files themselves are idempotent too. With another
GENLENS_SOURCE it creates (or refreshes) GenLens' view over that system's table instead.

This module is the command; the work is done by `data_access/schema.py`, whose names it
re-exports for the tests and scripts that import them from here.
"""

from __future__ import annotations

import sys

from data_access.schema import LEDGER, MIGRATIONS_DIR, apply_migrations, create_source_view, migration_files, run_script

__all__ = [
    "LEDGER",
    "MIGRATIONS_DIR",
    "apply_migrations",
    "create_source_view",
    "main",
    "migration_files",
    "run_script",
]


def main() -> int:
    from data_access.config import load_settings
    from data_access.engine import get_database

    try:
        settings = load_settings()
        db = get_database()
        if settings.source == "generations":
            names = apply_migrations(db.engine, db.schema)
            done = f"applied {len(names)} migration(s)" + (": " + ", ".join(names) if names else "")
        else:
            done = "created view " + create_source_view(db.engine, db.schema, settings.source, settings.view_schema)
    except Exception as exc:  # one line for the terminal, not a traceback
        print(f"migrate: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    print(f"{done} on {db.label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
