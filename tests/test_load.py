"""Many users at once: the load harness (bench.sessions) on the demo data, small enough for CI.

The benchmark runs 20 sessions for 60 s on the 1M-attempt database (BENCHMARKS.md); this test runs
the same harness with 6 sessions, each touring every page twice, and holds it to the same outcome:
no exceptions or error panels on any page, and never more database connections than the pool.
"""

from __future__ import annotations

from pathlib import Path


def test_concurrent_sessions_tour_every_page_without_errors(demo_db, pg_url, monkeypatch):
    from bench import sessions

    # the harness points GenLens at its database through the environment: put it back afterwards
    for name in ("DATABASE_URL", "GENLENS_SCHEMA", "GENLENS_AUTH"):
        monkeypatch.setenv(name, "")
    monkeypatch.delenv("GENLENS_QUERY_TIMEOUT_MS", raising=False)
    res = sessions.run(pg_url, "demo", sessions=6, seconds=0, tours=2)

    assert res["errors"] == 0, res["error_examples"]
    pages = {Path(p).stem: v["n"] for p, v in res["pages"].items()}
    assert set(pages) >= {"overview", "reliability", "cost_quality", "errors", "explorer", "generation", "admin"}
    assert all(n == 12 for n in pages.values()), pages  # 6 sessions x 2 tours, every page drawn each time
    assert 1 <= res["peak_connections"] <= res["pool_size"], res


def test_the_harness_restores_streamlit_after_the_run():
    # one_server() patches Streamlit's runtime and AppTest's script caches for the threads; any
    # test after it must get the real ones back
    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.testing.v1 import app_test, local_script_runner

    from bench import sessions

    before = (
        Runtime.__dict__["instance"],
        app_test.ScriptCache,
        local_script_runner.ScriptCache,
        app_test.PagesManager,
    )
    details = config.get_option("client.showErrorDetails")
    patcher = app_test.patch_config_options
    with sessions.one_server():
        assert Runtime.exists()
        assert app_test.ScriptCache() is local_script_runner.ScriptCache()
        assert app_test.PagesManager is not before[3]
        assert config.get_option("global.appTest") is True
    assert (
        Runtime.__dict__["instance"],
        app_test.ScriptCache,
        local_script_runner.ScriptCache,
        app_test.PagesManager,
    ) == before
    assert config.get_option("client.showErrorDetails") == details
    assert app_test.patch_config_options is patcher and config.get_option("global.appTest") is False
