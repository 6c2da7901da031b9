"""The render backend interface: a shot in, a complete clip folder out.

Every backend (builtin ray caster, Unreal Engine 5, a future Blender one)
implements `Backend` and finishes its clip with `finish_clip`, so the clip
folder contract (hmworld.clip) is written in exactly one place: instances
and depth (when the backend has it) first, clip.json last and atomically.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hmworld.clip import (
    DEPTH_FILE,
    INSTANCES_FILE,
    INSTANCES_KEY,
    VIDEO_FILE,
    ClipRecord,
    Measured,
    read_clip,
    write_clip_json,
)
from hmworld.depth import write_depth
from hmworld.errors import UserError
from hmworld.frame_arrays import write_frames
from hmworld.shot import Shot


@dataclass(frozen=True)
class ShotResult:
    """What became of one shot of a batch: frames written (0 on failure), wall seconds, error.

    `error` is the traceback text of a failure of this shot alone (the rest of
    the batch goes on); None means its clip folder is complete.
    """

    clip_id: str
    frames: int
    seconds: float
    error: str | None = None


@runtime_checkable
class Backend(Protocol):
    """Realises a shot as a clip folder; never invents motion (the shot is the truth).

    `render_clip` writes `rgb.mp4`, `instances.npz` and, if it can, `depth.npz`
    into `out_dir` (created if missing) and returns the parsed clip.json it wrote last. A backend is
    created once per worker process and may keep state (compiled kernels, an
    editor session) across clips.

    `render_batch` takes up to `batch_size` (shot, clip folder) pairs and
    yields one ShotResult per shot as each one finishes (not in input order
    necessarily); a UserError (bad setup) propagates and ends the batch.
    """

    name: str
    version: str
    batch_size: int

    def render_clip(self, shot: Shot, out_dir: Path) -> ClipRecord: ...

    def render_batch(self, items: Sequence[tuple[Shot, Path]]) -> Iterator[ShotResult]: ...


def render_each(backend: Backend, items: Sequence[tuple[Shot, Path]]) -> Iterator[ShotResult]:
    """The default `render_batch`: `render_clip` shot after shot, a failure kept to its shot."""
    for shot, out_dir in items:
        start = time.perf_counter()
        try:
            backend.render_clip(shot, Path(out_dir))
        except UserError:
            raise
        except Exception:
            yield ShotResult(shot.clip_id, 0, time.perf_counter() - start, traceback.format_exc())
            continue
        yield ShotResult(shot.clip_id, shot.frames, time.perf_counter() - start)


def keeps_session(backend: Backend) -> bool:
    """Whether the backend holds a costly session (an editor) that a pool of long-lived workers should keep.

    Declared by the class attribute `session = True` (ue5); without it a
    backend is cheap to start per clip (builtin).
    """
    return bool(getattr(backend, "session", False))


def backend_info(backend: Backend, **extra: Any) -> dict[str, Any]:
    """The `backend` block of clip.json: name, version and the options that shaped the pixels."""
    return {"name": backend.name, "version": backend.version, **extra}


def write_instances(out_dir: str | Path, ids: np.ndarray) -> Path:
    """Store the instance-id stack (`ids` uint8 [T,H,W]) losslessly and atomically, one deflated
    member per frame (hmworld.frame_arrays), so a reader of a window inflates only its frames."""
    return write_frames(Path(out_dir) / INSTANCES_FILE, INSTANCES_KEY, np.asarray(ids, dtype=np.uint8))


def finish_clip(
    out_dir: str | Path,
    shot: Shot,
    ids: np.ndarray,
    measured: Measured,
    backend: dict[str, Any],
    stats: dict[str, Any],
    depth: np.ndarray | None = None,
) -> ClipRecord:
    """Check what a backend produced against the shot, store ids and depth, then write clip.json last.

    depth: float [T,H,W] metres along the optical axis (+inf: no surface), or None
    for a backend without depth (a depth.npz left in the folder is then removed,
    so clip.json never pairs these frames with another render's depth).
    The video must already be in place: clip.json promises every file is complete.
    """
    out_dir = Path(out_dir)
    t, n = shot.frames, shot.n_subjects
    if ids.shape != (t, shot.height, shot.width):
        raise ValueError(f"instance ids have shape {ids.shape}, the shot needs {(t, shot.height, shot.width)}")
    if ids.dtype != np.uint8:
        raise ValueError(f"instance ids must be uint8, got {ids.dtype}")
    if measured.visible_pixels.shape != (n, t):
        raise ValueError(f"visible_pixels has shape {measured.visible_pixels.shape}, expected {(n, t)}")
    if measured.silhouette_pixels is not None and measured.silhouette_pixels.shape != (n, t):
        raise ValueError(f"silhouette_pixels has shape {measured.silhouette_pixels.shape}, expected {(n, t)}")
    if depth is not None and depth.shape != (t, shot.height, shot.width):
        raise ValueError(f"depth has shape {depth.shape}, the shot needs {(t, shot.height, shot.width)}")
    if not (out_dir / VIDEO_FILE).is_file():
        raise FileNotFoundError(f"{out_dir / VIDEO_FILE} is missing; write the video before finishing the clip")
    write_instances(out_dir, ids)
    if depth is not None:
        write_depth(out_dir / DEPTH_FILE, depth)
    else:
        (out_dir / DEPTH_FILE).unlink(missing_ok=True)
    write_clip_json(out_dir, shot, measured, backend, stats)
    return read_clip(out_dir)


def measure_ids(ids: np.ndarray, n_subjects: int) -> np.ndarray:
    """Visible pixels per subject and frame [N,T] from an id stack [T,H,W] (k = subject k-1)."""
    t = ids.shape[0]
    flat = ids.reshape(t, -1)
    return np.stack([(flat == k + 1).sum(axis=1) for k in range(n_subjects)]).reshape(n_subjects, t)
