"""GenLens benchmark (issue 6): load N demo attempts, time every page and report, compare the
summary with the naive pandas way and with hand-written SQL, measure memory, write BENCHMARKS.md.

    python -m bench --attempts 1000000 [--attempts 10000000] [--runs 5] [--database-url URL]

Not part of the test suite. `python -m bench --attempts 20000 --runs 1` is a quick self-check.
"""
