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
