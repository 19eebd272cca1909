"""The Explorer page in AppTest: filters from the URL and back, paging, the full CSV, empty states."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from queries import explorer, reports
from queries.explorer import ExplorerQuery
from queries.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SINCE, UNTIL = "2026-10-21", "2026-11-21"
W = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


def open_explorer(since: str = SINCE, until: str = UNTIL, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    base = {"since": since, "until": until, **params}
    for k, v in base.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    for k, v in base.items():
        at.query_params[k] = v
    at.switch_page("pages/explorer.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Explorer"
    return at


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_first_page_on_demo_data(demo_db):
    at = open_explorer()
    table = at.dataframe[0].value
    assert list(table.columns) == reports.COLUMNS["attempts"]
    assert len(table) == 50
    total = explorer.explorer_count(W, ExplorerQuery())
    assert f"rows 1–50 of {total:,} attempts" in captions(at)
    assert list(table["generation_id"]) == list(
        explorer.explorer_page(W, ExplorerQuery(), None, 50).rows["generation_id"]
    )
    assert not at.warning


def test_status_from_the_url_shows_only_those_rows(demo_db):
    at = open_explorer(status="failed")
    assert at.multiselect(key="ex_status").value == ["failed"]
    table = at.dataframe[0].value
    assert len(table) == 50 and set(table["status"]) == {"failed"}
    total = len(reports.fetch_report("attempts", replace(W, statuses=("failed",))))
    assert f"of {total:,} attempts" in captions(at)
    assert at.query_params["status"] == ["failed"] or at.query_params["status"] == "failed"


def test_bad_url_values_warn_and_are_ignored(demo_db):
    at = open_explorer(status=["timeout", "exploded"], sort="prompt; DROP TABLE x", dir="sideways", size="7")
    warnings = " ".join(w.value for w in at.warning)
    assert "exploded" in warnings and "sort=" in warnings and "dir=" in warnings and "size=" in warnings
    assert at.multiselect(key="ex_status").value == ["timeout"]
    assert at.selectbox(key="ex_sort").value == "created_at"
    assert set(at.dataframe[0].value["status"]) == {"timeout"}


def test_sort_and_direction_from_the_url(demo_db):
    at = open_explorer(sort="cost_usd", dir="asc", size="100")
    table = at.dataframe[0].value
    assert len(table) == 100
    costs = table["cost_usd"].dropna().tolist()
    assert costs == sorted(costs) and len(costs) == 100
    assert "without a cost value are listed last" in captions(at)


def test_next_and_previous(demo_db):
    at = open_explorer(status="success")
    f = replace(W, statuses=("success",))
    first = explorer.explorer_page(f, ExplorerQuery(), None, 50)
    second = explorer.explorer_page(f, ExplorerQuery(), first.next_after, 50)
    assert list(at.dataframe[0].value["generation_id"]) == list(first.rows["generation_id"])
    assert button(at, "Previous").disabled
    button(at, "Next").click().run()
    assert not at.exception
    assert "Page 2 · rows 51–100" in captions(at)
    assert list(at.dataframe[0].value["generation_id"]) == list(second.rows["generation_id"])
    button(at, "Previous").click().run()
    assert "Page 1 · rows 1–50" in captions(at)
    assert list(at.dataframe[0].value["generation_id"]) == list(first.rows["generation_id"])


def test_changing_a_filter_goes_back_to_page_one_and_into_the_url(demo_db):
    at = open_explorer()
    button(at, "Next").click().run()
    assert "Page 2" in captions(at)
    at.text_input(key="ex_q").set_value("timed out").run()
    assert not at.exception
    assert at.query_params["q"] in ("timed out", ["timed out"])
    assert "Page 1" in captions(at)
    assert all("timed out" in m for m in at.dataframe[0].value["error_message"])


def test_signature_param(demo_db):
    top = reports.fetch_report("errors", W).iloc[0]
    at = open_explorer(signature=top["error_signature"])
    assert at.text_input(key="ex_signature").value == top["error_signature"]
    table = at.dataframe[0].value
    assert set(table["error_signature"]) == {top["error_signature"]}
    assert f"of {int(top['occurrences']):,} attempts" in captions(at)


def test_issues_param_shows_metadata_issues(demo_db):
    at = open_explorer(issues="1")
    assert at.toggle(key="ex_issues").value is True
    n = int(reports.summary(W)["metadata_issues"])
    assert n > 0
    assert f"of {n:,} attempts" in captions(at)


def test_injection_text_is_an_empty_result(demo_db):
    at = open_explorer(q="'; DROP TABLE generations; --")
    assert not at.dataframe
    assert any("No attempts match" in i.value for i in at.info)
    assert explorer.explorer_count(W, ExplorerQuery()) > 0


def test_csv_is_the_whole_filtered_result(demo_db, offered):
    open_explorer(status=["failed", "timeout"], q="o")
    f = replace(W, statuses=("failed", "timeout"))
    build = offered[f"genlens_attempts_{f.describe()}.csv"]
    assert callable(build), "built on click, not on every rerun"
    data = build()
    out = io.BytesIO()
    n = explorer.write_csv(f, ExplorerQuery(text="o"), out)
    assert data == out.getvalue()
    assert n > 50  # more than the page shows
    assert len(data.decode().splitlines()) == n + 1


def test_empty_window(demo_db):
    at = open_explorer(since="2020-01-01", until="2020-01-08")
    assert any("No attempts match" in i.value for i in at.info)
    assert not at.dataframe


def test_empty_database(empty_db):
    at = open_explorer(status="failed")
    assert not at.exception
    assert any("No attempts match" in i.value and "status failed" in i.value for i in at.info)


def test_without_a_search_the_count_is_exact_past_the_cap(demo_db, monkeypatch):
    from queries import explorer

    monkeypatch.setattr(explorer, "COUNT_CAP", 100)
    at = open_explorer(sort="cost_usd")
    total = explorer.explorer_count(W, ExplorerQuery(sort="cost_usd"))
    assert total > 100
    assert f"rows 1–50 of {total:,} attempts" in captions(at)


def test_a_common_search_says_more_than_the_cap(demo_db, monkeypatch):
    from queries import explorer

    monkeypatch.setattr(explorer, "COUNT_CAP", 100)  # the demo window has fewer than 10,000 matches
    at = open_explorer(q="a")  # nearly every prompt: counted up to the cap, never all of them
    assert "of more than 100 attempts" in captions(at)
    labels = [b.label for b in at.get("download_button")]
    assert any(label.startswith("Download CSV (up to 200,000 rows)") for label in labels), labels
