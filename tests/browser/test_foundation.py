"""Issue 2 in a real browser: the Overview reads the link's window, a sidebar filter changes the
figures and the URL, and the By model CSV downloads with the METRICS.md header."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from queries import reports
from queries.filters import Filters
from tests.browser.helpers import LAST_KPI, READY, download, grid_rows, metrics, page_errors, parse_csv, wait_ready
from ui import format as fmt

pytestmark = pytest.mark.browser

SINCE, UNTIL = "2026-10-21", "2026-11-21"
WINDOW = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
BY_MODEL_TABLE = (
    'xpath=//*[@data-testid="stHeading"][contains(., "By model")]/following::*[@data-testid="stDataFrame"][1]'
)
BY_MODEL_CSV = (
    'xpath=//*[@data-testid="stHeading"][contains(., "By model")]/following::*[@data-testid="stDownloadButton"][1]'
)


def generations_value(page):
    return page.locator('[data-testid="stMetric"]', has_text="Generations").locator('[data-testid="stMetricValue"]')


def test_overview_filter_and_by_model_csv(page, server, demo_db):
    page.goto(f"{server}/?since={SINCE}&until={UNTIL}")
    wait_ready(page, f'{LAST_KPI}, [data-testid="stAlertContentError"]')
    assert not page_errors(page)
    kpis = metrics(page)
    assert len(kpis) == 6, kpis
    assert {"Generations", "Success rate", "Total cost", "p95 latency"} <= set(kpis)
    everything = reports.summary(WINDOW)
    assert kpis["Generations"] == fmt.count(everything["generations"])

    # Choose the second-busiest model in the sidebar.
    model = reports.fetch_report("by_model", WINDOW)["model_used"].iloc[1]
    models = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]', has_text="Models")
    models.locator("input").click()
    page.get_by_role("option", name=model, exact=True).click()
    page.keyboard.press("Escape")
    one = Filters(since=WINDOW.since, until=WINDOW.until, models=(model,))
    expected = fmt.count(reports.summary(one)["generations"])
    assert expected != kpis["Generations"]
    expect(generations_value(page)).to_have_text(expected, timeout=60_000)
    page.wait_for_selector(READY)
    assert not page_errors(page)
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("model") == [model])

    # The By model table now shows that model only; its CSV has exactly the rows shown.
    table = page.locator(BY_MODEL_TABLE)
    shown = grid_rows(table, ncols=1, nrows=1)
    assert [r[0] for r in shown] == [model]
    name, data = download(page, page.locator(BY_MODEL_CSV).get_by_role("button", name="Download CSV"))
    assert name == f"genlens_by_model_{one.describe()}.csv"
    rows = parse_csv(data)
    assert rows[0] == reports.COLUMNS["by_model"]
    assert [r[0] for r in rows[1:]] == [r[0] for r in shown]
    assert int(rows[1][1]) == int(reports.fetch_report("by_model", one)["attempts"].iloc[0])
