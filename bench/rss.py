"""Peak memory of the dashboard: a separate `streamlit run` process, sampled with psutil while a
headless Chromium (Playwright) loads each page; also the time until the page finished running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.proc, self.every, self.peak, self.stop_flag = psutil.Process(pid), every, 0, threading.Event()

    def rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        while not self.stop_flag.is_set():
            try:
                self.peak = max(self.peak, self.rss())
            except psutil.NoSuchProcess:
                return
            time.sleep(self.every)


def measure(db_url: str, schema: str, pages: list[tuple[str, dict[str, str]]], timeout_s: float = 600) -> dict:
    """Start `streamlit run app.py`, load each (page, params) in Chromium; RSS figures and times."""
    from urllib.parse import urlencode

    from playwright.sync_api import sync_playwright

    from bench.pages import url_path

    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "GENLENS_SCHEMA": schema, "GENLENS_AUTH": "none"}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    out: dict = {"pages": {}}
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        sampler = Sampler(server.pid)
        out["rss_idle_mb"] = sampler.rss() / 2**20
        sampler.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM if Path(CHROMIUM).exists() else None,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, params in pages:
                url = f"http://127.0.0.1:{port}/{url_path(name)}?{urlencode(params, doseq=True)}"
                t0 = time.perf_counter()
                page.goto(url)
                try:
                    page.wait_for_selector(
                        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_s * 1000
                    )
                    page.wait_for_timeout(300)
                    page.wait_for_selector(
                        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_s * 1000
                    )
                    took = time.perf_counter() - t0
                except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                    took = None
                    out.setdefault("problems", []).append(f"{name}: {type(exc).__name__}")
                out["pages"][f"{name} {params.get('since', '')}"] = {
                    "s": took,
                    "rss_mb": sampler.rss() / 2**20,
                }
            browser.close()
        sampler.stop_flag.set()
        sampler.join(2)
        out["rss_peak_mb"] = sampler.peak / 2**20
        out["rss_end_mb"] = sampler.rss() / 2**20
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    return out
