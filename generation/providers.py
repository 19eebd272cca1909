"""What answers one attempt: `simulated` (offline), `openai` (any OpenAI-compatible chat
completions endpoint) and `supabase-function` (a deployed Edge Function that writes its own rows).

A provider never touches the database itself; the runner writes the rows around `attempt()`.
Only `supabase-function` differs: its function writes the rows and the runner follows them.
A provider answers with an `AttemptResult`; an ordinary exception inside a provider becomes a
failed attempt in the runner, while a BaseException (KeyboardInterrupt, a kill) leaves the
attempt pending, as a real crash would.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from data_access.config import ConfigError
from data_access.demo_data import FAILURES, MODELS, NOT_RETRIED, ModelProfile
from generation import settings

PROVIDERS = ("simulated", "openai", "supabase-function")
STORY_TYPES = ("child", "hero", "combined")
MAX_PROMPT = 50_000
MAX_ERROR = 2_000

# Tokens of a simulated success, per Stage 5 phase (the demo generator's ranges, their means).
SIM_TOKENS = {"metadata": (300, 900), "sections": (1500, 6000), "validation": (100, 400)}


@dataclass(frozen=True)
class GenerationRequest:
    """One generation's parameters: the columns of `generations` the seed flow fills in."""

    model: str
    prompt: str
    story_type: str | None = "child"
    story_length: int | None = None
    hero_appearance: str | None = None
    relationship_description: str | None = None
    moral: str | None = None
    user_id: str = settings.DEFAULT_ADMIN_USER_ID

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip() or len(self.model) > 200:
            raise ValueError("model must be a model id of 1 to 200 characters")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValueError("prompt must not be empty")
        if len(self.prompt) > MAX_PROMPT:
            raise ValueError(f"prompt must be at most {MAX_PROMPT:,} characters")
        for name in ("model", "prompt", "hero_appearance", "relationship_description", "moral"):
            v = getattr(self, name)
            if isinstance(v, str) and "\x00" in v:
                raise ValueError(f"{name} must not contain NUL characters (PostgreSQL text cannot hold them)")
        if self.story_type is not None and self.story_type not in STORY_TYPES:
            raise ValueError(f"story_type must be one of {', '.join(STORY_TYPES)}")
        if self.story_length is not None and not (isinstance(self.story_length, int) and 1 <= self.story_length <= 120):
            raise ValueError("story_length must be a whole number of minutes from 1 to 120")
        object.__setattr__(self, "user_id", str(uuid.UUID(str(self.user_id))))


@dataclass
class AttemptResult:
    """How one attempt ended. `metadata` is Stage 5-shaped; the runner adds the test tags."""

    status: str  # success | failed | timeout
    error_message: str | None = None
    full_response: Any = None
    metadata: dict = field(default_factory=dict)
    retryable: bool = True  # False: another attempt cannot help (content filter, bad request, no credits)

    def __post_init__(self) -> None:
        if self.status not in ("success", "failed", "timeout"):
            raise ValueError(f"an attempt ends in success, failed or timeout, not {self.status!r}")
        if self.error_message is not None:
            self.error_message = self.error_message.replace("\x00", "")[:MAX_ERROR]


@dataclass(frozen=True)
class CostEstimate:
    expected_usd: float | None  # None: unknown for this provider/model
    max_usd: float | None
    basis: str  # one sentence: what the numbers assume


class Provider:
    name = "provider"
    writes_rows = False  # True: the provider's backend writes the attempt rows itself

    def attempt(self, req: GenerationRequest, attempt_number: int, generation_id: str) -> AttemptResult:
        raise NotImplementedError

    def estimate(self, req: GenerationRequest, count: int, max_attempts: int) -> CostEstimate:
        return CostEstimate(None, None, "This provider does not give a cost before running.")

    def describe(self) -> str:
        """One line for the page: where attempts go. Never a key."""
        return self.name


# --- simulated ----------------------------------------------------------------------------------

DEFAULT_PROFILE = ModelProfile("simulated/default", 0.06, 0.03, 9_000, 0.0020, 0.80, 0.0)
_FAIL_WEIGHTS = [w for w, _ in FAILURES]


def profile_for(model: str) -> ModelProfile:
    for m in MODELS:
        if m.name == model:
            return m
    return DEFAULT_PROFILE


def _r(x: float, digits: int = 6) -> float:
    return round(x, digits)


class SimulatedProvider(Provider):
    """Offline attempts drawn from the demo data's per-model profiles (data_access.demo_data.MODELS).

    Latency, failure and timeout rates, tokens, cost and quality follow the model's profile; a
    model not in MODELS gets a middle-of-the-road profile. Attempts really wait their latency times
    `latency_scale` (0.05 on the page: seconds; ~0 in tests) and are seeded by `seed`. `fail_rate`
    and `timeout_rate` override the profile; `script` ({attempt_number: status}) forces outcomes.
    """

    name = "simulated"

    def __init__(
        self,
        *,
        seed: int | None = None,
        latency_scale: float | None = None,
        fail_rate: float | None = None,
        timeout_rate: float | None = None,
        script: dict[int, str] | None = None,
    ) -> None:
        self.latency_scale = settings.sim_latency_scale() if latency_scale is None else float(latency_scale)
        if not 0 <= self.latency_scale <= 10:
            raise ValueError("latency_scale must be between 0 and 10")
        self.fail_rate, self.timeout_rate, self.script = fail_rate, timeout_rate, dict(script or {})
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"simulated (offline, demo model profiles, latency × {self.latency_scale:g})"

    def _draw(self, profile: ModelProfile, attempt_number: int) -> tuple[str, random.Random]:
        with self._lock:  # one shared seeded stream; each attempt gets its own generator from it
            rng = random.Random(self._rng.getrandbits(64))
        forced = self.script.get(attempt_number)
        if forced:
            return forced, rng
        timeout = profile.timeout_rate if self.timeout_rate is None else self.timeout_rate
        fail = profile.fail_rate * (1.6 if attempt_number > 1 else 1.0) if self.fail_rate is None else self.fail_rate
        x = rng.random()
        return ("timeout" if x < timeout else "failed" if x < timeout + fail else "success"), rng

    def attempt(self, req: GenerationRequest, attempt_number: int, generation_id: str) -> AttemptResult:
        m = profile_for(req.model)
        outcome, r = self._draw(m, attempt_number)
        latency = r.lognormvariate(math.log(m.latency_ms), 0.35)
        sim = {"provider": "simulated", "latency_scale": self.latency_scale}
        if outcome == "timeout":
            limit = r.choice((30_000, 45_000, 60_000, 90_000))
            self._sleep(limit)
            return AttemptResult(
                "timeout",
                f"Request timed out after {limit} ms",
                None,
                {"duration_ms": {"total": limit}, "simulated": sim},
            )
        if outcome == "failed":
            kinds = range(len(FAILURES))
            if self.script.get(attempt_number):  # a scripted failure is one a retry can fix
                kinds = [k for k in kinds if k not in NOT_RETRIED]
            kind = r.choices(kinds, weights=[_FAIL_WEIGHTS[k] for k in kinds])[0]
            message = FAILURES[kind][1](r, m)
            latency *= r.uniform(0.05, 0.6)
            self._sleep(latency)
            tm = r.randint(*SIM_TOKENS["metadata"])
            meta = {
                "model_used": {"metadata": req.model},
                "total_tokens": {"metadata": tm, "total": tm},
                "cost_usd": _r(tm / 1000 * m.usd_per_1k_tokens),
                "duration_ms": {"metadata": int(latency), "total": int(latency)},
                "retry_count": {"metadata": attempt_number - 1, "sections": []},
                "simulated": sim,
            }
            body = {"error": {"message": message, "code": 500}}
            return AttemptResult("failed", message, body, meta, retryable=kind not in NOT_RETRIED)
        self._sleep(latency)
        tokens = {k: r.randint(*v) for k, v in SIM_TOKENS.items()}
        total = sum(tokens.values())
        q = min(1.0, max(0.0, r.gauss(m.quality, 0.07)))
        sections = r.randint(5, 9)
        dm, dv = int(latency * 0.15), int(latency * 0.05)
        meta = {
            "model_used": {"metadata": req.model, "sections": req.model},
            "total_tokens": {**tokens, "total": total},
            "cost_usd": _r(total / 1000 * m.usd_per_1k_tokens * r.uniform(0.9, 1.1)),
            "duration_ms": {
                "metadata": dm,
                "sections": int(latency) - dm - dv,
                "validation": dv,
                "total": int(latency),
            },
            "quality_scores": {
                "metadata_similarity": _r(min(1.0, max(0.0, r.gauss(q, 0.04))), 3),
                "sections_similarity": [_r(min(1.0, max(0.0, r.gauss(q, 0.05))), 3) for _ in range(sections)],
                "overall": _r(q, 4),
            },
            "batch_count": sections,
            "retry_count": {"metadata": int(r.random() < 0.1), "sections": [int(r.random() < 0.08)] * sections},
            "simulated": sim,
        }
        response = {
            "id": f"gen-sim-{uuid.UUID(int=r.getrandbits(128)).hex[:16]}",
            "model": req.model,
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"(simulated story of {sections} sections)"},
                }
            ],
            "usage": {
                "prompt_tokens": tokens["metadata"],
                "completion_tokens": total - tokens["metadata"],
                "total_tokens": total,
            },
        }
        return AttemptResult("success", None, response, meta)

    def _sleep(self, ms: float) -> None:
        if self.latency_scale > 0:
            time.sleep(ms * self.latency_scale / 1000)

    def estimate(self, req: GenerationRequest, count: int, max_attempts: int) -> CostEstimate:
        m = profile_for(req.model)
        tokens_ok = sum((lo + hi) / 2 for lo, hi in SIM_TOKENS.values())
        tokens_failed = sum(SIM_TOKENS["metadata"]) / 2
        per_ok = tokens_ok / 1000 * m.usd_per_1k_tokens
        per_failed = tokens_failed / 1000 * m.usd_per_1k_tokens
        t = m.timeout_rate if self.timeout_rate is None else self.timeout_rate
        expected, reach = 0.0, 1.0  # reach: chance the k-th attempt runs
        for k in range(1, max_attempts + 1):
            f = (m.fail_rate * (1.6 if k > 1 else 1.0)) if self.fail_rate is None else self.fail_rate
            f, s = min(f, 1 - t), max(0.0, 1 - t - f)
            expected += reach * (s * per_ok + f * per_failed)
            reach *= 1 - s
        return CostEstimate(
            count * expected,
            count * max_attempts * per_ok,
            f"{req.model}'s simulated profile: about {tokens_ok:,.0f} tokens per successful attempt at "
            f"${m.usd_per_1k_tokens * 1000:,.2f} per 1M tokens, with its failure and timeout rates.",
        )


# --- openai -------------------------------------------------------------------------------------

# USD per 1M (input, output) tokens: approximate list prices, used when the response reports no cost.
# Override or extend with GENLENS_PRICES='{"model": [input, output], ...}'.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "openai/gpt-4o-mini": (0.15, 0.60),
    "gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4o": (2.50, 10.00),
    "gpt-4o": (2.50, 10.00),
    "anthropic/claude-3.5-sonnet": (3.00, 15.00),
    "google/gemini-1.5-flash": (0.075, 0.30),
    "meta-llama/llama-3.1-70b-instruct": (0.40, 0.40),
    "mistralai/mistral-large": (2.00, 6.00),
    "deepseek/deepseek-chat": (0.27, 1.10),
}


def load_prices() -> dict[str, tuple[float, float]]:
    """DEFAULT_PRICES updated with GENLENS_PRICES (JSON: model -> [in, out] or {"input", "output"})."""
    prices = dict(DEFAULT_PRICES)
    raw = settings.get("GENLENS_PRICES")
    if not raw:
        return prices
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"GENLENS_PRICES is not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise ConfigError('GENLENS_PRICES must be a JSON object: {"model": [usd_per_1m_input, usd_per_1m_output]}')
    for model, v in data.items():
        pair = (v.get("input"), v.get("output")) if isinstance(v, dict) else v
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and 0 <= x < 1e6 for x in pair)
        ):
            raise ConfigError(f"GENLENS_PRICES[{model!r}] must be [usd_per_1m_input, usd_per_1m_output]")
        prices[str(model)] = (float(pair[0]), float(pair[1]))
    return prices


def price_cost(prices: dict[str, tuple[float, float]], model: str, prompt_tokens: int, completion_tokens: int):
    if model not in prices:
        return None
    pin, pout = prices[model]
    return (prompt_tokens * pin + completion_tokens * pout) / 1_000_000


def non_negative_number(v) -> float | None:
    """`v` as a float when it is a finite, non-negative number (not a bool); None otherwise."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        return None
    return float(v)


def _status_message(exc) -> str:
    """The provider's own error message from an HTTP error body (OpenAI and OpenRouter shapes)."""
    body = getattr(exc, "body", None)
    msg = None
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err if isinstance(err, str) else None
        if isinstance(err, dict) and isinstance(err.get("metadata"), dict) and err["metadata"].get("raw"):
            msg = f"{msg} ({str(err['metadata']['raw'])[:300]})"
    if not msg:
        text = getattr(getattr(exc, "response", None), "text", "") or str(exc)
        msg = text.strip()[:500] or type(exc).__name__
    return str(msg)


KEY_PATTERN = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*]{8,}")


def redact(result: AttemptResult, secrets: tuple[str, ...]) -> AttemptResult:
    """Take keys out of what gets stored: the configured ones verbatim, and anything shaped like an
    API key (`sk-...`, as some providers echo a masked key back in a 401 message)."""

    def clean(text: str) -> str:
        for secret in secrets:
            if secret and len(secret) >= 6:
                text = text.replace(secret, "[redacted]")
        return KEY_PATTERN.sub("[redacted key]", text)

    if result.error_message:
        result.error_message = clean(result.error_message)
    if result.full_response is not None and result.status != "success":
        dumped = json.dumps(result.full_response)
        cleaned = clean(dumped)
        if cleaned != dumped:
            result.full_response = json.loads(cleaned)
    return result


def _jsonable_body(text: str):
    try:
        v = json.loads(text)
        return v if isinstance(v, (dict, list)) else {"raw": text[:4000]}
    except (json.JSONDecodeError, ValueError):
        return {"raw": text[:4000]}


class OpenAIProvider(Provider):
    """One chat completion per attempt through the official `openai` client.

    Works with OpenAI, OpenRouter (as in the seed system) or any local OpenAI-compatible server.
    The client's own retries are off: every try is an attempt row. Tokens come from `usage`; cost
    from `usage.cost` when the provider reports it (OpenRouter does), else from the price table.
    The one call writes the whole story, so its values are recorded as the Stage 5 `sections` phase.
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float | None = None,
        max_tokens: int | None = None,
        prices: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        import openai

        self.base_url = base_url or settings.get("GENLENS_OPENAI_BASE_URL", "https://openrouter.ai/api/v1")
        key = api_key or settings.first("GENLENS_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY")
        if not key:
            raise ConfigError(
                "the openai provider needs GENLENS_OPENAI_API_KEY (or OPENAI_API_KEY / OPENROUTER_API_KEY)"
            )
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ConfigError("GENLENS_OPENAI_BASE_URL must be an http(s) URL")
        self.timeout_s = (
            float(timeout_s) if timeout_s is not None else settings.number("GENLENS_OPENAI_TIMEOUT_S", 60, 0.01, 3600)
        )
        self.max_tokens = (
            int(max_tokens)
            if max_tokens is not None
            else int(settings.number("GENLENS_OPENAI_MAX_TOKENS", 1500, 1, 1e6))
        )
        self.prices = load_prices() if prices is None else prices
        self._openai = openai
        self._key = key
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout_s, max_retries=0)

    def describe(self) -> str:
        host = urlsplit(self.base_url).hostname or "?"
        return f"OpenAI-compatible endpoint at {host} (timeout {self.timeout_s:g} s)"

    def attempt(self, req: GenerationRequest, attempt_number: int, generation_id: str) -> AttemptResult:
        return redact(self._attempt(req), (self._key,))

    def _attempt(self, req: GenerationRequest) -> AttemptResult:
        oa = self._openai
        t0 = time.perf_counter()

        def meta(**extra) -> dict:
            ms = int((time.perf_counter() - t0) * 1000)
            return {"model_used": {"sections": req.model}, "duration_ms": {"sections": ms, "total": ms}, **extra}

        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model=req.model,
                messages=[{"role": "user", "content": req.prompt}],
                max_tokens=self.max_tokens,
            )
            text = raw.http_response.text
        except oa.APITimeoutError:
            return AttemptResult(
                "timeout",
                f"Request timed out after {int(self.timeout_s * 1000)} ms (client timeout)",
                None,
                {"duration_ms": {"total": int((time.perf_counter() - t0) * 1000)}},
            )
        except oa.APIStatusError as exc:
            code = exc.status_code
            retryable = code in (408, 409, 425, 429) or code >= 500
            body = _jsonable_body(exc.response.text)  # the whole error body (exc.body is only its "error")
            return AttemptResult("failed", f"HTTP {code}: {_status_message(exc)}", body, meta(), retryable)
        except oa.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            return AttemptResult(
                "failed", f"Connection error: {type(cause).__name__}: {cause}"[:MAX_ERROR], None, meta()
            )

        try:
            data = json.loads(text)
        except (json.JSONDecodeError, ValueError) as exc:
            return AttemptResult(
                "failed",
                f"Invalid JSON in provider response at position {exc.pos}: {exc.msg}",
                {"raw": text[:4000]},
                meta(),
            )
        if not isinstance(data, dict):
            return AttemptResult("failed", "Invalid provider response: not a JSON object", {"raw": text[:4000]}, meta())
        return self._from_body(req, data, meta)

    def _from_body(self, req: GenerationRequest, data: dict, meta) -> AttemptResult:
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        pt = non_negative_number(usage.get("prompt_tokens"))
        ct = non_negative_number(usage.get("completion_tokens"))
        tt = non_negative_number(usage.get("total_tokens"))
        if tt is None and pt is not None and ct is not None:
            tt = pt + ct
        reported = non_negative_number(usage.get("cost"))
        priced = price_cost(self.prices, req.model, int(pt), int(ct)) if pt is not None and ct is not None else None
        cost = reported if reported is not None else priced
        extra: dict[str, Any] = {"batch_count": 1, "retry_count": {"sections": [0]}}
        if tt is not None:
            extra["total_tokens"] = {"sections": int(tt), "total": int(tt)}
        if pt is not None and ct is not None:
            extra["usage"] = {"prompt_tokens": int(pt), "completion_tokens": int(ct)}
        if cost is not None:
            extra["cost_usd"] = round(cost, 8)
            extra["cost_source"] = "provider" if reported is not None else "price_table"
        if isinstance(data.get("model"), str):
            extra["provider_model"] = data["model"]
        # OpenRouter reports some upstream failures as a 200 with an error object.
        if isinstance(data.get("error"), dict) and not data.get("choices"):
            return AttemptResult("failed", f"Provider error: {_status_message(data)}", data, meta(**extra))
        choices = data.get("choices")
        message = (
            choices[0].get("message")
            if isinstance(choices, list) and choices and isinstance(choices[0], dict)
            else None
        )
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            reason = choices[0].get("finish_reason") if isinstance(choices, list) and choices else None
            return AttemptResult("failed", f"Empty completion: finish_reason {reason}", data, meta(**extra))
        return AttemptResult("success", None, data, meta(**extra))

    def estimate(self, req: GenerationRequest, count: int, max_attempts: int) -> CostEstimate:
        if req.model not in self.prices:
            return CostEstimate(
                None,
                None,
                f"No price for {req.model} in the price table (GENLENS_PRICES); the cost is known only if the "
                "provider reports it in the response.",
            )
        prompt_tokens = math.ceil(len(req.prompt) / 4) + 10  # ~4 characters per token, plus the chat frame
        typical = price_cost(self.prices, req.model, prompt_tokens, self.max_tokens // 2)
        worst = price_cost(self.prices, req.model, prompt_tokens, self.max_tokens)
        pin, pout = self.prices[req.model]
        return CostEstimate(
            count * typical,
            count * max_attempts * worst,
            f"Price table: ${pin:g} / ${pout:g} per 1M input / output tokens; about {prompt_tokens:,} input "
            f"tokens and {self.max_tokens // 2:,} output tokens (half of max_tokens {self.max_tokens:,}) per attempt.",
        )


# --- supabase-function --------------------------------------------------------------------------


class SupabaseFunctionProvider(Provider):
    """Invokes a deployed Supabase Edge Function per generation; the function writes its own rows.

    The request body carries the generation's parameters plus `test_run_id`, `source: "admin"` and
    `max_attempts`; the function answers with JSON holding `generation_id`, whose rows the runner
    then follows in the generations table.
    """

    name = "supabase-function"
    writes_rows = True

    def __init__(
        self,
        *,
        url: str | None = None,
        key: str | None = None,
        function: str | None = None,
        access_token: str | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self.url = url or settings.get("SUPABASE_URL")
        self.key = key or settings.first("SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY")
        self.function = function or settings.get("GENLENS_SUPABASE_FUNCTION")
        if not self.url or not self.key:
            raise ConfigError(
                "the supabase-function provider needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_ANON_KEY)"
            )
        if not self.function:
            raise ConfigError("the supabase-function provider needs GENLENS_SUPABASE_FUNCTION (the function's name)")
        self.access_token = access_token
        self.timeout_s = (
            float(timeout_s) if timeout_s is not None else settings.number("GENLENS_SUPABASE_TIMEOUT_S", 150, 1, 3600)
        )

    def describe(self) -> str:
        return f"Supabase Edge Function {self.function!r} at {urlsplit(self.url).hostname or '?'}"

    def _client(self):
        import httpx
        from supabase import create_client
        from supabase.lib.client_options import SyncClientOptions

        # ClientOptions.function_client_timeout is deprecated upstream; an httpx client carries it.
        # (Releases before the httpx_client option take the timeout the old way.)
        try:
            opts = SyncClientOptions(
                auto_refresh_token=False,
                persist_session=False,
                httpx_client=httpx.Client(timeout=self.timeout_s, follow_redirects=False),
            )
        except TypeError:
            opts = SyncClientOptions(
                auto_refresh_token=False, persist_session=False, function_client_timeout=int(self.timeout_s)
            )
        return create_client(self.url, self.key, options=opts)

    def invoke(self, req: GenerationRequest, *, test_run_id: str, max_attempts: int) -> tuple[str | None, str | None]:
        """(generation_id the function reports, None) or (None, error message)."""
        body = {
            "prompt": req.prompt,
            "model": req.model,
            "story_type": req.story_type,
            "story_length": req.story_length,
            "hero_appearance": req.hero_appearance,
            "relationship_description": req.relationship_description,
            "moral": req.moral,
            "user_id": req.user_id,
            "max_attempts": max_attempts,
            "test_run_id": test_run_id,
            "source": "admin",
        }
        try:
            client = self._client()
            options: dict[str, Any] = {"body": body, "responseType": "json"}
            if self.access_token:  # the signed-in admin's session, so the function sees who asked
                options["headers"] = {"Authorization": f"Bearer {self.access_token}"}
            raw = client.functions.invoke(self.function, invoke_options=options)
        except Exception as exc:  # noqa: BLE001 - any failure to invoke is reported, never raised
            status = getattr(exc, "status", None)
            prefix = f"HTTP {status}: " if isinstance(status, int) else ""
            msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            failed = AttemptResult("failed", f"Edge Function {self.function!r} failed: {prefix}{msg}")
            return None, redact(failed, (self.key, self.access_token or "")).error_message
        if isinstance(raw, (bytes, str)):
            try:
                raw = json.loads(raw)
            except (json.JSONDecodeError, ValueError):
                return None, f"Edge Function {self.function!r} answered without JSON"
        gid = None
        if isinstance(raw, dict):
            gid = raw.get("generation_id") or raw.get("generationId")
            if gid is None and isinstance(raw.get("data"), dict):
                gid = raw["data"].get("generation_id")
        try:
            return str(uuid.UUID(str(gid))), None
        except (ValueError, TypeError):
            return None, f"Edge Function {self.function!r} did not report a generation_id"


def available(demo_only: bool = False) -> dict[str, str | None]:
    """provider -> None when usable here, else why not (for the page's help)."""
    out: dict[str, str | None] = {"simulated": None}
    if demo_only:
        reason = "Needs an admin login (see docs/admin.md); the demo database allows simulated runs only."
        return {**out, "openai": reason, "supabase-function": reason}
    out["openai"] = (
        None
        if settings.first("GENLENS_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY")
        else "Set GENLENS_OPENAI_API_KEY (and GENLENS_OPENAI_BASE_URL for a non-OpenRouter endpoint)."
    )
    out["supabase-function"] = (
        None
        if settings.get("SUPABASE_URL")
        and settings.first("SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_ANON_KEY")
        and settings.get("GENLENS_SUPABASE_FUNCTION")
        else "Set SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY (or SUPABASE_ANON_KEY) and GENLENS_SUPABASE_FUNCTION."
    )
    return out


def make_provider(name: str, **kwargs) -> Provider:
    if name == "simulated":
        return SimulatedProvider(**kwargs)
    if name == "openai":
        return OpenAIProvider(**kwargs)
    if name == "supabase-function":
        return SupabaseFunctionProvider(**kwargs)
    raise ConfigError(f"unknown provider {name!r}; use one of {', '.join(PROVIDERS)}")


def model_choices(provider: str) -> list[str]:
    """Models to offer: the demo profiles, the price table, the configured default first."""
    names = [m.name for m in MODELS]
    if provider == "openai":
        default = settings.get("GENLENS_OPENAI_MODEL", "openai/gpt-4o-mini")
        names = [default, *names, *load_prices()]
    return list(dict.fromkeys(names))
