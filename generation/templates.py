"""Prompts from the seed system's story parameters: child, hero or combined; a moral; a length."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.demo_data import HEROES, INTERESTS, MORALS, RELATIONS
from generation.providers import GenerationRequest

__all__ = ["HEROES", "INTERESTS", "MORALS", "RELATIONS", "StoryParams"]


@dataclass(frozen=True)
class StoryParams:
    story_type: str = "child"
    child_name: str = "Mia"
    child_age: int = 6
    interest: str = "dinosaurs"
    moral: str = "kindness"
    story_length: int = 5  # minutes
    hero_appearance: str | None = None  # hero and combined stories
    relationship_description: str | None = None  # combined stories

    def prompt(self) -> str:
        kind = {"child": "bedtime story", "hero": "hero story", "combined": "bedtime story with a hero"}[
            self.story_type
        ]
        parts = [f"Write a {kind} of about {self.story_length} minutes' reading time"]
        if self.story_type in ("child", "combined"):
            parts.append(
                f" for {self.child_name.strip() or 'a child'}, age {self.child_age}, who loves {self.interest}"
            )
        parts.append(".")
        if self.story_type in ("hero", "combined") and self.hero_appearance:
            parts.append(f" The hero is {self.hero_appearance}.")
        if self.story_type == "combined" and self.relationship_description:
            parts.append(f" The child and the hero are {self.relationship_description}.")
        parts.append(f" The story should teach {self.moral}.")
        parts.append(" Answer with a title and the story in short sections.")
        return "".join(parts)

    def request(self, model: str, user_id: str) -> GenerationRequest:
        return GenerationRequest(
            model=model,
            prompt=self.prompt(),
            story_type=self.story_type,
            story_length=self.story_length,
            hero_appearance=self.hero_appearance if self.story_type != "child" else None,
            relationship_description=self.relationship_description if self.story_type == "combined" else None,
            moral=self.moral,
            user_id=user_id,
        )
