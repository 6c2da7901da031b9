"""The builtin ray caster: primitives + camera + sun in, RGB, depth and instance ids out.

A frame is cast in two compiled passes over screen tiles (kernels.py):
every pixel's centre ray gives depth, the nearest instance, which subjects
the ray hits at all (their silhouettes) and a shaded colour; then, with
anti-aliasing on, pixels on an edge (a different primitive or shadow next
door) are re-shaded from four rotated-grid samples, and pixels on a texture
cell boundary re-sample only the texture. Each primitive is tested only in
the tiles that the projected outline of its bounding box (clipped to the near
plane) overlaps, and each shadow ray only against the primitives binned in its
cell of a grid seen from the sun, so cost follows covered pixels, not
primitives × pixels.

`render_frame` shares one frame's tiles among the threads (interactive use);
`render_frames` gives each thread whole frames (clips: no waiting inside a
frame). Both give the same pixels, bit for bit, on any number of threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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

MAX_SILHOUETTE_INSTANCES = 8  # one bit per subject instance in `Frame.silhouette_bits`


@dataclass(frozen=True)
class Lighting:
    """Sun, ambient, sky and fog; `sun_dir` points towards the sun (world frame)."""

    sun_dir: tuple[float, float, float] = (0.45, -0.35, 0.82)
    sun_color: tuple[float, float, float] = (1.0, 0.96, 0.88)
    ambient: tuple[float, float, float] = (0.36, 0.4, 0.48)
    sky_top: tuple[float, float, float] = (0.3, 0.5, 0.85)
    sky_horizon: tuple[float, float, float] = (0.75, 0.84, 0.95)
    fog: float = 0.0

    @classmethod
    def of(cls, built: object) -> Lighting:
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
    """antialias: re-shade edge pixels from 4 samples (ids and depth stay centre samples).
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

    pk: np.ndarray  # int32 [P,3] kind, instance, material
    pf: np.ndarray  # float64 [P,20]
    mp: np.ndarray  # int32 [M]
    mf: np.ndarray  # float64 [M,8]

    def __len__(self) -> int:
        return int(self.pk.shape[0])


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
    n = len(prims)
    pk = np.stack([prims.kind, prims.instance, prims.material], axis=1).astype(np.int32).reshape(n, 3)
    centre, radius = bounding_spheres(prims)
    pf = np.concatenate(
        [prims.a, prims.b, prims.radius, prims.half, prims.rot.reshape(n, 9), centre, radius[:, None]], axis=1
    ).astype(np.float64)
    if pf.shape[1] != kn.NF:
        raise ValueError(f"packed primitive rows have {pf.shape[1]} floats, kernels expect {kn.NF}")
    if n and (pk[:, 2].min() < 0 or pk[:, 2].max() >= len(prims.mat_color)):
        raise ValueError("a primitive refers to a material index outside the set's materials")
    mf = np.concatenate(
        [prims.mat_color, prims.mat_color2, prims.mat_scale[:, None], prims.mat_gloss[:, None]], axis=1
    ).astype(np.float64)
    return Packed(np.ascontiguousarray(pk), np.ascontiguousarray(pf), prims.mat_pattern.astype(np.int32), mf)


def camera_vector(c2w: np.ndarray, K: np.ndarray) -> np.ndarray:
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
    """One frame's kernel inputs: packed primitives, camera and both culling structures."""

    p: Packed
    cam: np.ndarray
    starts: np.ndarray
    items: np.ndarray
    zspan: np.ndarray
    lgrid: np.ndarray
    ldims: np.ndarray
    lstarts: np.ndarray
    litems: np.ndarray
    lplanes: np.ndarray


def prepare(
    prims: PrimitiveSet | Packed, c2w: np.ndarray, K: np.ndarray, width: int, height: int, sun: np.ndarray,
    options: RenderOptions,
) -> Prepared:  # fmt: skip
    """Pack the primitives and bin them into screen tiles and the sun's grid."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    p = prims if isinstance(prims, Packed) else pack(prims)
    cam = camera_vector(c2w, K)
    lo, hi = kn.prim_bounds(p.pk, p.pf)
    zspan = np.ascontiguousarray(np.stack([lo[:, 2], hi[:, 2]], axis=1))
    starts, items = kn.bin_screen(p.pk, p.pf, cam, width, height, int(options.tile), options.cull)
    if options.shadows:
        lgrid, ldims, lstarts, litems, lplanes = kn.bin_light(
            p.pk, p.pf, sun, options.light_cells, options.giant, options.cull
        )
    else:
        lgrid, ldims = np.zeros(9), np.zeros(3, np.int64)
        lstarts, litems, lplanes = np.zeros(1, np.int64), np.empty(0, np.int32), np.empty(0, np.int32)
    return Prepared(p, cam, starts, items, zspan, lgrid, ldims, lstarts, litems, lplanes)


def render_frame(
    prims: PrimitiveSet | Packed,
    c2w: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
    lighting: Lighting | None = None,
    options: RenderOptions | None = None,
) -> Frame:
    """Cast one frame through pinhole K from pose c2w (OpenCV axes, see geometry.py); threads share its tiles."""
    lighting = lighting or Lighting()
    options = options or RenderOptions()
    light = lighting.vector()
    f = prepare(prims, c2w, K, width, height, light[:3], options)
    tile = int(options.tile)
    n_tiles = len(f.starts) - 1
    order = tile_order(n_tiles)
    rgb = np.empty((height, width, 3), np.uint8)
    depth = np.empty((height, width), np.float32)
    ids = np.empty((height, width), np.uint8)
    sil = np.empty((height, width), np.uint8)
    key = np.empty((height, width), np.int64)
    common = (f.p.pk, f.p.pf, f.p.mp, f.p.mf, f.cam, light, f.lgrid, f.ldims, f.lstarts, f.litems, f.lplanes,
              f.zspan, bool(options.shadows))  # fmt: skip
    kn.render_tiles(order, width, height, tile, f.starts, f.items, *common, rgb, depth, ids, sil, key)
    edge_pixels = 0
    if options.antialias:
        edges = np.zeros(n_tiles, np.int64)
        kn.antialias_tiles(order, width, height, tile, f.starts, f.items, *common, rgb, key, kn.AA_OFFSETS, edges)
        edge_pixels = int(edges.sum())
    return Frame(rgb, depth, ids, sil, edge_pixels)


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def render_frames(
    frames: Sequence[tuple[PrimitiveSet | Packed, np.ndarray]],
    K: np.ndarray,
    width: int,
    height: int,
    lighting: Lighting | None = None,
    options: RenderOptions | None = None,
) -> list[Frame]:
    """Cast several (primitives, c2w) frames in one call, one frame per thread.

    Pixel for pixel the same as `render_frame` on each; faster for clips, because
    threads never wait for each other inside a frame.
    """
    if not frames:
        return []
    lighting = lighting or Lighting()
    options = options or RenderOptions()
    light = lighting.vector()
    fs = [prepare(prims, c2w, K, width, height, light[:3], options) for prims, c2w in frames]
    b = len(fs)
    p_off = _offsets([len(f.p) for f in fs])
    m_off = _offsets([len(f.p.mp) for f in fs])
    i_off = _offsets([len(f.items) for f in fs])
    li_off = _offsets([len(f.litems) for f in fs])
    pk = np.concatenate([f.p.pk + np.array([0, 0, m_off[i]], np.int32) for i, f in enumerate(fs)])
    cat = np.concatenate
    args = (
        np.stack([f.starts + i_off[i] for i, f in enumerate(fs)]),
        cat([f.items + np.int32(p_off[i]) for i, f in enumerate(fs)]).astype(np.int32),
        pk,
        cat([f.p.pf for f in fs]),
        cat([f.p.mp for f in fs]),
        cat([f.p.mf for f in fs]),
        np.stack([f.cam for f in fs]),
        light,
        np.stack([f.lgrid for f in fs]),
        np.stack([f.ldims for f in fs]),
        cat([f.lstarts + li_off[i] for i, f in enumerate(fs)]),
        _offsets([len(f.lstarts) for f in fs]),
        cat([f.litems + np.int32(p_off[i]) for i, f in enumerate(fs)]).astype(np.int32),
        cat([f.lplanes + np.int32(p_off[i]) for i, f in enumerate(fs)]).astype(np.int32),
        _offsets([len(f.lplanes) for f in fs]),
        cat([f.zspan for f in fs]),
    )
    rgb = np.empty((b, height, width, 3), np.uint8)
    depth = np.empty((b, height, width), np.float32)
    ids = np.empty((b, height, width), np.uint8)
    sil = np.empty((b, height, width), np.uint8)
    key = np.empty((b, height, width), np.int64)
    edges = np.zeros(b, np.int64)
    kn.render_batch(width, height, int(options.tile), *args, bool(options.shadows), bool(options.antialias),
                    kn.AA_OFFSETS, rgb, depth, ids, sil, key, edges)  # fmt: skip
    return [Frame(rgb[i], depth[i], ids[i], sil[i], int(edges[i])) for i in range(b)]


def cast_rays(
    prims: PrimitiveSet | Packed, origins: np.ndarray, directions: np.ndarray, tmin: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each ray to the nearest surface and the primitive hit (-1: none), brute force."""
    p = prims if isinstance(prims, Packed) else pack(prims)
    o = np.ascontiguousarray(np.asarray(origins, dtype=float).reshape(-1, 3))
    d = np.asarray(directions, dtype=float).reshape(-1, 3)
    d = np.ascontiguousarray(d / np.linalg.norm(d, axis=1, keepdims=True))
    return kn.cast_rays(p.pk, p.pf, o, d, float(tmin))
