"""`hmworld export --format hmworld`: a packaged dataset → the official HM-World folder layout.

Each clip becomes sample<i>/ (written whole or not at all): two 77-frame
streams (half the clip each, padded as the official files are), red-on-black
masks, depth beside them when the clip has depth (cond_depth.npz /
tgt_depth.npz, cropped and resized as the masks are), the stream-form
camera.json the HyDRA release's reader takes, and our character.json / check.json. The release has no training data loader (it
trains from pre-encoded tensors); what reads these folders is HM-World tooling
such as its mask evaluator, and `hmworld import-hmworld`. `export_examples`
writes the flat layout the release's `infer_hydra.py --examples_dir` reads.

A sample already exported from the same clip with the same settings and
annotations (its check.json `export_key`) is kept, so a re-run writes only what
changed; one exported with another size, caption or events is written again.
New and changed files are written into a hidden staging folder inside OUT and
moved in only when every clip is done, so a refused, failed or interrupted
export leaves OUT exactly as it was (no partial sample, no caption.txt that
disagrees with the samples).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmworld.atomic import atomic_dir, move_into, staging_dir, write_json, write_text
from hmworld.clip import CLIP_JSON, INSTANCES_FILE, VIDEO_FILE, ClipRecord, clip_dir, read_clip
from hmworld.dataset.arrays import ragged_rows
from hmworld.dataset.official_hmworld.layout import (
    CAMERA_JSON,
    CAPTION_TXT,
    CHARACTER_JSON,
    CHECK_JSON,
    COND_DEPTH_NPZ,
    COND_MASK_MP4,
    COND_MP4,
    DEFAULT_FPS,
    DEFAULT_HEIGHT,
    DEFAULT_WIDTH,
    SAMPLE_PREFIX,
    SAMPLE_RE,
    TGT_DEPTH_NPZ,
    TGT_MASK_MP4,
    TGT_MP4,
    camera_streams_json,
    character_json,
    check_json,
    is_our_check,
    mask_rgb,
    stream_layouts,
)
from hmworld.dataset.resize import cover_crop, cover_labels, cover_rgb
from hmworld.dataset.splits import SPLITS
from hmworld.dataset.tables import check_split, read_all
from hmworld.depth import write_depth
from hmworld.errors import DamagedClip, UserError
from hmworld.events import read_events
from hmworld.geometry import HYDRA_STREAM_LEN, hfov_deg_from_K, split_streams
from hmworld.options import check_flags, check_path, check_whole_type
from hmworld.video import read_video, write_video

MASK_CRF = 10  # masks keep crisp edges and exact red levels
EXPORT_VERSION = 3  # 2: stream-form camera.json; 3: depth beside the masks
COLUMNS = ("clip_id", "split", "caption", "captioner", "subject_kinds", "events", "pairs", "states", "passed")


@dataclass(frozen=True)
class ExportReport:
    out_dir: Path
    samples: int
    written: int
    kept: int
    skipped: tuple[str, ...] = ()  # damaged clips left out with keep_going, each "clip <id>: <problem>"


def _check_clip(clip_id: str, fps: int, frames: int) -> None:
    if fps != DEFAULT_FPS:
        raise UserError(f"clip {clip_id} is {fps} fps; the HM-World layout is {DEFAULT_FPS} fps (render at --fps 15)")
    if not 2 <= frames <= 2 * HYDRA_STREAM_LEN or frames % 2:
        raise UserError(f"clip {clip_id} has {frames} frames; the HM-World layout splits a clip into two equal "
                        f"streams of at most {HYDRA_STREAM_LEN}: an even number from 2 to {2 * HYDRA_STREAM_LEN}")


def export_key(row: dict, width: int, height: int) -> str:
    """What a sample was made from: clip, size, caption and events. Another key → export it again."""
    basis = {k: row[k] for k in ("clip_id", "caption", "captioner", "events", "pairs", "passed")}
    basis |= {"states": np.asarray(row["states"]).tolist(), "size": [width, height], "version": EXPORT_VERSION}
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _sample_is(path: Path, key: str) -> bool:
    check = path / CHECK_JSON
    if not check.is_file():
        return False
    try:
        return json.loads(check.read_text(encoding="utf-8")).get("export_key") == key
    except ValueError:
        return False


def _read_media(root: Path, row: dict) -> tuple[ClipRecord, np.ndarray, np.ndarray]:
    """A clip's record, video [T,H,W,3] and instance ids [T,H,W]; DamagedClip when they cannot be read."""
    record = read_clip(clip_dir(root, row["clip_id"]))
    shot = record.shot
    _check_clip(shot.clip_id, shot.fps, shot.frames)
    try:
        video, labels = read_video(record.video_path), record.load_instances()
    except (OSError, ValueError, KeyError, IndexError, EOFError) as e:  # PyAV's decode errors are ValueErrors
        detail = " ".join(str(e).split()) or type(e).__name__
        raise DamagedClip(f"clip {shot.clip_id}: cannot read its video or masks ({detail})") from None
    if video.shape[0] != shot.frames or labels.shape[0] != shot.frames:
        raise DamagedClip(f"clip {shot.clip_id}: {VIDEO_FILE} has {video.shape[0]} frames and {INSTANCES_FILE} "
                          f"{labels.shape[0]}, but {CLIP_JSON} says {shot.frames}")
    return record, video, labels


def export_sample(root: Path, row: dict, out: Path, width: int, height: int) -> None:
    """Write one clip as an HM-World sample folder, atomically; DamagedClip when its files cannot be read
    (a damaged depth.npz included)."""
    record, video, labels = _read_media(root, row)
    shot = record.shot
    rgb = cover_rgb(video, (height, width))
    ids = cover_labels(labels, (height, width))
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
        "export_key": export_key(row, width, height),
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
        if record.has_depth:  # cropped and resized as the masks: the nearest pixel, never a blend
            depth = cover_labels(record.load_depth(), (height, width))
            for name, frames in zip((COND_DEPTH_NPZ, TGT_DEPTH_NPZ), split_streams(depth), strict=True):
                write_depth(tmp / name, frames)
        write_json(tmp / CAMERA_JSON, camera_streams_json(shot.c2w), indent=None)
        write_json(tmp / CHARACTER_JSON, character_json(
            list(shot.subjects), list(row["subject_kinds"]), list(shot.paths), list(shot.gaits), shot.subject_size,
            shot.subject_pos, shot.subject_heading, shot.subject_speed, shot.subject_phase, shot.fps,
        ), indent=None)
        write_json(tmp / CHECK_JSON, check_json(
            meta, list(shot.subjects), row["events"], row["pairs"], row["states"], row["passed"], visible,
            silhouette, layouts, None if events is None else events.params.to_dict(),
        ), indent=None)


def select_rows(root: Path, out: Path, split: str | None, width: int, height: int, passed_only: bool,
                limit: int | None) -> list[dict]:
    """The table rows to export, train first then by clip id; one-line UserErrors for impossible settings."""
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
    return [{k: d[k][i] for k in d} | {"states": states[i]} for i in order]


def _checked_arguments(dataset_dir: object, out_dir: object, width: object, height: object, limit: object,
                       passed_only: object, keep_going: object) -> tuple[Path, Path]:
    """The folders as Paths, after refusing arguments of the wrong type (BadArgumentType: a bool or
    float for a size, 1 for a flag) before anything is read or written."""
    check_whole_type("width", width)
    check_whole_type("height", height)
    check_whole_type("limit", limit, none="every clip")
    check_flags(passed_only=passed_only, keep_going=keep_going)
    return check_path("dataset_dir", dataset_dir), check_path("out_dir", out_dir)


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
    keep_going: bool = False,
) -> ExportReport:
    """Export clips (one split or all, train first) as OUT/sample1..N + caption.txt.

    A damaged clip (missing folder, unreadable clip.json, video or masks) stops
    the export with a DamagedClip naming it, or is left out with `keep_going`
    (the samples after it are numbered on).
    """
    root, out = _checked_arguments(dataset_dir, out_dir, width, height, limit, passed_only, keep_going)
    rows = select_rows(root, out, split, width, height, passed_only, limit)
    written = kept = 0
    captions: list[str] = []
    skipped: list[str] = []
    with staging_dir(out) as stage:  # nothing reaches OUT until every clip is done
        staged = []
        for done, row in enumerate(rows, start=1):
            name = f"{SAMPLE_PREFIX}{len(captions) + 1}"
            if _sample_is(out / name, export_key(row, width, height)):
                kept += 1
            else:
                try:
                    export_sample(root, row, stage / name, width, height)
                except DamagedClip as e:
                    if not keep_going:
                        raise DamagedClip(f"{e}; pass --keep-going to skip damaged clips") from None
                    skipped.append(str(e))
                    continue
                staged.append(name)
                written += 1
            captions.append(" ".join(str(row["caption"]).split()))  # one line per sample
            if progress is not None:
                progress(done, len(rows))
        if not captions:
            raise UserError(f"none of the {len(rows)} clip(s) could be exported: {skipped[0]}")
        write_text(stage / CAPTION_TXT, "\n".join(captions) + "\n")
        for name in (*staged, CAPTION_TXT):
            move_into(stage / name, out / name)
    _remove_stale(out, len(captions))
    return ExportReport(out, len(captions), written, kept, tuple(skipped))


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


# --------------------------------------------------------------------------- the release's examples layout

EXAMPLES_INDEX = ".hmworld-examples.json"  # what we wrote: export keys per number, to resume and trim


def export_examples(
    dataset_dir: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = None,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    passed_only: bool = False,
    limit: int | None = None,
    keep_going: bool = False,
) -> ExportReport:
    """Export clips as the HyDRA release's examples: OUT/<i>.mp4 + OUT/cam<i>.json + OUT/caption.txt.

    <i>.mp4 is the clip's context stream (the first half, padded to 77 frames
    as the official files are); cam<i>.json the stream-form cameras of both
    halves; caption line i belongs to <i>.mp4. This is what
    `infer_hydra.py --examples_dir OUT` reads: it conditions on the context and
    generates the target half along tgt_cam. Numbers run 1..N with no gaps.
    """
    root, out = _checked_arguments(dataset_dir, out_dir, width, height, limit, passed_only, keep_going)
    rows = select_rows(root, out, split, width, height, passed_only, limit)
    try:
        before = json.loads((out / EXAMPLES_INDEX).read_text(encoding="utf-8"))["keys"]
    except (OSError, ValueError, KeyError, TypeError):
        before = []
    keys: list[str] = []
    captions: list[str] = []
    skipped: list[str] = []
    written = kept = 0
    with staging_dir(out) as stage:  # nothing reaches OUT until every clip is done
        staged: list[str] = []
        for row in rows:
            n = len(captions) + 1
            key = export_key(row, width, height)
            video, cam = f"{n}.mp4", f"cam{n}.json"
            if n <= len(before) and before[n - 1] == key and (out / video).is_file() and (out / cam).is_file():
                kept += 1
            else:
                try:
                    record, frames, _ = _read_media(root, row)
                except DamagedClip as e:
                    if not keep_going:
                        raise DamagedClip(f"{e}; pass --keep-going to skip damaged clips") from None
                    skipped.append(str(e))
                    continue
                cond, _ = split_streams(cover_rgb(frames, (height, width)))
                write_video(stage / video, cond, record.shot.fps)
                write_json(stage / cam, camera_streams_json(record.shot.c2w), indent=None)
                staged += [video, cam]
                written += 1
            keys.append(key)
            captions.append(" ".join(str(row["caption"]).split()))
        if not captions:
            raise UserError(f"none of the {len(rows)} clip(s) could be exported: {skipped[0]}")
        write_text(stage / CAPTION_TXT, "\n".join(captions) + "\n")
        for name in (*staged, CAPTION_TXT):
            move_into(stage / name, out / name)
    for n in range(len(keys) + 1, len(before) + 1):  # numbers an earlier, larger export of ours left
        for name in (f"{n}.mp4", f"cam{n}.json"):
            (out / name).unlink(missing_ok=True)
    write_json(out / EXAMPLES_INDEX, {"keys": keys})
    return ExportReport(out, len(captions), written, kept, tuple(skipped))
