"""Shared pieces of the browser tests: a `streamlit run` server, chromium, and readers for
Streamlit's DOM (script state, metrics, the glide data grid's accessible cells, downloads)."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TIMEOUT_MS = 60_000
# The Overview's last KPI card: the KPI row is drawn card by card, so wait for this one.
LAST_KPI = '[data-testid="stMetric"]:has-text("Avg quality")'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(base: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def streamlit_server(env: dict[str, str], log: Path, timeout: float = 90) -> Iterator[str]:
    """`streamlit run app.py` on a free port with `env` added; yields its base URL, stops it after."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.headless", "true",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc, log, timeout)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# True once the run is over and the drawn page has not changed for SETTLE_MS. The frontend applies
# a run's elements in batches on a timer, so on a busy machine the "notRunning" state can show
# before the last elements of that run are on the page (a CI run once read 1 of the 6 KPIs).
SETTLE_MS = 400
_SETTLED = """(quiet) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  if (!app || !main || app.getAttribute('data-test-script-state') !== 'notRunning') {
    window.__glSettle = null;
    return false;
  }
  const mark = main.getElementsByTagName('*').length + ':' + main.innerText.length;
  const now = performance.now();
  if (!window.__glSettle || window.__glSettle.mark !== mark) {
    window.__glSettle = {mark, since: now};
    return false;
  }
  return now - window.__glSettle.since >= quiet;
}"""


def wait_ready(page, selector: str | None = None, timeout: int = TIMEOUT_MS) -> None:
    """Wait until Streamlit's script run is over, `selector` (if any) is drawn, and the page has
    stopped changing."""
    page.wait_for_selector(READY, timeout=timeout)
    if selector:
        page.wait_for_selector(selector, timeout=timeout)
        page.wait_for_selector(READY, timeout=timeout)
    settle(page, timeout)


def settle(page, timeout: int = TIMEOUT_MS) -> None:
    """Wait until the run is over and the main area has not changed for SETTLE_MS."""
    page.wait_for_function(_SETTLED, arg=SETTLE_MS, polling=100, timeout=timeout)


def warm_up(browser, base: str) -> None:
    """Visit `/` once so the server leaves Streamlit's old pages-directory mode.

    With a pages/ folder next to app.py, Streamlit runs a page file on its own (no app.py, no
    sidebar filters) until some session has run app.py's st.navigation. A shared link to
    /reports as the very first request after a start would hit that.
    """
    page = browser.new_page()
    try:
        page.goto(base + "/", timeout=TIMEOUT_MS)
        wait_ready(page, '[data-testid="stSidebarNav"]')
    finally:
        page.close()


def page_errors(page) -> list[str]:
    """Texts of the error panels and exceptions on the page (none on a healthy page)."""
    found = page.locator('[data-testid="stAlertContentError"], [data-testid="stException"]')
    return found.all_inner_texts()


def metrics(page) -> dict[str, str]:
    """KPI label -> shown value, for every st.metric on the page."""
    out = {}
    for m in page.locator('[data-testid="stMetric"]').all():
        label = m.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = m.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def grid_rows(grid, ncols: int, nrows: int | None = None) -> list[list[str]]:
    """Rows of an st.dataframe as drawn, read from the glide grid's accessible cells (raw values,
    before column formatting); the row-selection marker column, if any, is skipped. Only rows in
    view are in the DOM. The grid fills its cells a moment after the script run ends: pass `nrows`
    to wait for exactly that many rows, else this waits for at least one."""
    grid.locator('[data-testid^="glide-cell-"]').first.wait_for(state="attached", timeout=TIMEOUT_MS)
    offset = 0 if grid.locator('[data-testid="glide-cell-0-0"]').count() else 1
    if nrows is not None:
        column = grid.locator(f'[data-testid^="glide-cell-{offset}-"]')
        expect(column).to_have_count(nrows, timeout=TIMEOUT_MS)
    return grid.evaluate(
        """(g, [offset, ncols]) => {
            const rows = [];
            for (let r = 0; ; r++) {
                if (!g.querySelector(`[data-testid="glide-cell-${offset}-${r}"]`)) return rows;
                const row = [];
                for (let c = offset; c < offset + ncols; c++) {
                    const cell = g.querySelector(`[data-testid="glide-cell-${c}-${r}"]`);
                    row.push(cell ? cell.innerText.trim() : null);
                }
                rows.push(row);
            }
        }""",
        [offset, ncols],
    )


def download(page, button) -> tuple[str, bytes]:
    """Click a download button; (suggested file name, bytes) of the file the browser receives."""
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    d = info.value
    return d.suggested_filename, Path(d.path()).read_bytes()


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))
