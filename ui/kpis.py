"""KPI boxes: which metrics a page shows at its top, titled, formatted and explained by the registry."""

from __future__ import annotations

import streamlit as st

from metrics import registry
from ui import format as fmt


def titles(page: str) -> dict[str, str]:
    """metric -> box title, for the metrics the registry puts in `page`'s KPI row, in order."""
    return {m.name: m.title for m in registry.kpis(page)}


def box(col, metric: str, cur: dict, prev: dict | None) -> None:
    """One KPI box: the value, its change against the previous period, the registry's help."""
    m = registry.metric(metric)
    value, delta, color = fmt.kpi(metric, cur, prev)
    col.metric(m.title, value, delta, delta_color=color, help=m.help_text(), border=True)


def row(page: str, cur: dict, prev: dict | None, columns=None) -> list:
    """The page's KPI row; returns the columns it drew into (and any spare ones after)."""
    names = list(titles(page))
    cols = columns if columns is not None else st.columns(len(names))
    for col, name in zip(cols, names, strict=False):
        box(col, name, cur, prev)
    return list(cols)
