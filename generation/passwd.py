"""Print a scrypt hash for GENLENS_ADMIN_PASSWORD_HASH.

    python -m generation.passwd

Asks for the password twice (not echoed) and prints only the hash; put it in the environment or
as a top-level key of .streamlit/secrets.toml.
"""

from __future__ import annotations

import getpass
import sys

from access.passwords import hash_password

MIN_LENGTH = 12


def main(argv: list[str] | None = None) -> int:
    try:
        first = getpass.getpass("Admin password: ")
        again = getpass.getpass("Again: ")
    except (EOFError, KeyboardInterrupt):
        print("passwd: cancelled", file=sys.stderr)
        return 1
    if first != again:
        print("passwd: the two passwords differ", file=sys.stderr)
        return 1
    if len(first) < MIN_LENGTH:
        print(f"passwd: use at least {MIN_LENGTH} characters", file=sys.stderr)
        return 1
    print(hash_password(first))
    return 0


if __name__ == "__main__":
    sys.exit(main())
