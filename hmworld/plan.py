"""The procedural plan: which scene, subjects, paths, trajectory and start each clip gets.

A plan is a table (one row per clip), seeded and deterministic: the same
arguments give a byte-identical manifest. Every random choice is made here, in
vectorised draws over all rows; `materialise` turns a row into a `Shot` with
pure math and no randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.atomic import atomic_path
from hmworld.catalog import (
    PATH_LIST,
    PLACEMENTS,
    SCENE_LIST,
    SCENES,
    SUBJECT_LIST,
    SUBJECTS,
    TRAJECTORY_LIST,
)
from hmworld.catalog.cameras import TRAJECTORIES, trajectory_c2w
from hmworld.catalog.paths import mean_speed_multiplier, sample_path, unit_extent
from hmworld.errors import UserError
from hmworld.geometry import intrinsics
from hmworld.plan_checks import MAX_SUBJECTS, refuse, type_problems
from hmworld.plan_row import PLAN_FORMAT, SCHEMA, PlanRow
from hmworld.shot import Shot

SPEED_FIT = 0.75  # a path may span at most this fraction of the walkable area's short side
GROUP_SPACING = 2.0  # metres between neighbours across the walking direction
GROUP_STAGGER = 0.8  # and along it
FULL_GROUPS_PER_CELL = 25  # --full: groups per (scene, trajectory, placement) cell → 17·28·5·25 = 59,500


@dataclass(frozen=True)
class PlanSettings:
    """What every row of a plan shares."""

    frames: int = 150
    fps: int = 15
    width: int = 416
    height: int = 240

    def __post_init__(self) -> None:
        if self.frames < 2:
            raise UserError(f"frames must be at least 2, got {self.frames}")
        if self.fps <= 0:
            raise UserError(f"fps must be positive, got {self.fps}")
        if self.width <= 0 or self.height <= 0:
            raise UserError(f"resolution must be positive, got {self.width}x{self.height}")


# per-subject lookup tables, indexed like SUBJECT_LIST
_N_GAITS = 3
_GAIT_MAX = np.array([[g.speed_max for g in s.gaits] + [np.inf] * (_N_GAITS - len(s.gaits)) for s in SUBJECT_LIST])
_SPEED_LO = np.array([s.gaits[0].speed_min for s in SUBJECT_LIST])
_SPEED_HI = np.array([s.gaits[min(1, len(s.gaits) - 1)].speed_max for s in SUBJECT_LIST])
_GAIT_NAMES = [[g.name for g in s.gaits] for s in SUBJECT_LIST]
_PATH_EXTENT = np.array([unit_extent(p.id) for p in PATH_LIST])
_PATH_MEAN_MULT = np.array([mean_speed_multiplier(p.id) for p in PATH_LIST])
_SCENE_SHORT_SIDE = np.array([2.0 * min(s.walk_half) for s in SCENE_LIST])


def _clip_id(scene: str, content: tuple) -> str:
    digest = hashlib.sha1(repr(content).encode()).hexdigest()[:10]
    return f"{scene}-{digest}"


def _draw_rows(
    rng: np.random.Generator,
    scene_idx: np.ndarray,
    camera_idx: np.ndarray,
    placement_idx: np.ndarray,
    subject_pool: np.ndarray,
    path_pool: np.ndarray,
    group_sizes: np.ndarray,
    settings: PlanSettings,
    seed: int,
) -> pa.Table:
    """Draw groups, paths, speeds and offsets for given (scene, camera, placement) cells."""
    n = scene_idx.shape[0]
    sizes = rng.choice(group_sizes, size=n)
    # distinct subjects per row: the first 3 of a random permutation of the pool
    order = np.argsort(rng.random((n, subject_pool.shape[0])), axis=1)[:, :MAX_SUBJECTS]
    subj = subject_pool[order]
    path = path_pool[rng.integers(0, path_pool.shape[0], size=(n, MAX_SUBJECTS))]
    u = rng.random((n, MAX_SUBJECTS))
    speed = _SPEED_LO[subj] + u * (_SPEED_HI[subj] - _SPEED_LO[subj])
    duration = (settings.frames - 1) / settings.fps
    # the whole group's walk must fit the walkable area's short side, whatever its heading
    spread = (sizes - 1) * (GROUP_SPACING + GROUP_STAGGER)
    avail = np.maximum(SPEED_FIT * _SCENE_SHORT_SIDE[scene_idx] - spread, 1.0)
    max_len = avail[:, None] / _PATH_EXTENT[path]
    speed = np.minimum(speed, max_len / (duration * _PATH_MEAN_MULT[path]))
    speed = np.round(speed, 3)
    gait_idx = np.argmax(speed[..., None] <= _GAIT_MAX[subj] + 1e-9, axis=-1)
    heading = np.round(rng.uniform(0.0, 360.0, size=n), 2)
    half = np.array([SCENE_LIST[i].walk_half for i in scene_idx])
    offset = np.round(rng.uniform(-0.3, 0.3, size=(n, 2)) * half, 3)
    hfov = np.array([PLACEMENTS[i].hfov_deg for i in placement_idx])

    cols: dict[str, list[Any]] = {k: [] for k in SCHEMA.names}
    for i in range(n):
        k = int(sizes[i])
        scene = SCENE_LIST[scene_idx[i]].id
        subjects = [SUBJECT_LIST[j].id for j in subj[i, :k]]
        paths = [PATH_LIST[j].id for j in path[i, :k]]
        gaits = [_GAIT_NAMES[subj[i, j]][gait_idx[i, j]] for j in range(k)]
        speeds = [float(v) for v in speed[i, :k]]
        camera = TRAJECTORY_LIST[camera_idx[i]].id
        row = (scene, tuple(subjects), tuple(paths), tuple(speeds), camera, int(placement_idx[i]),
               float(heading[i]), float(offset[i, 0]), float(offset[i, 1]), settings.frames, settings.fps)
        cols["clip_id"].append(_clip_id(scene, row))
        cols["index"].append(i)
        cols["scene"].append(scene)
        cols["scene_seed"].append(0)
        cols["n_subjects"].append(k)
        cols["subjects"].append(subjects)
        cols["paths"].append(paths)
        cols["gaits"].append(gaits)
        cols["speeds"].append(speeds)
        cols["camera"].append(camera)
        cols["placement"].append(int(placement_idx[i]))
        cols["hfov_deg"].append(float(hfov[i]))
        cols["group_heading_deg"].append(float(heading[i]))
        cols["group_offset_x"].append(float(offset[i, 0]))
        cols["group_offset_y"].append(float(offset[i, 1]))
        cols["seed"].append(seed)
        cols["frames"].append(settings.frames)
        cols["fps"].append(settings.fps)
        cols["width"].append(settings.width)
        cols["height"].append(settings.height)
    return pa.table(cols, schema=SCHEMA)


def check_seed(seed: int) -> int:
    """Plan seeds feed numpy's SeedSequence, which takes non-negative integers only."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _indices(kind: str, ids: Sequence[str] | None, catalog: Sequence[Any]) -> np.ndarray:
    all_ids = [c.id for c in catalog]
    if not ids:
        return np.arange(len(all_ids))
    missing = [i for i in ids if i not in all_ids]
    if missing:
        raise UserError(f"unknown {kind} {missing[0]!r}; allowed: {', '.join(all_ids)}")
    return np.array([all_ids.index(i) for i in ids])


def make_plan(
    scenes: Sequence[str] | None = None,
    clips: int = 8,
    seed: int = 0,
    settings: PlanSettings | None = None,
    subjects: Sequence[str] | None = None,
    paths: Sequence[str] | None = None,
    cameras: Sequence[str] | None = None,
    group_sizes: Sequence[int] = (1, 2, 3),
) -> pa.Table:
    """A random plan of `clips` rows, balanced over scenes, trajectories and placements."""
    settings = settings or PlanSettings()
    check_seed(seed)
    if clips <= 0:
        raise UserError(f"clips must be positive, got {clips}")
    bad = [g for g in group_sizes if g not in (1, 2, 3)]
    if bad or not group_sizes:
        raise UserError(f"group size {bad[0] if bad else group_sizes!r} is not allowed; allowed: 1, 2, 3")
    scene_pool = _indices("scene", scenes, SCENE_LIST)
    subject_pool = _indices("subject", subjects, SUBJECT_LIST)
    path_pool = _indices("path", paths, PATH_LIST)
    camera_pool = _indices("camera trajectory", cameras, TRAJECTORY_LIST)
    if subject_pool.shape[0] < max(group_sizes):
        raise UserError(f"{subject_pool.shape[0]} subject(s) cannot fill groups of {max(group_sizes)}")
    rng = np.random.default_rng([seed, PLAN_FORMAT])
    idx = np.arange(clips)
    scene_idx = scene_pool[idx % scene_pool.shape[0]]
    camera_idx = camera_pool[rng.permutation(idx) % camera_pool.shape[0]]
    placement_idx = rng.permutation(idx) % len(PLACEMENTS)
    # groups never larger than the pool allows
    sizes = np.array(sorted(set(group_sizes)))
    return _draw_rows(rng, scene_idx, camera_idx, placement_idx, subject_pool, path_pool, sizes, settings, seed)


def full_plan(seed: int = 0, settings: PlanSettings | None = None) -> pa.Table:
    """The full design: every scene × trajectory × placement, with 25 random groups each (59,500 shots)."""
    settings = settings or PlanSettings()
    check_seed(seed)
    rng = np.random.default_rng([seed, PLAN_FORMAT, 1])
    s, c, p, g = len(SCENE_LIST), len(TRAJECTORY_LIST), len(PLACEMENTS), FULL_GROUPS_PER_CELL
    grid = np.stack(np.meshgrid(np.arange(s), np.arange(c), np.arange(p), np.arange(g), indexing="ij"), -1)
    grid = grid.reshape(-1, 4)
    return _draw_rows(
        rng, grid[:, 0], grid[:, 1], grid[:, 2], np.arange(len(SUBJECT_LIST)), np.arange(len(PATH_LIST)),
        np.array([1, 2, 3]), settings, seed,
    )


def write_plan(table: pa.Table, path: str | Path) -> None:
    """Atomic, deterministic parquet (no timestamps; fixed row groups)."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=65536, write_statistics=False)


def read_plan(path: str | Path) -> pa.Table:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"plan file {str(path)!r} does not exist")
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for non-parquet input
        raise UserError(f"plan file {str(path)!r} is not a parquet plan: {e}") from None
    missing = [n for n in SCHEMA.names if n not in table.column_names]
    if missing:
        raise UserError(f"plan file {str(path)!r} lacks columns {', '.join(missing)}")
    table = table.select(SCHEMA.names)
    problems = type_problems(table, SCHEMA)
    if problems:
        raise refuse(f"plan file {str(path)!r}", problems)
    return table.cast(SCHEMA)


def plan_rows(table: pa.Table) -> list[PlanRow]:
    """Every row of a plan table as a PlanRow; a bad row is a UserError naming its clip, column and value.

    To name every bad row of a hand-written manifest at once, check
    `table.to_pylist()` with `plan_checks.check_rows` first (as `hmworld render --plan` does).
    """
    return [PlanRow.from_dict(row) for row in table.to_pylist()]


def summarize(table: pa.Table) -> dict[str, Any]:
    """Counts a user checks after planning."""
    cols = table.to_pydict()
    return {
        "clips": table.num_rows,
        "scenes": len(set(cols["scene"])),
        "subjects": len({s for row in cols["subjects"] for s in row}),
        "paths": len({p for row in cols["paths"] for p in row}),
        "cameras": len(set(cols["camera"])),
        "placements": len(set(cols["placement"])),
        "group_sizes": {str(k): int(v) for k, v in zip(*np.unique(cols["n_subjects"], return_counts=True), strict=True)},
    }


# --------------------------------------------------------------------------- materialise
CAMERA_MARGIN = 1.0  # metres of view kept around the group at the start
CAMERA_FIT = 0.6  # fraction of the group's whole walk the first frame must take in
FOCUS_FRACTION = 0.4  # the camera aims at the group's mean position over this first part of the clip
CAMERA_CLEARANCE = 2.0  # metres between the camera's furthest point and the scene's props
MIN_CAMERA_DISTANCE = 3.0


def materialise(row: PlanRow) -> Shot:
    """A plan row → per-frame truth. Pure and deterministic: no random draws here.

    The row was checked when it was made (PlanRow); a dict is refused with a
    TypeError (make it a PlanRow with `PlanRow.from_dict`).
    """
    if not isinstance(row, PlanRow):
        raise TypeError(f"materialise takes a PlanRow, not {type(row).__name__}; use PlanRow.from_dict")
    scene = SCENES[row.scene]
    frames, fps = row.frames, row.fps
    width, height = row.width, row.height
    n = row.n_subjects
    theta = np.radians(row.group_heading_deg)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.array([[c, -s], [s, c]])

    xy = np.zeros((n, frames, 2))
    heading = np.zeros((n, frames))
    speed = np.zeros((n, frames))
    phase = np.zeros((n, frames))
    size = np.zeros((n, 3))
    for k, (sid, pid, gait_name, v) in enumerate(zip(row.subjects, row.paths, row.gaits, row.speeds, strict=True)):
        spec = SUBJECTS[sid]
        sample = sample_path(pid, v, frames, fps)
        lateral = (k - (n - 1) / 2.0) * GROUP_SPACING
        start = np.array([-GROUP_STAGGER * k, lateral])
        xy[k] = (sample.xy + start) @ rot.T
        heading[k] = theta + sample.heading
        speed[k] = sample.speed
        gait = next((g for g in spec.gaits if g.name == gait_name), spec.gait_for_speed(v))
        phase[k] = sample.distance / gait.cycle_m
        size[k] = spec.size

    # centre the group's whole walk on the planned offset, then keep it inside the walkable area
    lo, hi = xy.reshape(-1, 2).min(axis=0), xy.reshape(-1, 2).max(axis=0)
    half = np.asarray(scene.walk_half)
    centre = np.array([row.group_offset_x, row.group_offset_y])
    centre = np.clip(centre, -half + (hi - lo) / 2, half - (hi - lo) / 2) if np.all(hi - lo <= 2 * half) else 0 * centre
    xy += centre - (lo + hi) / 2.0
    pos = np.concatenate([xy, np.zeros((n, frames, 1))], axis=-1)

    placement = PLACEMENTS[row.placement]
    hfov = row.hfov_deg
    # aim at where the group is while the camera still looks at it (the first part of the clip)
    focus = xy[:, : max(1, int(FOCUS_FRACTION * frames))].reshape(-1, 2).mean(axis=0)
    spread = float(np.max(np.linalg.norm(xy.reshape(-1, 2) - focus, axis=-1)))
    fit = (CAMERA_FIT * spread + CAMERA_MARGIN) / np.tan(np.radians(hfov) / 2.0)
    distance = max(placement.distance_m, fit)
    az = theta + np.radians(placement.azimuth_deg)
    target = np.array([focus[0], focus[1], float(np.clip(0.5 * size[:, 2].max(), 0.3, 1.0))])
    trajectory = TRAJECTORIES[row.camera]
    while True:  # move in until the whole camera path stays inside the scene's clear disc
        eye = np.array([focus[0] + distance * np.cos(az), focus[1] + distance * np.sin(az), placement.height_m])
        c2w = trajectory_c2w(trajectory, frames, eye, target)
        reach = float(np.max(np.linalg.norm(c2w[:, :2, 3], axis=-1)))
        if reach <= scene.clear_radius - CAMERA_CLEARANCE or distance <= MIN_CAMERA_DISTANCE:
            break
        distance = max(MIN_CAMERA_DISTANCE, distance - (reach - scene.clear_radius + CAMERA_CLEARANCE) - 0.25)

    return Shot(
        clip_id=row.clip_id,
        scene=scene.id,
        subjects=row.subjects,
        paths=row.paths,
        gaits=row.gaits,
        camera=row.camera,
        placement=row.placement,
        seed=row.seed,
        fps=fps,
        frames=frames,
        width=width,
        height=height,
        hfov_deg=hfov,
        c2w=c2w,
        K=intrinsics(hfov, width, height),
        subject_pos=pos,
        subject_heading=heading,
        subject_phase=phase,
        subject_speed=speed,
        subject_size=size,
        extra={"scene_seed": row.scene_seed, "camera_distance_m": distance},
    )
