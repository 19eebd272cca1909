"""The Explorer's queries on the demo data: counts agree with the attempts report, keyset paging
visits every row once in order (NULL sort values included), search matches literally, the CSV is
the attempts report's."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd
import pytest

from queries import explorer, export, reports
from queries.explorer import ExplorerQuery
from queries.filters import FilterError, Filters

W = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


def report_rows(f: Filters) -> pd.DataFrame:
    df = reports.fetch_report("attempts", f)
    df["generation_id"] = df["generation_id"].astype(str)
    return df


def keys(df: pd.DataFrame) -> list[tuple[str, int]]:
    return [(str(g), int(a)) for g, a in zip(df["generation_id"], df["attempt_number"], strict=True)]


def all_pages(f: Filters, q: ExplorerQuery, size: int) -> list[pd.DataFrame]:
    pages, after = [], None
    for _ in range(10_000):
        page = explorer.explorer_page(f, q, after, size)
        pages.append(page.rows)
        if page.next_after is None:
            return pages
        after = page.next_after
    raise AssertionError("paging did not end")


def expected_order(df: pd.DataFrame, col: str, descending: bool) -> list[tuple[str, int]]:
    """The Explorer's order computed in Python: values in the direction asked, unknown values last,
    ties and unknowns by (generation_id, attempt_number) in the same direction."""
    known = df[df[col].notna()]
    unknown = df[df[col].isna()]
    rows = sorted(
        zip(known[col], known["generation_id"], known["attempt_number"], strict=True),
        key=lambda r: (r[0], r[1], int(r[2])),
        reverse=descending,
    )
    rest = sorted(zip(unknown["generation_id"], unknown["attempt_number"], strict=True), reverse=descending)
    return [(g, int(a)) for _, g, a in rows] + [(g, int(a)) for g, a in rest]


@pytest.mark.parametrize(
    "f",
    [
        W,
        replace(W, statuses=("failed",)),
        replace(W, statuses=("failed", "timeout"), types=("hero",)),
        replace(W, include_tests=True),
    ],
    ids=["all", "failed", "failed-timeout-hero", "tests"],
)
def test_count_is_the_attempts_report_row_count(demo_db, f):
    expected = len(report_rows(f))
    assert expected > 0
    assert explorer.explorer_count(f, ExplorerQuery()) == expected


def test_first_page_is_the_attempts_report_head(demo_db):
    page = explorer.explorer_page(W, ExplorerQuery(), None, 50)
    report = report_rows(W)
    assert list(page.rows.columns) == reports.COLUMNS["attempts"]
    assert keys(page.rows) == keys(report.head(50))
    assert page.next_after is not None
    # Typed values are the report's, row for row.
    for col in ("latency_ms", "cost_usd", "tokens", "quality", "error_signature", "status", "model_used"):
        a, b = page.rows[col].reset_index(drop=True), report[col].head(50).reset_index(drop=True)
        assert a.astype(object).fillna("?").astype(str).tolist() == b.astype(object).fillna("?").astype(str).tolist()


@pytest.mark.parametrize(
    "sort,descending",
    [
        ("created_at", True),
        ("created_at", False),
        ("cost_usd", True),
        ("cost_usd", False),
        ("quality", True),
        ("quality", False),
        ("latency_ms", False),
    ],
)
def test_keyset_paging_visits_every_row_once_in_order(demo_db, sort, descending):
    f = replace(W, since=datetime(2026, 11, 6, tzinfo=UTC))  # about half the window: fewer pages
    report = report_rows(f)
    if sort in ("cost_usd", "quality"):
        assert report[sort].isna().any(), "the check needs rows without a value"
    pages = all_pages(f, ExplorerQuery(sort=sort, descending=descending), 97)
    seen = [k for p in pages for k in keys(p)]
    assert len(seen) == len(set(seen)) == len(report)
    assert len(pages) == -(-len(report) // 97)
    assert all(len(p) == 97 for p in pages[:-1])
    if sort == "created_at":
        times = pd.concat(pages)["created_at"].tolist()
        assert times == sorted(times, reverse=descending)
        assert set(seen) == set(keys(report))
    else:
        assert seen == expected_order(report, sort, descending)
        # Unknown values come last, after every known one.
        values = pd.concat(pages)[sort]
        if values.isna().any():
            first_unknown = int(values.isna().to_numpy().argmax())
            assert values.iloc[first_unknown:].isna().all()


@pytest.mark.parametrize(("sort", "descending"), [("cost_usd", True), ("latency_ms", True), ("quality", False)])
def test_a_sort_by_value_walks_the_value_index_and_pages_as_the_raw_table(demo_db, monkeypatch, sort, descending):
    """Under model and type filters the facts' value index gives the attempts that have the value,
    then the ones without it come: every page equals the raw table's pages (GENLENS_FACTS=0)."""
    f = replace(W, models=("openai/gpt-4o-mini", "deepseek/deepseek-chat"), types=("hero", "child"))
    q = ExplorerQuery(sort=sort, descending=descending)
    assert explorer._walks_value_index(f, q, demo_db)
    report = report_rows(f)
    known = int(report[sort].notna().sum())
    size = 61 if known % 61 else 59
    fast = all_pages(f, q, size)
    if known < len(report):  # a page holds the last known values and the first unknown ones
        assert any(p[sort].notna().any() and p[sort].isna().any() for p in fast)
    assert [k for p in fast for k in keys(p)] == expected_order(report, sort, descending)
    monkeypatch.setenv("GENLENS_FACTS", "0")
    from data_access.engine import get_database

    get_database.cache_clear()
    raw_db = get_database()
    assert not explorer._walks_value_index(f, q, raw_db)
    raw = all_pages(f, q, size)
    assert [keys(p) for p in raw] == [keys(p) for p in fast]
    get_database().engine.dispose()
    get_database.cache_clear()


def test_one_row_pages_and_last_page(demo_db):
    f = replace(W, statuses=("timeout",), types=("combined",))
    total = explorer.explorer_count(f, ExplorerQuery())
    assert 0 < total < 200
    pages = all_pages(f, ExplorerQuery(sort="cost_usd"), 1)  # every timeout has no cost: all NULL keys
    assert len(pages) == total
    assert [k for p in pages for k in keys(p)] == expected_order(report_rows(f), "cost_usd", True)


def test_statuses_narrow_the_rows(demo_db):
    f = explorer.with_statuses(W, ("failed", "timeout"))
    rows = explorer.explorer_page(f, ExplorerQuery(), None, 500).rows
    assert len(rows) > 0
    assert set(rows["status"]) <= {"failed", "timeout"}
    with pytest.raises(FilterError):
        explorer.with_statuses(W, ("exploded",))


def test_signature_filter_matches_the_errors_report(demo_db):
    errors = reports.fetch_report("errors", W)
    top = errors.iloc[0]
    q = ExplorerQuery(signature=top["error_signature"])
    assert explorer.explorer_count(W, q) == top["occurrences"]
    rows = explorer.explorer_page(W, q, None, 500).rows
    assert set(rows["error_signature"]) == {top["error_signature"]}
    assert rows["generation_id"].nunique() == top["generations"]
    # A signature is matched exactly, not as a pattern.
    assert explorer.explorer_count(W, ExplorerQuery(signature=top["error_signature"][:-1])) == 0
    assert explorer.explorer_count(W, ExplorerQuery(signature="%")) == 0


def test_search_is_case_insensitive_and_covers_error_messages(demo_db):
    report = report_rows(W)
    want = report["error_message"].fillna("").str.lower().str.contains("rate limit", regex=False).sum()
    assert want > 0
    assert explorer.explorer_count(W, ExplorerQuery(text="RATE LIMIT")) == want


def test_search_covers_prompts(demo_db):
    # Prompts read "... who loves dragons. ..."; no error message mentions dragons.
    n = explorer.explorer_count(W, ExplorerQuery(text="loves dragons"))
    total = explorer.explorer_count(W, ExplorerQuery())
    assert 0 < n < total


def test_search_wildcards_match_literally(demo_db):
    report = report_rows(W)
    total = len(report)
    # No prompt or message holds a % or a backslash; unescaped, '%' would match every row.
    assert explorer.explorer_count(W, ExplorerQuery(text="%")) == 0
    assert explorer.explorer_count(W, ExplorerQuery(text="\\")) == 0
    assert explorer.explorer_count(W, ExplorerQuery(text="%%_%")) == 0
    # '_' appears only in error messages (req_…, finish_reason); unescaped it would match everything.
    underscore = report["error_message"].fillna("").str.contains("_", regex=False).sum()
    assert 0 < underscore < total
    assert explorer.explorer_count(W, ExplorerQuery(text="_")) == underscore
    assert explorer.explorer_count(W, ExplorerQuery(text="finish_reason")) > 0
    assert explorer.explorer_count(W, ExplorerQuery(text="finish%reason")) == 0


def test_like_pattern_escapes():
    assert explorer.like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


@pytest.mark.parametrize(
    "q",
    [
        ExplorerQuery(text="'; DROP TABLE generations; --"),
        ExplorerQuery(text="x' OR '1'='1"),
        ExplorerQuery(signature="' OR 1=1 --"),
        ExplorerQuery(signature='x"); SELECT pg_sleep(10); --'),
    ],
)
def test_injection_looking_text_is_just_text(demo_db, q):
    before = explorer.explorer_count(W, ExplorerQuery())
    assert explorer.explorer_count(W, q) == 0
    assert explorer.explorer_page(W, q).rows.empty
    assert explorer.explorer_count(W, ExplorerQuery()) == before


def test_metadata_issues_only(demo_db):
    q = ExplorerQuery(issues_only=True)
    n = explorer.explorer_count(W, q)
    assert n == reports.summary(W)["metadata_issues"] > 0


def test_bad_query_values_are_refused():
    with pytest.raises(FilterError):
        ExplorerQuery(sort="prompt; DROP TABLE generations")
    with pytest.raises(FilterError):
        ExplorerQuery(text="x" * 201)
    assert ExplorerQuery(text="   ").text is None


def test_csv_is_the_attempts_report(demo_db):
    f = replace(W, statuses=("failed", "timeout"))
    out = io.BytesIO()
    n = explorer.write_csv(f, ExplorerQuery(), out)
    buf = io.StringIO(newline="")
    export.write_report("attempts", f, buf)
    assert out.getvalue() == buf.getvalue().encode("utf-8")
    assert n == explorer.explorer_count(f, ExplorerQuery())


def test_csv_follows_the_filters_and_sort(demo_db):
    q = ExplorerQuery(text="timed out", sort="latency_ms", descending=False)
    out = io.BytesIO()
    n = explorer.write_csv(W, q, out)
    lines = out.getvalue().decode().splitlines()
    assert lines[0] == ",".join(reports.COLUMNS["attempts"])
    assert len(lines) - 1 == n == explorer.explorer_count(W, q) > 0
    first = explorer.explorer_page(W, q, None, 5).rows
    assert [ln.split(",")[0] for ln in lines[1:6]] == list(first["generation_id"])


def test_empty_database(empty_db):
    q = ExplorerQuery(text="x", sort="quality")
    assert explorer.explorer_count(W, ExplorerQuery()) == 0
    page = explorer.explorer_page(W, q)
    assert page.rows.empty and page.next_after is None
    assert list(page.rows.columns) == reports.COLUMNS["attempts"]
    out = io.BytesIO()
    assert explorer.write_csv(W, ExplorerQuery(), out) == 0
    assert out.getvalue().decode() == ",".join(reports.COLUMNS["attempts"]) + "\n"


def test_a_search_is_counted_up_to_the_cap(demo_db):
    q = ExplorerQuery(text="a")  # matches nearly every prompt
    full = explorer.explorer_count(W, q)
    assert full > 100
    assert explorer.explorer_count(W, q, cap=100) == 101  # "more than 100"
    assert explorer.explorer_count(W, q, cap=full) == full  # under the cap: exact
    # the plain view is always exact (its count is a sum of the rollup's status counts)
    assert explorer.explorer_count(W, ExplorerQuery(), cap=10) == explorer.explorer_count(W, ExplorerQuery())
