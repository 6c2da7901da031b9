"""`hmworld validate`: is a packaged dataset whole and self-consistent?

Checks the tables against their schema and meta/info.json, every row's arrays
against each other, every referenced file's existence, and (unless quick)
decodes every video to count its frames. Problems are collected, not raised,
so one run lists everything that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.clip import CLIP_JSON, DEPTH_FILE, INSTANCES_FILE, VIDEO_FILE, clip_dir, read_clip
from hmworld.dataset.arrays import fixed_numpy, ragged_numpy
from hmworld.dataset.checks import check_depth, check_instances, decode_video, probe_video
from hmworld.dataset.consistency import ROW_COLUMNS, row_problems
from hmworld.dataset.info import DatasetInfo, read_info
from hmworld.dataset.layout import CARD, INFO_PATH, PIXEL_COUNTS_PATH
from hmworld.dataset.schema import MAX_SUBJECTS, table_schema
from hmworld.dataset.tables import require_dataset, shard_paths
from hmworld.dataset.writer import Problem
from hmworld.errors import DamagedClip, UserError
from hmworld.events import EVENT_KINDS
from hmworld.options import check_flags, check_path, check_whole_type
from hmworld.processes import process_pool

PER_SUBJECT = (
    "subject_kinds", "subject_paths", "subject_gaits", "subject_size", "subject_pos", "subject_heading",
    "subject_speed", "subject_phase", "subject_xy", "subject_depth", "states", "visible_pixels",
)


@dataclass(frozen=True)
class ValidationReport:
    dataset_dir: Path
    clips: int
    videos_checked: int
    decoded: bool
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...] = ()  # not wrong, but worth a look (a stray file); `ok` ignores them

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        how = "decoded every frame of" if self.decoded else "counted the packets of"
        head = f"{self.dataset_dir}: {self.clips} clips; {how} {self.videos_checked} videos"
        lines = [f"{head}; no problems" if self.ok else f"{head}; {len(self.problems)} problem(s):"]
        lines += [f"  {p.clip + ': ' if p.clip else ''}{p.message}" for p in self.problems]
        lines += [f"warning: {p.clip + ': ' if p.clip else ''}{p.message}" for p in self.warnings]
        return "\n".join(lines)


def _stray_depth(folder: Path, row: dict) -> list[str]:
    """A depth.npz that neither the table (depth_path null) nor clip.json lists: a warning, since no
    reader opens it (left by a render before a `render --no-depth` re-render, or copied in)."""
    path = folder / DEPTH_FILE
    if "depth_path" not in row or row["depth_path"] is not None or not path.is_file():
        return []
    try:
        if read_clip(folder).has_depth:
            return []  # clip.json lists it: row_problems reports the table as out of date (an error)
    except DamagedClip:
        return []  # row_problems reports the clip.json
    return [f"{path}: not listed by the table (depth_path is null) nor by {CLIP_JSON}, so nothing reads it; "
            "remove it, or re-render the clip with depth and re-package"]


def _depth_listed_by(folder: Path, path: Path) -> str:
    """Who names the depth.npz the table lists, for the one line a missing one gets: after a
    `render --no-depth` re-render clip.json no longer lists it, and re-packaging is the fix."""
    if path.is_file():
        return ""  # not missing: check_depth does not use it
    try:
        listed = read_clip(folder).has_depth
    except DamagedClip:
        listed = True  # row_problems reports the clip.json
    if listed:
        return f"the table's depth_path and {CLIP_JSON} name it"
    return (f"the table's depth_path names it, but {CLIP_JSON} lists none: re-rendered with --no-depth? "
            "re-package the clip")


def _check_files(args: tuple[Path, str, str, str, int, int, int, int, bool, dict]) -> tuple[list[str], list[str]]:
    """(problems, warnings) of one table row's clip files."""
    root, clip_id, video, instances, frames, width, height, n, deep, row = args
    out = []
    folder = clip_dir(root, clip_id)
    missing = not (folder / CLIP_JSON).is_file()
    if missing:
        out.append(f"{folder}: clip folder or its {CLIP_JSON} is missing")
    look = decode_video if deep else probe_video
    video_problems = look(root / video, frames, width, height)
    mask_problems = check_instances(root / instances, frames, width, height, n, deep)
    depth = row.get("depth_path")  # null: the clip has no depth (or the table predates depth_path)
    depth_problems = check_depth(root / depth, frames, width, height, deep, _depth_listed_by(folder, root / depth)) \
        if depth else []
    out += video_problems + mask_problems + depth_problems
    if missing:
        return out, []
    damaged = [name for name, found in ((VIDEO_FILE, video_problems), (INSTANCES_FILE, mask_problems),
                                        (DEPTH_FILE, depth_problems)) if found]
    return out + row_problems(root, row, deep and not out, damaged), _stray_depth(folder, row)


def _check_rows(table: pa.Table, split: str, info: DatasetInfo | None) -> list[Problem]:
    """Array shapes and values of every row in one shard, vectorised per column."""
    problems: list[Problem] = []
    ids = table.column("clip_id").to_pylist()
    n_sub = np.array([len(s) for s in table.column("subjects").to_pylist()], dtype=np.int64)
    for i in np.nonzero(n_sub > MAX_SUBJECTS)[0]:
        problems.append(Problem(ids[i], f"{n_sub[i]} subjects; allowed 0..{MAX_SUBJECTS}"))
    for col in (*PER_SUBJECT, "silhouette_pixels"):
        c = table.column(col).combine_chunks()
        counts = np.diff(c.offsets.to_numpy())
        valid = c.is_valid().to_numpy(zero_copy_only=False)
        bad = (counts != n_sub) & valid if col == "silhouette_pixels" else counts != n_sub
        if col != "silhouette_pixels":
            bad |= ~valid
        for i in np.nonzero(bad)[0]:
            problems.append(Problem(ids[i], f"column {col} has {counts[i]} subject entries, subjects has {n_sub[i]}"))
    for key in ("fps", "frames", "width", "height"):
        vals = np.array(table.column(key).to_pylist())
        want = None if info is None else getattr(info, key)
        for i in np.nonzero(vals != want)[0] if want is not None else []:
            problems.append(Problem(ids[i], f"{key} is {vals[i]}, meta/info.json states {want}"))
    for i in np.nonzero(np.array(table.column("split").to_pylist()) != split)[0]:
        problems.append(Problem(ids[i], f"row says split {table.column('split')[i]} but sits in a {split} shard"))
    c2w = fixed_numpy(table.column("camera_c2w"))
    R = c2w[..., :3, :3]
    err = np.abs(np.einsum("rtji,rtjk->rtik", R, R) - np.eye(3)).max(axis=(1, 2, 3)) if c2w.size else np.zeros(0)
    bottom = np.abs(c2w[..., 3, :] - np.array([0, 0, 0, 1.0])).max(axis=(1, 2)) if c2w.size else np.zeros(0)
    for i in np.nonzero((err > 1e-4) | (bottom > 0) | ~np.isfinite(err))[0]:
        problems.append(Problem(ids[i], f"camera_c2w is not a rigid pose (rotation error {err[i]:.2g})"))
    states, offs = ragged_numpy(table.column("states"))
    bad_state = np.zeros(len(ids), bool)
    if states.size:
        rows = np.repeat(np.arange(len(ids)), np.diff(offs))
        bad_state[rows[np.any((states < 0) | (states > 2), axis=1)]] = True
    for i in np.nonzero(bad_state)[0]:
        problems.append(Problem(ids[i], "states holds values outside 0 (out of frame), 1 (occluded), 2 (visible)"))
    events = table.column("events").to_pylist()
    pairs = table.column("pairs").to_pylist()
    n_pairs = table.column("n_pairs").to_pylist()
    frames = table.column("frames").to_pylist()
    passed = table.column("passed").to_pylist()
    width, height = table.column("width").to_pylist(), table.column("height").to_pylist()
    visible = table.column("visible_pixels").to_pylist()
    for i, cid in enumerate(ids):
        for e in events[i] or []:
            if not (0 <= e["subject"] < n_sub[i] and 0 <= e["frame"] < frames[i] and e["kind"] in EVENT_KINDS):
                problems.append(Problem(cid, f"event {e} names a subject, frame or kind the clip does not have"))
                break
        for p in pairs[i] or []:
            if not (0 <= p["subject"] < n_sub[i] and 0 <= p["exit_frame"] < p["entry_frame"] < frames[i]
                    and p["hidden_frames"] == p["entry_frame"] - p["exit_frame"]):
                problems.append(Problem(cid, f"exit-entry pair {p} is inconsistent"))
                break
        if n_pairs[i] != len(pairs[i] or []):
            problems.append(Problem(cid, f"n_pairs is {n_pairs[i]} but {len(pairs[i] or [])} pairs are listed"))
        if passed[i] and not pairs[i]:
            problems.append(Problem(cid, "passed is true, but the clip has no exit-entry pair"))
        area = width[i] * height[i]
        top = max((max(v) for v in visible[i] or [] if v), default=0)
        if top > area:
            problems.append(Problem(cid, f"visible_pixels holds {top}, more than the {width[i]}x{height[i]} = "
                                         f"{area} pixels of a frame"))
    return problems


def validate(
    dataset_dir: str | Path,
    quick: bool = False,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ValidationReport:
    """Check a packaged dataset; `quick` counts video packets instead of decoding every frame."""
    check_flags(quick=quick)
    check_whole_type("workers", workers)
    root = require_dataset(check_path("dataset_dir", dataset_dir))
    problems: list[Problem] = []
    info: DatasetInfo | None = None
    try:
        info = read_info(root)
    except UserError as e:
        problems.append(Problem("", f"{root / INFO_PATH}: missing or unreadable ({e})"))
    card = root / CARD
    if not card.is_file() or "configs:" not in card.read_text(encoding="utf-8"):
        problems.append(Problem("", f"{card}: missing, or without the YAML `configs` that point `datasets` at the tables"))
    if not (root / PIXEL_COUNTS_PATH).is_file():
        problems.append(Problem("", f"{root / PIXEL_COUNTS_PATH}: missing"))

    frames = (info.frames if info is not None else 0) or 1
    seen: dict[str, str] = {}
    jobs = []
    counts = {"train": 0, "test": 0}
    for split in counts:
        for path in shard_paths(root, split):
            try:
                table = pq.read_table(path)
            except (OSError, pa.ArrowInvalid) as e:
                problems.append(Problem("", f"{path}: cannot be read as parquet ({e})"))
                continue
            counts[split] += table.num_rows
            schema = table_schema(frames, table.column_names)  # optional columns absent: packaged before them
            if [(f.name, f.type) for f in table.schema] != [(f.name, f.type) for f in schema]:
                missing = [n for n in schema.names if n not in table.column_names]
                problems.append(Problem("", f"{path}: columns or types differ from the format of "
                                        f"{frames}-frame clips stated in meta/info.json"
                                        + (f" (missing {', '.join(missing)})" if missing else "")))
                continue
            problems += _check_rows(table, split, info)
            d = table.select(["clip_id", "video_path", "instances_path", "frames", "width", "height", "subjects"])
            full = table.select([c for c in ROW_COLUMNS if c in table.column_names]).to_pylist()
            for row, whole in zip(d.to_pylist(), full, strict=True):
                if row["clip_id"] in seen:
                    problems.append(Problem(row["clip_id"], f"clip id appears twice ({seen[row['clip_id']]}, {path.name})"))
                seen[row["clip_id"]] = path.name
                jobs.append((root, row["clip_id"], row["video_path"], row["instances_path"], row["frames"],
                             row["width"], row["height"], len(row["subjects"]), not quick, whole))
    stated = info.counts.get("splits", {}) if info is not None else {}
    for split, n in counts.items():
        if stated and stated.get(split) != n:
            problems.append(Problem("", f"{INFO_PATH} states {stated.get(split)} {split} clips, the tables hold {n}"))

    def run() -> list[tuple[list[str], list[str]]]:
        if workers > 1 and len(jobs) > 1:
            with process_pool(workers) as pool:
                return list(pool.map(_check_files, jobs, chunksize=4))
        results = []
        for k, job in enumerate(jobs):
            results.append(_check_files(job))
            if progress is not None:
                progress(k + 1, len(jobs))
        return results

    warnings: list[Problem] = []
    for job, (found, warned) in zip(jobs, run(), strict=True):
        problems += [Problem(job[1], m) for m in found]
        warnings += [Problem(job[1], m) for m in warned]
    return ValidationReport(root, len(seen), len(jobs), not quick, tuple(problems), tuple(warnings))
