"""bench/grouping.py: grouping accuracy on hand-made examples, the bench on the LLM-pipeline corpus
(through `python -m queries.signatures group`), and on Loghub-2k when ../shared/loghub is there."""

from __future__ import annotations

import json
import shlex

import pytest

from bench import grouping
from bench.grouping import grouping_accuracy
from metrics.grouping import group_messages

TRUTH = ["A", "A", "A", "B", "B", "B"]


def test_grouping_accuracy_perfect_whatever_the_labels():
    assert grouping_accuracy([7, 7, 7, 9, 9, 9], TRUTH) == 1.0


def test_grouping_accuracy_a_split_template_is_wrong_in_all_its_messages():
    # A's group is exactly A's messages (3 right); B split in two: none of B's 3 is right
    assert grouping_accuracy(["x", "x", "x", "y", "y", "z"], TRUTH) == pytest.approx(3 / 6)


def test_grouping_accuracy_a_merged_group_is_wrong_in_all_its_messages():
    # one B message put with the As: the As' group is mixed (4 wrong), B's group incomplete (2 wrong)
    assert grouping_accuracy(["x", "x", "x", "x", "y", "y"], TRUTH) == 0.0
    # one group for everything
    assert grouping_accuracy(["x"] * 6, TRUTH) == 0.0


def test_grouping_accuracy_one_wrong_message_of_a_larger_set():
    truth = ["A"] * 4 + ["B"] * 3 + ["C"] * 3
    # the fourth A alone: A's 4 wrong; B and C right
    predicted = ["a", "a", "a", "a2", "b", "b", "b", "c", "c", "c"]
    assert grouping_accuracy(predicted, truth) == pytest.approx(6 / 10)


def test_grouping_accuracy_needs_one_prediction_per_message():
    with pytest.raises(ValueError):
        grouping_accuracy(["x"], TRUTH)


def _check_dataset(d: dict) -> None:
    assert set(d) >= {"name", "source", "messages", "true_groups", "genlens", "drain3"}
    for who in ("genlens", "drain3"):
        r = d[who]
        assert set(r) >= {"ga", "groups", "seconds", "messages_per_s"}
        assert 0.0 <= r["ga"] <= 1.0
        assert 1 <= r["groups"] <= d["messages"]
        assert r["seconds"] > 0
    assert d["genlens"]["command_matches"] is True
    assert d["genlens"]["command_seconds"] > 0
    assert 1 <= d["true_groups"] <= d["messages"]


def test_the_command_labels_are_group_messages_labels_on_the_llm_corpus():
    messages, _ = grouping.read_corpus()
    assert grouping.command_labels(messages) == [label.replace("\n", " ") for label in group_messages(messages)]


def test_bench_on_the_llm_corpus_only(tmp_path, capsys):
    out = tmp_path / "results_grouping.json"
    assert grouping.main(["--only", "llm", "--output", str(out), "--no-markdown"]) == 0
    res = json.loads(out.read_text())
    assert set(res) >= {"command", "when", "machine", "datasets", "loghub_mean", "targets", "loghub_citation"}
    assert res["command"] == f"python -m bench.grouping --only llm --output {shlex.quote(str(out))} --no-markdown"
    assert set(res["machine"]) >= {"cpu", "cores", "ram_gb", "python", "drain3"}
    assert res["loghub"] is None and res["loghub_mean"] is None
    [d] = res["datasets"]
    assert d["name"] == grouping.LLM and d["source"] == "llm"
    messages, truth = grouping.read_corpus()
    assert d["messages"] == len(messages) and d["true_groups"] == len(set(truth))
    _check_dataset(d)
    assert res["targets"]["llm_ga"]["measured"] == d["genlens"]["ga"]
    assert res["targets"]["loghub_mean_ga"]["met"] is None
    printed = capsys.readouterr().out
    assert f"| {grouping.LLM} | {len(messages):,} |" in printed


@pytest.mark.skipif(
    not all((grouping.LOGHUB / f"{n}_2k.csv").is_file() for n in grouping.LOGHUB_SETS),
    reason=f"Loghub-2k is not at {grouping.LOGHUB} (benchmark data, kept outside the project)",
)
def test_bench_on_loghub_structure():
    res = grouping.run(grouping.LOGHUB, only="loghub")
    assert [d["name"] for d in res["datasets"]] == list(grouping.LOGHUB_SETS)
    for d in res["datasets"]:
        assert d["source"] == "loghub" and d["messages"] == 2000
        _check_dataset(d)
    mean = res["loghub_mean"]
    for who in ("genlens", "drain3"):
        got = sum(d[who]["ga"] for d in res["datasets"]) / len(res["datasets"])
        assert mean[who]["ga"] == pytest.approx(got, abs=1e-4)
    assert "mean of the 8 Loghub sets" in "\n".join(grouping.markdown(res))
