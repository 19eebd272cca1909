"""Error groups (metrics.grouping): the LLM-error corpus's groups, stability as messages arrive, and
the command line `python -m queries.signatures group`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.grouping import grouping_accuracy
from metrics.grouping import Grouper, group_messages
from metrics.signatures import mask

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "llm_errors.jsonl"


def corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_llm_error_corpus_grouping_accuracy():
    rows = corpus()
    labels = group_messages([r["message"] for r in rows])
    ga = grouping_accuracy(labels, [r["group"] for r in rows])
    # measured 0.981 (BENCHMARKS.md "Error grouping"); the goal is 0.98
    assert ga >= 0.98, ga


def test_kinds_of_one_sdk_stay_apart_and_ids_without_digits_vary():
    msgs = [
        "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}",
        "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': 'Overloaded'}}",
        "Error code: 500 - {'type': 'error', 'error': {'type': 'api_error', 'message': 'Overloaded'}}",
        "Rate limit exceeded: retry after 12s (request id req_egunkxrxfvie)",
        "Rate limit exceeded: retry after 3s (request id req_qwhzkpvnmaty)",
        "Rate limit exceeded: retry after 40s (request id req_bbnmoplkjhgf)",
        "httpx.ReadTimeout: timed out",
        "httpx.ConnectTimeout: timed out",
        "json.decoder.JSONDecodeError: Expecting ',' delimiter: line 3 column 9 (char 40)",
        "json.decoder.JSONDecodeError: Expecting ':' delimiter: line 1 column 2 (char 1)",
    ]
    labels = group_messages(msgs)
    assert len(set(labels[:3])) == 3  # three kinds of Anthropic error, one shape
    assert len(set(labels[3:6])) == 1  # one rate-limit error, letters-only request ids
    assert labels[3] == "Rate limit exceeded: retry after <n>s (request id <*>)"
    assert labels[6] != labels[7]
    assert labels[8] != labels[9]


def test_optional_parts_join_the_group():
    msgs = [
        "This request would exceed the rate limit for your organization (4f1c7a2e-1b2c-4d3e-8f9a-0b1c2d3e4f5a) of 40,000 input tokens per minute",
        "This request would exceed the rate limit for your organization of 80,000 input tokens per minute",
    ]
    a, b = group_messages(msgs)
    assert a == b


def test_groups_never_renumber_as_messages_arrive():
    sigs = list(dict.fromkeys(mask(r["message"]) for r in corpus()))
    whole = Grouper()
    final = [whole.place(s).group_id for s in sigs]
    # placing the same signatures one batch at a time, from the saved groups, gives the same numbers
    partial = Grouper()
    numbers = []
    for start in range(0, len(sigs), 37):
        partial = Grouper(list(partial.groups.values()))
        numbers.extend(partial.place(s).group_id for s in sigs[start : start + 37])
    assert numbers == final
    # and a signature's group is the one it got when it arrived: later ones only generalise labels
    early = Grouper()
    first_half = [early.place(s).group_id for s in sigs[: len(sigs) // 2]]
    assert first_half == final[: len(sigs) // 2]


def test_grouping_is_deterministic():
    msgs = [r["message"] for r in corpus()[:500]]
    assert group_messages(msgs) == group_messages(list(msgs))


def run_cli(stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "queries.signatures", "group"],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_command_line_prints_one_label_per_message():
    msgs = [r["message"] for r in corpus()[:300]]
    done = run_cli("".join(json.dumps(m) + "\n" for m in msgs))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == group_messages(msgs)


def test_command_line_rejects_bad_lines_with_one_message():
    done = run_cli('"fine"\n{"message": "not a string"}\n')
    assert done.returncode == 2
    assert "line 2" in done.stderr and "JSON string" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli('"fine"\nnot json\n')
    assert done.returncode == 2 and "line 2: not JSON" in done.stderr
