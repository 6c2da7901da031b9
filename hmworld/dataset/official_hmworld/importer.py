"""`hmworld import-hmworld`: the official HM-World layouts → our clip folders.

Two layouts are read:
- dataset: SRC/sample<i>/{cond.mp4, tgt.mp4, cond_mask.mp4, tgt_mask.mp4, camera.json,
  character.json, check.json} + SRC/caption.txt (sample<i> has line i, gaps in the numbering or not);
  our cond_depth.npz / tgt_depth.npz, when both are there, become the clip's depth.npz;
- examples (the HyDRA release's examples/): SRC/<i>.mp4 (context stream only) + SRC/cam<i>.json
  (stream form) + SRC/caption.txt (line i); each becomes a 75-frame context-only clip whose
  target-stream poses ride along in shot.extra, so its HyDRA camera tensors stay exact.

Our own character.json / check.json restore subjects, events and pixel counts
exactly; foreign ones are tolerated and ignored, and what the official files
cannot tell (intrinsics, subject poses) is marked as such: hfov from
--hfov, a subject seen only in masks has NaN poses.
"""

from __future__ import annotations

import json
import numbers
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from hmworld.atomic import atomic_dir
from hmworld.clip import VIDEO_FILE, Caption, Measured, clip_dir, is_complete, write_caption
from hmworld.dataset.official_hmworld.layout import (
    CAMERA_JSON,
    CAPTION_TXT,
    CHARACTER_JSON,
    CHECK_JSON,
    COND_DEPTH_NPZ,
    COND_MASK_MP4,
    COND_MP4,
    EXAMPLE_RE,
    FORMAT_VERSION,
    MASK_LEVELS,
    OFFICIAL_LAYOUT,
    SAMPLE_RE,
    TGT_DEPTH_NPZ,
    TGT_MASK_MP4,
    TGT_MP4,
    StreamLayout,
    check_rigid,
    is_our_check,
    mask_ids,
    read_camera_json,
    read_character_json,
)
from hmworld.dataset.rows import TARGET_C2W_KEY
from hmworld.dataset.writer import Problem
from hmworld.depth import read_depth
from hmworld.errors import BadArgumentType, UserError
from hmworld.events import ClipEvents, Event, EventParams, Pair, write_events
from hmworld.geometry import intrinsics
from hmworld.options import check_flags, check_path, check_whole_type
from hmworld.render.base import finish_clip
from hmworld.shot import Shot
from hmworld.video import read_video, video_info, write_video

DEFAULT_HFOV_DEG = 90.0  # HM-World publishes no intrinsics; UE's default camera field of view
IMPORT_PRESET = "veryfast"  # re-encoding only trims padding; speed matters more than file size
BACKEND = {"name": "hmworld-import", "version": str(FORMAT_VERSION)}
UNKNOWN = "unknown"
SOURCE_SCENE = "hmworld"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ImportReport:
    out_dir: Path
    layout: str  # "dataset" or "examples"
    clips: tuple[str, ...]
    kept: int
    skipped: tuple[Problem, ...]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    if not isinstance(d, dict):
        raise ValueError(f"{path} holds a JSON {type(d).__name__}, expected an object")
    return d


def _captions(src: Path) -> list[str]:
    path = src / CAPTION_TXT
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]


def _sample_clip_id(sample: Path, check: dict[str, Any]) -> str:
    """Ours keep their clip id; foreign samples are named after their folder."""
    return str(check["clip_id"]) if is_our_check(check) else _SAFE.sub("-", f"hmworld-{sample.name}")


def _example_clip_id(number: int) -> str:
    return f"hmworld-example-{number}"


def _fps(path: Path) -> int:
    return round(float(video_info(path).fps))


@dataclass(frozen=True)
class _Subjects:
    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    paths: tuple[str, ...]
    gaits: tuple[str, ...]
    size: np.ndarray
    pos: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    phase: np.ndarray


def _unknown_subjects(n: int, t: int) -> _Subjects:
    """Subjects seen only in masks: identity and poses unknown (NaN)."""
    names = tuple(f"hmworld_subject_{k}" for k in range(n))
    nan = np.full
    return _Subjects(names, (UNKNOWN,) * n, (UNKNOWN,) * n, (UNKNOWN,) * n, nan((n, 3), np.nan),
                     nan((n, t, 3), np.nan), nan((n, t), np.nan), nan((n, t), np.nan), nan((n, t), np.nan))


def _write_clip(
    out_root: Path, shot: Shot, rgb: np.ndarray, ids: np.ndarray, measured: Measured, caption: str,
    captioner: str, events: ClipEvents | None, source: str, depth: np.ndarray | None = None,
) -> None:
    """clips/<id>/ whole or not at all: written under a temporary name, renamed when complete, so a
    failure half-way (a full disk, a sample finish_clip refuses) leaves no folder of loose files."""
    with atomic_dir(clip_dir(out_root, shot.clip_id)) as folder:
        write_video(folder / VIDEO_FILE, rgb, shot.fps, preset=IMPORT_PRESET)
        if caption.strip():  # no caption.json for a sample without a caption (a caption is never empty)
            write_caption(folder, Caption(caption, captioner or "hmworld-import"))
        if events is not None:
            write_events(folder, events)
        finish_clip(folder, shot, ids, measured, {**BACKEND, "source": source}, {}, depth)  # clip.json last


def _events_from_check(check: dict[str, Any], clip_id: str, n: int, t: int, fps: int, scene: str,
                       camera: str) -> ClipEvents | None:
    if "states" not in check or "events" not in check:
        return None
    states = np.asarray(check["states"], dtype=np.int8).reshape(n, t)
    return ClipEvents(
        clip_id=clip_id,
        states=states,
        events=tuple(Event(int(e["subject"]), str(e["kind"]), int(e["frame"]), float(e["time_s"])) for e in check["events"]),
        pairs=tuple(Pair(int(p["subject"]), int(p["exit_frame"]), int(p["entry_frame"]), int(p["hidden_frames"]))
                    for p in check.get("pairs", [])),
        passed=bool(check.get("passed", False)),
        params=EventParams.from_dict(check.get("event_params") or {}),
        fps=fps,
        scene=scene,
        camera=camera,
    )


def import_sample(sample: Path, caption: str, out_root: Path, hfov_deg: float) -> str:
    """One sample<i>/ folder → one clip folder under out_root/clips; returns the clip id."""
    check = _read_json(sample / CHECK_JSON)
    ours = is_our_check(check)
    if ours:
        s = check["streams"]
        layouts = (StreamLayout.from_dict(s["cond"]), StreamLayout.from_dict(s["tgt"]))
    else:
        layouts = OFFICIAL_LAYOUT
    camera = read_camera_json(_read_json(sample / CAMERA_JSON), layouts, exact_raw=ours)
    check_rigid(camera.c2w, f"{sample.name}/{CAMERA_JSON}")
    missing = [name for name in (COND_MP4, TGT_MP4, COND_MASK_MP4, TGT_MASK_MP4) if not (sample / name).is_file()]
    if missing:  # without masks the subjects' pixels would silently read as empty
        raise ValueError(f"{sample.name}: {', '.join(missing)} missing; the dataset layout needs all four videos")
    cond, tgt = read_video(sample / COND_MP4), read_video(sample / TGT_MP4)
    if cond.shape[0] < layouts[0].pad_front + layouts[0].frames or tgt.shape[0] < layouts[1].pad_front + layouts[1].frames:
        raise ValueError(f"{sample}: streams have {cond.shape[0]} and {tgt.shape[0]} frames, "
                         f"expected {layouts[0].pad_front + layouts[0].frames + layouts[0].pad_back} each")
    rgb = np.concatenate([layouts[0].unpad(cond), layouts[1].unpad(tgt)])
    t, h, w = rgb.shape[:3]
    if camera.c2w.shape[0] < t:
        raise ValueError(f"{sample}: camera.json gives {camera.c2w.shape[0]} frames, the videos {t}")
    c2w = camera.c2w[:t]
    mc, mt = read_video(sample / COND_MASK_MP4), read_video(sample / TGT_MASK_MP4)
    masks = np.concatenate([layouts[0].unpad(mc), layouts[1].unpad(mt)])
    if masks.shape[:3] != (t, h, w):
        raise ValueError(f"{sample}: masks are {list(masks.shape[:3])}, the videos {[t, h, w]}")
    depth = None
    if (sample / COND_DEPTH_NPZ).is_file() and (sample / TGT_DEPTH_NPZ).is_file():
        try:
            depth = np.concatenate([layouts[0].unpad(read_depth(sample / COND_DEPTH_NPZ)),
                                    layouts[1].unpad(read_depth(sample / TGT_DEPTH_NPZ))])
        except zipfile.BadZipFile as e:  # the caller reports ValueErrors per sample
            raise ValueError(f"{sample}: depth cannot be read ({e})") from None
        if depth.shape != (t, h, w):
            raise ValueError(f"{sample}: depth is {list(depth.shape)}, the videos {[t, h, w]}")
    chars = read_character_json(_read_json(sample / CHARACTER_JSON), t) if ours else None
    if chars is not None:
        subj = _Subjects(
            tuple(c.id for c in chars), tuple(c.kind for c in chars), tuple(c.path for c in chars),
            tuple(c.gait for c in chars), np.stack([c.size for c in chars]) if chars else np.zeros((0, 3)),
            *(np.stack([getattr(c, k) for c in chars]) if chars else np.zeros((0, t, 3) if k == "pos" else (0, t))
              for k in ("pos", "heading", "speed", "phase")),
        )
    else:
        subj = _unknown_subjects(1 if mask_ids(masks, 1).any() else 0, t)
    n = len(subj.ids)
    ids = mask_ids(masks, n, MASK_LEVELS if ours else None)
    counted = np.stack([(ids == k + 1).reshape(t, -1).sum(1) for k in range(n)]) if n else np.zeros((0, t), np.int64)
    if ours and [check.get("width"), check.get("height")] == [w, h] and check.get("visible_pixels") is not None:
        vis = np.asarray(check["visible_pixels"], np.int64).reshape(n, t)
        sil = check.get("silhouette_pixels")
        measured = Measured(vis, None if sil is None else np.asarray(sil, np.int64).reshape(n, t))
    else:
        measured = Measured(counted.astype(np.int64), None)
    clip_id = _sample_clip_id(sample, check)
    hfov = float(check.get("hfov_deg", hfov_deg)) if ours else hfov_deg
    fps = int(check.get("fps", 0)) if ours else _fps(sample / COND_MP4)
    scene = str(check.get("scene", SOURCE_SCENE)) if ours else SOURCE_SCENE
    cam_name = str(check.get("camera_trajectory", SOURCE_SCENE)) if ours else SOURCE_SCENE
    shot = Shot(
        clip_id=clip_id, scene=scene, subjects=subj.ids, paths=subj.paths, gaits=subj.gaits, camera=cam_name,
        placement=int(check.get("placement", -1)) if ours else -1, seed=int(check.get("seed", 0)) if ours else 0,
        fps=fps, frames=t, width=w, height=h, hfov_deg=hfov, c2w=c2w, K=intrinsics(hfov, w, h),
        subject_pos=subj.pos, subject_heading=subj.heading, subject_phase=subj.phase, subject_speed=subj.speed,
        subject_size=subj.size,
        extra={"import": {"source": str(sample), "layout": "dataset", "camera_form": camera.form,
                          "ours": ours}, "subject_kinds": list(subj.kinds)},
    )
    events = _events_from_check(check, clip_id, n, t, fps, scene, cam_name) if ours else None
    captioner = str(check.get("captioner") or "hmworld-import") if ours else "hmworld-import"
    if not caption and ours:
        caption = str(check.get("caption", ""))
    _write_clip(out_root, shot, rgb, ids, measured, caption, captioner, events, str(sample), depth)
    return clip_id


def import_example(number: int, src: Path, caption: str, out_root: Path, hfov_deg: float) -> str:
    """<i>.mp4 + cam<i>.json of the HyDRA examples → a 75-frame context-only clip."""
    camera = read_camera_json(_read_json(src / f"cam{number}.json"), OFFICIAL_LAYOUT, exact_raw=False)
    if camera.cond is None or camera.tgt is None:
        raise ValueError(f"{src / f'cam{number}.json'}: expected the stream form (cond_cam, tgt_cam)")
    check_rigid(np.concatenate([camera.cond, camera.tgt]), f"cam{number}.json")
    layout_c, layout_t = OFFICIAL_LAYOUT
    video = src / f"{number}.mp4"
    rgb = layout_c.unpad(read_video(video))
    t, h, w = rgb.shape[:3]
    if t != layout_c.frames:
        raise ValueError(f"{video}: {t} context frames after removing padding, expected {layout_c.frames}")
    clip_id = _example_clip_id(number)
    fps = _fps(video)
    empty = _unknown_subjects(0, t)
    shot = Shot(
        clip_id=clip_id, scene=SOURCE_SCENE, subjects=(), paths=(), gaits=(), camera=SOURCE_SCENE, placement=-1,
        seed=0, fps=fps, frames=t, width=w, height=h, hfov_deg=hfov_deg, c2w=layout_c.unpad(camera.cond),
        K=intrinsics(hfov_deg, w, h), subject_pos=empty.pos, subject_heading=empty.heading,
        subject_phase=empty.phase, subject_speed=empty.speed, subject_size=empty.size,
        extra={"import": {"source": str(video), "layout": "examples", "camera_form": camera.form, "ours": False},
               TARGET_C2W_KEY: layout_t.unpad(camera.tgt).tolist(), "subject_kinds": []},
    )
    ids = np.zeros((t, h, w), np.uint8)
    _write_clip(out_root, shot, rgb, ids, Measured(np.zeros((0, t), np.int64), None), caption, "hmworld-import",
                None, str(video))
    return clip_id


def detect_layout(src: Path) -> tuple[str, list[tuple[int, Path]]]:
    """("dataset", [(number, sample dir)]) or ("examples", [(number, mp4)]), numerically ordered."""
    if not src.is_dir():
        raise UserError(f"{str(src)!r} is not a folder")
    samples = sorted((int(m.group(1)), p) for p in src.iterdir() if p.is_dir() and (m := SAMPLE_RE.match(p.name)))
    if samples:
        return "dataset", samples
    examples = sorted(
        (int(m.group(1)), p) for p in src.iterdir()
        if p.is_file() and (m := EXAMPLE_RE.match(p.name)) and (src / f"cam{m.group(1)}.json").is_file()
    )
    if examples:
        return "examples", examples
    raise UserError(f"{str(src)!r} holds neither sample<i>/ folders (HM-World dataset layout) nor "
                    "<i>.mp4 + cam<i>.json files (HyDRA examples layout)")


def import_hmworld(
    src: str | Path,
    out_dir: str | Path,
    *,
    hfov_deg: float = DEFAULT_HFOV_DEG,
    keep_going: bool = False,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Read an HM-World folder into OUT/clips/<clip_id>/ (then `hmworld package OUT`)."""
    check_flags(keep_going=keep_going)
    check_whole_type("limit", limit, none="every sample")
    if isinstance(hfov_deg, bool) or not isinstance(hfov_deg, numbers.Real):
        raise BadArgumentType(f"hfov_deg must be a number of degrees, got {hfov_deg!r} ({type(hfov_deg).__name__})")
    src, out = check_path("src", src), check_path("out_dir", out_dir)
    if not 0.0 < hfov_deg < 180.0:
        raise UserError(f"hfov must be in (0, 180) degrees, got {hfov_deg}")
    if limit is not None and limit < 1:
        raise UserError(f"limit must be at least 1, got {limit}")
    layout, items = detect_layout(src)
    items = items[:limit] if limit else items
    captions = _captions(src)
    done: list[str] = []
    problems: list[Problem] = []
    kept = 0
    for k, (number, path) in enumerate(items):
        line = number - 1  # caption line i belongs to sample<i> / <i>.mp4, whatever numbers are missing
        caption = captions[line] if 0 <= line < len(captions) else ""
        try:
            cid = _sample_clip_id(path, _read_json(path / CHECK_JSON)) if layout == "dataset" else _example_clip_id(number)
            if is_complete(clip_dir(out, cid)):
                done.append(cid)
                kept += 1
            elif layout == "dataset":
                done.append(import_sample(path, caption, out, hfov_deg))
            else:
                done.append(import_example(number, src, caption, out, hfov_deg))
        except (OSError, ValueError, KeyError, TypeError, av.error.FFmpegError) as e:
            problems.append(Problem(path.name, f"{path}: {type(e).__name__}: {e}"))
            if not keep_going:
                raise UserError(f"cannot import {path}: {e} (pass --keep-going to skip it)") from None
        if progress is not None:
            progress(k + 1, len(items))
    return ImportReport(out, layout, tuple(done), kept, tuple(problems))
