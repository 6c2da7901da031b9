"""Does a table row still describe its clip folder? The checks `validate` runs per clip.

Each finding is one line naming what disagrees: a row whose values differ
from clip.json / caption.json, a path that points at another clip's files,
a video, id-mask or depth file whose bytes are not those packaged (SHA-256),
clip files that no longer read (clip.json, events.json, caption.json), and
(with `deep`) visible-pixel counts whose id mask is empty in that frame.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from hmworld.clip import (
    CAPTION_JSON,
    CLIP_JSON,
    CLIPS_DIR,
    DEPTH_FILE,
    INSTANCES_FILE,
    VIDEO_FILE,
    read_caption,
    read_clip,
)
from hmworld.dataset.digests import file_sha256
from hmworld.dataset.schema import DIGEST_COLUMNS, OPTIONAL_COLUMNS
from hmworld.errors import DamagedClip, UserError
from hmworld.events import read_events

ROW_COLUMNS = ("clip_id", "video_path", "instances_path", "scene", "caption", "camera_c2w", "subject_pos",
               "visible_pixels", *OPTIONAL_COLUMNS)  # digests and depth_path may be absent (packaged before them)
DIGESTED_FILES = dict(zip(DIGEST_COLUMNS, (VIDEO_FILE, INSTANCES_FILE, DEPTH_FILE), strict=True))
POSITION_TOLERANCE_M = 1e-3  # subject_pos is float32 in the table


def _caption(folder: Path) -> tuple[str | None, str | None]:
    """(caption text, "" when there is no caption.json, or None; problem or None)."""
    try:
        caption = read_caption(folder)
    except UserError as e:
        return None, str(e)
    return (caption.caption if caption else ""), None


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return float("inf")
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.where(both_nan, 0.0, np.abs(a - b))
    return float(np.nanmax(np.where(np.isnan(d), np.inf, d))) if d.size else 0.0


def digest_problems(folder: Path, row: dict[str, Any], damaged: Collection[str] = ()) -> list[str]:
    """The clip's files whose SHA-256 differs from the one `row` recorded at package time.

    A digest column the row lacks (or holds null in) is not checked, nor is a
    file that cannot be read or is named in `damaged` (the file checks already
    reported it).
    """
    out = []
    for col, name in DIGESTED_FILES.items():
        want = row.get(col)
        path = folder / name
        if not want or name in damaged or not path.is_file():
            continue
        try:
            now = file_sha256(path)
        except OSError:
            continue
        if now != want:
            out.append(f"{path}: not the file that was packaged (SHA-256 {now[:12]}..., table {col} "
                       f"{want[:12]}...); replaced since packaging (re-package if the clip was re-rendered)")
    return out


def row_problems(root: Path, row: dict[str, Any], deep: bool, damaged: Collection[str] = ()) -> list[str]:
    """Everything in which the table row `row` (ROW_COLUMNS) and the clip folder it names disagree.

    damaged: names of the clip's files (VIDEO_FILE, INSTANCES_FILE, DEPTH_FILE) the
    file checks found broken; their digests are not compared (nor, for DEPTH_FILE, whether clip.json
    still lists it: a missing depth.npz the table names is one line), so one damage is one line.
    """
    cid = row["clip_id"]
    folder = root / CLIPS_DIR / cid
    paths = []
    for col, name in (("video_path", VIDEO_FILE), ("instances_path", INSTANCES_FILE), ("depth_path", DEPTH_FILE)):
        want = f"{CLIPS_DIR}/{cid}/{name}"
        if col == "depth_path" and row.get(col) is None:  # no depth (or packaged before depth_path existed)
            continue
        if row[col] != want:
            paths.append(f"{col} is {row[col]!r}, but this clip's file is {want!r}")
    replaced = digest_problems(folder, row, damaged)  # a replaced file still reads: the mask check runs on it
    try:
        record = read_clip(folder)
    except DamagedClip as e:
        return [*paths, *replaced, str(e)]
    out: list[str] = []
    try:
        read_events(folder)
    except UserError as e:
        out.append(str(e))
    caption, problem = _caption(folder)
    if problem:
        out.append(problem)
    elif caption != row["caption"]:
        out.append(f"caption in the table differs from {CAPTION_JSON} ({row['caption'][:40]!r} vs {caption[:40]!r})")
    shot = record.shot
    if "depth_path" in row and (row["depth_path"] is not None) != record.has_depth and DEPTH_FILE not in damaged:
        out.append(f"depth_path is {row['depth_path']!r} in the table, but {CLIP_JSON} says the clip has "
                   f"{'a' if record.has_depth else 'no'} {DEPTH_FILE} (re-package the clip)")
    if row["scene"] != shot.scene:
        out.append(f"scene is {row['scene']!r} in the table, {shot.scene!r} in clip.json")
    cam = _max_diff(np.asarray(row["camera_c2w"], dtype=np.float64), shot.c2w)
    if not cam <= 1e-9:
        out.append(f"camera_c2w differs from clip.json by up to {cam:.3g}")
    pos = _max_diff(np.asarray(row["subject_pos"], dtype=np.float64).reshape(shot.subject_pos.shape)
                    if np.size(row["subject_pos"]) == shot.subject_pos.size else np.zeros(0), shot.subject_pos)
    if not pos <= POSITION_TOLERANCE_M:
        out.append(f"subject_pos differs from clip.json by up to {pos:.3g} m")
    vis = np.asarray(row["visible_pixels"], dtype=np.int64).reshape(-1)
    measured = record.measured.visible_pixels
    if vis.size != measured.size or np.any(vis != measured.reshape(-1)):
        out.append("visible_pixels in the table differ from those measured in clip.json")
    if deep and shot.n_subjects and not paths and not out:
        ids = record.load_instances()
        counted = np.stack([(ids == k + 1).reshape(shot.frames, -1).sum(1) for k in range(shot.n_subjects)])
        empty = (counted == 0) & (measured > 0)
        if empty.any():
            k, t = (int(x[0]) for x in np.nonzero(empty))
            out.append(f"subject {k} has {int(measured[k, t])} visible pixels counted in frame {t}, but its id mask "
                       f"there is empty ({int(empty.sum())} such frame(s))")
    return [*paths, *replaced, *out]
