"""Error grouping against labelled logs: python -m bench.grouping [--loghub DIR] [--only {loghub,llm}]

Groups the messages of each Loghub-2k sample (8 systems, 2,000 messages each) and of the LLM-pipeline
error corpus (tests/fixtures/llm_errors.jsonl) two ways, in file order, in the same run:
- GenLens: `metrics.grouping.group_messages`, and through the command users run,
  `python -m queries.signatures group` (a subprocess fed JSON Lines); its labels must equal
  group_messages' (asserted), so the figures are those of the command;
- Drain3 with its default settings (`TemplateMiner(config=TemplateMinerConfig())`, a fresh miner per
  dataset; a message's group is its cluster id).
Each is scored by grouping accuracy (GA; Zhu et al., "Tools and Benchmarks for Automated Log
Parsing", ICSE-SEIP 2019): a message is right when the group it was put in holds exactly the
messages of its true template (Loghub: EventId; the corpus: its `group`). Also the groups each made
against the true number, and each grouper's wall time. Writes bench/results_grouping.json, prints a
markdown table and, with the default --output, rewrites BENCHMARKS.md from the results files (no
other benchmark is run).

Loghub is read from ../shared/loghub (relative to the project root) or --loghub, never copied into
the project. Its licence asks that any use cite: Jieming Zhu, Shilin He, Pinjia He, Jinyang Liu,
Michael R. Lyu. Loghub: A Large Collection of System Log Datasets for AI-driven Log Analytics.
In ISSRE, 2023.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results_grouping.json"
LOGHUB = ROOT.parent / "shared" / "loghub"
CORPUS = ROOT / "tests" / "fixtures" / "llm_errors.jsonl"
LOGHUB_SETS = ("Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux", "Mac")
LLM = "LLM-pipeline errors"
CITATION = (
    "Jieming Zhu, Shilin He, Pinjia He, Jinyang Liu, Michael R. Lyu. Loghub: A Large Collection of "
    "System Log Datasets for AI-driven Log Analytics. In ISSRE, 2023."
)
TARGET_LOGHUB_MEAN = 0.90  # mean GA over the 8 Loghub sets (and no set below Drain3)
TARGET_LLM = 0.98


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """Share of messages whose predicted group holds exactly the messages of their true group."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} messages")
    if not truth:
        return 1.0
    by_pred: dict[Hashable, set[int]] = defaultdict(set)
    by_truth: dict[Hashable, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        by_pred[p].add(i)
        by_truth[t].add(i)
    right = 0
    for members in by_pred.values():
        true = {truth[i] for i in members}
        if len(true) == 1 and by_truth[true.pop()] == members:
            right += len(members)
    return right / len(truth)


def read_loghub(path: Path) -> tuple[list[str], list[str]]:
    """A Loghub CSV's messages (Content) and true groups (EventId)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


def read_corpus(path: Path = CORPUS) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["message"] for r in rows], [r["group"] for r in rows]


def genlens_labels(messages: list[str]) -> list[str]:
    from metrics.grouping import group_messages

    return group_messages(messages)


def command_labels(messages: list[str]) -> list[str]:
    """The labels `python -m queries.signatures group` writes for messages (JSON Lines on stdin)."""
    proc = subprocess.run(
        [sys.executable, "-m", "queries.signatures", "group"],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=os.environ | {"PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"queries.signatures group exited {proc.returncode}: {proc.stderr[-2000:]}")
    out = proc.stdout.split("\n")
    if out and out[-1] == "":
        out.pop()
    return out


def drain3_labels(messages: list[str]) -> list[int]:
    """Each message's cluster id from a fresh Drain3 miner with the default settings."""
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    for name in ("drain3", "drain3.template_miner", "drain3.drain"):
        logging.getLogger(name).setLevel(logging.WARNING)  # it logs every new cluster at INFO
    tm = TemplateMiner(config=TemplateMinerConfig())
    return [tm.add_log_message(m)["cluster_id"] for m in messages]


def _timed(fn, messages):
    t0 = time.perf_counter()
    labels = fn(messages)
    return labels, time.perf_counter() - t0


def _scores(labels, truth, seconds: float) -> dict:
    return {
        "ga": round(grouping_accuracy(labels, truth), 4),
        "groups": len(set(labels)),
        "seconds": round(seconds, 4),
        "messages_per_s": round(len(truth) / seconds) if seconds > 0 else None,
    }


def measure(name: str, source: str, messages: list[str], truth: list[str]) -> dict:
    """GA, groups and wall time of GenLens (in process and through the command) and of Drain3."""
    ours, ours_s = _timed(genlens_labels, messages)
    via_command, command_s = _timed(command_labels, messages)
    # the command writes a label's newlines as spaces (one label per line)
    expected = [label.replace("\n", " ") for label in ours]
    if via_command != expected:
        bad = next(
            (i for i, (a, b) in enumerate(zip(via_command, expected, strict=False)) if a != b),
            min(len(via_command), len(expected)),
        )
        raise AssertionError(
            f"{name}: `python -m queries.signatures group` disagrees with group_messages at message {bad} "
            f"({len(via_command)} labels for {len(expected)} messages)"
        )
    drain, drain_s = _timed(drain3_labels, messages)
    genlens = _scores(via_command, truth, ours_s)
    genlens |= {"command_seconds": round(command_s, 4), "command_matches": True}
    return {
        "name": name,
        "source": source,
        "messages": len(messages),
        "true_groups": len(set(truth)),
        "genlens": genlens,
        "drain3": _scores(drain, truth, drain_s),
    }


def run(loghub: Path | None, only: str | None = None) -> dict:
    """Every dataset's figures (only the LLM corpus, or only Loghub, when asked) and the means."""
    datasets = []
    if only != "llm":
        assert loghub is not None
        for name in LOGHUB_SETS:
            messages, truth = read_loghub(loghub / f"{name}_2k.csv")
            datasets.append(measure(name, "loghub", messages, truth))
            d = datasets[-1]
            log(f"{name}: GenLens GA {d['genlens']['ga']:.3f}, Drain3 GA {d['drain3']['ga']:.3f}")
    if only != "loghub":
        messages, truth = read_corpus()
        datasets.append(measure(LLM, "llm", messages, truth))
        d = datasets[-1]
        log(f"{LLM}: GenLens GA {d['genlens']['ga']:.3f}, Drain3 GA {d['drain3']['ga']:.3f}")
    lh = [d for d in datasets if d["source"] == "loghub"]
    mean = None
    if lh:
        mean = {
            who: {
                "ga": round(statistics.fmean(d[who]["ga"] for d in lh), 4),
                "groups": round(statistics.fmean(d[who]["groups"] for d in lh), 1),
                "messages_per_s": round(sum(d["messages"] for d in lh) / sum(d[who]["seconds"] for d in lh)),
            }
            for who in ("genlens", "drain3")
        }
        mean["true_groups"] = round(statistics.fmean(d["true_groups"] for d in lh), 1)
    llm = next((d for d in datasets if d["source"] == "llm"), None)
    return {
        "datasets": datasets,
        "loghub_mean": mean,
        "targets": {
            "loghub_mean_ga": {
                "required": TARGET_LOGHUB_MEAN,
                "measured": mean["genlens"]["ga"] if mean else None,
                "met": mean["genlens"]["ga"] >= TARGET_LOGHUB_MEAN if mean else None,
            },
            "loghub_at_least_drain3": {
                "below": [d["name"] for d in lh if d["genlens"]["ga"] < d["drain3"]["ga"]],
                "met": all(d["genlens"]["ga"] >= d["drain3"]["ga"] for d in lh) if lh else None,
            },
            "llm_ga": {
                "required": TARGET_LLM,
                "measured": llm["genlens"]["ga"] if llm else None,
                "met": llm["genlens"]["ga"] >= TARGET_LLM if llm else None,
            },
        },
    }


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "**not met**")


def _rate(v) -> str:
    return "–" if v is None else f"{v:,}"


def markdown(res: dict) -> list[str]:
    """The targets and the per-dataset table (BENCHMARKS.md's "Error grouping" and stdout)."""
    t = res["targets"]
    below = t["loghub_at_least_drain3"]["below"]
    m = res.get("loghub_mean")
    L = ["| target | required | measured | |", "|---|---|---|---|"]
    if m:
        L.append(
            f"| Loghub-2k mean GA | >= {TARGET_LOGHUB_MEAN:.2f} | {m['genlens']['ga']:.3f} "
            f"(Drain3 {m['drain3']['ga']:.3f}) | {_met(t['loghub_mean_ga']['met'])} |"
        )
        L.append(
            "| GA on every Loghub set | >= Drain3's | "
            + (f"below on {', '.join(below)}" if below else "never below")
            + f" | {_met(t['loghub_at_least_drain3']['met'])} |"
        )
    if t["llm_ga"]["measured"] is not None:
        L.append(
            f"| LLM-pipeline corpus GA | >= {TARGET_LLM:.2f} | {t['llm_ga']['measured']:.3f} | {_met(t['llm_ga']['met'])} |"
        )
    L += [
        "",
        "| dataset | messages | true groups | GenLens GA | Drain3 GA | GenLens groups | Drain3 groups "
        "| GenLens messages/s | Drain3 messages/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def row(name, n, true, g, d):
        ga_g, ga_d = f"{g['ga']:.3f}", f"{d['ga']:.3f}"
        if g["ga"] > d["ga"]:
            ga_g = f"**{ga_g}**"
        elif d["ga"] > g["ga"]:
            ga_d = f"**{ga_d}**"
        L.append(
            f"| {name} | {n} | {true} | {ga_g} | {ga_d} | {g['groups']} | {d['groups']} "
            f"| {_rate(g['messages_per_s'])} | {_rate(d['messages_per_s'])} |"
        )

    for d in res["datasets"]:
        if d["source"] == "loghub":
            row(d["name"], f"{d['messages']:,}", d["true_groups"], d["genlens"], d["drain3"])
    if m:
        n = sum(d["messages"] for d in res["datasets"] if d["source"] == "loghub")
        row("**mean of the 8 Loghub sets**", f"{n:,} in all", m["true_groups"], m["genlens"], m["drain3"])
    for d in res["datasets"]:
        if d["source"] == "llm":
            row(d["name"], f"{d['messages']:,}", d["true_groups"], d["genlens"], d["drain3"])
    return L


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.grouping", description=__doc__.splitlines()[0])
    ap.add_argument("--loghub", type=Path, default=LOGHUB, help="directory of the Loghub-2k CSVs")
    ap.add_argument("--only", choices=("loghub", "llm"), help="only these datasets")
    ap.add_argument("--output", type=Path, default=RESULTS, help="results JSON (default bench/results_grouping.json)")
    ap.add_argument("--no-markdown", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = ap.parse_args(argv)
    if args.only != "llm":
        missing = [n for n in LOGHUB_SETS if not (args.loghub / f"{n}_2k.csv").is_file()]
        if missing:
            ap.error(f"no Loghub-2k CSVs for {', '.join(missing)} in {args.loghub} (pass --loghub DIR or --only llm)")
    from bench.markdown import host

    started = datetime.now(UTC)
    res = {
        "command": " ".join(
            ["python -m bench.grouping", *map(shlex.quote, argv if argv is not None else sys.argv[1:])]
        ),
        "when": started.isoformat(timespec="seconds"),
        "machine": host() | {"drain3": version("drain3")},
        "loadavg_start": os.getloadavg(),
        "loghub": None if args.only == "llm" else str(args.loghub),
        "loghub_citation": CITATION,
    }
    res |= run(args.loghub if args.only != "llm" else None, args.only)
    res["loadavg_end"] = os.getloadavg()
    args.output.write_text(json.dumps(res, indent=1) + "\n")
    print("\n".join(markdown(res)))
    log(f"wrote {args.output}")
    if not args.no_markdown and args.output.resolve() == RESULTS:
        from bench import markdown as md

        path = ROOT / "BENCHMARKS.md"
        results = json.loads((RESULTS.parent / "results.json").read_text())
        path.write_text(md.render(results))
        log(f"wrote {path} (from the results files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
