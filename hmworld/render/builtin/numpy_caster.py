"""A plain numpy ray caster: the yardstick the compiled one is measured against.

Every primary ray is tested against every primitive, one primitive at a time
with numpy over all pixels at once (the exact test only on the rays that pass
through the primitive's bounding sphere); every lit point casts a shadow ray
tested the same way. Surfaces take their material's first colour (no textures, no
anti-aliasing), shaded by the same sun Lambert + hemisphere ambient terms as
kernels.py. It knows planes, spheres, boxes and capsules, the kinds of the
standard scene (`reference.py`); `tools/bench_render.py` times it beside the
compiled caster in the same run, and a test checks that both see the same
depth and instances.
"""

from __future__ import annotations

import numpy as np

from hmworld.render.builtin import kernels as kn
from hmworld.render.builtin.primitives import PrimitiveSet
from hmworld.render.builtin.raycast import Packed, SunSky, camera_vector, pack

KINDS = (kn.PLANE, kn.SPHERE, kn.BOX, kn.CAPSULE)


def _first_root(b: np.ndarray, h: np.ndarray, tmin: np.ndarray) -> np.ndarray:
    """Smallest root of t² + 2bt + c beyond tmin given h = b² - c (inf where none)."""
    ok = h >= 0.0
    sq = np.sqrt(np.where(ok, h, 0.0))
    t0, t1 = -b - sq, -b + sq
    t = np.where(t0 > tmin, t0, np.where(t1 > tmin, t1, np.inf))
    return np.where(ok, t, np.inf)


def _hit(p: Packed, k: int, o: np.ndarray, d: np.ndarray, tmin: np.ndarray) -> np.ndarray:
    """Distance along unit rays (o [N,3] or [3], d [N,3]) to primitive k beyond tmin [N]; inf if missed."""
    g = p.prim_geometry[k]
    kind = p.prim_index[k, kn.I_KIND]
    a, bb, r = g[kn.G_A : kn.G_A + 3], g[kn.G_B : kn.G_B + 3], g[kn.G_R]
    if kind == kn.PLANE:
        den = d @ bb
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((a - o) @ bb) / den
        return np.where((den != 0.0) & (t > tmin), t, np.inf)
    if kind == kn.SPHERE:
        oc = o - a
        b = (oc * d).sum(-1) if oc.ndim == 2 else d @ oc
        return _first_root(b, b * b - ((oc * oc).sum(-1) - r * r), tmin)
    if kind == kn.BOX:
        rot = g[kn.G_ROT : kn.G_ROT + 9].reshape(3, 3)
        half = g[kn.G_HALF : kn.G_HALF + 3]
        lo, ld = (o - a) @ rot, d @ rot  # world → local is Rᵀ v
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / ld
            t1, t2 = (-half - lo) * inv, (half - lo) * inv
        tn = np.nanmax(np.minimum(t1, t2), axis=-1)
        tf = np.nanmin(np.maximum(t1, t2), axis=-1)
        inside_slab = np.all((np.abs(ld) >= 1e-12) | (np.abs(lo) <= half), axis=-1)
        t = np.where(tn > tmin, tn, np.where(tf > tmin, tf, np.inf))
        return np.where(inside_slab & (tn <= tf), t, np.inf)
    if kind == kn.CAPSULE:
        ba = bb - a
        oa = o - a
        baba = ba @ ba
        bard = d @ ba
        baoa = oa @ ba
        rdoa = (d * oa).sum(-1) if oa.ndim == 2 else d @ oa
        oaoa = (oa * oa).sum(-1) if oa.ndim == 2 else oa @ oa
        A = baba - bard * bard
        B = baba * rdoa - baoa * bard
        C = baba * oaoa - baoa * baoa - r * r * baba
        h = B * B - A * C
        with np.errstate(divide="ignore", invalid="ignore"):
            sq = np.sqrt(np.where(h >= 0.0, h, 0.0))
            best = np.full(d.shape[0], np.inf)
            for t in ((-B - sq) / A, (-B + sq) / A):
                y = baoa + t * bard
                ok = (h >= 0.0) & (A > 1e-12 * baba) & (t > tmin) & (y > 0.0) & (y < baba) & (t < best)
                best = np.where(ok, t, best)
        for end, outside in ((a, lambda y: y <= 0.0), (bb, lambda y: y >= baba)):
            oc = o - end
            b = (oc * d).sum(-1) if oc.ndim == 2 else d @ oc
            h2 = b * b - ((oc * oc).sum(-1) if oc.ndim == 2 else oc @ oc) + r * r
            sq2 = np.sqrt(np.where(h2 >= 0.0, h2, 0.0))
            for t in (-b - sq2, -b + sq2):
                ok = (h2 >= 0.0) & (t > tmin) & (t < best) & outside(baoa + t * bard)
                best = np.where(ok, t, best)
        return best
    raise ValueError(f"the numpy caster knows primitive kinds {KINDS}, got {kind}")


def _candidates(p: Packed, k: int, o: np.ndarray, d: np.ndarray, tmin: np.ndarray) -> np.ndarray:
    """Indices of the rays that pass through primitive k's bounding sphere beyond tmin (planes: all)."""
    if p.prim_index[k, kn.I_KIND] == kn.PLANE:
        return np.arange(d.shape[0])
    g = p.prim_geometry[k]
    oc = g[kn.G_BS : kn.G_BS + 3] - o
    r = g[kn.G_BSR]
    if oc.ndim == 1:
        b = d @ oc
        miss = oc @ oc - b * b > r * r
    else:
        b = (oc * d).sum(-1)
        miss = (oc * oc).sum(-1) - b * b > r * r
    return np.flatnonzero(~miss & (b + r > tmin))


def _nearest(p: Packed, o: np.ndarray, d: np.ndarray, tmin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit (t [N], primitive [N], -1 none) of rays from o [3] along d [N,3] beyond tmin [N]."""
    best_t = np.full(d.shape[0], np.inf)
    best_k = np.full(d.shape[0], -1, np.int64)
    for k in range(len(p)):
        idx = _candidates(p, k, o, d, tmin)
        if idx.size == 0:
            continue
        t = _hit(p, k, o, d[idx], tmin[idx])
        closer = t < best_t[idx]
        best_t[idx[closer]] = t[closer]
        best_k[idx[closer]] = k
    return best_t, best_k


def _blocked(p: Packed, start: np.ndarray, sun: np.ndarray, self_k: np.ndarray) -> np.ndarray:
    """Whether each ray from start [N,3] towards the sun hits a primitive other than self_k [N]."""
    blocked = np.zeros(start.shape[0], bool)
    dirs = np.broadcast_to(sun, start.shape)
    zeros = np.zeros(start.shape[0])
    for q in range(len(p)):
        idx = _candidates(p, q, start, dirs, zeros)
        idx = idx[~blocked[idx] & (self_k[idx] != q)]
        if idx.size:
            blocked[idx] |= _hit(p, q, start[idx], dirs[idx], zeros[idx]) < np.inf
    return blocked


def _normals(p: Packed, k: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Outward unit normals [N,3] of primitives k [N] at surface points x [N,3]."""
    g = p.prim_geometry[k]
    kind = p.prim_index[k, kn.I_KIND]
    a, b = g[:, kn.G_A : kn.G_A + 3], g[:, kn.G_B : kn.G_B + 3]
    n = np.zeros_like(x)
    plane = kind == kn.PLANE
    n[plane] = b[plane]
    sphere = kind == kn.SPHERE
    n[sphere] = x[sphere] - a[sphere]
    box = kind == kn.BOX
    if box.any():
        rot = g[box, kn.G_ROT : kn.G_ROT + 9].reshape(-1, 3, 3)
        q = np.einsum("nji,nj->ni", rot, x[box] - a[box])
        rel = np.abs(q) / np.maximum(g[box, kn.G_HALF : kn.G_HALF + 3], 1e-12)
        axis = np.argmax(rel, axis=1)
        local = np.zeros_like(q)
        local[np.arange(len(q)), axis] = np.where(q[np.arange(len(q)), axis] >= 0.0, 1.0, -1.0)
        n[box] = np.einsum("nij,nj->ni", rot, local)
    cap = kind == kn.CAPSULE
    if cap.any():
        ba = b[cap] - a[cap]
        y = np.clip(((x[cap] - a[cap]) * ba).sum(1) / (ba * ba).sum(1), 0.0, 1.0)
        n[cap] = x[cap] - (a[cap] + y[:, None] * ba)
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def numpy_cast(
    prims: PrimitiveSet | Packed, c2w: np.ndarray, K: np.ndarray, width: int, height: int, lighting: SunSky
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB uint8 [H,W,3], depth float32 [H,W] (metres along the optical axis, inf = sky) and
    nearest instance uint8 [H,W] of one frame, brute force (see the module docstring)."""
    p = prims if isinstance(prims, Packed) else pack(prims)
    cam = camera_vector(c2w, K)
    light = lighting.vector()
    jj, ii = np.mgrid[0:height, 0:width]
    x = ((ii.reshape(-1) + 0.5) - cam[kn.C_CX]) * cam[kn.C_IFX]
    y = ((jj.reshape(-1) + 0.5) - cam[kn.C_CY]) * cam[kn.C_IFY]
    c = np.stack([x, y, np.ones_like(x)], axis=1)
    clen = np.linalg.norm(c, axis=1)
    d = (c @ cam[kn.C_ROT : kn.C_ROT + 9].reshape(3, 3).T) / clen[:, None]
    o = cam[kn.C_POS : kn.C_POS + 3]
    t, k = _nearest(p, o, d, kn.NEAR * clen)
    hit = k >= 0
    sun = light[kn.L_SUN : kn.L_SUN + 3]
    sky = light[kn.L_SKY_HORIZON : kn.L_SKY_HORIZON + 3] + np.sqrt(np.maximum(d[:, 2:3], 0.0)) * (
        light[kn.L_SKY_TOP : kn.L_SKY_TOP + 3] - light[kn.L_SKY_HORIZON : kn.L_SKY_HORIZON + 3]
    )
    rgb = sky.copy()
    kh, th, dh = k[hit], t[hit], d[hit]
    xh = o + th[:, None] * dh
    n = _normals(p, kh, xh)
    n = np.where(((n * dh).sum(1) > 0.0)[:, None], -n, n)
    ndl = n @ sun
    lit = np.maximum(ndl, 0.0)
    cast = ndl > 0.0
    if cast.any():
        eps = kn.SHADOW_EPS * (1.0 + th[cast])
        start = xh[cast] + n[cast] * eps[:, None]
        lit[np.flatnonzero(cast)[_blocked(p, start, sun, kh[cast])]] = 0.0
    albedo = p.mat_params[p.prim_index[kh, kn.I_MAT], kn.M_COLOR : kn.M_COLOR + 3]
    hemi = 0.8 + 0.2 * n[:, 2:3]
    rgb[hit] = albedo * (light[kn.L_AMBIENT : kn.L_AMBIENT + 3] * hemi + light[kn.L_SUN_COLOR : kn.L_SUN_COLOR + 3] * lit[:, None])
    out = (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).reshape(height, width, 3)
    depth = np.where(hit, t / clen, np.inf).astype(np.float32).reshape(height, width)
    ids = np.where(hit, p.prim_index[np.maximum(k, 0), kn.I_INST], 0).astype(np.uint8).reshape(height, width)
    return out, depth, ids
