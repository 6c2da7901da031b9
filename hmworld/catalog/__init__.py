"""What can appear in a clip: 17 scenes, 49 subjects, 10 paths, 28 camera trajectories.

Data and math only; nothing renders here. `catalog_json()` is the stable,
documented JSON form (`hmworld catalog --json`, meta/info.json snapshots).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from hmworld.catalog.cameras import (
    PLACEMENTS,
    TRAJECTORIES,
    TRAJECTORY_LIST,
    Placement,
    TrajectorySpec,
)
from hmworld.catalog.paths import PATH_LIST, PATHS, PathSpec
from hmworld.catalog.scenes import SCENE_LIST, SCENES, SceneSpec
from hmworld.catalog.subjects import SUBJECT_LIST, SUBJECTS, SubjectSpec

CATALOG_FORMAT = 1
SECTIONS = ("scenes", "subjects", "paths", "cameras")

__all__ = [
    "CATALOG_FORMAT", "PATHS", "PATH_LIST", "PLACEMENTS", "SCENES", "SCENE_LIST", "SECTIONS", "SUBJECTS",
    "SUBJECT_LIST", "TRAJECTORIES", "TRAJECTORY_LIST", "PathSpec", "Placement", "SceneSpec", "SubjectSpec",
    "TrajectorySpec", "catalog_json",
]


def _trajectory_json(t: TrajectorySpec) -> dict[str, Any]:
    return {
        "id": t.id,
        "description": t.description,
        "channels": {c: [list(k) for k in keys] for c, keys in t.channels},
    }


def catalog_json(section: str | None = None) -> dict[str, Any]:
    """The catalog as plain JSON types; a section name limits it to that list."""
    full = {
        "format": CATALOG_FORMAT,
        "scenes": [asdict(s) for s in SCENE_LIST],
        "subjects": [asdict(s) for s in SUBJECT_LIST],
        "paths": [asdict(p) for p in PATH_LIST],
        "cameras": [_trajectory_json(t) for t in TRAJECTORY_LIST],
        "placements": [asdict(p) for p in PLACEMENTS],
    }
    full = json.loads(json.dumps(full))  # tuples → lists: exactly what a JSON reader gets back
    if section is None:
        return full
    return {"format": CATALOG_FORMAT, section: full[section]}


def catalog_rows(section: str) -> tuple[list[str], list[list[str]]]:
    """A readable table of one section: (headers, rows)."""
    if section == "scenes":
        return ["id", "ground", "light", "walk area (m)", "description"], [
            [s.id, s.ground, s.lighting.time_of_day, f"{2 * s.walk_half[0]:.0f}×{2 * s.walk_half[1]:.0f}", s.description]
            for s in SCENE_LIST
        ]
    if section == "subjects":
        return ["id", "kind", "species", "height (m)", "gaits (m/s)", "appearance"], [
            [s.id, s.kind, s.species, f"{s.height:.2f}",
             ", ".join(f"{g.name} {g.speed_min:g}-{g.speed_max:g}" for g in s.gaits), s.appearance]
            for s in SUBJECT_LIST
        ]
    if section == "paths":
        return ["id", "turns", "description"], [[p.id, "yes" if p.turns else "no", p.description] for p in PATH_LIST]
    if section == "cameras":
        return ["id", "channels", "description"], [
            [t.id, ", ".join(c for c, _ in t.channels), t.description] for t in TRAJECTORY_LIST
        ]
    raise KeyError(section)
