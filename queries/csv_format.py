"""CSV cells as METRICS.md writes them: plain numbers, ISO 8601 UTC times, blanks for unknown."""

from __future__ import annotations

import csv
import io
import itertools
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


def _text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _datetime(value: datetime) -> str:
    return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _float(value: float) -> str:
    if value != value or value in (math.inf, -math.inf):
        return ""
    text = repr(value)
    return format(Decimal(text), "f") if "e" in text or "E" in text else text


def _decimal(value: Decimal) -> str:
    return format(value, "f") if value.is_finite() else cell(_pandas_value(value))


# cell(_pandas_value(v)) for the exact types a database row holds, without the isinstance chain;
# every other type (subclasses included) takes the general path, so the text is the same.
_BY_TYPE = {
    type(None): lambda v: "",
    str: _text,
    int: str,
    float: _float,
    datetime: _datetime,
    date: date.isoformat,
    uuid.UUID: str,
    Decimal: _decimal,
    bool: lambda v: "true" if v else "false",
}


def _cells(row) -> list[str]:
    get = _BY_TYPE.get
    return [f(v) if (f := get(type(v))) else cell(_pandas_value(v)) for v in row]


def csv_chunks(columns: list[str], rows: Iterable[tuple], rows_per_chunk: int = 2000) -> Iterator[tuple[str, int]]:
    """(text, data rows in it) of the header then of `rows_per_chunk` rows at a time: the same text
    as `csv_lines`, joined, in a few large writes (what exports use: bench/export.py)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    yield buf.getvalue(), 0
    it = iter(rows)
    while True:
        chunk = [_cells(r) for r in itertools.islice(it, rows_per_chunk)]
        if not chunk:
            return
        buf.seek(0)
        buf.truncate()
        w.writerows(chunk)
        yield buf.getvalue(), len(chunk)


def write_chunks(columns: list[str], rows: Iterable[tuple], write, encode: bool = False) -> int:
    """Write the CSV of `rows` with `write` (text, or UTF-8 bytes with `encode`); return the data rows."""
    n = 0
    for text, count in csv_chunks(columns, rows):
        write(text.encode("utf-8") if encode else text)
        n += count
    return n


# The same cell rules in SQL, for exports: PostgreSQL writes the cells of these types itself (type
# OID -> expression over the column {c}), so no Python object is built for them. Each is exactly
# cell()'s text of the value psycopg would load, quoted as csv.writer quotes it in a row of several
# cells (QUOTE_MINIMAL, "\n" line ends: a cell holding , " or a newline is quoted, " doubled).
_SQL_QUOTED = (
    "CASE WHEN strpos({v}, ',') > 0 OR strpos({v}, '\"') > 0 OR strpos({v}, chr(10)) > 0"
    " THEN '\"' || replace({v}, '\"', '\"\"') || '\"' ELSE {v} END"
)
_SQL_FORMULA = "(CASE WHEN left({c}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN '''' || {c} ELSE {c} END)"
_SQL_TEXT = _SQL_QUOTED.format(v=_SQL_FORMULA)
_SQL_UTC = "({c} AT TIME ZONE 'UTC')"
SQL_CELLS = {
    25: _SQL_TEXT,  # text
    1043: _SQL_TEXT,  # varchar
    2950: "CAST({c} AS text)",  # uuid: lower-case and hyphenated, as str(UUID)
    20: "CAST({c} AS text)",  # int8
    23: "CAST({c} AS text)",  # int4
    21: "CAST({c} AS text)",  # int2
    16: "CASE WHEN {c} THEN 'true' WHEN NOT {c} THEN 'false' END",  # bool
    # timestamptz: datetime.isoformat() in UTC, whose microseconds are left out when zero (the time
    # part holds no other ".")
    1184: f"replace(to_char({_SQL_UTC}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || '+00:00'",
    # numeric: format(Decimal, "f") is PostgreSQL's own text (plain digits, the value's scale); NaN
    # is unknown
    1700: "CASE WHEN {c} <> 'NaN' THEN CAST({c} AS text) END",
}
# float8: _float(), i.e. repr() of the float, written without
# an exponent. PostgreSQL writes the same shortest exact digits (extra_float_digits >= 1, which
# exports set), in its own layout; read back as numeric (exact) they are the plain decimal, to which
# repr() adds ".0" when it has no point, except where repr() itself would use an exponent (below
# 1e-4, from 1e16 on), whose plain form is the decimal as it is. -0.0 keeps its sign.
_SQL_FLOAT_DIGITS = "CAST(CAST(CAST({x} AS text) AS numeric) AS text)"
_SQL_FLOAT = (
    "CASE WHEN {x} IN ('NaN', 'Infinity', '-Infinity') THEN NULL"
    " WHEN {x} = 0 THEN CASE WHEN CAST({x} AS text) = '-0' THEN '-0.0' ELSE '0.0' END"
    f" WHEN abs({{x}}) < 1e-4 OR abs({{x}}) >= 1e16 THEN {_SQL_FLOAT_DIGITS}"
    f" WHEN strpos({_SQL_FLOAT_DIGITS}, '.') > 0 THEN {_SQL_FLOAT_DIGITS}"
    f" ELSE {_SQL_FLOAT_DIGITS} || '.0' END"
)
# The float the cell is of: float4 as psycopg loads it (its shortest float4 digits, read as a float).
_SQL_FLOAT_OF = {701: "{c}", 700: "CAST(CAST({c} AS text) AS float8)"}
# Where PostgreSQL's shortest digits are repr()'s: below 2**53 (and not subnormal) a decimal
# halfway between two floats has more digits than the shortest one inside; from 2**53 on it can be
# the shortest, and repr() takes it where PostgreSQL does not. Those rare values are Python's.
_SQL_FLOAT_SAFE = (
    "({x} IS NULL OR {x} = 0 OR {x} IN ('NaN', 'Infinity', '-Infinity')"
    " OR (abs({x}) >= 2.2250738585072014e-308 AND abs({x}) < 9007199254740992))"
)
FLOAT_OIDS = frozenset(_SQL_FLOAT_OF)


def sql_float_cell(oid: int, column: str) -> str:
    """The CSV cell of a float column where sql_float_safe holds (never NULL: '')."""
    return f"COALESCE({_SQL_FLOAT.replace('{x}', _SQL_FLOAT_OF[oid]).format(c=column)}, '')"


def sql_float_safe(oid: int, column: str) -> str:
    """SQL condition: sql_float_cell of this value is Python's cell."""
    return _SQL_FLOAT_SAFE.replace("{x}", _SQL_FLOAT_OF[oid]).format(c=column)


# what the SQL cells assume of the session (an export's transaction sets it)
SQL_CELL_SETTINGS = {"extra_float_digits": "1"}


def sql_cell(oid: int, column: str) -> str | None:
    """The SQL text of `column`'s CSV cell (never NULL: ''), or None when Python writes it."""
    rule = SQL_CELLS.get(oid)
    return None if rule is None else f"COALESCE({rule.format(c=column)}, '')"


def quoted(text: str) -> str:
    """A cell as csv.writer writes it in a row of several cells (QUOTE_MINIMAL, "\\n" line ends)."""
    if "," in text or '"' in text or "\n" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def python_cell(oid: int):
    """The function writing a cell of type `oid` from the value psycopg loads, quoted."""
    if oid in (700, 701):  # float4, float8: digits only, never quoted
        return lambda v: "" if v is None else _float(v)
    return lambda v: quoted(cell(_pandas_value(v)))


def dataframe_csv(df) -> bytes:
    """A DataFrame (a page's table) as CSV bytes, with the same cell rules as the CLI."""
    rows = df.itertuples(index=False, name=None)
    return "".join(csv_lines([str(c) for c in df.columns], rows)).encode("utf-8")
