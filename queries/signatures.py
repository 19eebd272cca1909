"""Error signatures and groups (docs/glossary.md "Error groups"): the rules live in
`metrics.signatures`, the clustering in `metrics.grouping`; this module is their public face for
queries, pages and the command line.

    python -m queries.signatures group < messages.jsonl

reads JSON Lines on stdin (each line one JSON string, an error message) and writes one line per
message: the label of its error group (docs/glossary.md "Error groups"), grouping in the order
read. `python -m queries.signatures signature` writes each message's signature by the rule the
pages use today.
"""

from __future__ import annotations

import argparse
import json
import sys

from metrics.grouping import group_messages
from metrics.signatures import MAX_LEN, PARAMS, signature, signature_sql

__all__ = ["MAX_LEN", "PARAMS", "group_messages", "signature", "signature_sql"]


def _read_messages(stream) -> list[str]:
    messages: list[str] = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(value, str):
            raise SystemExit(f"line {number}: expected a JSON string (an error message), got {type(value).__name__}")
        messages.append(value)
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queries.signatures", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("group", help="group error messages (JSON Lines of strings on stdin), one label per line")
    sub.add_parser("signature", help="the signature of each message (JSON Lines of strings on stdin)")
    args = parser.parse_args(argv)
    try:
        messages = _read_messages(sys.stdin)
    except SystemExit as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = group_messages(messages) if args.command == "group" else [signature(m) for m in messages]
    write = sys.stdout.write
    for text in out:
        write(text.replace("\n", " ") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
