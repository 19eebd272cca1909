"""CSV downloads for every table: masked like the page, recorded in the audit trail."""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Callable
from typing import BinaryIO

import pandas as pd
import streamlit as st

from queries import masking
from queries.csv_format import dataframe_csv
from queries.filters import Filters

log = logging.getLogger(__name__)


# Streamlit hands a download over as bytes held in the server's memory (st.download_button turns
# even a file or a callable's result into bytes, kept until the session moves on). So a page offers
# at most this many rows (~45 MB of attempts CSV, the file's first lines); beyond it, the page shows
# the CLI command, which streams any size to a file with flat memory.
BROWSER_MAX_ROWS = 200_000
ATTEMPT_CSV_BYTES = 222  # bytes per attempts row, measured on the demo data (bench/export.py)


def capped_download(total: int, row_bytes: int = ATTEMPT_CSV_BYTES) -> tuple[str, int | None]:
    """(button label, row limit or None) for a download of `total` rows: count, size and format."""
    from ui import format as fmt

    rows = min(total, BROWSER_MAX_ROWS)
    mb = max(1, round(rows * row_bytes / 1e6))
    if total <= BROWSER_MAX_ROWS:
        return f"Download CSV (all {fmt.count(total)} rows, ~{mb} MB)", None
    return f"Download CSV (first {fmt.count(rows)} of {fmt.count(total)} rows, ~{mb} MB)", BROWSER_MAX_ROWS


def spooled(write: Callable[[BinaryIO], int]) -> bytes:
    """The bytes `write` streams into a file, built in a temp file on disk rather than in memory:
    the one copy held is the one Streamlit serves."""
    with tempfile.TemporaryFile() as out:
        write(out)
        out.seek(0)
        return out.read()


def _row_count(data: bytes) -> int:
    return max(0, sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8")))) - 1)


def csv_download(
    source: pd.DataFrame | Callable[[], bytes],
    name: str,
    f: Filters | None,
    key: str | None = None,
    *,
    label: str = "Download CSV",
    container=None,
    help: str | None = None,
    file_name: str | None = None,
) -> None:
    """A download button for `source`: the table's DataFrame, or a callable building the CSV bytes.

    A table (already fetched, already masked) is offered as its bytes and the click is recorded in
    the audit trail. A callable (a full result, possibly millions of rows) runs only when clicked, in
    Streamlit's download thread: the run's masking policy and principal are carried there, and the
    export is refused when it cannot be recorded while sign-in is on (GENLENS_AUTH other than none).
    """
    from ui.access import current

    who, policy = current(), masking.current()
    file_name = file_name or f"genlens_{name}" + (f"_{f.describe()}" if f else "") + ".csv"
    common = dict(file_name=file_name, mime="text/csv", key=key, icon=":material/download:", help=help)
    if isinstance(source, pd.DataFrame) and who.method == "none":
        # Open access: the table's bytes go with the page; the click is recorded (best effort).
        (container or st).download_button(
            label, dataframe_csv(source), on_click=_recorded, args=(who, name, f, len(source)), **common
        )
        return

    def build() -> bytes:
        # With sign-in on, even a table already on the page is only handed over once recorded.
        if isinstance(source, pd.DataFrame):
            data, rows = dataframe_csv(source), len(source)
        else:
            with masking.using(policy):
                data = source()
            rows = _row_count(data)
        record_export(who, name, f, rows)
        return data

    (container or st).download_button(label, build, on_click="ignore", **common)


def _recorded(who, name: str, f: Filters | None, rows: int) -> None:
    try:
        record_export(who, name, f, rows)
    except Exception:  # noqa: BLE001 - the file is already in the browser: say so in the log
        log.error("export of %s by %s was not recorded in the audit trail", name, who.name)


def record_export(who, name: str, f: Filters | None, rows: int) -> None:
    from data_access import audit

    try:
        audit.record(
            who.name,
            who.role,
            who.method,
            "export",
            report=name,
            filters=audit.filters_record(f) if f else None,
            row_count=rows,
        )
    except audit.AuditUnavailable:
        if who.method != "none":
            raise
        log.info("export of %s not audited (open access, audit trail unavailable)", name)
