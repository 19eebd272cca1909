"""The Audit trail page in AppTest: the table of exports and test runs, and its CSV download."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from access.passwords import LOCKOUT, hash_password
from data_access import audit
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
SCHEMA = "audit_page"
ADMIN_PASSWORD = "audit-admin-pass"
TODAY = datetime.now(UTC).date()
WINDOW = {"since": str(TODAY - timedelta(days=1)), "until": str(TODAY + timedelta(days=1))}
SHOWN = ["actor", "role", "method", "action", "report", "filters", "row_count", "detail"]


@pytest.fixture
def trail(use_schema, admin_engine, monkeypatch):
    """Three audit rows written today through data_access.audit: two exports and a test run."""
    for name in ("GENLENS_AUTH", "GENLENS_MASK", "GENLENS_ADMIN_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    db = use_schema(SCHEMA)
    with admin_engine.begin() as conn:
        conn.execute(text(f'DELETE FROM "{SCHEMA}".genlens_audit'))
    audit.record(
        "ana@example.com", "analyst", "password", "export", report="summary", filters={"since": "x"}, row_count=12
    )
    audit.record("vi@example.com", "viewer", "supabase", "export", report="errors", row_count=3)
    audit.record("admin", "admin", "password", "test_run", detail={"count": 2, "provider": "simulated"})
    return db


def _window(at: AppTest) -> None:
    for k, v in WINDOW.items():
        at.query_params[k] = v


def open_audit(password: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    _window(at)
    at.run()
    assert not at.exception
    if password is not None:  # GENLENS_AUTH=password: sign in first, as an admin
        at.text_input[0].input(password)
        at.button[0].click()
        at.run()
        assert not at.exception and not at.error
        _window(at)
    at.switch_page("pages/audit.py")
    at.run()
    assert not at.exception and not at.error, at.exception
    assert at.title[0].value == "Audit trail"
    return at


def _csv(offered: dict) -> pd.DataFrame:
    (name,) = [k for k in offered if k.startswith("genlens_audit")]
    data = offered[name]
    data = data() if callable(data) else data
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def _same_rows(csv: pd.DataFrame, table: pd.DataFrame) -> None:
    """The file holds the table's columns and rows, in the table's order."""
    assert list(csv.columns) == list(table.columns)
    assert len(csv) == len(table)
    shown = table[SHOWN].astype(object).where(table[SHOWN].notna(), "")
    for col in SHOWN:
        want = [("" if v == "" else str(int(v)) if col == "row_count" else str(v)) for v in shown[col]]
        assert list(csv[col]) == want, col
    assert list(pd.to_datetime(csv["at"], utc=True)) == list(pd.to_datetime(table["at"], utc=True))


def test_audit_table_offers_its_rows_as_csv(trail, offered):
    at = open_audit()
    table = at.dataframe[0].value
    assert list(table.columns) == ["at", *SHOWN]
    assert list(table["actor"]) == ["admin", "vi@example.com", "ana@example.com"]  # newest first
    assert [b.label for b in at.download_button] == ["Download CSV"]
    _same_rows(_csv(offered), table)

    at.segmented_control(key="audit_action").set_value("test_run").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["action"]) == ["test_run"]
    _same_rows(_csv(offered), table)


def test_signed_in_admin_download_is_the_table_and_is_recorded(trail, offered, admin_engine, monkeypatch):
    monkeypatch.setenv("GENLENS_AUTH", "password")
    monkeypatch.setenv("GENLENS_ADMIN_PASSWORD_HASH", hash_password(ADMIN_PASSWORD, n=2**10))
    LOCKOUT.reset()
    try:
        at = open_audit(ADMIN_PASSWORD)
        table = at.dataframe[0].value
        assert len(table) == 3 and len(at.download_button) == 1
        _same_rows(_csv(offered), table)  # built on click (sign-in on), once recorded
    finally:
        LOCKOUT.reset()
    with admin_engine.connect() as conn:
        recorded = conn.execute(
            text(f"SELECT actor, role, report, row_count FROM \"{SCHEMA}\".genlens_audit WHERE report = 'audit'")
        ).all()
    assert [tuple(r) for r in recorded] == [("admin", "admin", "audit", 3)]
