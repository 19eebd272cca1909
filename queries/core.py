"""The one choke point for running a query: read-only, under the statement timeout, masked.

Every query of `queries/` runs through `fetch` (a DataFrame of already aggregated rows) or
`streaming` (rows from a server-side cursor, for CSV of any size); personal columns leave masked.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.types import NullType

from data_access.engine import Database, get_database, read_only
from queries import csv_format, masking
from queries.csv_format import FLOAT_OIDS, python_cell, sql_cell, sql_float_cell, sql_float_safe, write_chunks


def statement(sql: str, params: dict[str, Any], expanding: tuple[str, ...]):
    stmt = text(sql)
    if expanding:
        stmt = stmt.bindparams(*(bindparam(n, expanding=True) for n in expanding))
    return stmt


def fetch(
    sql: str,
    params: dict[str, Any],
    expanding: tuple[str, ...] = (),
    db: Database | None = None,
    policy: masking.MaskPolicy | None = None,
) -> pd.DataFrame:
    """Run one read-only query and return its (already aggregated) rows as a DataFrame.

    Personal columns are masked by the run's masking policy (or `policy`) before the frame leaves.
    """
    db = db or get_database()
    with read_only(db) as conn:
        result = conn.execute(statement(sql, params, expanding), params)
        df = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return masking.apply_frame(df, policy)


# Rows per FETCH from the server-side cursor: one round trip per batch; 20,000 attempts are a few MB.
BATCH = 20_000
_cursor_names = itertools.count(1)


def driver_statement(sql: str, params: dict[str, Any], expanding: tuple[str, ...], dialect) -> tuple[str, dict]:
    """(SQL text, parameters) in the driver's own style, as SQLAlchemy would send them.

    Every bind stays untyped (NullType), as when `execute(text(sql), params)` runs: no casts are
    added and psycopg adapts the values itself; expanding lists become one placeholder per item.
    """
    stmt = text(sql)
    used = stmt.compile(dialect=dialect).binds  # a parameter the text does not name is ignored, as by execute
    binds = [bindparam(n, params[n], type_=NullType(), expanding=n in expanding) for n in params if n in used]
    compiled = stmt.bindparams(*binds).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


@contextmanager
def streaming(
    sql: str,
    params: dict[str, Any],
    expanding: tuple[str, ...] = (),
    db: Database | None = None,
    batch: int = BATCH,
    export: bool = False,
) -> Iterator[tuple[list[str], Iterable[tuple]]]:
    """(columns, rows) of one read-only query, rows fetched from a server-side cursor in batches.

    Rows are psycopg's plain tuples: SQLAlchemy's Row objects cost more than the CSV writing
    (bench/export.py). `export=True` is a long job (the CLI, a page's full download): it runs under
    GENLENS_EXPORT_TIMEOUT_MS (0: no limit) instead of the interactive GENLENS_QUERY_TIMEOUT_MS.
    """
    db = db or get_database()
    with read_only(db, db.settings.export_timeout_ms if export else None) as conn:
        query, values = driver_statement(sql, params, expanding, conn.dialect)
        raw = conn.connection.driver_connection
        with raw.cursor(name=f"genlens_stream_{next(_cursor_names)}") as cur:
            cur.itersize = batch
            cur.execute(query, values)
            columns = [c.name for c in cur.description]
            yield columns, masking.apply_rows(columns, _Batched(cur, batch))


class _Batched:
    """The rows of a server-side cursor, `batch` per FETCH (`cursor`: what is still on the server)."""

    def __init__(self, cursor, batch: int) -> None:
        self.cursor, self.batch = cursor, batch

    def __iter__(self) -> Iterator[tuple]:
        while rows := self.cursor.fetchmany(self.batch):
            yield from rows


def export_csv(
    sql: str,
    params: dict[str, Any],
    expanding: tuple[str, ...],
    write,
    db: Database | None = None,
    encode: bool = False,
    batch: int = BATCH,
    limit: int | None = None,
) -> int:
    """Write one read-only query's rows (its first `limit`) as CSV, header first, with `write`;
    return the number of data rows.

    An export: it runs under GENLENS_EXPORT_TIMEOUT_MS (0: no limit), not the page timeout. The text
    is `csv_format.csv_lines`' for the same rows (masked the same way), made faster: PostgreSQL
    writes each row's line itself (`csv_format.SQL_CELLS`: the common types' cells, the commas, the
    line end) around the cells Python writes from psycopg's values (floats, masked columns, other
    types). Measured in bench/export.py.
    """
    db = db or get_database()
    policy = masking.current()
    with read_only(db, db.settings.export_timeout_ms) as conn:
        for name, value in csv_format.SQL_CELL_SETTINGS.items():
            conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
        query, values = driver_statement(sql, params, expanding, conn.dialect)
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            cur.execute(f"SELECT * FROM ({query}) AS genlens_q LIMIT 0", values)
            columns = [c.name for c in cur.description]
            oids = [c.type_code for c in cur.description]
        if len(columns) < 2 or len(set(columns)) < len(columns):
            # one cell per row (csv.writer quotes a lone empty cell) or names SQL cannot tell apart
            with streaming(sql, params, expanding, db, batch, export=True) as (cols, rows):
                return write_chunks(cols, itertools.islice(rows, limit), write, encode)
        masked = (
            {c for c in columns if c in masking.TEXT_COLUMNS or c in masking.USER_COLUMNS} if policy.enabled else set()
        )
        select, python, whole = _line_select(columns, oids, masked)
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(columns)
        write(header.getvalue().encode("utf-8") if encode else header.getvalue())
        n = 0
        # The query's ORDER BY keeps its subquery from being flattened: its rows come in its order.
        cap = "" if limit is None else f" LIMIT {int(limit)}"
        lines = f"SELECT {select} FROM ({query}) AS genlens_q{cap}"
        with raw.cursor() as cur:
            cur.execute(f"SELECT {select} FROM ({query}) AS genlens_q LIMIT 0", values)
            types = [c.type_code for c in cur.description]
        # COPY streams the rows as the server makes them (a cursor's FETCHes wait for each other),
        # and its query may run in parallel; binary, so the lines come as they are, unescaped
        with raw.cursor() as cur, cur.copy(f"COPY ({lines}) TO STDOUT (FORMAT BINARY)", values) as copy:
            copy.set_types(types)
            rows = copy.rows()
            while chunk := list(itertools.islice(rows, batch)):
                text_ = _lines(chunk, python, policy, whole)
                write(text_.encode("utf-8") if encode else text_)
                n += len(chunk)
    return n


def _line_select(columns: list[str], oids: list[int], masked: set[str]) -> tuple[str, list[tuple[int, str, Any]], bool]:
    """The select list giving a row's CSV line in pieces, the pieces Python writes (position,
    column, writer), and whether a first column holds the whole line (else NULL, and the pieces
    follow). Consecutive SQL-written cells and commas are one text piece.

    Floats are written by PostgreSQL where its digits are repr()'s (csv_format.sql_float_safe):
    when that makes every cell SQL-written, a row whose floats all are (nearly every row) comes as
    one line, and the others as the pieces, their floats written by Python."""
    refs = ['genlens_q."' + name.replace('"', '""') + '"' for name in columns]

    def pieces(floats_in_sql: bool) -> tuple[list[str], list[tuple[int, str, Any]]]:
        tokens: list[tuple[str, Any]] = []
        for i, (name, oid, ref) in enumerate(zip(columns, oids, refs, strict=True)):
            if i:
                tokens.append(("sql", "','"))
            expr = None
            if name not in masked:
                expr = sql_float_cell(oid, ref) if floats_in_sql and oid in FLOAT_OIDS else sql_cell(oid, ref)
            if expr is not None:
                tokens.append(("sql", expr))
            elif oid == 700:  # float4 loaded as its text reads, as the cursor's text rows did
                tokens.append(("py", (f"CAST(CAST({ref} AS text) AS float8)", name, python_cell(701))))
            else:
                tokens.append(("py", (ref, name, python_cell(oid))))
        tokens.append(("sql", "chr(10)"))
        items: list[str] = []
        python: list[tuple[int, str, Any]] = []
        run: list[str] = []
        for kind, value in tokens:
            if kind == "sql":
                run.append(value)
                continue
            if run:
                items.append(" || ".join(run))
                run = []
            ref, name, writer = value
            python.append((len(items), name, writer))
            items.append(ref)
        items.append(" || ".join(run))
        return items, python

    items, python = pieces(False)
    floats = [
        (oid, ref)
        for name, oid, ref in zip(columns, oids, refs, strict=True)
        if oid in FLOAT_OIDS and name not in masked
    ]
    whole, rest = pieces(True)
    if not floats or rest:
        return ", ".join(f"{e} AS p{k}" for k, e in enumerate(items)), python, False
    safe = " AND ".join(sql_float_safe(oid, ref) for oid, ref in floats)
    select = [f"CASE WHEN {safe} THEN {whole[0]} END AS line"]
    select += [f"CASE WHEN NOT ({safe}) THEN {e} END AS p{k}" for k, e in enumerate(items)]
    return ", ".join(select), python, True


def _lines(
    rows: list[tuple], python: list[tuple[int, str, Any]], policy: masking.MaskPolicy, whole: bool = False
) -> str:
    if whole:
        lines = [r[0] for r in rows]
        if None not in lines:
            return "".join(lines)
        return "".join(
            line if line is not None else _lines([r[1:]], python, policy) for line, r in zip(lines, rows, strict=True)
        )
    if not python:
        return "".join(r[0] for r in rows)
    positions = [k for k, _, _ in python]
    writers = [w for _, _, w in python]
    values = masking.apply_rows([c for _, c, _ in python], [tuple(r[k] for k in positions) for r in rows], policy)
    out = []
    for row, vals in zip(rows, values, strict=True):
        line = list(row)
        for k, w, v in zip(positions, writers, vals, strict=True):
            line[k] = w(v)
        out.append("".join(line))
    return "".join(out)
