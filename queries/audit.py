"""Reading the audit trail (admins' Audit page and its CSV)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from data_access.audit import audit_table
from data_access.engine import Database, get_database
from queries.core import fetch
from queries.masking import PLAIN


def audit_rows(since: datetime, until: datetime, action: str | None = None, db: Database | None = None) -> pd.DataFrame:
    """Audit rows with `at` in [since, until), newest first (at most 100,000). Grain: one export or run."""
    db = db or get_database()
    where = "at >= :since AND at < :until" + (" AND action = :action" if action else "")
    sql = (
        "SELECT at, actor, role, method, action, report, CAST(filters AS text) AS filters, row_count,"
        f" CAST(detail AS text) AS detail FROM {audit_table(db)} WHERE {where} ORDER BY at DESC, id DESC LIMIT 100000"
    )
    df = fetch(sql, {"since": since, "until": until, "action": action}, db=db, policy=PLAIN)
    # A count, blank for test runs: whole numbers on the page and in its CSV (not 12.0).
    df["row_count"] = df["row_count"].astype("Int64")
    return df
