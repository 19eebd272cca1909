"""Metadata issues in the window, by kind (METRICS.md "metadata issue")."""

from __future__ import annotations

import pandas as pd

from data_access.engine import Database
from metrics import planner
from metrics.registry import metric
from metrics.scope import ISSUE_KINDS

# kind -> how the sidebar names it (the registry's column header of that kind's count)
KIND_LABELS = {kind: metric(kind).header for kind in ISSUE_KINDS}


def metadata_issue_kinds(f, db: Database | None = None) -> pd.DataFrame:
    """One row per kind of metadata issue with its attempt count (kinds with none left out).

    Grain: attempts of the generations in scope. An attempt can show up under several kinds;
    `metadata_issues` in the summary counts it once.
    """
    counts = planner.row(f, tuple(ISSUE_KINDS), db=db)
    out = [{"kind": k, "label": KIND_LABELS[k], "attempts": int(counts[k])} for k in ISSUE_KINDS if counts[k]]
    return pd.DataFrame(out, columns=["kind", "label", "attempts"])
