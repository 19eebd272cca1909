"""Full-page screenshots of every GenLens page, for the README.

    python -m tests.browser.screenshots [--url http://127.0.0.1:8501] [--since D --until D] [--out docs/screenshots]

Without --url it starts `streamlit run app.py` itself with the current environment (the embedded
demo database unless DATABASE_URL is set) and stops it afterwards. The generation shown on the
detail page is the example of the window's most frequent error signature.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlencode

from tests.browser.helpers import ROOT, TIMEOUT_MS, launch, streamlit_server, wait_ready, warm_up

PAGES = {
    "overview": ("/", {}),
    "reliability": ("/reliability", {}),
    "cost": ("/cost", {}),
    "errors": ("/errors", {}),
    "explorer": ("/explorer", {}),
    "generation": ("/generation", {}),
    "reports": ("/reports", {"report": "daily"}),
}

WIDTH, HEIGHT = 1400, 1000
CONTENT_HEIGHT = """() => Math.max(...["stMain", "stMainBlockContainer", "stSidebarContent"].map(
    (id) => { const e = document.querySelector(`[data-testid="${id}"]`); return e ? e.scrollHeight : 0; }))"""


def example_generation(since: str | None, until: str | None) -> str | None:
    from queries import reports
    from queries.filters import Filters, parse_day

    f = Filters.default()
    if since and until:
        f = Filters(since=parse_day(since, "since"), until=parse_day(until, "until"))
    errors = reports.fetch_report("errors", f)
    return None if errors.empty else str(errors["example_generation_id"].iloc[0])


def shoot(base: str, out: Path, since: str | None, until: str | None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    window = {"since": since, "until": until} if since and until else {}
    saved = []
    with sync_playwright() as p:
        browser = launch(p)
        warm_up(browser, base)
        generation_id = example_generation(since, until)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.set_default_timeout(TIMEOUT_MS)
        for name, (path, extra) in PAGES.items():
            params = {**window, **extra}
            if name == "generation" and generation_id:
                params["generation_id"] = generation_id
            page.goto(base + path + ("?" + urlencode(params) if params else ""))
            wait_ready(page, '[data-testid="stMainBlockContainer"] [data-testid="stHeading"]')
            page.wait_for_timeout(1500)  # let plotly and the data grids finish drawing
            # Streamlit scrolls inside its main block, so a "full page" shot is only the viewport:
            # grow the viewport to the content's height instead.
            height = page.evaluate(CONTENT_HEIGHT)
            page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, min(height + 40, 12_000))})
            page.wait_for_timeout(1500)
            target = out / f"{name}.png"
            page.screenshot(path=str(target), full_page=True)
            page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
            saved.append(target)
        browser.close()
    return saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running GenLens (default: start one)")
    ap.add_argument("--since", help="first day, YYYY-MM-DD (default: the app's last 30 days)")
    ap.add_argument("--until", help="end day, YYYY-MM-DD (excluded)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    log = Path(tempfile.gettempdir()) / "genlens-screenshots-server.log"
    with nullcontext(args.url) if args.url else streamlit_server({}, log) as base:
        for path in shoot(base.rstrip("/"), Path(args.out), args.since, args.until):
            print(path)


if __name__ == "__main__":
    main()
