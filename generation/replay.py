"""Replays: re-run a logged generation's prompt and parameters as a test generation.

The admin page takes `?replay=<generation_id>`, pre-fills its form with `replay_params()` and,
after the run, shows the original's attempts next to the new ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from data_access.engine import Database
from generation.store import generation_source


@dataclass(frozen=True)
class ReplaySource:
    generation_id: str
    model: str
    prompt: str
    story_type: str | None
    story_length: int | None
    hero_appearance: str | None
    relationship_description: str | None
    moral: str | None


def parse_generation_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value).strip()))
    except (ValueError, AttributeError):
        return None


def replay_params(generation_id: str, db: Database | None = None) -> ReplaySource | None:
    """The generation's first attempt's model, prompt and story parameters; None if not found."""
    gid = parse_generation_id(generation_id)
    if gid is None:
        return None
    row = generation_source(gid, db)
    if row is None:
        return None
    return ReplaySource(
        generation_id=gid,
        model=row["model_used"],
        prompt=row["prompt"],
        story_type=row["story_type"],
        story_length=row["story_length"],
        hero_appearance=row["hero_appearance"],
        relationship_description=row["relationship_description"],
        moral=row["moral"],
    )
