"""Command-line CSV reports, for cron.

    python -m queries.export REPORT [--since D] [--until D] [--model M]... [--type T]...
                                    [--user U] [--status S]... [--include-tests] [--output FILE]

Reports and columns: METRICS.md. The window is [since, until) in UTC; default the last 30 days.
Rows are streamed from the server, so the attempts report of millions of rows stays small in
memory. Exit status: 0 done, 2 bad arguments, 1 database unreachable or query failed.
"""

from __future__ import annotations

import argparse
import getpass
import os
import shlex
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from data_access import audit
from queries import masking, reports
from queries.filters import STATUSES, FilterError, Filters, default_window, parse_day, parse_user
from queries.policy import VIEWER_REPORTS
from queries.reports import REPORTS


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as argparse does but shorter
        self.exit(2, f"export: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m queries.export", description="Write a GenLens report as CSV.")
    p.add_argument("report", help="one of: " + ", ".join(REPORTS))
    p.add_argument("--since", help="first day, YYYY-MM-DD (UTC, included)")
    p.add_argument("--until", help="end day, YYYY-MM-DD (UTC, excluded)")
    p.add_argument("--model", action="append", default=[], help="model_used (repeatable)")
    p.add_argument("--type", action="append", default=[], help="story_type (repeatable)")
    p.add_argument("--user", help="user_id (UUID)")
    p.add_argument("--status", action="append", default=[], choices=STATUSES, help="attempt status (repeatable)")
    p.add_argument("--include-tests", action="store_true", help="include test generations")
    p.add_argument("--output", "-o", help="write to FILE instead of stdout")
    p.add_argument(
        "--role",
        choices=("viewer", "analyst"),
        default="analyst",
        help="narrow to a viewer's view: aggregate reports only, personal data masked (default analyst)",
    )
    return p


def filters_from_args(args: argparse.Namespace) -> Filters:
    since, until = default_window()
    if args.until:
        until = parse_day(args.until, "--until")
        if not args.since:
            since = until - (default_window()[1] - default_window()[0])
    if args.since:
        since = parse_day(args.since, "--since")
    if until <= since:
        raise FilterError("--until must be after --since")
    return Filters(
        since=since,
        until=until,
        models=tuple(args.model),
        types=tuple(args.type),
        user=parse_user(args.user) if args.user else None,
        statuses=tuple(args.status),
        include_tests=args.include_tests,
    )


def export_command(name: str, f: Filters, output: str | None = None) -> str:
    """The command line writing report `name` for the filters `f` (what a page shows for cron)."""

    def day(dt) -> str:
        return dt.strftime("%Y-%m-%d") if dt.time() == datetime.min.time() else dt.isoformat()

    args = ["python", "-m", "queries.export", name, "--since", day(f.since), "--until", day(f.until)]
    for flag, values in (("--model", f.models), ("--type", f.types), ("--status", f.statuses)):
        for v in values:
            args += [flag, v]
    if f.user:
        args += ["--user", str(f.user)]
    if f.include_tests:
        args.append("--include-tests")
    if output:
        args += ["--output", output]
    return " ".join(shlex.quote(a) for a in args)


def _audit(args: argparse.Namespace, f: Filters, rows: int) -> None:
    """Best effort: the CLI is an operator tool, so an unwritable audit trail does not fail the export."""
    try:
        audit.record(
            f"cli:{getpass.getuser()}",
            args.role,
            "cli",
            "export",
            report=args.report,
            filters=audit.filters_record(f),
            row_count=rows,
        )
    except audit.AuditUnavailable:
        pass


def write_report(name: str, f: Filters, out) -> int:
    """Stream report `name` as CSV into the text file `out`; return the number of data rows."""
    return reports.write_report(name, f, out.write)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.report not in REPORTS:
        parser.error(f"unknown report {args.report!r}; choose one of {', '.join(REPORTS)}")
    try:
        f = filters_from_args(args)
    except FilterError as exc:
        parser.error(str(exc))
    if args.role == "viewer" and args.report not in VIEWER_REPORTS:
        parser.error(f"the {args.report} report is attempt-level; a viewer may export {', '.join(VIEWER_REPORTS)}")

    try:
        masking.set_policy(masking.policy_from_settings(args.role == "viewer" or masking.masking_forced()))
        if args.output:
            # Write next to the target and rename, so cron never leaves half a file behind.
            target = Path(args.output)
            fd, tmp = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", suffix=".part")
            try:
                with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
                    rows = write_report(args.report, f, out)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            rows = write_report(args.report, f, sys.stdout)
            sys.stdout.flush()
        _audit(args, f, rows)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"export: cannot produce {args.report}: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
