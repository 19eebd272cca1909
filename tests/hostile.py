"""A dataset of bad data and hostile text, the way a real team's table can hold it.

The `hostile` schema's generations table is created WITHOUT GenLens' constraints (no primary key,
no status or story_type checks), as a team's own table might be, before the migration runs (which
then adds only its indexes). Rows (all in 2026-05-01 .. 2026-05-03 UTC):
- prompts, error messages and model names with HTML, <script>, Markdown, LaTeX, 10k-character
  lines, right-to-left text and spreadsheet formulas;
- generation_metadata of every malformed kind in METRICS.md, NaN-like strings, huge numbers, a 1 MB blob;
- completed_at before created_at; an unknown status; duplicate and missing attempt numbers.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 1">'
MD = "**bold** _it_ [link](javascript:alert(1)) # heading\n- item"
LATEX = "$$\\frac{a}{b}$$ and $x^2$"
RTL = "\u202eRTL override \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"
LONG = "A" * 10_000
FORMULA = '=HYPERLINK("http://evil.example","click")'
HOSTILE_MODEL = "<b>evil</b>-model $$x$$"

METADATA = [
    None,
    "null",
    "[1, 2, 3]",
    '"a string"',
    "42",
    '{"cost_usd": "0.12", "quality_scores": {"overall": "high"}}',
    '{"cost_usd": -1, "total_tokens": {"total": -5}, "duration_ms": {"total": "slow"}}',
    '{"cost_usd": 1e300, "quality_scores": {"overall": 1.5}, "total_tokens": "many"}',
    '{"cost_usd": "NaN", "quality_scores": {"overall": "Infinity"}, "duration_ms": []}',
    '{"quality_scores": [0.5], "retry_count": {"metadata": "x", "sections": ["a", -1, 2]}}',
    '{"model_used": {"metadata": 7, "sections": null}, "total_tokens": {"metadata": "x", "total": 100}}',
    json.dumps({"cost_usd": 0.01, "blob": "x" * 1_000_000}),
]


def create_loose_table(engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(
            text(f'''CREATE TABLE IF NOT EXISTS "{schema}".generations (
            generation_id uuid, attempt_number integer, status text, model_used text, prompt text,
            user_id uuid, story_type text, story_length integer, hero_appearance text,
            relationship_description text, moral text, error_message text, full_response jsonb,
            generation_metadata jsonb, created_at timestamptz, completed_at timestamptz)''')
        )


def _gid(i: int) -> str:
    return str(uuid.UUID(int=0xE0000000_0000_4000_8000_000000000000 + i))


def rows():
    t0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    user = "99999999-9999-4999-8999-999999999999"
    texts = [XSS, MD, LATEX, RTL, LONG, FORMULA]
    out = []
    for i, meta in enumerate(METADATA):
        created = t0 + timedelta(hours=i)
        out.append(
            dict(
                generation_id=_gid(i),
                attempt_number=1,
                status="failed" if i % 2 else "success",
                model_used=HOSTILE_MODEL if i % 3 == 0 else "plain-model",
                prompt=texts[i % len(texts)],
                user_id=user,
                story_type="hero" if i % 2 else "<i>villain</i>",
                story_length=5,
                hero_appearance=XSS,
                relationship_description=MD,
                moral=LATEX,
                error_message=texts[(i + 1) % len(texts)] if i % 2 else None,
                full_response=json.dumps({"content": XSS, "md": MD}),
                generation_metadata=meta,
                created_at=created,
                completed_at=created + timedelta(seconds=5),
            )
        )
    n = len(METADATA)
    # completed_at before created_at: latency unknown
    out.append(
        dict(
            out[0],
            generation_id=_gid(n),
            status="success",
            created_at=t0 + timedelta(days=1),
            completed_at=t0 + timedelta(days=1, seconds=-30),
            generation_metadata=None,
        )
    )
    # unknown status; duplicate attempt numbers; a missing attempt 1
    out.append(dict(out[0], generation_id=_gid(n + 1), status="cancelled", created_at=t0 + timedelta(days=1, hours=1)))
    for k in range(2):
        out.append(
            dict(
                out[1],
                generation_id=_gid(n + 2),
                attempt_number=2,
                status="failed",
                error_message=FORMULA,
                created_at=t0 + timedelta(days=1, hours=2, seconds=k),
            )
        )
    out.append(
        dict(
            out[1],
            generation_id=_gid(n + 3),
            attempt_number=3,
            status="timeout",
            error_message=f"timed out after 30000 ms {XSS}",
            created_at=t0 + timedelta(days=1, hours=3),
        )
    )
    return out


def load(engine, schema: str) -> None:
    cols = list(rows()[0])
    with engine.begin() as conn:
        for r in rows():
            conn.execute(
                text(
                    f'INSERT INTO "{schema}".generations ({", ".join(cols)}) VALUES ('
                    + ", ".join(
                        f"CAST(:{c} AS jsonb)" if c in ("full_response", "generation_metadata") else f":{c}"
                        for c in cols
                    )
                    + ")"
                ),
                r,
            )
