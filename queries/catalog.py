"""What the filters can offer: models and other values present in the data."""

from __future__ import annotations

import pandas as pd

from data_access.engine import Database, get_database
from queries.core import fetch, table


def known_models(db: Database | None = None) -> list[str]:
    """Distinct model_used values, sorted; a loose index scan, so fast on any table size."""
    db = db or get_database()
    t = table(db)
    sql = f"""
WITH RECURSIVE m AS (
    (SELECT model_used FROM {t} ORDER BY model_used LIMIT 1)
    UNION ALL
    SELECT (SELECT model_used FROM {t} WHERE model_used > m.model_used ORDER BY model_used LIMIT 1)
    FROM m WHERE m.model_used IS NOT NULL
)
SELECT model_used FROM m WHERE model_used IS NOT NULL"""
    df: pd.DataFrame = fetch(sql, {}, db=db)
    return [str(v) for v in df["model_used"]] if not df.empty else []


def data_range(db: Database | None = None) -> tuple:
    """(first, last) created_at in the table, or (None, None) when it is empty."""
    db = db or get_database()
    t = table(db)
    df = fetch(f"SELECT min(created_at) AS first, max(created_at) AS last FROM {t}", {}, db=db)
    row = df.iloc[0]
    return (None if pd.isna(row["first"]) else row["first"], None if pd.isna(row["last"]) else row["last"])
