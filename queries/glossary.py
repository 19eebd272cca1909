"""Plain-language definitions of every metric (METRICS.md in our words), for tooltips and docs.

python -m queries.glossary > docs/glossary.md
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    label: str
    unit: str  # "count", "%", "USD", "ms", "score 0–1", "attempts"
    help: str


GLOSSARY: dict[str, Term] = {
    "generations": Term(
        "Generations",
        "count",
        "Distinct generation requests whose first attempt started in the window. All their attempts "
        "count, even a retry that ran after the window ended. Test generations are left out unless included.",
    ),
    "attempts": Term("Attempts", "count", "Attempts (first tries and retries) of the generations in scope."),
    "success_rate": Term(
        "Success rate",
        "%",
        "Generations whose last attempt succeeded, out of generations whose last attempt has finished "
        "(success, failed or timeout). Still-pending generations are not counted either way.",
    ),
    "attempt_success_rate": Term(
        "Attempt success rate", "%", "Successful attempts out of finished attempts (success, failed, timeout)."
    ),
    "first_attempt_success_rate": Term(
        "First-attempt success rate",
        "%",
        "Generations whose first attempt succeeded, out of generations whose first attempt has finished.",
    ),
    "avg_attempts_per_generation": Term(
        "Avg attempts per generation", "attempts", "Attempts divided by generations: 1.00 means nothing was retried."
    ),
    "retry_rate": Term("Retry rate", "%", "Share of generations that needed more than one attempt."),
    "recovered_by_retry": Term(
        "Recovered by retry", "count", "Generations that needed more than one attempt and ended in success."
    ),
    "total_cost_usd": Term(
        "Total cost",
        "USD",
        "Sum of generation_metadata.cost_usd over all attempts, failed ones included (they cost money too). "
        "Attempts without a valid cost are left out, not counted as 0.",
    ),
    "cost_per_success_usd": Term(
        "Cost per successful generation",
        "USD",
        "Total cost divided by generations that ended in success; empty when none did.",
    ),
    "total_tokens": Term("Total tokens", "count", "Sum of generation_metadata.total_tokens.total over attempts."),
    "p50_latency_ms": Term(
        "p50 latency",
        "ms",
        "Median time from an attempt's start (created_at) to its end (completed_at), finished attempts only.",
    ),
    "p95_latency_ms": Term(
        "p95 latency",
        "ms",
        "95th percentile of attempt latency (completed_at − created_at), finished attempts only; "
        "continuous percentile, as PostgreSQL's percentile_cont.",
    ),
    "avg_quality": Term(
        "Avg quality",
        "score 0–1",
        "Mean of generation_metadata.quality_scores.overall over attempts that report a valid score (0 to 1).",
    ),
    "pending_attempts": Term("Pending attempts", "count", "Attempts still marked pending."),
    "stale_pending": Term(
        "Stale pending",
        "count",
        "Pending attempts older than GENLENS_STALE_PENDING_MINUTES (default 15): most likely lost, "
        "the worker crashed or never updated the row.",
    ),
    "metadata_issues": Term(
        "Metadata issues",
        "count",
        "Attempts whose generation_metadata is present but not a JSON object, or whose cost, quality, "
        "token total or duration total is present but invalid (not a number, negative, quality above 1). "
        "Their invalid values are left out of every sum and average.",
    ),
    "failed_attempts": Term("Failed attempts", "count", "Attempts of the generations in scope with status failed."),
    "timeout_attempts": Term(
        "Timed-out attempts",
        "count",
        "Attempts of the generations in scope with status timeout, kept apart from failures.",
    ),
    "failure_rate": Term(
        "Failure rate",
        "%",
        "Failed and timed-out attempts out of finished attempts (success, failed, timeout); "
        "the complement of the attempt success rate.",
    ),
    "failed_attempt_cost_usd": Term(
        "Cost of failed attempts",
        "USD",
        "Sum of generation_metadata.cost_usd over attempts that failed or timed out: money spent without a "
        "usable result. Attempts without a valid cost are left out.",
    ),
    "failed_attempt_time": Term(
        "Time in failed attempts",
        "hours",
        "Sum of the latency (completed_at − created_at) of attempts that failed or timed out: time users "
        "waited for nothing.",
    ),
    "phase_retries": Term(
        "Retries by phase",
        "count",
        "generation_metadata.retry_count holds, per pipeline phase, how often the generator retried inside "
        "one attempt (a number, or a list with one number per section, summed). Values that are not "
        "non-negative numbers are left out.",
    ),
    "new_signatures": Term(
        "New signatures",
        "count",
        "Error signatures whose first occurrence in the whole table (any earlier date, any model, type or "
        "user; test generations only when included) is inside this window.",
    ),
    "error_signature": Term(
        "Error signature",
        "text",
        "The error message with its variable parts replaced: quoted text by <str>, UUIDs by <uuid>, "
        "ids (8+ characters with a digit) by <id>, numbers by <n>. Messages that differ only in those "
        "parts share a signature.",
    ),
}


def help_text(key: str) -> str:
    t = GLOSSARY[key]
    return f"{t.help} Unit: {t.unit}."


def markdown() -> str:
    lines = [
        "# Metric glossary",
        "",
        "Every number GenLens shows, on a page, in a CSV or from the CLI, follows these definitions.",
        "The window is [since, until) in UTC. An empty rate shows as – (blank in CSV), never 0.",
        "",
        "| metric | column | unit | definition |",
        "|---|---|---|---|",
    ]
    for key, t in GLOSSARY.items():
        lines.append(f"| {t.label} | `{key}` | {t.unit} | {t.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
