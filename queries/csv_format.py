"""CSV cells as METRICS.md writes them: plain numbers, ISO 8601 UTC times, blanks for unknown."""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        text = repr(value)
        # repr is the shortest exact form but may use exponents (1e-05); write it plainly.
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(value)
    # Spreadsheets run cells that start like a formula; a leading quote keeps them text.
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def _pandas_value(v):
    # DataFrame cells come back as numpy / pandas scalars; turn them into plain Python first.
    if hasattr(v, "to_pydatetime"):
        return None if v != v else v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    try:
        if v != v:  # NaN, NaT, pd.NA
            return None
    except TypeError:
        return None
    return v


def csv_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    """Header then one CSV line per row, each as a str (streamable)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    yield buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        w.writerow([cell(_pandas_value(v)) for v in row])
        yield buf.getvalue()


def dataframe_csv(df) -> bytes:
    """A DataFrame (a page's table) as CSV bytes, with the same cell rules as the CLI."""
    rows = df.itertuples(index=False, name=None)
    return "".join(csv_lines([str(c) for c in df.columns], rows)).encode("utf-8")
