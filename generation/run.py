"""Run test generations from the command line (cron canaries), recorded like the admin page's.

    python -m generation.run --provider simulated --count 5
    python -m generation.run --provider openai --model openai/gpt-4o-mini --count 1 --max-attempts 2

Prints one line per generation (generation_id, final status, attempts, cost) as each ends, then a
summary on stderr. Exit status: 0 when every generation ended in success, 1 when any did not (or
the database or provider cannot be used), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import threading

from data_access.config import ConfigError
from generation import settings
from generation.providers import PROVIDERS, STORY_TYPES, GenerationRequest, make_provider
from generation.runner import MAX_ATTEMPTS, MAX_CONCURRENCY, MAX_COUNT, RunOptions, run
from generation.templates import StoryParams


def _line(o) -> str:
    cost = "cost=unknown" if o.cost_usd is None else f"cost=${o.cost_usd:.6f}"
    gid = o.generation_id or "-" * 36
    error = f"  error={o.error_message[:160]!r}" if o.final_status != "success" and o.error_message else ""
    return f"{gid}  {o.final_status:<8} attempts={o.attempts}  {cost}{error}"


def _bounded(lo: int, hi: int):
    def parse(v: str) -> int:
        try:
            n = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {v!r}") from None
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, got {n}")
        return n

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m generation.run", description=__doc__.splitlines()[0])
    p.add_argument("--provider", choices=PROVIDERS, default="simulated")
    p.add_argument("--count", type=_bounded(1, MAX_COUNT), default=1, help=f"generations to run (1-{MAX_COUNT})")
    p.add_argument("--model", default=None, help="model id (default: openai/gpt-4o-mini, or GENLENS_OPENAI_MODEL)")
    p.add_argument("--story-type", choices=STORY_TYPES, default="child")
    p.add_argument("--prompt", default=None, help="the prompt, as is (default: a story template)")
    p.add_argument("--moral", default="kindness")
    p.add_argument("--length", type=_bounded(1, 120), default=5, help="story length in minutes")
    p.add_argument("--max-attempts", type=_bounded(1, MAX_ATTEMPTS), default=3)
    p.add_argument("--concurrency", type=_bounded(1, MAX_CONCURRENCY), default=1)
    p.add_argument("--backoff", type=float, default=None, help="seconds before attempt 2 (doubles after)")
    p.add_argument("--seed", type=int, default=None, help="simulated provider: random seed")
    p.add_argument("--latency-scale", type=float, default=None, help="simulated provider: latency factor")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        model = args.model or (
            settings.get("GENLENS_OPENAI_MODEL", "openai/gpt-4o-mini")
            if args.provider == "openai"
            else "openai/gpt-4o-mini"
        )
        user_id = settings.admin_user_id()
        if args.prompt is not None:
            request = GenerationRequest(
                model=model,
                prompt=args.prompt,
                story_type=args.story_type,
                story_length=args.length,
                moral=args.moral,
                user_id=user_id,
            )
        else:
            story = StoryParams(
                story_type=args.story_type,
                moral=args.moral,
                story_length=args.length,
                hero_appearance="a brave knight in silver armor" if args.story_type != "child" else None,
                relationship_description="best friends since kindergarten" if args.story_type == "combined" else None,
            )
            request = story.request(model, user_id)
        kwargs = {}
        if args.provider == "simulated":
            kwargs = {"seed": args.seed, "latency_scale": args.latency_scale}
        provider = make_provider(args.provider, **kwargs)
        options = RunOptions(
            count=args.count, max_attempts=args.max_attempts, concurrency=args.concurrency, backoff_s=args.backoff
        )
    except (ConfigError, ValueError) as exc:
        print(f"generation.run: {exc}", file=sys.stderr)
        return 2

    out_lock = threading.Lock()

    def on_event(e) -> None:
        if e.kind == "generation_finished":
            with out_lock:
                print(_line(e.outcome), flush=True)

    try:
        result = run(request, provider, options, on_event=on_event)
    except (ConfigError, ValueError) as exc:
        print(f"generation.run: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback (and never a URL or key)
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        print(f"generation.run: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    ok = sum(o.final_status == "success" for o in result.outcomes)
    cost = sum(o.cost_usd or 0 for o in result.outcomes)
    print(
        f"test run {result.test_run_id}: {ok} of {len(result.outcomes)} generations succeeded, "
        f"{sum(o.attempts for o in result.outcomes)} attempts, known cost ${cost:.6f}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
