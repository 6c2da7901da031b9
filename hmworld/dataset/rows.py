"""One clip folder → one table row; many rows → arrow tables.

Ground truth comes from the shot (clip.json), measurements from the backend,
states and events from hmworld.events, captions from caption.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from hmworld.catalog import SUBJECTS
from hmworld.clip import CLIPS_DIR, Caption, ClipRecord
from hmworld.dataset.arrays import to_arrow
from hmworld.dataset.digests import file_sha256
from hmworld.dataset.schema import MAX_SUBJECTS, pixel_counts_schema, table_schema
from hmworld.events import ClipEvents
from hmworld.geometry import (
    HYDRA_STREAM_LEN,
    hydra_camera_tensor,
    pad_stream,
    project,
    split_streams,
)

TARGET_C2W_KEY = "target_c2w"  # shot.extra: target-stream poses of a context-only clip (HM-World examples)


def subject_kinds(subjects: Sequence[str], fallback: Sequence[str] | None = None) -> list[str]:
    """Catalog kinds; ids the catalog does not know keep the fallback (or 'unknown')."""
    out = []
    for i, s in enumerate(subjects):
        spec = SUBJECTS.get(s)
        out.append(spec.kind if spec is not None else (fallback[i] if fallback else "unknown"))
    return out


def hydra_cams(c2w: np.ndarray, extra: dict[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """HyDRA's [20,12] context and target camera tensors of a clip, or (None, None) if it cannot have them.

    A whole clip is split 75 + 75 (`split_streams`); a context-only clip (imported
    HM-World examples) carries its target-stream poses in shot.extra.
    """
    if TARGET_C2W_KEY in extra:
        tgt = np.asarray(extra[TARGET_C2W_KEY], dtype=np.float64).reshape(-1, 4, 4)
        if c2w.shape[0] > HYDRA_STREAM_LEN or tgt.shape[0] > HYDRA_STREAM_LEN:
            return None, None
        cond_s, tgt_s = pad_stream(c2w), pad_stream(tgt)
    else:
        if not 2 <= c2w.shape[0] <= 2 * HYDRA_STREAM_LEN:
            return None, None
        cond_s, tgt_s = split_streams(c2w)
    cond, tgt = hydra_camera_tensor(cond_s, tgt_s)
    return cond.astype(np.float32), tgt.astype(np.float32)


def clip_row(record: ClipRecord, events: ClipEvents, caption: Caption | None, split: str) -> dict[str, Any]:
    """The table row of one clip (numpy arrays for the array columns).

    Reads rgb.mp4, instances.npz and depth.npz (when the clip has depth) once
    each for their SHA-256 (`validate` compares it with the files later); raises
    OSError if one cannot be read.
    """
    shot = record.shot
    n, t = shot.n_subjects, shot.frames
    rel = f"{CLIPS_DIR}/{shot.clip_id}"
    centers = shot.subject_centers()  # [N,T,3]
    proj = project(np.swapaxes(centers, 0, 1), shot.c2w, shot.K)  # uv [T,N,2], depth [T,N]
    uv = np.where(proj.in_front[..., None], proj.uv, np.nan)
    cond, tgt = hydra_cams(shot.c2w, shot.extra)
    sil = record.measured.silhouette_pixels
    if events.states.shape != (n, t):
        raise ValueError(f"clip {shot.clip_id}: events states have shape {events.states.shape}, expected {(n, t)}")
    fallback_kinds = shot.extra.get("subject_kinds")
    return {
        "clip_id": shot.clip_id,
        "split": split,
        "scene": shot.scene,
        "subjects": list(shot.subjects),
        "subject_kinds": subject_kinds(shot.subjects, fallback_kinds),
        "subject_paths": list(shot.paths),
        "subject_gaits": list(shot.gaits),
        "camera_trajectory": shot.camera,
        "placement": shot.placement,
        "seed": shot.seed,
        "backend": str(record.backend.get("name", "")),
        "backend_version": str(record.backend.get("version", "")),
        "fps": shot.fps,
        "frames": t,
        "width": shot.width,
        "height": shot.height,
        "hfov_deg": float(shot.hfov_deg),
        "video_path": f"{rel}/{record.video_path.name}",
        "instances_path": f"{rel}/{record.instances_path.name}",
        "depth_path": f"{rel}/{record.depth_path.name}" if record.has_depth else None,
        "video_sha256": file_sha256(record.video_path),
        "instances_sha256": file_sha256(record.instances_path),
        "depth_sha256": file_sha256(record.depth_path) if record.has_depth else None,
        "caption": "" if caption is None else caption.caption,
        "captioner": "" if caption is None else caption.captioner,
        "camera_c2w": shot.c2w,
        "K": shot.K,
        "hydra_cond_cam": cond,
        "hydra_tgt_cam": tgt,
        "subject_size": shot.subject_size,
        "subject_pos": shot.subject_pos,
        "subject_heading": shot.subject_heading,
        "subject_speed": shot.subject_speed,
        "subject_phase": shot.subject_phase,
        "subject_xy": np.swapaxes(uv, 0, 1),
        "subject_depth": np.swapaxes(proj.depth, 0, 1),
        "states": events.states.astype(np.int8),
        "visible_pixels": record.measured.visible_pixels,
        "silhouette_pixels": sil,
        "events": [
            {"subject": int(e.subject), "kind": str(e.kind), "frame": int(e.frame), "time_s": float(e.time_s)}
            for e in events.events
        ],
        "pairs": [
            {
                "subject": int(p.subject),
                "exit_frame": int(p.exit_frame),
                "entry_frame": int(p.entry_frame),
                "hidden_frames": int(p.hidden_frames),
            }
            for p in events.pairs
        ],
        "n_pairs": len(events.pairs),
        "passed": bool(events.passed),
    }


def rows_table(rows: Sequence[dict[str, Any]], frames: int) -> pa.Table:
    """Rows → an arrow table with the dataset schema (features embedded)."""
    schema = table_schema(frames)
    arrays = [to_arrow([r[f.name] for r in rows], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def pad_subjects(a: np.ndarray | None, t: int, fill: int) -> np.ndarray:
    """[N,T] → [3,T], padded with `fill`; None → all `fill`."""
    out = np.full((MAX_SUBJECTS, t), fill, dtype=np.int32)
    if a is not None:
        out[: a.shape[0]] = a
    return out


def pixel_counts_table(rows: Sequence[dict[str, Any]], frames: int) -> pa.Table:
    """meta/pixel_counts.parquet: what hmworld.events needs to run over the whole dataset at once."""
    schema = pixel_counts_schema(frames)
    cols = {
        "clip_id": [r["clip_id"] for r in rows],
        "n_subjects": [len(r["subjects"]) for r in rows],
        "fps": [r["fps"] for r in rows],
        "frames": [r["frames"] for r in rows],
        "width": [r["width"] for r in rows],
        "height": [r["height"] for r in rows],
        "visible": [pad_subjects(r["visible_pixels"], frames, 0) for r in rows],
        "silhouette": [
            pad_subjects(r["silhouette_pixels"], frames, 0)
            if r["silhouette_pixels"] is not None
            else np.full((MAX_SUBJECTS, frames), -1, np.int32)
            for r in rows
        ],
    }
    return pa.Table.from_arrays([to_arrow(cols[f.name], f.type) for f in schema], schema=schema)
