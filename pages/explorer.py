"""Explorer: every attempt in scope, filtered, searched, sorted and paged; a row opens its generation.

Page URL parameters (besides the sidebar's): status (repeatable), q (search text), signature
(exact error signature), issues=1 (metadata issues only), sort (created_at, latency_ms, cost_usd,
quality), dir (asc, desc), size (50, 100, 500). A bad value is ignored with a warning.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from queries import explorer
from queries.explorer import PAGE_SIZES, SORTS, ExplorerQuery
from queries.export import export_command
from queries.filters import STATUSES, FilterError, Filters
from queries.glossary import help_text
from ui import attempts
from ui import format as fmt
from ui.data import cached
from ui.downloads import BROWSER_MAX_ROWS, capped_download, csv_download, spooled
from ui.guard import guarded
from ui.state import filters

SORT_LABELS = {"created_at": "Started at", "latency_ms": "Latency", "cost_usd": "Cost", "quality": "Quality"}
DIR_LABELS = {"desc": "Descending", "asc": "Ascending"}

# URL parameter -> widget key
KEYS = {
    "status": "ex_status",
    "q": "ex_q",
    "signature": "ex_signature",
    "issues": "ex_issues",
    "sort": "ex_sort",
    "dir": "ex_dir",
    "size": "ex_size",
}
DEFAULTS = {
    "status": [],
    "q": "",
    "signature": "",
    "issues": False,
    "sort": "created_at",
    "dir": "desc",
    "size": 50,
}
_SEEN = "ex_url_seen"  # the page parameters as last read from / written to the URL
_WARN = "ex_url_warnings"
_PAGES = "ex_pages"  # {"token": query token, "stack": [start key of page 1, page 2, ...]}


def _short(v: str) -> str:
    v = v.replace("\x00", "")
    return v[:40] + "…" if len(v) > 40 else v


def _parse(param: str, values: list[str]) -> tuple[object, str | None]:
    """Widget value for a URL parameter's values, and a warning when they cannot be used."""
    if not values:
        return DEFAULTS[param], None
    last = values[-1]
    if param == "status":
        good = [v for v in dict.fromkeys(values) if v in STATUSES]
        bad = [v for v in values if v not in STATUSES]
        warn = f"Ignored the link's status {_short(bad[0])!r}: use one of {', '.join(STATUSES)}." if bad else None
        return good, warn
    if param in ("q", "signature"):
        if len(last) > explorer.MAX_TEXT or "\x00" in last:
            return DEFAULTS[param], f"Ignored the link's {param}: at most {explorer.MAX_TEXT} characters of text."
        return last, None
    if param == "issues":
        if last in ("0", "1"):
            return last == "1", None
        return False, f"Ignored the link's issues={_short(last)!r}: use issues=1."
    if param == "sort":
        if last in SORTS:
            return last, None
        return DEFAULTS[param], f"Ignored the link's sort={_short(last)!r}: use one of {', '.join(SORTS)}."
    if param == "dir":
        if last in DIR_LABELS:
            return last, None
        return DEFAULTS[param], f"Ignored the link's dir={_short(last)!r}: use asc or desc."
    if param == "size":
        if last in {str(s) for s in PAGE_SIZES}:
            return int(last), None
        return DEFAULTS[param], f"Ignored the link's size={_short(last)!r}: use 50, 100 or 500."
    raise KeyError(param)


def _url_values() -> dict[str, tuple[str, ...]]:
    return {p: tuple(st.query_params.get_all(p)) for p in KEYS}


def sync_from_url() -> None:
    """Load the widgets from the URL when it changed since we last wrote it (a link, Back)."""
    ss = st.session_state
    current = _url_values()
    seen = ss.get(_SEEN)
    if seen == current and all(k in ss for k in KEYS.values()):
        return
    warnings = []
    for param, key in KEYS.items():
        if seen is None or seen.get(param) != current[param] or key not in ss:
            value, warn = _parse(param, list(current[param]))
            ss[key] = value
            if warn:
                warnings.append(warn)
    ss[_WARN] = warnings
    ss[_SEEN] = current


def write_url() -> None:
    """Mirror the widgets in the URL (defaults left out) so the view is a shareable link."""
    ss = st.session_state
    for param, key in KEYS.items():
        value = ss[key]
        if value == DEFAULTS[param]:
            if param in st.query_params:
                del st.query_params[param]
            continue
        if param == "status":
            wanted: str | list[str] = list(value)
        elif param == "issues":
            wanted = "1"
        else:
            wanted = str(value)
        current = st.query_params.get_all(param) if isinstance(wanted, list) else st.query_params.get(param)
        if current != wanted:
            st.query_params[param] = wanted
    ss[_SEEN] = _url_values()


def controls() -> tuple[tuple[str, ...], ExplorerQuery, int]:
    """Draw the Explorer's own filters; return (statuses, query, page size)."""
    c1, c2, c3 = st.columns([2, 3, 3])
    statuses = c1.multiselect("Status", list(STATUSES), key=KEYS["status"], placeholder="All statuses")
    text = c2.text_input(
        "Search prompt and error message",
        key=KEYS["q"],
        max_chars=explorer.MAX_TEXT,
        placeholder="e.g. dragons, rate limit, 50%",
        help="Case-insensitive; every character matches literally (% and _ are not wildcards).",
    )
    signature = c3.text_input(
        "Error group (exact)",
        key=KEYS["signature"],
        max_chars=explorer.MAX_TEXT,
        placeholder="e.g. Request timed out after <n> ms",
        help=help_text("error_signature"),
    )
    c4, c5, c6, c7 = st.columns([2, 2, 2, 2], vertical_alignment="bottom")
    sort = c4.selectbox("Sort by", list(SORTS), key=KEYS["sort"], format_func=SORT_LABELS.get)
    direction = c5.selectbox("Order", list(DIR_LABELS), key=KEYS["dir"], format_func=DIR_LABELS.get)
    size = c6.selectbox("Rows per page", list(PAGE_SIZES), key=KEYS["size"])
    issues = c7.toggle("Metadata issues only", key=KEYS["issues"], help=help_text("metadata_issues"))
    q = ExplorerQuery(
        signature=signature or None,
        text=text or None,
        issues_only=bool(issues),
        sort=sort,
        descending=direction == "desc",
    )
    return tuple(statuses), q, int(size)


def page_stack(token: tuple) -> list:
    """Start keys of the pages visited so far for this query; reset when the query changes."""
    ss = st.session_state
    state = ss.get(_PAGES)
    if not state or state["token"] != token:
        state = {"token": token, "stack": [None]}
        ss[_PAGES] = state
    return state["stack"]


def _next(stack: list, key) -> None:
    stack.append(key)


def _previous(stack: list) -> None:
    if len(stack) > 1:
        stack.pop()


def csv_maker(f: Filters, q: ExplorerQuery, limit: int | None = None):
    """A callable for st.download_button: the filtered result (its first `limit` rows) as CSV,
    built on click from a server-side cursor into a temp file on disk (no DataFrame, no second copy)."""

    def make() -> bytes:
        return spooled(lambda out: explorer.write_csv(f, q, out, limit=limit))

    return make


def describe_query(statuses: tuple[str, ...], q: ExplorerQuery) -> list[str]:
    bits = []
    if statuses:
        bits.append("status " + ", ".join(statuses))
    if q.text:
        bits.append("search text")
    if q.signature:
        bits.append("error signature")
    if q.issues_only:
        bits.append("metadata issues only")
    return bits


def render() -> None:
    f = filters()
    st.title("Explorer")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Attempts of generations started {f.since:%Y-%m-%d} to {last_day} (UTC). Test generations are "
        f"{'included' if f.include_tests else 'left out'}. Click a row to open its generation."
    )
    sync_from_url()
    statuses, q, size = controls()
    write_url()
    for w in st.session_state.get(_WARN, []):
        st.warning(w, icon=":material/link_off:")

    try:
        fq = explorer.with_statuses(f, statuses)
    except FilterError as e:
        st.warning(str(e), icon=":material/warning:")
        return
    total = cached(explorer.explorer_count, fq, q, cap=explorer.COUNT_CAP)
    more = q.searched and total > explorer.COUNT_CAP  # a search's matches, counted up to the cap
    of = f"more than {fmt.count(explorer.COUNT_CAP)}" if more else fmt.count(total)
    if not total:
        narrowed = describe_query(statuses, q)
        extra = f" Clear the Explorer's filters ({'; '.join(narrowed)}) or" if narrowed else ""
        st.info(
            f"No attempts match.{extra} widen the dates or clear the model, type and user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return

    stack = page_stack((fq, q, size))
    page = cached(explorer.explorer_page, fq, q, stack[-1], size)
    first_row = (len(stack) - 1) * size + 1
    shown = len(page.rows)
    if not shown and len(stack) > 1:
        # The data changed under a stale page key: start again from the first page.
        stack[:] = [None]
        page = cached(explorer.explorer_page, fq, q, None, size)
        first_row, shown = 1, len(page.rows)

    note = ""
    if q.sort != "created_at":
        note = f" Attempts without a {SORT_LABELS[q.sort].lower()} value are listed last."
    if q.text:
        mode = explorer.search_mode(q)
        if not mode.indexed:
            # never silently slow: say why the search reads every attempt
            note += f" The search reads every attempt's prompt and error message: {mode.cause}."
    st.caption(
        f"Page {len(stack)} · rows {fmt.count(first_row)}–{fmt.count(first_row + shown - 1)} of "
        f"{of} attempts, sorted by {SORT_LABELS[q.sort].lower()} "
        f"({DIR_LABELS['desc' if q.descending else 'asc'].lower()}).{note}"
    )

    attempts.table(
        page.rows,
        f,
        key=f"ex_table_{len(stack)}_{hash((fq, q, size)) & 0xFFFFFFFF}",
        height=min(38 + 35 * max(shown, 1), 720),
    )

    b1, b2, b3 = st.columns([1, 1, 4], vertical_alignment="center")
    b1.button(
        "Previous",
        icon=":material/chevron_left:",
        disabled=len(stack) <= 1,
        on_click=_previous,
        args=(stack,),
        width="stretch",
    )
    b2.button(
        "Next",
        icon=":material/chevron_right:",
        disabled=page.next_after is None,
        on_click=_next,
        args=(stack, page.next_after),
        width="stretch",
    )
    label, limit = capped_download(total)
    if more:  # how many match is not known: the file holds the first BROWSER_MAX_ROWS at most
        label, limit = f"Download CSV (up to {fmt.count(BROWSER_MAX_ROWS)} rows)", BROWSER_MAX_ROWS
    csv_download(
        csv_maker(fq, q, limit),
        "attempts",
        fq,
        container=b3,
        label=label,
        help="The attempts matching the filters, in this order, with the attempts report's columns"
        + (f" (the first {fmt.count(limit)}: a browser download is held in the server's memory)." if limit else "."),
    )
    if limit:
        own = describe_query((), q) + ([f"sorted by {SORT_LABELS[q.sort].lower()}"] if q.sort != "created_at" else [])
        own += ["oldest first"] if not q.descending else []
        st.caption(
            f"All {of} rows: run the command below, which streams any size to a file."
            + (f" It applies the sidebar filters and statuses, not the Explorer's {'; '.join(own)}." if own else "")
        )
        st.code(export_command("attempts", fq, output="attempts.csv"), language="bash")


guarded(render)
