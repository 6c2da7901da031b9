"""`hmworld export --format hmworld`: a packaged dataset → the official HM-World folder layout.

Each clip becomes sample<i>/ (written whole or not at all) so the released
HyDRA code can train on it: two 77-frame streams (75 clip frames each, padded
as the official files are), red-on-black masks, UE camera matrices, and our
character.json / check.json. Samples already exported for the same clip are
kept, so an interrupted export resumes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmworld.atomic import atomic_dir, write_json, write_text
from hmworld.clip import clip_dir, read_clip
from hmworld.dataset.arrays import ragged_rows
from hmworld.dataset.official_hmworld.layout import (
    CAMERA_JSON,
    CAPTION_TXT,
    CHARACTER_JSON,
    CHECK_JSON,
    COND_MASK_MP4,
    COND_MP4,
    DEFAULT_FPS,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    SAMPLE_PREFIX,
    SAMPLE_RE,
    TGT_MASK_MP4,
    TGT_MP4,
    camera_json,
    character_json,
    check_json,
    is_our_check,
    mask_rgb,
    stream_layouts,
)
from hmworld.dataset.resize import cover_crop, cover_labels, cover_rgb
from hmworld.dataset.splits import SPLITS
from hmworld.dataset.tables import check_split, read_all
from hmworld.errors import UserError
from hmworld.events import read_events
from hmworld.geometry import HYDRA_STREAM_LEN, hfov_deg_from_K, split_streams
from hmworld.video import read_video, write_video

MASK_CRF = 10  # masks keep crisp edges and exact red levels
COLUMNS = ("clip_id", "split", "caption", "captioner", "subject_kinds", "events", "pairs", "states", "passed")


@dataclass(frozen=True)
class ExportReport:
    out_dir: Path
    samples: int
    written: int
    kept: int


def _check_clip(clip_id: str, fps: int, frames: int) -> None:
    if fps != DEFAULT_FPS:
        raise UserError(f"clip {clip_id} is {fps} fps; the HM-World layout is {DEFAULT_FPS} fps (render at --fps 15)")
    if not 2 <= frames <= 2 * HYDRA_STREAM_LEN:
        raise UserError(f"clip {clip_id} has {frames} frames; the HM-World layout holds 2..{2 * HYDRA_STREAM_LEN} "
                        f"(two streams of at most {HYDRA_STREAM_LEN})")


def _sample_is(path: Path, clip_id: str) -> bool:
    check = path / CHECK_JSON
    if not check.is_file():
        return False
    try:
        return json.loads(check.read_text(encoding="utf-8")).get("clip_id") == clip_id
    except ValueError:
        return False


def export_sample(root: Path, row: dict, out: Path, width: int, height: int) -> None:
    """Write one clip as an HM-World sample folder, atomically."""
    record = read_clip(clip_dir(root, row["clip_id"]))
    shot = record.shot
    _check_clip(shot.clip_id, shot.fps, shot.frames)
    rgb = cover_rgb(read_video(record.video_path), (height, width))
    ids = cover_labels(record.load_instances(), (height, width))
    scale, _, _ = cover_crop(shot.height, shot.width, height, width)
    hfov = hfov_deg_from_K(shot.K * scale, width)  # focal length scales; the crop keeps the centre
    layouts = stream_layouts(shot.frames)
    events = read_events(record.path)
    resized = (width, height) != (shot.width, shot.height)
    meta = {
        "clip_id": shot.clip_id,
        "scene": shot.scene,
        "camera_trajectory": shot.camera,
        "placement": shot.placement,
        "seed": shot.seed,
        "backend": record.backend.get("name", ""),
        "fps": shot.fps,
        "frames": shot.frames,
        "width": width,
        "height": height,
        "hfov_deg": float(hfov),
        "caption": " ".join(str(row["caption"]).split()),
        "captioner": row["captioner"],
        "source_size": [shot.width, shot.height],
    }
    visible = record.measured.visible_pixels
    silhouette = record.measured.silhouette_pixels
    if resized:  # counts at the exported size: measured from the resized masks; silhouettes unknown there
        visible = np.stack([(ids == k + 1).reshape(shot.frames, -1).sum(1) for k in range(shot.n_subjects)]) \
            if shot.n_subjects else np.zeros((0, shot.frames), np.int64)
        silhouette = None
        meta["scale"] = scale
    with atomic_dir(out) as tmp:
        for name, frames in zip((COND_MP4, TGT_MP4), split_streams(rgb), strict=True):
            write_video(tmp / name, frames, shot.fps)
        for name, frames in zip((COND_MASK_MP4, TGT_MASK_MP4), split_streams(mask_rgb(ids)), strict=True):
            write_video(tmp / name, frames, shot.fps, crf=MASK_CRF)
        write_json(tmp / CAMERA_JSON, camera_json(shot.c2w))
        write_json(tmp / CHARACTER_JSON, character_json(
            list(shot.subjects), list(row["subject_kinds"]), list(shot.paths), list(shot.gaits), shot.subject_size,
            shot.subject_pos, shot.subject_heading, shot.subject_speed, shot.subject_phase, shot.fps,
        ), indent=None)
        write_json(tmp / CHECK_JSON, check_json(
            meta, list(shot.subjects), row["events"], row["pairs"], row["states"], row["passed"], visible,
            silhouette, layouts, None if events is None else events.params.to_dict(),
        ), indent=None)


def export_hmworld(
    dataset_dir: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = None,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    passed_only: bool = False,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Export clips (one split or all, train first) as OUT/sample1..N + caption.txt."""
    root = Path(dataset_dir)
    out = Path(out_dir)
    if split is not None:
        check_split(split)
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise UserError(f"export size {width}x{height} is not allowed; width and height must be even and >= 16")
    if limit is not None and limit < 1:
        raise UserError(f"limit must be at least 1, got {limit}")
    if out.resolve() == root.resolve():
        raise UserError("export into a folder other than the dataset itself")
    table = read_all(root, COLUMNS)
    d = table.select([c for c in COLUMNS if c != "states"]).to_pydict()
    states = ragged_rows(table.column("states"))
    rank = {s: i for i, s in enumerate(SPLITS)}
    order = sorted(range(table.num_rows), key=lambda i: (rank[d["split"][i]], d["clip_id"][i]))
    order = [i for i in order if (split is None or d["split"][i] == split) and (not passed_only or d["passed"][i])]
    if limit is not None:
        order = order[:limit]
    if not order:
        raise UserError(f"no clips to export from {root}" + (f" (split {split})" if split else "")
                        + (" that pass the filter" if passed_only else ""))
    written = kept = 0
    captions = []
    for n, i in enumerate(order, start=1):
        row = {k: d[k][i] for k in d} | {"states": states[i]}
        sample = out / f"{SAMPLE_PREFIX}{n}"
        if _sample_is(sample, row["clip_id"]):
            kept += 1
        else:
            export_sample(root, row, sample, width, height)
            written += 1
        captions.append(" ".join(str(row["caption"]).split()))  # one line per sample
        if progress is not None:
            progress(n, len(order))
    write_text(out / CAPTION_TXT, "\n".join(captions) + "\n")
    _remove_stale(out, len(order))
    return ExportReport(out, len(order), written, kept)


def _remove_stale(out: Path, count: int) -> None:
    """Samples numbered past `count` left by an earlier, larger export of ours."""
    for p in out.glob(f"{SAMPLE_PREFIX}*"):
        m = SAMPLE_RE.match(p.name)
        if m and int(m.group(1)) > count and p.is_dir() and (p / CHECK_JSON).is_file():
            try:
                ours = is_our_check(json.loads((p / CHECK_JSON).read_text(encoding="utf-8")))
            except ValueError:
                ours = False
            if ours:
                shutil.rmtree(p)
