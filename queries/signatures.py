"""Error signatures (METRICS.md "Error signatures"): the rules live in `metrics.signatures`, shared by
SQL and Python; this module is their public face for queries, pages and the command line."""

from __future__ import annotations

from metrics.signatures import MAX_LEN, PARAMS, signature, signature_sql

__all__ = ["MAX_LEN", "PARAMS", "signature", "signature_sql"]
