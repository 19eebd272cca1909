"""Plain-language definitions of every metric (METRICS.md in our words), for tooltips and docs.

The definitions are the metrics registry's (`metrics.registry`); this module turns them into
the glossary page and the tooltips' text.

    python -m queries.glossary > docs/glossary.md
"""

from __future__ import annotations

from metrics.registry import METRICS, Metric, metric

# The glossary's entries: every metric a person reads about, in registry order.
GLOSSARY: dict[str, Metric] = {name: m for name, m in METRICS.items() if m.glossary}


def term(key: str) -> Metric:
    """A metric's declaration (label, unit, help, format), for pages that explain a column."""
    return metric(key)


def help_text(key: str) -> str:
    """The tooltip of a metric: its definition and unit."""
    return metric(key).help_text()


def markdown() -> str:
    lines = [
        "# Metric glossary",
        "",
        "Every number GenLens shows, on a page, in a CSV or from the CLI, follows these definitions.",
        "The window is [since, until) in UTC. An empty rate shows as – (blank in CSV), never 0.",
        "Generated from the metrics registry (`metrics/registry.py`) by `python -m queries.glossary`;",
        "`python -m queries.export metrics` writes every metric with a formula for a window.",
        "",
        "| metric | column | unit | definition |",
        "|---|---|---|---|",
    ]
    for key, t in GLOSSARY.items():
        lines.append(f"| {t.label} | `{key}` | {t.unit} | {t.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
