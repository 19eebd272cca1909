"""Metadata issues in the window, by kind (METRICS.md "metadata issue")."""

from __future__ import annotations

import pandas as pd

from data_access.engine import Database
from queries.core import ISSUE_KINDS, fetch, scoped

KIND_LABELS = {
    "not_an_object": "metadata is not a JSON object",
    "invalid_cost": "cost_usd not a number ≥ 0",
    "invalid_quality": "quality_scores.overall not a number in [0, 1]",
    "invalid_tokens": "total_tokens.total not a number ≥ 0",
    "invalid_duration": "duration_ms.total not a number ≥ 0",
}


def metadata_issue_kinds(f, db: Database | None = None) -> pd.DataFrame:
    """One row per kind of metadata issue with its attempt count (kinds with none left out).

    Grain: attempts of the generations in scope. An attempt can show up under several kinds;
    `metadata_issues` in the summary counts it once.
    """
    from queries import rollup

    if rollup.usable(f, db, by_attempt=True):
        counts = rollup.issue_kind_counts(f, db)
        out = [{"kind": k, "label": KIND_LABELS[k], "attempts": counts[k]} for k in ISSUE_KINDS if counts[k]]
        return pd.DataFrame(out, columns=["kind", "label", "attempts"])
    s = scoped(f, db, extras=tuple(ISSUE_KINDS))
    sums = ",\n    ".join(f"count(*) FILTER (WHERE {name}) AS {name}" for name in ISSUE_KINDS)
    df = fetch(s.text + f"\nSELECT {sums} FROM att", s.params, s.expanding, db)
    row = df.iloc[0]
    out = [{"kind": k, "label": KIND_LABELS[k], "attempts": int(row[k])} for k in ISSUE_KINDS if int(row[k])]
    return pd.DataFrame(out, columns=["kind", "label", "attempts"])
