"""The one choke point for running a query: read-only, under the statement timeout, masked.

Every query of `queries/` runs through `fetch` (a DataFrame of already aggregated rows) or
`streaming` (rows from a server-side cursor, for CSV of any size); personal columns leave masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text

from data_access.engine import Database, get_database, read_only
from queries import masking


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


@contextmanager
def streaming(
    sql: str, params: dict[str, Any], expanding: tuple[str, ...] = (), db: Database | None = None, batch: int = 5000
) -> Iterator[tuple[list[str], Iterable[tuple]]]:
    """(columns, rows) of one read-only query, rows fetched from a server-side cursor in batches."""
    db = db or get_database()
    with read_only(db) as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            statement(sql, params, expanding), params
        )
        columns = list(result.keys())
        yield columns, masking.apply_rows(columns, result)
