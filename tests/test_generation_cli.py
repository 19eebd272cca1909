"""`python -m generation.run`: one line per generation, exit status for cron canaries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from generation import run as cli
from tests.fakes.openai_server import OpenAIServer

SCHEMA = "admin_runs"
LINE = re.compile(r"^([0-9a-f-]{36})  (success|failed|timeout|pending)\s+attempts=(\d+)  cost=(\$[0-9.]+|unknown)")


@pytest.fixture
def db(use_schema, monkeypatch):
    monkeypatch.setenv("GENLENS_ADMIN_BACKOFF_S", "0")
    return use_schema(SCHEMA)


@pytest.fixture
def fake_openai(monkeypatch):
    with OpenAIServer(api_key="sk-cli") as srv:
        monkeypatch.setenv("GENLENS_OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("GENLENS_OPENAI_API_KEY", "sk-cli")
        yield srv


def lines(out: str) -> list[re.Match]:
    found = [LINE.match(line) for line in out.splitlines()]
    assert all(found), out
    return found


def test_simulated_run_prints_one_line_per_generation(db, admin_engine, capsys):
    code = cli.main(
        ["--provider", "simulated", "--count", "4", "--seed", "9", "--latency-scale", "0", "--concurrency", "2"]
    )
    out, err = capsys.readouterr()
    got = lines(out)
    assert len(got) == 4
    assert code == (0 if all(m.group(2) == "success" for m in got) else 1)
    assert "generations succeeded" in err
    with admin_engine.connect() as conn:
        for m in got:
            n = conn.execute(
                text(f'SELECT count(*) FROM "{SCHEMA}".generations WHERE generation_id = CAST(:g AS uuid)'),
                {"g": m.group(1)},
            ).scalar_one()
            assert n == int(m.group(3))


def test_openai_success_exits_zero(db, fake_openai, capsys):
    code = cli.main(["--provider", "openai", "--model", "fake/ok", "--prompt", "Tell a story.", "--count", "2"])
    got = lines(capsys.readouterr().out)
    assert code == 0 and [m.group(2) for m in got] == ["success", "success"]
    assert {m.group(4) for m in got} == {"$0.000123"}
    assert fake_openai.requests[0]["messages"][0]["content"] == "Tell a story."


def test_any_generation_without_success_exits_non_zero(db, fake_openai, capsys):
    code = cli.main(["--provider", "openai", "--model", "fake/500", "--max-attempts", "2", "--story-type", "hero"])
    out = capsys.readouterr().out
    (m,) = lines(out)
    assert code == 1 and m.group(2) == "failed" and m.group(3) == "2"
    assert "HTTP 500: Internal server error from upstream" in out


@pytest.mark.parametrize(
    "argv",
    [["--count", "0"], ["--count", "51"], ["--provider", "nope"], ["--max-attempts", "x"], ["--story-type", "epic"]],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2


def test_missing_provider_settings_exit_2_with_one_line(db, monkeypatch, capsys):
    for name in ("GENLENS_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["--provider", "openai"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "GENLENS_OPENAI_API_KEY" in err


def test_unreachable_database_exits_1_with_one_line(monkeypatch, capsys):
    from data_access.engine import get_database

    monkeypatch.setenv("DATABASE_URL", "postgresql://genlens:hunter2@127.0.0.1:9/nowhere")
    monkeypatch.setenv("GENLENS_SCHEMA", "public")
    get_database.cache_clear()
    try:
        assert cli.main(["--latency-scale", "0"]) == 1
    finally:
        get_database.cache_clear()
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "hunter2" not in err
