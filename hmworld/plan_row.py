"""One row of a plan manifest as a typed, validated record: what crosses plan → render → materialise.

The manifest file is parquet with `SCHEMA` (one row per clip); `PlanRow` is
that row in memory. `PlanRow.from_dict` takes a row as pyarrow's
`Table.to_pylist` gives it and `to_dict` gives exactly that dict back (the
manifest's columns in order, lists for the per-subject columns), so the file
format does not depend on the record. Every PlanRow is checked when it is made
(`plan_checks.row_problems`): one that exists holds known catalog ids and
possible numbers, and renders exactly what it says; a bad one is one
`UserError` line naming the clip, column, value and what is allowed. It is a
plain frozen dataclass, so it pickles for spawned worker processes and Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import pyarrow as pa

from hmworld.plan_checks import PER_SUBJECT, refuse, row_problems

PLAN_FORMAT = 1

SCHEMA = pa.schema(
    [
        ("clip_id", pa.string()),
        ("index", pa.int64()),
        ("scene", pa.string()),
        ("scene_seed", pa.int64()),
        ("n_subjects", pa.int64()),
        ("subjects", pa.list_(pa.string())),
        ("paths", pa.list_(pa.string())),
        ("gaits", pa.list_(pa.string())),
        ("speeds", pa.list_(pa.float64())),
        ("camera", pa.string()),
        ("placement", pa.int64()),
        ("hfov_deg", pa.float64()),
        ("group_heading_deg", pa.float64()),
        ("group_offset_x", pa.float64()),
        ("group_offset_y", pa.float64()),
        ("seed", pa.int64()),
        ("frames", pa.int64()),
        ("fps", pa.int64()),
        ("width", pa.int64()),
        ("height", pa.int64()),
    ],
    metadata={b"hmworld_plan_format": str(PLAN_FORMAT).encode()},
)
_FLOATS = tuple(f.name for f in SCHEMA if pa.types.is_floating(f.type))


@dataclass(frozen=True)
class PlanRow:
    """A planned clip (docs/FORMAT.md, the plan manifest): ids from the catalog, numbers in SI units.

    Per-subject fields are tuples of equal length `n_subjects` (1–3), subject
    `k` walking `paths[k]` with gait `gaits[k]` at `speeds[k]` m/s. Angles are
    degrees; the group offset is metres from the scene's centre; `frames` at
    `fps`, `width`×`height` pixels. Raises UserError when any value is not
    allowed (see `plan_checks.row_problems`); lists and whole-number floats
    given for tuple and float fields are stored as tuples and floats.
    """

    clip_id: str
    index: int
    scene: str
    scene_seed: int
    n_subjects: int
    subjects: tuple[str, ...]
    paths: tuple[str, ...]
    gaits: tuple[str, ...]
    speeds: tuple[float, ...]
    camera: str
    placement: int
    hfov_deg: float
    group_heading_deg: float
    group_offset_x: float
    group_offset_y: float
    seed: int
    frames: int
    fps: int
    width: int
    height: int

    def __post_init__(self) -> None:
        problems = row_problems(self.to_dict())
        if problems:
            raise refuse(f"plan row {self.clip_id!r}", problems)
        for name in PER_SUBJECT:  # valid lists or tuples: stored as tuples (speeds as floats)
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(float(v) for v in value) if name == "speeds" else tuple(value))
        for name in _FLOATS:
            object.__setattr__(self, name, float(getattr(self, name)))

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> PlanRow:
        """A manifest row (`Table.to_pylist()`'s dict) → PlanRow; UserError naming every bad value.

        A missing column counts as the value None; a column the manifest does
        not have is refused.
        """
        values = {name: row.get(name) for name in COLUMNS}
        unknown = [k for k in row if k not in values]
        if unknown:
            problems = [f"column {k!r}; allowed: the plan's columns ({', '.join(COLUMNS)})" for k in unknown]
            raise refuse(f"plan row {row.get('clip_id')!r}", problems + row_problems(_as_lists(values)))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The manifest row: every column of `SCHEMA` in order, lists for the per-subject columns."""
        return _as_lists({name: getattr(self, name) for name in COLUMNS})


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(PlanRow))  # == SCHEMA.names (tests/test_plan_row.py)


def _as_lists(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
