"""Import a team's existing attempts into `generations`: python -m data_access.import_rows FILE ...

    python -m data_access.import_rows attempts.csv            # CSV with a header of column names
    python -m data_access.import_rows attempts.jsonl          # JSON Lines: one object per attempt
    psql "$OLD_DB" -c "\\copy (SELECT ...) TO STDOUT CSV HEADER" | python -m data_access.import_rows - --format csv

The header (CSV) or the first object's keys (JSON Lines) name the columns, any of `generations`'
own; generation_id, attempt_number, model_used, prompt and user_id are required, status defaults to
pending and created_at to now. In JSON Lines, generation_metadata and full_response hold the JSON
value itself (an object as an object; a string is stored as a JSON string). Each file loads in one
transaction: a bad value, a duplicate attempt or an unknown column stops the import of that file
at the line that caused it, with nothing of it imported (files before it stay imported; none
after it is read).

Into an empty table the rows are COPYed with the indexes dropped and rebuilt once and GenLens'
facts built once (data_access/bulk.py); into a table that has rows, the COPY keeps every index and
trigger (the pipeline may keep writing), and the new generations are then folded into the facts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

COLUMNS = (
    "generation_id", "attempt_number", "status", "model_used", "prompt", "user_id", "story_type", "story_length",
    "hero_appearance", "relationship_description", "moral", "error_message", "full_response",
    "generation_metadata", "created_at", "completed_at",
)  # fmt: skip
REQUIRED = ("generation_id", "attempt_number", "model_used", "prompt", "user_id")
JSON_COLUMNS = ("full_response", "generation_metadata")
CHUNK = 1 << 20  # bytes read at a time from a CSV file
JSON_BATCH = 10_000  # JSON Lines converted per COPY write


class ImportError_(ValueError):
    """The input cannot be imported as it is; the message says where and why."""


def check_columns(names: list[str], where: str) -> list[str]:
    """The column names of the input, checked against generations' columns."""
    names = [n.strip() for n in names]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ImportError_(f"{where}: unknown column {unknown[0]!r}; generations has {', '.join(COLUMNS)}")
    seen = set()
    for n in names:
        if n in seen:
            raise ImportError_(f"{where}: column {n!r} appears twice")
        seen.add(n)
    missing = [n for n in REQUIRED if n not in seen]
    if missing:
        raise ImportError_(f"{where}: required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}")
    return names


def _csv_header(stream: BinaryIO, where: str) -> list[str]:
    import csv
    import io

    line = stream.readline()
    if not line.strip():
        raise ImportError_(f"{where}: the file is empty (a CSV import needs a header of column names)")
    try:
        header = next(csv.reader(io.StringIO(line.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error, StopIteration) as exc:
        raise ImportError_(f"{where}: line 1 is not a CSV header ({exc})") from None
    return check_columns(header, f"{where}, line 1")


def _csv_chunks(stream: BinaryIO, progress=None) -> Iterator[tuple[bytes, int]]:
    """The file's bytes after the header (COPY counts the rows); progress(bytes read so far)."""
    read = 0
    while data := stream.read(CHUNK):
        read += len(data)
        if progress:
            progress(read)
        yield data, 0


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        value = "true" if value else "false"
    else:
        value = str(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _jsonl_rows(stream: BinaryIO, where: str) -> tuple[list[str], Iterator[tuple[bytes, int]]]:
    """(columns, COPY text chunks) of a JSON Lines stream; columns are the first object's keys."""
    lines = iter(enumerate(stream, 1))
    first = None
    for number, raw in lines:
        if raw.strip():
            first = (number, raw)
            break
    if first is None:
        raise ImportError_(f"{where}: the file has no JSON object")

    def parse(number: int, raw: bytes) -> dict:
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ImportError_(
                f"{where}, line {number}: not JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
            ) from None
        if not isinstance(obj, dict):
            raise ImportError_(f"{where}, line {number}: a JSON object is expected, got {type(obj).__name__}")
        return obj

    head = parse(*first)
    columns = check_columns(list(head), f"{where}, line {first[0]}")
    known = set(columns)

    def line_of(number: int, obj: dict) -> str:
        extra = [k for k in obj if k not in known]
        if extra:
            raise ImportError_(
                f"{where}, line {number}: column {extra[0]!r} is not in the first object's columns ({', '.join(columns)})"
            )
        cells = []
        for c in columns:
            v = obj.get(c)
            if c in JSON_COLUMNS:  # the JSON value itself: an object, or a string stored as a JSON string
                cells.append(
                    _copy_text(None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":")))
                )
                continue
            if isinstance(v, (dict, list)):
                raise ImportError_(f"{where}, line {number}: {c} must be a plain value, not JSON {type(v).__name__}")
            cells.append(_copy_text(v))
        return "\t".join(cells) + "\n"

    def chunks() -> Iterator[tuple[bytes, int]]:
        out = [line_of(first[0], head)]
        for number, raw in lines:
            if not raw.strip():
                continue
            out.append(line_of(number, parse(number, raw)))
            if len(out) >= JSON_BATCH:
                yield "".join(out).encode(), len(out)
                out = []
        if out:
            yield "".join(out).encode(), len(out)

    return columns, chunks()


def _copy_error(exc: BaseException, where: str, offset: int) -> str:
    """One line for a COPY that failed: the file's line, the column and PostgreSQL's reason."""
    diag = getattr(getattr(exc, "orig", exc), "diag", None)
    message = (getattr(diag, "message_primary", None) or str(exc).splitlines()[0]).strip()
    detail = getattr(diag, "message_detail", None)
    if getattr(diag, "sqlstate", None) == "23505":  # in the file twice, or already in the table
        message, detail = "duplicate attempt: " + (detail or message).rstrip("."), None
    m = re.search(r"line (\d+)(?:, column (\w+))?", getattr(diag, "context", None) or "")
    if m:
        column = f", column {m.group(2)}" if m.group(2) else ""
        return f"{where}, line {int(m.group(1)) + offset}{column}: {message}; nothing was imported"
    return f"{where}: {message}" + (f" ({detail})" if detail else "") + "; nothing was imported"


def import_file(engine, schema: str, path: str, fmt: str | None = None, progress=None):
    """Import one file (or "-" for stdin) in one transaction; return what was done, with timings
    (bulk.LoadStats). `progress(text)` is told how far the reading is."""
    from data_access import bulk

    fmt = fmt or ("jsonl" if path.endswith((".jsonl", ".ndjson", ".json")) else "csv")
    where = "stdin" if path == "-" else path
    stream = sys.stdin.buffer if path == "-" else Path(path).open("rb")
    size = 0 if path == "-" else Path(path).stat().st_size
    say = progress or (lambda _text: None)
    try:
        if fmt == "csv":
            columns = _csv_header(stream, where)
            of = f" of {size / 2**20:,.0f}" if size else ""
            chunks = _csv_chunks(stream, lambda n: say(f"{n / 2**20:,.0f}{of} MiB read"))
            options, offset, counted = "FORMAT csv", 1, None
        else:
            columns, chunks = _jsonl_rows(stream, where)
            options, offset, counted = "", 0, lambda n: say(f"{n:,} attempt{'s' if n != 1 else ''} read")
        try:
            stats = bulk.copy_in(engine, schema, ", ".join(columns), chunks, options, counted)
        except ImportError_:
            raise
        except Exception as exc:
            raise ImportError_(_copy_error(exc, where, offset)) from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_access.import_rows", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", metavar="FILE", help="CSV or JSON Lines files; - reads stdin")
    parser.add_argument("--format", choices=("csv", "jsonl"), help="default: from the file name (.jsonl: JSON Lines)")
    args = parser.parse_args(argv)
    from data_access.config import ConfigError
    from data_access.engine import get_database

    try:
        db = get_database()
        if db.source != "generations":
            raise ImportError_(f"GENLENS_SOURCE={db.source}: GenLens reads that table and never writes it")
        total = 0
        for path in args.files:
            t0 = time.perf_counter()
            last = [t0]

            def progress(where: str, last=last) -> None:  # a line every 5 s on stderr
                now = time.perf_counter()
                if now - last[0] >= 5:
                    print(f"  {where}", file=sys.stderr, flush=True)
                    last[0] = now

            st = import_file(db.engine, db.schema, path, args.format, progress)
            wall = time.perf_counter() - t0
            how = (
                f"indexes rebuilt {st.index_s:.1f} s, facts built {st.facts_s:.1f} s"
                if st.bulk
                else f"{st.folded:,} generations folded into the facts in {st.fold_s:.1f} s"
            )
            print(
                f"imported {st.attempts:,} attempts from {path} in {wall:.1f} s "
                f"({st.attempts / wall if wall else 0:,.0f} attempts/s; COPY {st.copy_s:.1f} s, {how})",
                flush=True,
            )
            total += st.attempts
        if len(args.files) > 1:
            print(f"imported {total:,} attempts from {len(args.files)} files", flush=True)
        from data_access.facts import forget_facts, status

        forget_facts(db)
        print(status(db))
    except (ImportError_, ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
