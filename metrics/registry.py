"""Every metric GenLens shows, declared once: what it means, how it looks, and how it is computed.

A metric is a formula over a few *primitives* (counts of attempts by status, counts of
generations by final and first status, sums and counts of known values, percentiles). Each
source (`metrics.sources`) renders each primitive once, for its own tables, so a metric means the
same thing whichever table answers it. Labels, units, help text, display formats and the
direction of "better" live here too: the glossary (docs/glossary.md), the tooltips, the column
labels and the KPI boxes all read them, so a name can carry only one meaning.

Adding a metric is one `Metric(...)` entry in METRICS. With a formula it is answered by every
source that can render its primitives, appears in the `metrics` report of the CLI and the
glossary, and in the KPI rows of the pages named in `kpi`.
"""

from __future__ import annotations

from dataclasses import dataclass

TERMINAL = ("success", "failed", "timeout")
LOST = ("failed", "timeout")


class UnknownMetric(KeyError):
    """A name that is not declared here (queries never guess)."""


# --- Values read from an attempt (METRICS.md "Values read from an attempt") ---------------------


@dataclass(frozen=True)
class Value:
    name: str  # the att / facts column
    label: str
    unit: str
    numeric: bool  # numeric (exact decimal sums) or float8 (latency)


VALUES: dict[str, Value] = {
    v.name: v
    for v in (
        Value("cost_usd", "cost", "USD", True),
        Value("tokens", "tokens", "tokens", True),
        Value("duration_ms", "generator duration", "ms", True),
        Value("quality", "quality", "score 0–1", True),
        Value("latency_ms", "latency", "ms", False),
    )
}
# The values of one pipeline phase of an attempt (generation_metadata.total_tokens.<phase>,
# duration_ms.<phase>): only the `phase` breakdown has them, giving each attempt one row per phase
# it reports.
PHASE_VALUES = ("phase_tokens", "phase_duration_ms")
# Retries the generator made inside one phase of an attempt (generation_metadata.retry_count): only
# the `retry_phase` breakdown has them, one row per phase an attempt reports retries for.
RETRY_VALUES = ("phase_retry_count",)
# breakdown -> the values only it has
DIMENSION_VALUES = {"phase": PHASE_VALUES, "retry_phase": RETRY_VALUES}
# Boolean flags of an attempt, counted by `Flagged`.
FLAGS = ("metadata_issue", "not_an_object", "invalid_cost", "invalid_quality", "invalid_tokens", "invalid_duration")


# --- Primitives ---------------------------------------------------------------------------------
# Attempt primitives count or sum the attempts of the generations in scope (narrowed by attempt
# filters); generation primitives count the generations in scope, each over its remaining attempts.


@dataclass(frozen=True)
class Attempts:
    """Attempts whose status is in `statuses` (None: all); `message`: only those with (True) or
    without (False) an error message, so with or without an error signature."""

    statuses: tuple[str, ...] | None = None
    message: bool | None = None
    grain = "attempt"


@dataclass(frozen=True)
class Flagged:
    """Attempts with a flag set (a metadata issue of some kind)."""

    flag: str
    grain = "attempt"

    def __post_init__(self) -> None:
        if self.flag not in FLAGS:
            raise ValueError(f"unknown flag {self.flag!r}")


@dataclass(frozen=True)
class Known:
    """Attempts (with status in `statuses`) whose `value` is known."""

    value: str
    statuses: tuple[str, ...] | None = None
    grain = "attempt"


@dataclass(frozen=True)
class Positive:
    """Attempts whose known `value` is above 0."""

    value: str
    grain = "attempt"


@dataclass(frozen=True)
class Beyond:
    """Attempts whose known `value` is beyond a bound the request supplies as parameter `param`
    (`op` ">" above it, "<" below it): the outlier lists' counts."""

    value: str
    op: str
    param: str
    grain = "attempt"

    def __post_init__(self) -> None:
        if self.op not in (">", "<"):
            raise ValueError(f"unknown comparison {self.op!r}")
        if self.value not in VALUES:
            raise ValueError(f"unknown value {self.value!r}")


@dataclass(frozen=True)
class Total:
    """Sum of the known `value`s of attempts with status in `statuses`; NULL when none is known."""

    value: str
    statuses: tuple[str, ...] | None = None
    grain = "attempt"


@dataclass(frozen=True)
class Percentile:
    """Continuous percentile (PostgreSQL's percentile_cont) of the known `value`s."""

    value: str
    p: float
    grain = "attempt"


@dataclass(frozen=True)
class Extreme:
    """The earliest (`fn` min) or latest (max) `value` of the attempts (a timestamp)."""

    value: str
    fn: str
    grain = "attempt"

    def __post_init__(self) -> None:
        if self.fn not in ("min", "max"):
            raise ValueError(f"unknown extreme {self.fn!r}")


@dataclass(frozen=True)
class Joined:
    """The distinct `value`s of the attempts, sorted, joined with ';'."""

    value: str
    grain = "attempt"


@dataclass(frozen=True)
class Newest:
    """`value` of the newest attempt (latest created_at, then highest attempt number)."""

    value: str
    grain = "attempt"


@dataclass(frozen=True)
class Generations:
    """Generations whose final status is in `final` and first status in `first` (None: any);
    `retried`: only those with more than one attempt."""

    final: tuple[str, ...] | None = None
    first: tuple[str, ...] | None = None
    retried: bool = False
    grain = "generation"


@dataclass(frozen=True)
class GenerationAttempts:
    """The attempts of the generations counted, summed (grouped like the generations)."""

    grain = "generation"


Primitive = (
    Attempts
    | Flagged
    | Known
    | Positive
    | Beyond
    | Total
    | Percentile
    | Extreme
    | Joined
    | Newest
    | Generations
    | GenerationAttempts
)


# --- Formulas over primitives ------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """A count (bigint), 0 when nothing matched."""

    of: Primitive


@dataclass(frozen=True)
class Sum:
    """A sum of known values as float8 (`zero`: 0 when none is known, else NULL); `scale` divides."""

    of: Total
    zero: bool = True
    as_int: bool = False
    scale: float = 1.0


@dataclass(frozen=True)
class Ratio:
    """num / den as float8, NULL when den is 0 (an empty rate is empty, never 0). `exact`: the
    division in numeric first (as avg() does), then float8. `zero`: a sum in num with no known
    value counts as 0 (total_cost_usd is 0 then), so the ratio is 0, not empty."""

    num: Primitive
    den: Primitive
    exact: bool = False
    zero: bool = False


@dataclass(frozen=True)
class Plain:
    """A primitive as it is (a percentile: float8, NULL when no value is known); `cast` None
    keeps the database's type (a timestamp, a text, an id)."""

    of: Primitive
    cast: str | None = "float8"


Formula = Count | Sum | Ratio | Plain


def mean(value: str) -> Ratio:
    return Ratio(Total(value), Known(value), exact=True)


def primitives(formula: Formula) -> tuple[Primitive, ...]:
    if isinstance(formula, Ratio):
        return (formula.num, formula.den)
    return (formula.of,)


# --- Metrics ------------------------------------------------------------------------------------

# How a value is shown: ui.format has one formatter per key, ui.columns one column format.
FORMATS = ("count", "pct", "usd", "ms", "score", "ratio", "hours", "tokens", "text", "date", "datetime")


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # a KPI box's title and the glossary's name
    unit: str
    help: str
    fmt: str  # one of FORMATS
    higher_is_better: bool | None = None  # None: neither (a volume)
    formula: Formula | None = None  # None: computed by the bespoke query named in `computed_by`
    computed_by: str = ""
    column: str = ""  # a table column's header (default: label in lower case)
    delta: str = "relative"  # against the previous period: relative (%), pp (points), absolute
    kpi: tuple[str, ...] = ()  # pages whose KPI row shows it, in this registry's order
    glossary: bool = True
    short: str = ""  # a KPI box's title when shorter than the label

    @property
    def title(self) -> str:
        return self.short or self.label

    @property
    def grain(self) -> str:
        """'generation' when any primitive counts generations, else 'attempt'."""
        if self.formula is None:
            return "attempt"
        return "generation" if any(p.grain == "generation" for p in primitives(self.formula)) else "attempt"

    @property
    def needs(self) -> str | None:
        """The breakdown this metric exists only under (`phase` for a phase's values), else None."""
        if self.formula is None:
            return None
        values = {getattr(p, "value", None) for p in primitives(self.formula)}
        return next((dim for dim, only in DIMENSION_VALUES.items() if values & set(only)), None)

    @property
    def bounds(self) -> tuple[str, ...]:
        """The parameters a request must supply for this metric (a Beyond's bound)."""
        if self.formula is None:
            return ()
        return tuple(p.param for p in primitives(self.formula) if isinstance(p, Beyond))

    @property
    def header(self) -> str:
        return self.column or self.label[0].lower() + self.label[1:]

    def help_text(self) -> str:
        return f"{self.help} Unit: {self.unit}."


def _ok(statuses=("success",)) -> Generations:
    return Generations(final=statuses)


_METRICS: tuple[Metric, ...] = (
    Metric(
        "generations",
        "Generations",
        "count",
        "Distinct generation requests whose first attempt started in the window. All their attempts "
        "count, even a retry that ran after the window ended. Test generations are left out unless included.",
        "count",
        True,
        Count(Generations()),
        kpi=("overview",),
    ),
    Metric(
        "attempts",
        "Attempts",
        "count",
        "Attempts (first tries and retries) of the generations in scope.",
        "count",
        True,
        Count(Attempts()),
    ),
    Metric(
        "successes",
        "Successful attempts",
        "count",
        "Attempts of the generations in scope with status success.",
        "count",
        True,
        Count(Attempts(("success",))),
        glossary=False,
    ),
    Metric(
        "failures",
        "Failed attempts",
        "count",
        "Attempts of the generations in scope with status failed.",
        "count",
        False,
        Count(Attempts(("failed",))),
    ),
    Metric(
        "timeouts",
        "Timed-out attempts",
        "count",
        "Attempts of the generations in scope with status timeout, kept apart from failures.",
        "count",
        False,
        Count(Attempts(("timeout",))),
    ),
    Metric(
        "terminal_attempts",
        "Finished attempts",
        "count",
        "Attempts that finished: status success, failed or timeout (pending ones have not).",
        "count",
        formula=Count(Attempts(TERMINAL)),
        glossary=False,
    ),
    Metric(
        "succeeded",
        "Successful generations",
        "count",
        "Generations whose last attempt succeeded.",
        "count",
        True,
        Count(Generations(final=("success",))),
        glossary=False,
    ),
    Metric(
        "failed_final",
        "Failed generations",
        "count",
        "Generations whose last attempt failed or timed out: no result, even after retries.",
        "count",
        False,
        Count(Generations(final=LOST)),
        glossary=False,
    ),
    Metric(
        "success_rate",
        "Success rate",
        "%",
        "Generations whose last attempt succeeded, out of generations whose last attempt has finished "
        "(success, failed or timeout). Still-pending generations are not counted either way.",
        "pct",
        True,
        Ratio(_ok(), Generations(final=TERMINAL)),
        column="success",
        delta="pp",
        kpi=("overview", "reliability"),
    ),
    Metric(
        "first_attempt_success_rate",
        "First-attempt success rate",
        "%",
        "Generations whose first attempt succeeded, out of generations whose first attempt has finished.",
        "pct",
        True,
        Ratio(Generations(first=("success",)), Generations(first=TERMINAL)),
        column="first-attempt success",
        delta="pp",
        kpi=("reliability",),
        short="First-attempt success",
    ),
    Metric(
        "attempt_success_rate",
        "Attempt success rate",
        "%",
        "Successful attempts out of finished attempts (success, failed, timeout).",
        "pct",
        True,
        Ratio(Attempts(("success",)), Attempts(TERMINAL)),
        column="attempt success",
        delta="pp",
        kpi=("reliability",),
    ),
    Metric(
        "avg_attempts_per_generation",
        "Avg attempts per generation",
        "attempts",
        "Attempts divided by generations: 1.00 means nothing was retried.",
        "ratio",
        False,
        Ratio(GenerationAttempts(), Generations()),
        column="attempts per gen.",
        delta="absolute",
        kpi=("overview",),
        short="Avg attempts",
    ),
    Metric(
        "recovered_by_retry",
        "Recovered by retry",
        "count",
        "Generations that needed more than one attempt and ended in success.",
        "count",
        True,
        Count(Generations(final=("success",), retried=True)),
        kpi=("reliability",),
    ),
    Metric(
        "retry_rate",
        "Retry rate",
        "%",
        "Share of generations that needed more than one attempt.",
        "pct",
        False,
        Ratio(Generations(retried=True), Generations()),
        delta="pp",
        kpi=("reliability",),
    ),
    Metric(
        "total_cost_usd",
        "Total cost",
        "USD",
        "Sum of generation_metadata.cost_usd over all attempts, failed ones included (they cost money too). "
        "Attempts without a valid cost are left out, not counted as 0.",
        "usd",
        False,
        Sum(Total("cost_usd")),
        kpi=("overview", "cost"),
    ),
    Metric(
        "cost_per_success_usd",
        "Cost per successful generation",
        "USD",
        "Total cost (every attempt, failed ones included) divided by generations that ended in success; "
        "empty when none did.",
        "usd",
        False,
        Ratio(Total("cost_usd"), _ok(), zero=True),
        column="cost per successful generation",
        kpi=("cost",),
        short="Cost per success",
    ),
    Metric(
        "cost_per_success_attempt_usd",
        "Cost per successful attempt",
        "USD",
        "Total cost (every attempt, failed ones included) divided by attempts that succeeded; empty when "
        "none did. Per model it is what one usable result of that model costs.",
        "usd",
        False,
        Ratio(Total("cost_usd"), Attempts(("success",)), zero=True),
        column="cost per successful attempt",
    ),
    Metric(
        "attempts_with_cost",
        "Attempts with a cost",
        "count",
        "Attempts whose generation_metadata.cost_usd is a valid number (0 or more).",
        "count",
        formula=Count(Known("cost_usd")),
        glossary=False,
    ),
    Metric(
        "attempts_with_duration",
        "Attempts with a generator duration",
        "count",
        "Attempts whose generation_metadata.duration_ms.total is a valid number (0 or more).",
        "count",
        formula=Count(Known("duration_ms")),
        glossary=False,
    ),
    Metric(
        "expensive_attempts",
        "Expensive attempts",
        "count",
        "Attempts whose known cost is above the page's cost threshold (USD): the length of the "
        '"most expensive" list in full.',
        "count",
        False,
        Count(Beyond("cost_usd", ">", "cost_gt")),
        glossary=False,
    ),
    Metric(
        "slow_attempts",
        "Slow attempts",
        "count",
        "Attempts whose known generator duration (generation_metadata.duration_ms.total) is above the "
        'page\'s duration threshold (ms): the length of the "slowest" list in full.',
        "count",
        False,
        Count(Beyond("duration_ms", ">", "slow_ms")),
        glossary=False,
    ),
    Metric(
        "low_quality_attempts",
        "Low-quality attempts",
        "count",
        "Attempts whose known quality score is below the page's quality threshold (0–1): the length "
        'of the "lowest quality" list in full.',
        "count",
        False,
        Count(Beyond("quality", "<", "quality_lt")),
        glossary=False,
    ),
    Metric(
        "attempts_with_quality",
        "Attempts with a quality score",
        "count",
        "Attempts whose generation_metadata.quality_scores.overall is a valid score (0 to 1).",
        "count",
        formula=Count(Known("quality")),
        glossary=False,
    ),
    Metric(
        "avg_cost_usd",
        "Avg cost per attempt",
        "USD",
        "Mean cost of the attempts with a known cost.",
        "usd",
        False,
        mean("cost_usd"),
        glossary=False,
    ),
    Metric(
        "total_tokens",
        "Total tokens",
        "count",
        "Sum of generation_metadata.total_tokens.total over attempts.",
        "count",
        formula=Sum(Total("tokens"), as_int=True),
        column="tokens",
        kpi=("cost",),
    ),
    Metric(
        "tokens_per_success",
        "Tokens per successful generation",
        "tokens",
        "Total tokens (every attempt, failed ones included) divided by generations that ended in success; "
        "empty when none did.",
        "tokens",
        False,
        Ratio(Total("tokens"), _ok(), zero=True),
        column="tokens per successful generation",
        kpi=("cost",),
        short="Tokens per success",
    ),
    Metric(
        "p50_latency_ms",
        "p50 latency",
        "ms",
        "Median time from an attempt's start (created_at) to its end (completed_at), finished attempts only.",
        "ms",
        False,
        Plain(Percentile("latency_ms", 0.5)),
        column="p50 latency (ms)",
    ),
    Metric(
        "p95_latency_ms",
        "p95 latency",
        "ms",
        "95th percentile of attempt latency (completed_at − created_at), finished attempts only; "
        "continuous percentile, as PostgreSQL's percentile_cont.",
        "ms",
        False,
        Plain(Percentile("latency_ms", 0.95)),
        column="p95 latency (ms)",
        kpi=("overview",),
    ),
    Metric(
        "avg_quality",
        "Avg quality",
        "score 0–1",
        "Mean of generation_metadata.quality_scores.overall over attempts that report a valid score (0 to 1).",
        "score",
        True,
        mean("quality"),
        column="avg quality (0–1)",
        delta="absolute",
        kpi=("overview", "cost"),
    ),
    Metric(
        "pending_attempts",
        "Pending attempts",
        "count",
        "Attempts still marked pending.",
        "count",
        False,
        Count(Attempts(("pending",))),
        delta="absolute",
    ),
    Metric(
        "stale_pending",
        "Stale pending",
        "count",
        "Pending attempts older than GENLENS_STALE_PENDING_MINUTES (default 15): most likely lost, "
        "the worker crashed or never updated the row.",
        "count",
        False,
        computed_by="queries.reliability.stale_pending (measured against the database's now())",
    ),
    Metric(
        "metadata_issues",
        "Metadata issues",
        "count",
        "Attempts whose generation_metadata is present but not a JSON object, or whose cost, quality, "
        "token total or duration total is present but invalid (not a number, negative, quality above 1). "
        "Their invalid values are left out of every sum and average.",
        "count",
        False,
        Count(Flagged("metadata_issue")),
        delta="absolute",
    ),
    Metric(
        "failure_rate",
        "Failure rate",
        "%",
        "Failed and timed-out attempts out of finished attempts (success, failed, timeout); "
        "the complement of the attempt success rate.",
        "pct",
        False,
        Ratio(Attempts(LOST), Attempts(TERMINAL)),
        delta="pp",
    ),
    Metric(
        "lost_cost_usd",
        "Cost of failed attempts",
        "USD",
        "Sum of generation_metadata.cost_usd over attempts that failed or timed out: money spent without a "
        "usable result. Attempts without a valid cost are left out.",
        "usd",
        False,
        Sum(Total("cost_usd", LOST)),
        column="total lost (USD)",
    ),
    Metric(
        "lost_time_h",
        "Time in failed attempts",
        "hours",
        "Sum of the latency (completed_at − created_at) of attempts that failed or timed out: time users "
        "waited for nothing.",
        "hours",
        False,
        Sum(Total("latency_ms", LOST), scale=3_600_000.0),
        column="total time (h)",
    ),
    Metric(
        "lost_attempts",
        "Failed or timed-out attempts",
        "count",
        "Attempts of the generations in scope that failed or timed out.",
        "count",
        False,
        Count(Attempts(LOST)),
        glossary=False,
    ),
    Metric(
        "failures_without_message",
        "Failures without a message",
        "count",
        "Failed or timed-out attempts with no error_message, so without an error signature.",
        "count",
        False,
        Count(Attempts(LOST, message=False)),
        glossary=False,
    ),
    Metric(
        "failed_cost_usd",
        "Cost of failed attempts (failed)",
        "USD",
        "Sum of the known cost_usd of attempts with status failed.",
        "usd",
        False,
        Sum(Total("cost_usd", ("failed",))),
        column="failed (USD)",
        glossary=False,
    ),
    Metric(
        "timeout_cost_usd",
        "Cost of timed-out attempts",
        "USD",
        "Sum of the known cost_usd of attempts with status timeout.",
        "usd",
        False,
        Sum(Total("cost_usd", ("timeout",))),
        column="timed out (USD)",
        glossary=False,
    ),
    Metric(
        "failure_cost_share",
        "Share of cost on failures",
        "%",
        "Cost of failed and timed-out attempts out of the cost of all attempts; empty when no cost is known.",
        "pct",
        False,
        Ratio(Total("cost_usd", LOST), Total("cost_usd")),
        column="share of cost",
        delta="pp",
        glossary=False,
    ),
    Metric(
        "failed_time_h",
        "Time in failed attempts (failed)",
        "hours",
        "Sum of the latency of attempts with status failed.",
        "hours",
        False,
        Sum(Total("latency_ms", ("failed",)), scale=3_600_000.0),
        column="failed (h)",
        glossary=False,
    ),
    Metric(
        "timeout_time_h",
        "Time in timed-out attempts",
        "hours",
        "Sum of the latency of attempts with status timeout.",
        "hours",
        False,
        Sum(Total("latency_ms", ("timeout",)), scale=3_600_000.0),
        column="timed out (h)",
        glossary=False,
    ),
    Metric(
        "not_an_object",
        "Metadata not a JSON object",
        "count",
        "Attempts whose generation_metadata is present but not a JSON object.",
        "count",
        False,
        Count(Flagged("not_an_object")),
        column="metadata is not a JSON object",
        glossary=False,
    ),
    Metric(
        "invalid_cost",
        "Invalid cost",
        "count",
        "Attempts whose generation_metadata.cost_usd is present but not a number ≥ 0.",
        "count",
        False,
        Count(Flagged("invalid_cost")),
        column="cost_usd not a number ≥ 0",
        glossary=False,
    ),
    Metric(
        "invalid_quality",
        "Invalid quality",
        "count",
        "Attempts whose quality_scores.overall is present but not a number in [0, 1].",
        "count",
        False,
        Count(Flagged("invalid_quality")),
        column="quality_scores.overall not a number in [0, 1]",
        glossary=False,
    ),
    Metric(
        "invalid_tokens",
        "Invalid token total",
        "count",
        "Attempts whose total_tokens.total is present but not a number ≥ 0.",
        "count",
        False,
        Count(Flagged("invalid_tokens")),
        column="total_tokens.total not a number ≥ 0",
        glossary=False,
    ),
    Metric(
        "invalid_duration",
        "Invalid duration",
        "count",
        "Attempts whose duration_ms.total is present but not a number ≥ 0.",
        "count",
        False,
        Count(Flagged("invalid_duration")),
        column="duration_ms.total not a number ≥ 0",
        glossary=False,
    ),
    Metric(
        "attempts_with_phase_tokens",
        "Attempts reporting a phase's tokens",
        "count",
        "Attempts whose generation_metadata.total_tokens.<phase> is a number ≥ 0.",
        "count",
        None,
        Count(Known("phase_tokens")),
        column="attempts with tokens",
        glossary=False,
    ),
    Metric(
        "phase_tokens",
        "Tokens of a phase",
        "count",
        "Sum of generation_metadata.total_tokens.<phase> over the attempts that report it.",
        "count",
        None,
        Sum(Total("phase_tokens"), as_int=True),
        column="phase tokens",
        glossary=False,
    ),
    Metric(
        "avg_phase_tokens",
        "Avg tokens of a phase per attempt",
        "tokens",
        "Mean of generation_metadata.total_tokens.<phase> over the attempts that report it.",
        "tokens",
        None,
        mean("phase_tokens"),
        column="avg tokens per attempt",
        glossary=False,
    ),
    Metric(
        "attempts_with_phase_duration",
        "Attempts reporting a phase's duration",
        "count",
        "Attempts whose generation_metadata.duration_ms.<phase> is a number ≥ 0.",
        "count",
        None,
        Count(Known("phase_duration_ms")),
        column="attempts with a duration",
        glossary=False,
    ),
    Metric(
        "phase_duration_ms",
        "Duration of a phase",
        "ms",
        "Sum of generation_metadata.duration_ms.<phase> (the generator's own timing) over the attempts that report it.",
        "ms",
        None,
        Sum(Total("phase_duration_ms")),
        column="phase duration (ms)",
        glossary=False,
    ),
    Metric(
        "avg_phase_duration_ms",
        "Avg duration of a phase per attempt",
        "ms",
        "Mean of generation_metadata.duration_ms.<phase> over the attempts that report it.",
        "ms",
        None,
        mean("phase_duration_ms"),
        column="avg duration per attempt (ms)",
        glossary=False,
    ),
    Metric(
        "occurrences",
        "Failures with a message",
        "count",
        "Failed and timed-out attempts that have an error message (so an error group); by group, its occurrences.",
        "count",
        False,
        Count(Attempts(LOST, message=True)),
        glossary=False,
    ),
    Metric(
        "first_seen",
        "First seen",
        "UTC time",
        "When the earliest of the attempts started (created_at).",
        "datetime",
        formula=Plain(Extreme("created_at", "min"), cast=None),
        column="first seen (UTC)",
        glossary=False,
    ),
    Metric(
        "last_seen",
        "Last seen",
        "UTC time",
        "When the latest of the attempts started (created_at).",
        "datetime",
        formula=Plain(Extreme("created_at", "max"), cast=None),
        column="last seen (UTC)",
        glossary=False,
    ),
    Metric(
        "models",
        "Models",
        "text",
        "The distinct models of the attempts (model_used), sorted, joined with ';'.",
        "text",
        formula=Plain(Joined("model_used"), cast=None),
        glossary=False,
    ),
    Metric(
        "example_generation_id",
        "Example generation",
        "id",
        "The generation of the newest of the attempts: one to open in Generation detail.",
        "text",
        formula=Plain(Newest("generation_id"), cast=None),
        column="example generation",
        glossary=False,
    ),
    Metric(
        "attempts_reporting_retries",
        "Attempts reporting a phase's retries",
        "count",
        "Attempts whose generation_metadata.retry_count.<phase> is known (a number ≥ 0, or a list of them).",
        "count",
        formula=Count(Known("phase_retry_count")),
        column="attempts reporting it",
        glossary=False,
    ),
    Metric(
        "attempts_with_phase_retries",
        "Attempts with a retry in a phase",
        "count",
        "Attempts whose generator retried at least once inside the phase.",
        "count",
        False,
        Count(Positive("phase_retry_count")),
        column="attempts with a retry",
        glossary=False,
    ),
    Metric(
        "phase_retries",
        "Retries by phase",
        "count",
        "generation_metadata.retry_count holds, per pipeline phase, how often the generator retried inside "
        "one attempt (a number, or a list with one number per section, summed). Values that are not "
        "non-negative numbers are left out.",
        "count",
        False,
        Sum(Total("phase_retry_count")),
        column="retries",
    ),
    Metric(
        "phase_retries_per_attempt",
        "Retries per attempt in a phase",
        "retries",
        "Retries inside the phase divided by the attempts reporting it.",
        "ratio",
        False,
        mean("phase_retry_count"),
        column="retries per attempt",
        glossary=False,
    ),
    Metric(
        "new_signatures",
        "New error groups",
        "count",
        "Error groups whose first occurrence in the whole table (any earlier date, any model, type or "
        "user; test generations only when included) is inside this window.",
        "count",
        computed_by="queries.errors.new_signatures",
    ),
    Metric(
        "error_signature",
        "Error group",
        "text",
        "The error group of a failed or timed-out attempt's message, shown as its template: the message "
        "with what varies between its occurrences replaced (<id>, <n>, <uuid>, <str>, <*>, ...). One group "
        "per kind of error; see Error groups below.",
        "text",
        computed_by="queries.signatures",
    ),
)

METRICS: dict[str, Metric] = {}
for _m in _METRICS:
    if _m.name in METRICS:  # one name, one meaning
        raise ValueError(f"metric {_m.name!r} declared twice")
    if _m.fmt not in FORMATS:
        raise ValueError(f"metric {_m.name!r}: unknown format {_m.fmt!r}")
    METRICS[_m.name] = _m
del _m


# Names that are not metrics but are shown as columns: dimensions of a breakdown and attempt fields.
@dataclass(frozen=True)
class Field:
    name: str
    label: str
    fmt: str = "text"
    help: str = ""


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("model_used", "model"),
        Field("story_type", "story type"),
        Field("day", "day (UTC)", "date"),
        Field("bucket", "time (UTC)", "datetime"),
        Field("generation_id", "generation"),
        Field("attempt_number", "attempt", "count"),
        Field("status", "status"),
        Field("user_id", "user"),
        Field("created_at", "started (UTC)", "datetime"),
        Field("completed_at", "completed (UTC)", "datetime"),
        Field("error_message", "error message"),
        Field("cost_usd", "cost (USD)", "usd"),
        Field("tokens", "tokens", "count"),
        Field("duration_ms", "duration (ms)", "ms"),
        Field("quality", "quality (0–1)", "score"),
        Field("latency_ms", "latency (ms)", "ms"),
    )
}


def metric(name: str) -> Metric:
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetric(f"unknown metric {name!r}") from None


def computable(by: tuple[str, ...] = (), bounded: bool = False) -> list[str]:
    """The metrics with a formula a request by `by` can carry, in registry order (with no
    breakdown: the CLI's `metrics` report). A phase's values exist only by phase, and by phase
    nothing else does (so with retry phases). `bounded`: with the metrics that compare a value
    with a bound the request supplies (the outlier counts), left out by default."""
    special = [d for d in by if d in DIMENSION_VALUES]
    return [
        m.name
        for m in METRICS.values()
        if m.formula is not None and (m.needs in special if special else m.needs is None) and (bounded or not m.bounds)
    ]


def kpis(page: str) -> list[Metric]:
    """The metrics a page's KPI row shows, in registry order."""
    return [m for m in METRICS.values() if page in m.kpi]
