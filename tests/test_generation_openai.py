"""The openai provider, through the runner, against a local OpenAI-compatible server and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from data_access.config import ConfigError
from generation.providers import GenerationRequest, OpenAIProvider, load_prices, make_provider
from generation.runner import RunOptions, run
from tests.fakes.openai_server import COST, OpenAIServer

SCHEMA = "admin_runs"
KEY = "sk-test-very-secret-key"


@pytest.fixture
def db(use_schema):
    return use_schema(SCHEMA)


@pytest.fixture
def server():
    with OpenAIServer(api_key=KEY, hang_s=5) as srv:
        yield srv


@pytest.fixture
def provider(server, monkeypatch):
    monkeypatch.setenv("GENLENS_OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("GENLENS_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("GENLENS_OPENAI_TIMEOUT_S", "0.4")
    monkeypatch.setenv("GENLENS_OPENAI_MAX_TOKENS", "800")
    monkeypatch.setenv("GENLENS_PRICES", json.dumps({"fake/ok-nocost": [1.0, 2.0]}))
    return make_provider("openai")


def go(db, provider, model, max_attempts=3):
    req = GenerationRequest(
        model=model, prompt="Write a hero story about a tiny fox.", story_type="hero", moral="courage"
    )
    return run(req, provider, RunOptions(max_attempts=max_attempts, backoff_s=0), db=db).outcomes[0]


def rows(admin_engine, gid):
    with admin_engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    f'SELECT * FROM "{SCHEMA}".generations WHERE generation_id = CAST(:g AS uuid) ORDER BY attempt_number'
                ),
                {"g": gid},
            ).mappings()
        )


def test_success_takes_tokens_from_usage_and_the_reported_cost(db, provider, server, admin_engine):
    out = go(db, provider, "fake/ok")
    assert (out.final_status, out.attempts, out.cost_usd) == ("success", 1, pytest.approx(COST))
    (row,) = rows(admin_engine, out.generation_id)
    meta = row["generation_metadata"]
    assert row["status"] == "success" and row["completed_at"] is not None
    assert meta["total_tokens"]["total"] == 200 and meta["cost_usd"] == pytest.approx(COST)
    assert meta["cost_source"] == "provider" and meta["source"] == "admin" and "test_run_id" in meta
    assert row["full_response"]["choices"][0]["message"]["content"].startswith("Once upon a time")
    sent = server.requests[-1]
    assert sent["model"] == "fake/ok" and sent["max_tokens"] == 800
    assert sent["messages"] == [{"role": "user", "content": "Write a hero story about a tiny fox."}]
    assert KEY not in json.dumps({k: str(v) for k, v in row.items()})


def test_cost_from_the_price_table_when_the_response_has_none(db, provider, admin_engine):
    out = go(db, provider, "fake/ok-nocost")
    (row,) = rows(admin_engine, out.generation_id)
    assert row["generation_metadata"]["cost_usd"] == pytest.approx((42 * 1.0 + 158 * 2.0) / 1e6)
    assert row["generation_metadata"]["cost_source"] == "price_table"


def test_429_then_success_is_two_attempts(db, provider, admin_engine):
    out = go(db, provider, "fake/429-then-ok")
    got = rows(admin_engine, out.generation_id)
    assert [r["status"] for r in got] == ["failed", "success"]
    assert got[0]["error_message"] == "HTTP 429: Rate limit exceeded: free-models-per-min"
    assert got[0]["full_response"]["error"]["code"] == 429
    assert out.final_status == "success" and out.attempts == 2


def test_500_three_times_fails_the_generation(db, provider, server, admin_engine):
    out = go(db, provider, "fake/500")
    got = rows(admin_engine, out.generation_id)
    assert [r["status"] for r in got] == ["failed"] * 3
    assert {r["error_message"] for r in got} == {"HTTP 500: Internal server error from upstream"}
    assert server.calls["fake/500"] == 3  # the client's own retries are off: one request per attempt
    assert out.final_status == "failed"


def test_a_hang_is_a_timeout_attempt(db, provider, admin_engine):
    out = go(db, provider, "fake/hang", max_attempts=1)
    (row,) = rows(admin_engine, out.generation_id)
    assert row["status"] == "timeout" and row["completed_at"] is not None
    assert row["error_message"] == "Request timed out after 400 ms (client timeout)"
    assert out.final_status == "timeout"


def test_malformed_json_is_a_failed_attempt(db, provider, admin_engine):
    out = go(db, provider, "fake/badjson", max_attempts=1)
    (row,) = rows(admin_engine, out.generation_id)
    assert row["status"] == "failed"
    assert row["error_message"].startswith("Invalid JSON in provider response at position")
    assert row["full_response"]["raw"].startswith('{"id": "chatcmpl-bad"')


def test_a_wrong_key_and_an_unknown_model_are_not_retried(db, server, admin_engine):
    bad = OpenAIProvider(base_url=server.base_url, api_key="sk-wrong", timeout_s=1, prices={})
    out = go(db, bad, "fake/ok")
    assert (out.final_status, out.attempts, out.error_message) == ("failed", 1, "HTTP 401: Invalid API key")
    ok = OpenAIProvider(base_url=server.base_url, api_key=KEY, timeout_s=1, prices={})
    assert go(db, ok, "fake/none").attempts == 1


def test_unreachable_endpoint_is_a_failed_attempt(db, admin_engine):
    p = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key=KEY, timeout_s=1, prices={})
    out = go(db, p, "fake/ok", max_attempts=1)
    assert out.final_status == "failed" and out.error_message.startswith("Connection error:")


def test_prices_and_estimates(monkeypatch):
    monkeypatch.setenv("GENLENS_PRICES", '{"my/model": {"input": 1, "output": 4}, "openai/gpt-4o-mini": [0.2, 0.8]}')
    prices = load_prices()
    assert prices["my/model"] == (1.0, 4.0) and prices["openai/gpt-4o-mini"] == (0.2, 0.8)
    assert "anthropic/claude-3.5-sonnet" in prices  # defaults stay
    p = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key=KEY, max_tokens=1000)
    est = p.estimate(GenerationRequest(model="my/model", prompt="x" * 400), count=10, max_attempts=3)
    # 110 input tokens, 500 typical / 1000 max output tokens per attempt
    assert est.expected_usd == pytest.approx(10 * (110 * 1 + 500 * 4) / 1e6)
    assert est.max_usd == pytest.approx(30 * (110 * 1 + 1000 * 4) / 1e6)
    assert p.estimate(GenerationRequest(model="unknown/x", prompt="p"), 1, 1).expected_usd is None
    for bad in ("{not json", "[1, 2]", '{"m": [1]}', '{"m": [-1, 2]}', '{"m": ["a", 1]}'):
        monkeypatch.setenv("GENLENS_PRICES", bad)
        with pytest.raises(ConfigError):
            load_prices()


def test_missing_key_is_a_config_error(monkeypatch):
    for name in ("GENLENS_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="GENLENS_OPENAI_API_KEY"):
        make_provider("openai")
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    p = make_provider("openai")
    assert KEY not in p.describe() and "openrouter.ai" in p.describe()


def test_keys_echoed_by_the_provider_are_not_stored(db, provider, admin_engine):
    out = go(db, provider, "fake/leaky")
    (row,) = rows(admin_engine, out.generation_id)
    assert row["error_message"] == "HTTP 401: Incorrect API key provided: [redacted]"
    assert KEY not in json.dumps(row["full_response"]) and out.attempts == 1
