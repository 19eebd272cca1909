"""Table columns as the metrics registry declares them: one header, format and tooltip per name.

`config(df.columns)` gives st.dataframe's column_config for a whole table, so a column looks the
same on every page. A page passes an override only where it genuinely shows something else (the
reliability table's bucket is an hour or a day; a single attempt's cost needs more digits).
Columns that are not in the registry (a page's own counts) are built with `number`, `text` and
`when`, in the same formats.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from metrics import registry

# registry format -> st.column_config.NumberColumn format
NUMBER_FORMATS = {
    "count": "%d",
    "tokens": "%.0f",
    "pct": "percent",
    "usd": "$%.4f",
    "ms": "%.0f",
    "score": "%.3f",
    "ratio": "%.2f",
    "hours": "%.2f h",
}
DATETIME_FORMAT = "YYYY-MM-DD HH:mm:ss"
DATE_FORMAT = "YYYY-MM-DD"
WHEN_FORMATS = {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT}


def known(name: str) -> bool:
    """Whether the registry declares `name`, as a metric or as a field."""
    return name in registry.METRICS or name in registry.FIELDS


def kind(name: str) -> str:
    """The registry's display format of a metric or field (count, pct, usd, ..., text, date)."""
    return _declared(name)[1]


def _declared(name: str) -> tuple[str, str, str | None]:
    """(header, registry format, tooltip) of a metric or field."""
    if name in registry.METRICS:
        m = registry.METRICS[name]
        return m.header, m.fmt, m.help_text()
    if name in registry.FIELDS:
        f = registry.FIELDS[name]
        return f.label, f.fmt, f.help or None
    raise registry.UnknownMetric(f"{name!r} is neither a metric nor a field of the registry")


def _build(label: str, kind: str, *, format=None, help=None, width=None, pinned=None):
    """One column config of a registry format: a number, a date or time, or text."""
    common = {"width": width, "help": help, "pinned": pinned}
    if kind in WHEN_FORMATS:
        maker = st.column_config.DateColumn if kind == "date" else st.column_config.DatetimeColumn
        return maker(label, format=format or WHEN_FORMATS[kind], **common)
    if kind in NUMBER_FORMATS:
        return st.column_config.NumberColumn(label, format=format or NUMBER_FORMATS[kind], **common)
    return st.column_config.TextColumn(label, **common)


def column(name: str, label: str | None = None, *, format=None, help=None, width=None, pinned=None):
    """The column config of a registry name; `label`, `format`, `help`, `width` and `pinned`
    override what the registry says (help="" drops the tooltip)."""
    header, kind, tip = _declared(name)
    tip = tip if help is None else (help or None)
    return _build(label or header, kind, format=format, help=tip, width=width, pinned=pinned)


def number(label: str, fmt: str = "count", *, format=None, help=None, width=None):
    """A numeric column the registry does not declare, shown in one of its formats."""
    return _build(label, fmt, format=format, help=help, width=width)


def text(label: str, *, help=None, width=None, pinned=None):
    return _build(label, "text", help=help, width=width, pinned=pinned)


def when(label: str, *, format=None, help=None, date: bool = False):
    """A date (date=True) or timestamp column the registry does not declare."""
    return _build(label, "date" if date else "datetime", format=format, help=help)


def bars(label: str, *, help=None):
    """A small bar chart per row (a list of counts), from 0."""
    return st.column_config.BarChartColumn(label, help=help, y_min=0)


def _given(name: str, given):
    if not isinstance(given, str):
        return given
    return column(name, given) if known(name) else st.column_config.Column(given)


def config(columns: Iterable[str], **overrides) -> dict:
    """column_config for a table with these columns: every registry name configured from the
    registry; an override is a header (str) or a whole column config (`column`, `number`, ...).
    Names neither declared nor overridden keep Streamlit's default (their own name); overrides of
    names the table does not have are left out."""
    names = list(columns)
    out = {name: column(name) for name in names if known(name)}
    out.update({name: _given(name, given) for name, given in overrides.items() if name in names})
    return out
