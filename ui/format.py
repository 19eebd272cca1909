"""How numbers look on a page. Missing values show as "–", never 0."""

from __future__ import annotations

import math
from datetime import UTC

from metrics import registry

DASH = "–"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def count(v) -> str:
    return DASH if _missing(v) else f"{int(v):,}"


def pct(v, digits: int = 1) -> str:
    return DASH if _missing(v) else f"{v * 100:.{digits}f}%"


def usd(v) -> str:
    if _missing(v):
        return DASH
    if abs(v) >= 100:
        return f"${v:,.0f}"
    return f"${v:,.2f}" if abs(v) >= 1 else f"${v:,.4f}"


def ms(v) -> str:
    if _missing(v):
        return DASH
    return f"{v / 1000:,.1f} s" if abs(v) >= 1000 else f"{v:,.0f} ms"


def score(v) -> str:
    return DASH if _missing(v) else f"{v:.3f}"


def ratio(v) -> str:
    return DASH if _missing(v) else f"{v:.2f}"


def md_escape(s) -> str:
    """Text for a Markdown label (st.caption, st.markdown): every Markdown/LaTeX character escaped."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>$~:" else c for c in str(s))


def plot_text(s) -> str:
    """Stored text for a Plotly label or hover: Plotly reads <b>, <a>, <br> as markup, entities as text."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _delta_pp(d: float) -> str:
    return f"{d * 100:+.1f} pp"


def _delta_pct_change(cur: float, prev: float) -> str | None:
    if not prev:
        return None
    return f"{(cur - prev) / prev * 100:+.1f}%"


def hours(v) -> str:
    return DASH if _missing(v) else f"{v:,.2f} h"


def tokens(v) -> str:
    return DASH if _missing(v) else f"{v:,.0f}"


def text(v) -> str:
    return DASH if _missing(v) else str(v)


def when(v) -> str:
    """A timestamp in UTC, to the second (a date as it is)."""
    if _missing(v):
        return DASH
    if hasattr(v, "hour") and hasattr(v, "astimezone"):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(v)


# registry format -> formatter
FORMATTERS = {
    "count": count,
    "pct": pct,
    "usd": usd,
    "ms": ms,
    "score": score,
    "ratio": ratio,
    "hours": hours,
    "tokens": tokens,
    "text": text,
    "date": when,
    "datetime": when,
}


def value(metric: str, v) -> str:
    """A metric's value as a page shows it (the registry says how)."""
    return FORMATTERS[registry.metric(metric).fmt](v)


def kpi(metric: str, current: dict, previous: dict | None) -> tuple[str, str | None, str]:
    """(value, delta text or None, delta_color) for st.metric, comparing with the previous period."""
    m = registry.metric(metric)
    fmt, kind, higher_better = FORMATTERS[m.fmt], m.delta, bool(m.higher_is_better)
    cur = current.get(metric)
    value = fmt(cur)
    prev = previous.get(metric) if previous else None
    if _missing(cur) or _missing(prev):
        return value, None, "off"
    if kind == "pp":
        delta = _delta_pp(cur - prev)
    elif kind == "relative":
        delta = _delta_pct_change(cur, prev)
    else:
        delta = f"{cur - prev:+.3f}" if isinstance(cur, float) else f"{cur - prev:+,}"
    return value, delta, "normal" if higher_better else "inverse"
