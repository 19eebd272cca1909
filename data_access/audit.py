"""The audit trail: who exported what (report, filters, row count) and who ran test generations.

Rows go to GenLens' own table `genlens_audit` (in GENLENS_SCHEMA for the generations source, else
in GENLENS_VIEW_SCHEMA), written through the admin connection (GENLENS_ADMIN_DATABASE_URL, else the
dashboard's database) so the dashboard's own role can stay read-only.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import text

from data_access.config import setting
from data_access.engine import Database, build_engine, describe_url, get_database, read_write

log = logging.getLogger(__name__)
AUDIT_DDL = (
    "CREATE TABLE IF NOT EXISTS {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " at timestamptz NOT NULL DEFAULT now(), actor text NOT NULL, role text NOT NULL, method text NOT NULL,"
    " action text NOT NULL CHECK (action IN ('export', 'test_run', 'error_mark')), report text, filters jsonb,"
    " row_count bigint, detail jsonb)"
)


class AuditUnavailable(RuntimeError):
    """The audit trail cannot be written; what depends on it (an export) must not happen."""


def audit_table(db: Database) -> str:
    schema = db.schema if db.source == "generations" else db.settings.view_schema
    return f'"{schema}".genlens_audit'  # validated schema names only


@functools.cache
def _writer_engine(url: str):
    return build_engine(url)


def writer_database() -> Database:
    db = get_database()
    url = setting("GENLENS_ADMIN_DATABASE_URL")
    return replace(db, engine=_writer_engine(url), label=describe_url(url)) if url else db


def record(
    actor: str,
    role: str,
    method: str,
    action: str,
    *,
    report: str | None = None,
    filters: dict | None = None,
    row_count: int | None = None,
    detail: dict | None = None,
) -> None:
    """Append one audit row; AuditUnavailable when it cannot be written."""
    db = writer_database()
    try:
        with read_write(db) as conn:
            if db.source != "generations":  # GenLens' own schema for a seed source: create on first use
                conn.execute(text(AUDIT_DDL.format(t=audit_table(db))))
            conn.execute(
                text(
                    f"INSERT INTO {audit_table(db)} (actor, role, method, action, report, filters, row_count, detail)"
                    " VALUES (:actor, :role, :method, :action, :report, CAST(:filters AS jsonb), :rows,"
                    " CAST(:detail AS jsonb))"
                ),
                {
                    "actor": actor,
                    "role": role,
                    "method": method,
                    "action": action,
                    "report": report,
                    "filters": json.dumps(filters, default=str) if filters is not None else None,
                    "rows": row_count,
                    "detail": json.dumps(detail, default=str) if detail is not None else None,
                },
            )
    except Exception as exc:
        log.warning("audit trail not written: %s", type(exc).__name__)
        raise AuditUnavailable(
            "The audit trail cannot be written, so this export is refused. Check GENLENS_ADMIN_DATABASE_URL "
            "(a role that may INSERT into genlens_audit) and that migrations ran."
        ) from exc


def filters_record(f: Any) -> dict:
    """The filters of an export as the audit trail stores them."""
    return {
        "since": f.since.isoformat(),
        "until": f.until.isoformat(),
        "models": list(f.models),
        "types": list(f.types),
        "user": f.user,
        "statuses": list(f.statuses),
        "include_tests": f.include_tests,
    }
