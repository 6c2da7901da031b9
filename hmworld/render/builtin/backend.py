"""The builtin backend: realise a shot with the numba ray caster and write its clip folder.

The static scene is built and packed once per clip; each frame adds the
subjects posed by the shot (never motion of our own); frames are cast a batch
at a time, one per thread, and streamed to the H.264 encoder while ids and
pixel counts collect. Depth (each pixel centre's camera-space z, the kernels'
primary sample) is kept as float16 metres (hmworld.depth) and written as depth.npz.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

from hmworld.clip import VIDEO_FILE, ClipRecord, Measured
from hmworld.depth import DEPTH_DTYPE, encode_depth
from hmworld.render import register_backend
from hmworld.render.base import ShotResult, backend_info, finish_clip, render_each
from hmworld.render.builtin import kernels as kn
from hmworld.render.builtin.primitives import PrimitiveSet
from hmworld.render.builtin.raycast import (
    Frame,
    Packed,
    RenderOptions,
    SunSky,
    cast_pool,
    pack,
    prepare_frames,
    submit_frames,
)
from hmworld.render.builtin.scenes import build_scene
from hmworld.render.builtin.subjects import pose_subjects
from hmworld.shot import Shot
from hmworld.video import DEFAULT_CRF, open_video

VERSION = "1.1"  # 1.1: edge pixels whose two samples across the edge agree with the centre take their mean

PoseFn = Callable[[Shot, int], PrimitiveSet]
SceneFn = Callable[[str, int], Any]  # → an object with BuiltScene's fields (prims, sun_dir, …)


def concat_packed(static: Packed, dynamic: Packed) -> Packed:
    """Static scenery followed by this frame's primitives (material indices re-based)."""
    if len(dynamic) == 0:
        return static
    index = dynamic.prim_index.copy()
    index[:, kn.I_MAT] += len(static.mat_pattern)
    return Packed(
        np.concatenate([static.prim_index, index]),
        np.concatenate([static.prim_geometry, dynamic.prim_geometry]),
        np.concatenate([static.mat_pattern, dynamic.mat_pattern]),
        np.concatenate([static.mat_params, dynamic.mat_params]),
    )


@dataclass(frozen=True)
class ShotStats:
    """What rendering a shot cost, for clip.json's stats."""

    frames: int
    render_s: float
    render_cpu_s: float
    static_primitives: int
    max_subject_primitives: int
    edge_pixel_fraction: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "render_s": round(self.render_s, 4),
            "render_fps": round(self.frames / self.render_s, 2) if self.render_s > 0 else None,
            "render_cpu_s": round(self.render_cpu_s, 4),
            "static_primitives": self.static_primitives,
            "max_subject_primitives": self.max_subject_primitives,
            "edge_pixel_fraction": round(self.edge_pixel_fraction, 5),
        }


def render_shot(
    shot: Shot,
    static: PrimitiveSet | Packed,
    lighting: SunSky,
    pose: PoseFn,
    options: RenderOptions | None = None,
    stats: dict[str, Any] | None = None,
    batch: int | None = None,
) -> Iterator[Frame]:
    """Frames of a shot in order; fills `stats` (ShotStats fields) when the last is yielded.

    Frames are posed and binned `batch` at a time (default: 4 per thread) on this thread and
    cast a frame per thread on numba's thread count; up to two batches are in flight, so the
    casting threads take the next batch's frames while this one poses the batch after (the
    kernels release the GIL) and no thread waits at a batch's end.

    Two costs go into `stats`. render_s: wall seconds the caller waited for frames, not the time
    it held them; casting goes on while it holds one (encoding it, say), so this is the part of
    rendering that its own work did not hide, and frames / render_s overstates what rendering
    alone delivers. render_cpu_s: CPU seconds of the rendering itself on every thread (posing,
    binning and casting; each measured on the thread that did it), the cost of the shot.
    """
    options = options or RenderOptions()
    threads = numba.get_num_threads()
    batch = batch or 4 * threads
    cpu_start = time.thread_time()
    static_p = static if isinstance(static, Packed) else pack(static)
    render_s, render_cpu_s = 0.0, time.thread_time() - cpu_start
    edges = 0
    max_dyn = 0
    with cast_pool(threads) as pool:
        pending: deque = deque()
        try:
            for t0 in [*range(0, shot.frames, batch), shot.frames]:
                start = time.perf_counter()
                if t0 < shot.frames:
                    cpu_start = time.thread_time()
                    todo = []
                    for t in range(t0, min(t0 + batch, shot.frames)):
                        dynamic = pack(pose(shot, t))
                        max_dyn = max(max_dyn, len(dynamic))
                        todo.append((concat_packed(static_p, dynamic), shot.c2w[t]))
                    prepared = prepare_frames(todo, shot.K, shot.width, shot.height, lighting, options)
                    render_cpu_s += time.thread_time() - cpu_start  # casting is counted per frame
                    pending.extend(submit_frames(prepared, pool))
                keep = batch if t0 < shot.frames else 0  # the batch just queued stays in flight
                while len(pending) > keep:
                    frame = pending.popleft().result()
                    render_s += time.perf_counter() - start
                    edges += frame.edge_pixels
                    render_cpu_s += frame.cast_cpu_s
                    yield frame
                    start = time.perf_counter()
                render_s += time.perf_counter() - start
        finally:  # the caller stopped early (an error, Ctrl-C): cast no more frames
            for future in pending:
                future.cancel()
    if stats is not None:
        stats.update(
            ShotStats(
                shot.frames, render_s, render_cpu_s, len(static_p), max_dyn,
                edges / (shot.frames * shot.width * shot.height),
            ).to_dict()
        )


@register_backend("builtin")
class BuiltinBackend:
    """The default backend: pure Python + numba, no GPU or display needed."""

    name = "builtin"
    version = VERSION
    batch_size = 1  # no start-up to amortise: one clip per work unit balances workers best

    def __init__(
        self,
        antialias: bool = True,
        shadows: bool = True,
        crf: int = DEFAULT_CRF,
        depth: bool = True,
        scene_fn: SceneFn | None = None,
        pose_fn: PoseFn | None = None,
    ) -> None:
        """scene_fn(scene_id, seed) and pose_fn(shot, frame) default to the catalog's
        `scenes.build_scene` and `subjects.pose_subjects`; tests and benchmarks pass their own.
        depth=False writes no depth.npz (it is 7-9x the video's size; see docs/FORMAT.md)."""
        self.options = RenderOptions(antialias=bool(antialias), shadows=bool(shadows))
        self.crf = int(crf)
        self.depth = bool(depth)
        self._scene_fn = scene_fn
        self._pose_fn = pose_fn

    def render_batch(self, items: Sequence[tuple[Shot, Path]]) -> Iterator[ShotResult]:
        return render_each(self, items)

    def render_clip(self, shot: Shot, out_dir: Path) -> ClipRecord:
        scene_fn = self._scene_fn or build_scene
        pose_fn = self._pose_fn or pose_subjects

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        built = scene_fn(shot.scene, int(shot.extra.get("scene_seed", 0)))
        n, frames = shot.n_subjects, shot.frames
        ids = np.empty((frames, shot.height, shot.width), np.uint8)
        depth = np.empty((frames, shot.height, shot.width), DEPTH_DTYPE) if self.depth else None  # half of float32
        visible = np.zeros((n, frames), np.int64)
        silhouette = np.zeros((n, frames), np.int64)
        stats: dict[str, Any] = {}
        start = time.perf_counter()
        with open_video(out_dir / VIDEO_FILE, shot.fps, shot.width, shot.height, crf=self.crf) as video:
            for t, frame in enumerate(
                render_shot(shot, built.prims, SunSky.of(built), pose_fn, self.options, stats)
            ):
                video.write(frame.rgb)
                ids[t] = frame.ids
                if depth is not None:
                    depth[t] = encode_depth(frame.depth)  # the nearest half float; inf (sky) stays inf
                visible[:, t] = frame.visible_pixels(n)
                silhouette[:, t] = frame.silhouette_pixels(n)
        stats["total_s"] = round(time.perf_counter() - start, 4)
        stats["threads"] = numba.get_num_threads()
        info = backend_info(
            self,
            renderer="numba ray caster",
            numba=numba.__version__,
            antialias=self.options.antialias,
            shadows=self.options.shadows,
            crf=self.crf,
            depth=self.depth,
        )
        return finish_clip(out_dir, shot, ids, Measured(visible, silhouette), info, stats, depth)
