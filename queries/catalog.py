"""What the filters can offer: models and other values present in the data."""

from __future__ import annotations

import pandas as pd

from data_access import refresh
from data_access.engine import Database, get_database, replica_state
from data_access.facts import Freshness, facts_relation, fold_now
from data_access.facts import freshness as facts_freshness
from metrics.scope import table
from queries.core import fetch


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


def freshness(db: Database | None = None) -> Freshness:
    """How current GenLens' facts are (folding the writes waiting first); `live` False when pages
    do not read them."""
    db = db or get_database()
    if not facts_relation(db):
        return Freshness(False, cause="pages do not read GenLens' facts table")
    return facts_freshness(db)


def replica(db: Database | None = None):
    """How the read replica is (GENLENS_READ_URL): usable, its lag, and why not; None without one."""
    return replica_state(db or get_database())


def fold(db: Database | None = None) -> Freshness | None:
    """Fold the writes waiting into GenLens' facts now (None where pages do not read them)."""
    return fold_now(db or get_database())


def fast_path(db: Database | None = None) -> tuple[bool, str]:
    """(whether pages read GenLens' derived tables, and if not, the true cause in one sentence)."""
    db = db or get_database()
    if facts_relation(db):
        return True, ""
    return False, refresh.status(db)
