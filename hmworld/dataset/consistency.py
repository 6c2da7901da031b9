"""Does a table row still describe its clip folder? The checks `validate` runs per clip.

Each finding is one line naming what disagrees: a row whose values differ
from clip.json / caption.json, a path that points at another clip's files,
clip files that no longer read (clip.json, events.json, caption.json), and
(with `deep`) visible-pixel counts whose id mask is empty in that frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hmworld.clip import (
    CAPTION_JSON,
    CLIPS_DIR,
    INSTANCES_FILE,
    VIDEO_FILE,
    read_caption,
    read_clip,
)
from hmworld.errors import DamagedClip, UserError
from hmworld.events import read_events

ROW_COLUMNS = ("clip_id", "video_path", "instances_path", "scene", "caption", "camera_c2w", "subject_pos",
               "visible_pixels")
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


def row_problems(root: Path, row: dict[str, Any], deep: bool) -> list[str]:
    """Everything in which the table row `row` (ROW_COLUMNS) and the clip folder it names disagree."""
    cid = row["clip_id"]
    folder = root / CLIPS_DIR / cid
    out: list[str] = []
    for col, name in (("video_path", VIDEO_FILE), ("instances_path", INSTANCES_FILE)):
        want = f"{CLIPS_DIR}/{cid}/{name}"
        if row[col] != want:
            out.append(f"{col} is {row[col]!r}, but this clip's file is {want!r}")
    try:
        record = read_clip(folder)
    except DamagedClip as e:
        return [*out, str(e)]
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
    if deep and shot.n_subjects and not out:
        ids = record.load_instances()
        counted = np.stack([(ids == k + 1).reshape(shot.frames, -1).sum(1) for k in range(shot.n_subjects)])
        empty = (counted == 0) & (measured > 0)
        if empty.any():
            k, t = (int(x[0]) for x in np.nonzero(empty))
            out.append(f"subject {k} has {int(measured[k, t])} visible pixels counted in frame {t}, but its id mask "
                       f"there is empty ({int(empty.sum())} such frame(s))")
    return out
