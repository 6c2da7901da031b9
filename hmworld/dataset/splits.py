"""Train/test splits like the paper's: held-out scenes and subjects, plus a seeded share of the rest.

A clip's split depends only on the clip itself and the rule, never on which
other clips are packaged with it, so re-packaging a grown dataset never moves
a clip between splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hmworld.errors import UserError

SPLITS = ("train", "test")
DEFAULT_TEST_SCENES: tuple[str, ...] = ("village_square",)
DEFAULT_TEST_SUBJECTS: tuple[str, ...] = ("woman_tennis", "goose")
DEFAULT_TEST_FRACTION = 0.02


@dataclass(frozen=True)
class SplitRule:
    """A clip goes to test if its scene or any of its subjects is held out, or if its
    seeded hash falls below `test_fraction`; otherwise to train."""

    test_scenes: tuple[str, ...] = DEFAULT_TEST_SCENES
    test_subjects: tuple[str, ...] = DEFAULT_TEST_SUBJECTS
    test_fraction: float = DEFAULT_TEST_FRACTION
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.test_fraction <= 1.0:
            raise UserError(f"test fraction must be in [0, 1], got {self.test_fraction}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["test_scenes"] = list(self.test_scenes)
        d["test_subjects"] = list(self.test_subjects)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SplitRule:
        return cls(
            tuple(d.get("test_scenes", ())),
            tuple(d.get("test_subjects", ())),
            float(d.get("test_fraction", 0.0)),
            int(d.get("seed", 0)),
        )


def clip_unit(clip_id: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, clip id), the same on every machine."""
    digest = hashlib.sha256(f"{seed}:{clip_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_split(clip_id: str, scene: str, subjects: Sequence[str], rule: SplitRule) -> str:
    if scene in rule.test_scenes or any(s in rule.test_subjects for s in subjects):
        return "test"
    return "test" if clip_unit(clip_id, rule.seed) < rule.test_fraction else "train"
