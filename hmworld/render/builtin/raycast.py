"""The builtin ray caster: primitives + camera + sun in, RGB, depth and instance ids out.

A frame is cast in two compiled passes over screen tiles (kernels.py):
every pixel's centre ray gives depth, the nearest instance, which subjects
the ray hits at all (their silhouettes) and a shaded colour; then, with
anti-aliasing on, pixels on an edge (a different primitive, shadow or texture
cell next door) are re-shaded from four rotated-grid samples (where the edge
runs one way, the two samples farthest apart across it are cast first, and if
both see the centre's surface, shadow and texture cell, they are the pixel's
colour: the edge passes beside it). Where one
primitive surrounds the pixel the samples re-hit only that primitive (and, on
a texture cell boundary, keep the centre's shadow); elsewhere a sample that
lands on a primitive whose shadow the neighbouring centres agree on takes it
from them instead of casting a shadow ray. Each primitive is tested only in
the tiles that the projected outline of its bounding box (clipped to the near
plane) overlaps, and each shadow ray only against the primitives binned in its
cell of a grid seen from the sun (the latest occluder first; a cell crowded
with small parts, as a subject's shadow is, is split into finer sub-cells), so
cost follows covered pixels, not primitives × pixels.

The kernels are serial and release the GIL; numba's thread count of Python
threads (`cast_pool`) run them, each taking the next job as it finishes one.
`render_frame` shares one frame's tiles among the threads (interactive use);
`render_frames` gives each thread whole frames (clips: no waiting inside a
frame). Both give the same pixels, bit for bit, on any number of threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numba
import numpy as np

from hmworld.render.builtin import kernels as kn
from hmworld.render.builtin.primitives import (
    BOX,
    CAPSULE,
    CONE,
    CYLINDER,
    ELLIPSOID,
    PLANE,
    SPHERE,
    PrimitiveSet,
)

T = TypeVar("T")

MAX_SILHOUETTE_INSTANCES = 8  # one bit per subject instance in `Frame.silhouette_bits`


@dataclass(frozen=True)
class SunSky:
    """What the ray caster lights and colours with: sun direction and colour, ambient, sky
    colours at the zenith and horizon, fog density (1/metres); `sun_dir` points towards the sun
    (world frame). Colours are linear RGB in 0..1."""

    sun_dir: tuple[float, float, float] = (0.45, -0.35, 0.82)
    sun_color: tuple[float, float, float] = (1.0, 0.96, 0.88)
    ambient: tuple[float, float, float] = (0.36, 0.4, 0.48)
    sky_top: tuple[float, float, float] = (0.3, 0.5, 0.85)
    sky_horizon: tuple[float, float, float] = (0.75, 0.84, 0.95)
    fog: float = 0.0

    @classmethod
    def of(cls, built: object) -> SunSky:
        """The lighting fields of a built scene (anything with these attribute names)."""
        return cls(
            sun_dir=tuple(float(x) for x in np.asarray(built.sun_dir, dtype=float)),
            sun_color=tuple(float(x) for x in built.sun_color),
            ambient=tuple(float(x) for x in built.ambient),
            sky_top=tuple(float(x) for x in built.sky_top),
            sky_horizon=tuple(float(x) for x in built.sky_horizon),
            fog=float(built.fog),
        )

    def vector(self) -> np.ndarray:
        """The kernels' light vector [16] (kernels.L_*), the sun direction made unit."""
        sun = np.asarray(self.sun_dir, dtype=float)
        norm = np.linalg.norm(sun)
        if not norm > 0:
            raise ValueError(f"sun_dir must be a non-zero vector, got {self.sun_dir}")
        v = np.concatenate(
            [sun / norm, self.sun_color, self.ambient, self.sky_top, self.sky_horizon, [self.fog]]
        ).astype(np.float64)
        assert v.shape == (kn.LIGHT_LEN,)
        return v


@dataclass(frozen=True)
class RenderOptions:
    """antialias: re-shade edge pixels from 2 or 4 samples (ids and depth stay centre samples).
    tile: screen tile side in pixels for primitive binning. light_cells: shadow grid cells per side;
    giant: primitives wider than this (metres, seen from the sun) are tested by every shadow ray.
    cull: False tests every primitive for every ray (slow; the reference culling is checked against)."""

    antialias: bool = True
    shadows: bool = True
    tile: int = 16
    light_cells: int = 256
    giant: float = 64.0
    cull: bool = True


@dataclass(frozen=True, eq=False)
class Frame:
    """One rendered frame. depth: metres along the optical axis (inf = sky).
    ids: nearest instance (0 = scenery or sky, k = subject k-1). silhouette_bits: bit k-1 set
    where subject k is hit at all, in front of it or not."""

    rgb: np.ndarray  # uint8 [H,W,3]
    depth: np.ndarray  # float32 [H,W]
    ids: np.ndarray  # uint8 [H,W]
    silhouette_bits: np.ndarray  # uint8 [H,W]
    edge_pixels: int
    cast_cpu_s: float = 0.0  # CPU seconds its casting took, on whichever threads cast it

    def visible_pixels(self, n_subjects: int) -> np.ndarray:
        """Pixels where subject k-1 is the nearest surface, for k = 1..n [n]."""
        counts = np.bincount(self.ids.reshape(-1), minlength=n_subjects + 1)
        return counts[1 : n_subjects + 1].astype(np.int64)

    def silhouette_pixels(self, n_subjects: int) -> np.ndarray:
        """Pixels each subject covers when rendered alone [n]."""
        if n_subjects > MAX_SILHOUETTE_INSTANCES:
            raise ValueError(f"silhouettes are tracked for at most {MAX_SILHOUETTE_INSTANCES} subjects")
        bits = np.unpackbits(self.silhouette_bits.reshape(-1, 1), axis=1, bitorder="little")
        return bits[:, :n_subjects].sum(axis=0, dtype=np.int64)

    def silhouette(self, subject: int) -> np.ndarray:
        """Boolean mask [H,W] of subject `subject` (0-based) rendered alone."""
        return (self.silhouette_bits >> np.uint8(subject)) & 1 == 1


@dataclass(frozen=True, eq=False)
class Packed:
    """A PrimitiveSet as the flat arrays the kernels read."""

    prim_index: np.ndarray  # int32 [P,3] kind, instance, material index (kernels.I_*)
    prim_geometry: np.ndarray  # float64 [P,24] end points, radii, half sizes, rotation, bounding sphere (kernels.G_*)
    mat_pattern: np.ndarray  # int32 [M] texture pattern (index in primitives.PATTERNS)
    mat_params: np.ndarray  # float64 [M,8] colour, second colour, pattern scale, gloss (kernels.M_*)

    def __len__(self) -> int:
        return int(self.prim_index.shape[0])


def bounding_spheres(prims: PrimitiveSet) -> tuple[np.ndarray, np.ndarray]:
    """Centre [P,3] and radius [P] of a sphere holding each primitive (planes: infinite)."""
    k, a, b, r = prims.kind, prims.a, prims.b, prims.radius
    half_len = np.linalg.norm(b - a, axis=1) / 2.0
    centre = np.where(np.isin(k, (SPHERE, BOX, ELLIPSOID, PLANE))[:, None], a, (a + b) / 2.0)
    radius = np.select(
        [k == SPHERE, k == BOX, k == ELLIPSOID, k == CAPSULE, k == CYLINDER, k == CONE],
        [
            r[:, 0],
            np.linalg.norm(prims.half, axis=1),
            prims.half.max(axis=1, initial=0.0),
            half_len + r[:, 0],
            np.hypot(half_len, r[:, 0]),
            np.hypot(half_len, r.max(axis=1, initial=0.0)),
        ],
        default=np.inf,
    )
    return centre, radius


def pack(prims: PrimitiveSet) -> Packed:
    """The flat arrays of a PrimitiveSet, laid out as kernels.py documents."""
    n = len(prims)
    prim_index = np.stack([prims.kind, prims.instance, prims.material], axis=1).astype(np.int32).reshape(n, 3)
    centre, radius = bounding_spheres(prims)
    geometry = np.concatenate(
        [prims.a, prims.b, prims.radius, prims.half, prims.rot.reshape(n, 9), centre, radius[:, None]], axis=1
    ).astype(np.float64)
    if geometry.shape[1] != kn.G_LEN:
        raise ValueError(f"packed primitive rows have {geometry.shape[1]} floats, kernels expect {kn.G_LEN}")
    mat = prim_index[:, kn.I_MAT]
    if n and (mat.min() < 0 or mat.max() >= len(prims.mat_color)):
        raise ValueError("a primitive refers to a material index outside the set's materials")
    params = np.concatenate(
        [prims.mat_color, prims.mat_color2, prims.mat_scale[:, None], prims.mat_gloss[:, None]], axis=1
    ).astype(np.float64)
    if params.shape[1] != kn.M_LEN:
        raise ValueError(f"packed material rows have {params.shape[1]} floats, kernels expect {kn.M_LEN}")
    return Packed(
        np.ascontiguousarray(prim_index), np.ascontiguousarray(geometry), prims.mat_pattern.astype(np.int32), params
    )


def camera_vector(c2w: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pose c2w [4,4] and intrinsics K [3,3] as the kernels' camera vector [18] (kernels.C_*)."""
    c2w = np.asarray(c2w, dtype=float)
    K = np.asarray(K, dtype=float)
    v = np.concatenate(
        [c2w[:3, 3], c2w[:3, :3].reshape(9), [K[0, 0], K[1, 1], K[0, 2], K[1, 2], 1.0 / K[0, 0], 1.0 / K[1, 1]]]
    )
    assert v.shape == (kn.CAM_LEN,)
    return v


def tile_order(n_tiles: int) -> np.ndarray:
    """A fixed shuffle of tile indices so each thread's share mixes sky and ground tiles."""
    return np.random.default_rng(12345).permutation(n_tiles).astype(np.int64)


@dataclass(frozen=True, eq=False)
class Prepared:
    """One frame's kernel inputs: packed primitives, camera vector [18] and both culling structures.

    tile_starts [n_tiles+1] / tile_items: CSR lists of the primitives each screen tile tests;
    zspan [P,2]: world z range of each primitive; sun_basis [9], sun_dims [3], sun_starts,
    sun_items, sun_always: the sun's grid (kernels.bin_light).
    """

    p: Packed
    cam: np.ndarray
    tile_starts: np.ndarray
    tile_items: np.ndarray
    zspan: np.ndarray
    sun_basis: np.ndarray
    sun_dims: np.ndarray
    sun_starts: np.ndarray
    sun_items: np.ndarray
    sun_always: np.ndarray


def prepare(
    prims: PrimitiveSet | Packed, c2w: np.ndarray, K: np.ndarray, width: int, height: int, sun: np.ndarray,
    options: RenderOptions,
) -> Prepared:  # fmt: skip
    """Pack the primitives and bin them into screen tiles and the sun's grid."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    p = prims if isinstance(prims, Packed) else pack(prims)
    cam = camera_vector(c2w, K)
    lo, hi = kn.prim_bounds(p.prim_index, p.prim_geometry)
    zspan = np.ascontiguousarray(np.stack([lo[:, 2], hi[:, 2]], axis=1))
    starts, items = kn.bin_screen(p.prim_index, p.prim_geometry, cam, width, height, int(options.tile), options.cull)
    if options.shadows:
        grid = kn.bin_light(p.prim_index, p.prim_geometry, sun, options.light_cells, options.giant, options.cull)
    else:
        grid = (np.zeros(kn.LG_LEN), np.zeros(3, np.int64), np.zeros(1, np.int64), np.empty(0, np.int32),
                np.empty(0, np.int32))  # fmt: skip
    return Prepared(p, cam, starts, items, zspan, *grid)


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _batch(fs: Sequence[Prepared], width: int, height: int, light: np.ndarray, options: RenderOptions) -> kn.Batch:
    """Frames' kernel inputs stacked into one kernels.Batch (indices made global into the concatenations)."""
    p_off = _offsets([len(f.p) for f in fs])
    m_off = _offsets([len(f.p.mat_pattern) for f in fs])
    i_off = _offsets([len(f.tile_items) for f in fs])
    s_off = _offsets([len(f.sun_items) for f in fs])
    cat = np.concatenate
    scene = kn.Scene(
        cat([f.p.prim_index + np.array([0, 0, m_off[i]], np.int32) for i, f in enumerate(fs)]),
        cat([f.p.prim_geometry for f in fs]),
        cat([f.p.mat_pattern for f in fs]),
        cat([f.p.mat_params for f in fs]),
        cat([f.zspan for f in fs]),
    )
    return kn.Batch(
        int(width), int(height), int(options.tile), bool(options.shadows), light, scene,
        np.stack([f.cam for f in fs]),
        np.stack([f.tile_starts + i_off[i] for i, f in enumerate(fs)]),
        cat([f.tile_items + np.int32(p_off[i]) for i, f in enumerate(fs)]).astype(np.int32),
        np.stack([f.sun_basis for f in fs]),
        np.stack([f.sun_dims for f in fs]),
        cat([f.sun_starts + s_off[i] for i, f in enumerate(fs)]),
        _offsets([len(f.sun_starts) for f in fs]),
        cat([np.where(f.sun_items >= 0, f.sun_items + np.int32(p_off[i]), f.sun_items) for i, f in enumerate(fs)]).astype(np.int32),
        cat([f.sun_always + np.int32(p_off[i]) for i, f in enumerate(fs)]).astype(np.int32),
        _offsets([len(f.sun_always) for f in fs]),
    )  # fmt: skip


JOBS_PER_THREAD = 4  # shares of one frame's tiles per thread (render_frame): uneven tiles even out


def cast_pool(threads: int) -> Executor:
    """Where frames are cast: `threads` Python threads (the kernels release the GIL), each
    taking the next job as it finishes one; with one thread, the caller's own thread."""
    if threads <= 1:
        return _Inline()
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="hmworld-cast")


class _Inline(Executor):
    """An executor that runs each job at once in the submitting thread (one thread: no pool)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future, as a pool would
            future.set_exception(exc)
        return future


def run_jobs(batch: kn.Batch, images: kn.Images, jobs: Sequence[tuple[int, np.ndarray]],
             passes: int) -> list[tuple[int, float]]:  # fmt: skip
    """Run kernels.render_job for each (frame, tile indices) job on numba's thread count
    (`cast_pool`); returns each job's anti-aliased pixel count and the CPU seconds it took
    (its thread's). Which thread casts which job never changes a pixel."""
    def one(job: tuple[int, np.ndarray]) -> tuple[int, float]:
        start = time.thread_time()
        edges = int(kn.render_job(batch, images, job[0], job[1], passes, kn.AA_OFFSETS))
        return edges, time.thread_time() - start

    with cast_pool(min(numba.get_num_threads(), len(jobs))) as pool:
        return list(pool.map(one, jobs))


def _images(b: int, width: int, height: int) -> kn.Images:
    return kn.Images(
        np.empty((b, height, width, 3), np.uint8),
        np.empty((b, height, width), np.float32),
        np.empty((b, height, width), np.uint8),
        np.empty((b, height, width), np.uint8),
        np.empty((b, height, width), np.int64),
    )


def render_frame(
    prims: PrimitiveSet | Packed,
    c2w: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
    lighting: SunSky | None = None,
    options: RenderOptions | None = None,
) -> Frame:
    """Cast one frame through pinhole K from pose c2w (OpenCV axes, see geometry.py); threads share its tiles."""
    lighting = lighting or SunSky()
    options = options or RenderOptions()
    light = lighting.vector()
    f = prepare(prims, c2w, K, width, height, light[:3], options)
    batch = _batch([f], width, height, light, options)
    images = _images(1, width, height)
    order = tile_order(len(f.tile_starts) - 1)
    shares = np.array_split(order, min(len(order), JOBS_PER_THREAD * numba.get_num_threads()))
    jobs = [(0, share) for share in shares]
    done = run_jobs(batch, images, jobs, kn.PASS_CENTRE)
    cpu_s = sum(c for _, c in done)
    if options.antialias:  # after every centre sample: it reads the neighbours' edge keys
        done = run_jobs(batch, images, jobs, kn.PASS_ANTIALIAS)
        cpu_s += sum(c for _, c in done)
    edges = sum(e for e, _ in done)  # the centre pass counts none
    return Frame(images.rgb[0], images.depth[0], images.ids[0], images.sil[0], edges, cpu_s)


def render_frames(
    frames: Sequence[tuple[PrimitiveSet | Packed, np.ndarray]],
    K: np.ndarray,
    width: int,
    height: int,
    lighting: SunSky | None = None,
    options: RenderOptions | None = None,
) -> list[Frame]:
    """Cast several (primitives, c2w) frames in one call, a frame per thread at a time.

    Pixel for pixel the same as `render_frame` on each; faster for clips, because
    threads never wait for each other inside a frame.
    """
    if not frames:
        return []
    return cast_frames(prepare_frames(frames, K, width, height, lighting, options))


@dataclass(frozen=True, eq=False)
class FrameBatch:
    """Frames packed and binned, ready to cast (`prepare_frames`)."""

    batch: kn.Batch
    frames: int
    antialias: bool


def prepare_frames(
    frames: Sequence[tuple[PrimitiveSet | Packed, np.ndarray]],
    K: np.ndarray,
    width: int,
    height: int,
    lighting: SunSky | None = None,
    options: RenderOptions | None = None,
) -> FrameBatch:
    """The first half of `render_frames` (packing and binning, holds the GIL); `cast_frames` is
    the second (the casting, which releases it, so a caller can prepare the next batch meanwhile)."""
    if not frames:
        raise ValueError("prepare_frames needs at least one frame")
    lighting = lighting or SunSky()
    options = options or RenderOptions()
    light = lighting.vector()
    fs = [prepare(prims, c2w, K, width, height, light[:3], options) for prims, c2w in frames]
    return FrameBatch(_batch(fs, width, height, light, options), len(fs), bool(options.antialias))


def submit_frames(prepared: FrameBatch, pool: Executor) -> list[Future[Frame]]:
    """Queue each frame of a prepared batch as one job on `pool` (a thread pool: the kernel
    releases the GIL); the futures come in frame order. A caller that keeps the pool busy
    with the next batch's frames while it waits for these never leaves a thread idle at a
    batch's end (see backend.render_shot)."""
    batch, b = prepared.batch, prepared.frames
    images = _images(b, batch.width, batch.height)
    tiles = np.arange(batch.tile_starts.shape[1] - 1, dtype=np.int64)
    passes = kn.PASS_CENTRE | (kn.PASS_ANTIALIAS if prepared.antialias else 0)

    def one(i: int) -> Frame:
        start = time.thread_time()
        edges = int(kn.render_job(batch, images, i, tiles, passes, kn.AA_OFFSETS))
        return Frame(images.rgb[i], images.depth[i], images.ids[i], images.sil[i], edges, time.thread_time() - start)

    return [pool.submit(one, i) for i in range(b)]


def cast_frames(prepared: FrameBatch) -> list[Frame]:
    """Cast a prepared batch, a frame per thread at a time, on numba's thread count (see
    `render_frames`)."""
    with cast_pool(min(numba.get_num_threads(), prepared.frames)) as pool:
        return [f.result() for f in submit_frames(prepared, pool)]


def cast_rays(
    prims: PrimitiveSet | Packed, origins: np.ndarray, directions: np.ndarray, tmin: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each ray to the nearest surface and the primitive hit (-1: none), brute force."""
    p = prims if isinstance(prims, Packed) else pack(prims)
    o = np.ascontiguousarray(np.asarray(origins, dtype=float).reshape(-1, 3))
    d = np.asarray(directions, dtype=float).reshape(-1, 3)
    d = np.ascontiguousarray(d / np.linalg.norm(d, axis=1, keepdims=True))
    return kn.cast_rays(p.prim_index, p.prim_geometry, o, d, float(tmin))
