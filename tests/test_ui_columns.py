"""Table columns come from the metrics registry: one header, format and tooltip per name, and
pages never build a column config themselves."""

from __future__ import annotations

import re

import pytest

from metrics import registry
from tests.conftest import ROOT
from ui import columns


def number_format(c) -> str | None:
    return c["type_config"].get("format")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("success_rate", "percent"),
        ("total_cost_usd", "$%.4f"),
        ("p95_latency_ms", "%.0f"),
        ("avg_quality", "%.3f"),
        ("avg_attempts_per_generation", "%.2f"),
        ("generations", "%d"),
        ("lost_time_h", "%.2f h"),
        ("attempt_number", "%d"),
        ("created_at", "YYYY-MM-DD HH:mm:ss"),
        ("day", "YYYY-MM-DD"),
    ],
)
def test_format_from_the_registry(name, fmt):
    assert number_format(columns.column(name)) == fmt


def test_metric_header_and_help():
    m = registry.metric("first_attempt_success_rate")
    c = columns.column("first_attempt_success_rate")
    assert (c["label"], c["help"]) == (m.header, m.help_text())
    assert c["type_config"]["type"] == "number"


def test_fields():
    model = columns.column("model_used")
    assert (model["label"], model["type_config"]["type"], model["help"]) == ("model", "text", None)
    assert columns.column("created_at")["type_config"]["type"] == "datetime"
    assert columns.column("day")["type_config"]["type"] == "date"
    assert columns.column("cost_usd")["label"] == "cost (USD)"


def test_overrides():
    c = columns.column("total_cost_usd", format="$%.2f")
    assert number_format(c) == "$%.2f" and c["help"] == registry.metric("total_cost_usd").help_text()
    assert columns.column("success_rate", help="")["help"] is None
    assert columns.column("generation_id", width=290, pinned=True)["pinned"] is True
    with pytest.raises(registry.UnknownMetric):
        columns.column("not_a_column")


def test_config_for_a_table():
    cfg = columns.config(
        ["model_used", "attempts", "occurrences", "total_cost_usd", "x"],
        occurrences=columns.number("attempts with it"),
        total_cost_usd="spend",
        absent=columns.text("never shown"),
    )
    assert set(cfg) == {"model_used", "attempts", "occurrences", "total_cost_usd"}  # "x": Streamlit's default
    assert cfg["model_used"]["label"] == "model"
    assert cfg["occurrences"]["label"] == "attempts with it"
    assert cfg["total_cost_usd"]["label"] == "spend" and number_format(cfg["total_cost_usd"]) == "$%.4f"


def test_every_registry_format_has_a_column_kind():
    for fmt in registry.FORMATS:
        assert fmt in columns.NUMBER_FORMATS or fmt in columns.WHEN_FORMATS or fmt == "text"


def test_pages_build_no_column_config_themselves():
    """Headers, formats and tooltips live in ui.columns (from the registry), not in a page."""
    found = []
    for path in sorted((ROOT / "pages").glob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"st\.column_config\.", line):
                found.append(f"{path.name}:{n}")
    assert found == []


def test_every_registry_format_has_a_formatter():
    from metrics import registry
    from ui import format as fmt

    for m in registry.METRICS.values():
        assert m.fmt in fmt.FORMATTERS, m.name
        assert fmt.value(m.name, None) == fmt.DASH
