"""The Overview page end to end in AppTest, on the demo data."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_overview_shows_kpis_on_demo_data(demo_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"] = "2026-10-21"
    at.query_params["until"] = "2026-11-21"
    at.run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Generations" in labels and "Success rate" in labels


def _sidebar_captions(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_the_sidebar_says_whether_figures_are_live_and_why_not(demo_db, monkeypatch):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert "Figures are live" in _sidebar_captions(at)
    # the fast path switched off: the page says so, with the true cause
    monkeypatch.setenv("GENLENS_FACTS", "0")
    from data_access.engine import get_database

    get_database().engine.dispose()
    get_database.cache_clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    text = _sidebar_captions(at)
    assert "Figures are live" not in text
    assert "Why: GENLENS_FACTS=0: pages read generations directly" in text
