"""Issue 4 in a real browser: what a PM, a team lead and an engineer do with GenLens."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from queries import reports
from queries.filters import Filters
from tests.browser.helpers import LAST_KPI, ROOT, download, grid_rows, metrics, page_errors, parse_csv, wait_ready
from ui import format as fmt

pytestmark = pytest.mark.browser

SINCE, UNTIL = "2026-10-21", "2026-11-21"
WINDOW = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
# The six Overview KPIs: the metric each one shows.
KPI_METRICS = (
    "generations",
    "success_rate",
    "avg_attempts_per_generation",
    "total_cost_usd",
    "p95_latency_ms",
    "avg_quality",
)


def cli_csv(demo_env: dict[str, str], *args: str) -> bytes:
    out = subprocess.run(
        [sys.executable, "-m", "queries.export", *args],
        cwd=ROOT,
        env={**os.environ, **demo_env},
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def chosen(sidebar, label: str) -> list[str]:
    """The values chosen in a multiselect (its tags)."""
    widget = sidebar.locator('[data-testid="stMultiSelect"]', has_text=label)
    return [t.get_attribute("aria-label") for t in widget.locator("[data-tag]").all()]


def test_pm_opens_a_shared_link(page, server, demo_db):
    """A PM opens a link a colleague shared: the KPIs are the summary for the link's filters."""
    model = reports.fetch_report("by_model", WINDOW)["model_used"].iloc[0]
    query = urlencode({"since": SINCE, "until": UNTIL, "model": model, "type": "hero"})
    page.goto(f"{server}/?{query}")
    wait_ready(page, f'{LAST_KPI}, [data-testid="stAlertContentError"]')
    assert not page_errors(page)

    f = Filters(since=WINDOW.since, until=WINDOW.until, models=(model,), types=("hero",))
    cur = reports.summary(f)
    assert cur["generations"] > 0
    expected = {key: fmt.value(key, cur[key]) for key in KPI_METRICS}
    shown = metrics(page)
    assert shown["Generations"] == expected["generations"]
    assert shown["Success rate"] == expected["success_rate"]
    assert sorted(shown.values()) == sorted(expected.values()), (shown, expected)
    # Only the model's figure differs from the whole window's: the filter really applied.
    assert shown["Generations"] != fmt.count(reports.summary(WINDOW)["generations"])

    # The sidebar shows the link's filters.
    sidebar = page.locator('[data-testid="stSidebar"]')
    dates = sidebar.locator('[data-testid="stDateInput"] input[type="date"]')
    assert [d.input_value() for d in dates.all()] == ["2026-10-21", "2026-11-20"]
    assert chosen(sidebar, "Models") == [model]
    assert chosen(sidebar, "Story types") == ["hero"]


def test_team_downloads_the_daily_report(page, server, demo_db, demo_env):
    """A team lead takes the daily CSV from the Reports page: the same file cron would write,
    and the same numbers the page's preview shows."""
    page.goto(f"{server}/reports?report=daily&since={SINCE}&until={UNTIL}")
    wait_ready(page, '[data-testid="stDataFrame"], [data-testid="stAlertContentError"]')
    assert not page_errors(page)
    button = page.get_by_test_id("stDownloadButton").get_by_role("button", name="Download CSV")
    name, data = download(page, button)
    assert name == f"genlens_daily_{WINDOW.describe()}.csv"

    assert data == cli_csv(demo_env, "daily", "--since", SINCE, "--until", UNTIL)
    rows = parse_csv(data)
    assert rows[0] == reports.COLUMNS["daily"]
    assert len(rows) - 1 == len(reports.fetch_report("daily", WINDOW))

    # The preview grid's cells (raw values, top rows in view) are the CSV's cells.
    grid = page.locator('[data-testid="stDataFrame"]').first
    shown = grid_rows(grid, ncols=len(rows[0]))
    assert len(shown) >= 5
    assert [[_num(c) for c in r] for r in shown] == [[_num(c) for c in r] for r in rows[1 : 1 + len(shown)]]

    # And the command shown for cron writes that file.
    code = page.locator('[data-testid="stCode"]').inner_text()
    assert f"python -m queries.export daily --since {SINCE} --until {UNTIL}" in code


def see_generation_timeline(page, generation_id: str) -> None:
    """The Generation detail page of `generation_id`: its attempts timeline (a Plotly chart) and its
    attempts table, with at least one failed or timed-out attempt."""
    # Either the chart or an error panel: fail at once on the latter, with its text.
    wait_ready(page, '[data-testid="stPlotlyChart"], [data-testid="stAlertContentError"]')
    assert not page_errors(page)
    expect(page.get_by_role("heading", name="Generation detail")).to_be_visible()
    assert generation_id in page.url
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator(".main-svg").first).to_be_visible()
    table = page.locator(
        'xpath=//*[@data-testid="stHeading"][contains(., "Attempts")]/following::*[@data-testid="stDataFrame"][1]'
    )
    statuses = [row[1] for row in grid_rows(table, ncols=2)]
    assert {"failed", "timeout"} & set(statuses), statuses


def open_top_signature(page, server):
    """The Errors page with the window's most frequent signature selected (URL `signature`)."""
    top = reports.fetch_report("errors", WINDOW).iloc[0]
    signature = str(top["error_signature"])
    page.goto(f"{server}/errors?" + urlencode({"since": SINCE, "until": UNTIL, "signature": signature}))
    wait_ready(page, '[data-testid="stHeading"]:has-text("Attempts in this group")')
    assert not page_errors(page)
    assert signature in page.locator('[data-testid="stCode"]').first.inner_text()
    return page.locator(
        'xpath=//*[@data-testid="stHeading"][contains(., "Attempts in this group")]'
        '/following::*[@data-testid="stDataFrame"][1]'
    )


def test_engineer_clicks_from_error_to_generation(page, server, demo_db):
    """Errors -> top signature -> click its newest failing attempt -> that generation's timeline."""
    attempts = open_top_signature(page, server)
    generation_id, _, status = grid_rows(attempts, ncols=3)[0]
    assert status in ("failed", "timeout")
    # Select the first row by its row marker: the grid is a canvas, so click where the row is drawn
    # (header and rows are 35 px high; the marker column is the first ~30 px).
    attempts.scroll_into_view_if_needed()
    box = attempts.locator("canvas").first.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
    page.wait_for_url(f"**/generation?*generation_id={generation_id}*")
    see_generation_timeline(page, generation_id)


def _num(cell: str):
    """A cell as a number when it is one: the grid draws 1.0 as "1", the CSV writes "1.0"."""
    try:
        return float(cell)
    except ValueError:
        return cell
