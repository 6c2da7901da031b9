"""Compiled kernels of the builtin ray caster (numba): intersections, textures, binning, tracing.

All compiled code lives in this one file on purpose: numba's on-disk cache
(`cache=True`, stored in `__pycache__` beside this file, or a user-wide cache
dir when that is read-only) is invalidated by this file's timestamp only, so a
kernel inlining a function from another module could keep running stale code.
For the same reason the primitive kinds and pattern numbers are written out
here; tests check them against `primitives.py`.

Data layout (built by `raycast.pack`; every column is read through the
named offsets below, never a bare number): per primitive `pidx` int32 [P,3]
(I_KIND, I_INST, I_MAT) and `geom` float64 [P,24] (G_*: end points a and b,
radii, half sizes, world-from-local rotation row-major, bounding sphere); per
material `mat_pattern` int32 [M] (index in PATTERNS) and `mat_params` float64
[M,8] (M_*: colour, second colour, pattern scale, gloss). The camera vector is
C_* [18], the light vector L_* [16], a sun grid's basis LG_* [9] and its
sizes LD_* [3].
Rays use unit directions; depth along the optical axis is t / |c| for the
camera-space direction c = (x, y, 1).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

# primitive kinds and texture patterns: must equal hmworld.render.builtin.primitives
PLANE, SPHERE, BOX, CAPSULE, CYLINDER, CONE, ELLIPSOID = 0, 1, 2, 3, 4, 5, 6
FLAT, CHECKER, STRIPES, BRICKS, NOISE, GRADIENT, GRASS, TILES = 0, 1, 2, 3, 4, 5, 6, 7

# cache on disk; IEEE division (no Python ZeroDivisionError checks); no fast-math, so
# results are bit-identical from run to run and thread count to thread count
JIT = {"cache": True, "error_model": "numpy", "fastmath": False}
# per-ray code runs without numba's reference counting (`_nrt=False`; it never allocates):
# with it, every call updates the shared arrays' counts atomically, which cost more than
# the ray casting and made two threads slower than one (measured)
HOT = {**JIT, "_nrt": False}
# Inlining (numba-level `inline="always"`; LLVM does not inline one compiled function into
# another here): a call passes every array as its ~9-word struct, so a call taking the scene
# and the sun grid copies ~100 words. The intersection tests, `hit`, `normal`, `texture` and
# `_shade` are inlined into the loops that call them per ray; `_primary`, `_in_shadow` and
# `_occluder` stay calls (inlining them made frames slower: measured), and each inlined
# function has few call sites (the anti-aliasing samples share one), since every inlined copy
# adds compile time to the first run.

# pidx columns: primitive kind, instance (0 = scenery, k = subject k-1), material index
I_KIND, I_INST, I_MAT = 0, 1, 2
# geom columns: a xyz (centre, first end point, or a point on a plane), b xyz (second end
# point, or a plane's unit normal), radius 2 (radius, or a cone's end radii), half sizes 3
# (box half sizes, ellipsoid radii), rot 9 (world-from-local, row-major), bounding sphere
# centre 3 and radius
G_A, G_B, G_R, G_HALF, G_ROT, G_BS, G_BSR, G_LEN = 0, 3, 6, 8, 11, 20, 23, 24
# mat_params columns: colour rgb, second colour rgb, pattern period (metres), gloss 0..1
M_COLOR, M_COLOR2, M_SCALE, M_GLOSS, M_LEN = 0, 3, 6, 7, 8
# camera vector: origin 3, c2w rotation 9 row-major, fx, fy, cx, cy, 1/fx, 1/fy
C_POS, C_ROT, C_FX, C_FY, C_CX, C_CY, C_IFX, C_IFY, CAM_LEN = 0, 3, 12, 13, 14, 15, 16, 17, 18
# light vector: unit direction towards the sun 3, sun colour 3, ambient 3, sky top 3, sky horizon 3, fog density
L_SUN, L_SUN_COLOR, L_AMBIENT, L_SKY_TOP, L_SKY_HORIZON, L_FOG, LIGHT_LEN = 0, 3, 6, 9, 12, 15, 16
# sun grid basis: light-space axes e1 3 and e2 3, grid origin u0 and v0 (metres), 1 / cell size
LG_E1, LG_E2, LG_U0, LG_V0, LG_INV_CELL, LG_LEN = 0, 3, 6, 7, 8, 9
# sun grid sizes: cells along u, along v, how many of the `always` list a ray inside the grid tests
LD_NU, LD_NV, LD_N_ALWAYS = 0, 1, 2
# zspan columns: a primitive's lowest and highest world z (metres; planes: -inf, inf)
Z_LO, Z_HI = 0, 1

INF = np.inf
NEAR = 1e-3  # metres along the optical axis
SHADOW_EPS = 2e-4  # metres (scaled by distance) the shadow ray starts off the surface
# the sun grid: a cell with CROWDED primitives or more is split into LIGHT_SUB² sub-cells;
# primitives are binned with a margin of LIGHT_MARGIN cells (far above round-off)
CROWDED, LIGHT_SUB, LIGHT_MARGIN = 6, 8, 1e-6

# rotated-grid supersampling offsets (pixels), one sample per row and column
AA_OFFSETS = np.array([[0.125, 0.375], [0.375, -0.125], [-0.125, -0.375], [-0.375, 0.125]])


# --------------------------------------------------------------------------- intersections


@njit(inline="always", **JIT)
def _sphere(cx, cy, cz, r, ox, oy, oz, dx, dy, dz, tmin):
    px, py, pz = ox - cx, oy - cy, oz - cz
    b = px * dx + py * dy + pz * dz
    c = px * px + py * py + pz * pz - r * r
    h = b * b - c
    if h < 0.0:
        return INF
    h = math.sqrt(h)
    t = -b - h
    if t > tmin:
        return t
    t = -b + h
    if t > tmin:
        return t
    return INF


@njit(inline="always", **JIT)
def _to_local(geom, k, x, y, z):
    """R^T v for the primitive's world-from-local rotation R."""
    return (
        geom[k, G_ROT] * x + geom[k, G_ROT + 3] * y + geom[k, G_ROT + 6] * z,
        geom[k, G_ROT + 1] * x + geom[k, G_ROT + 4] * y + geom[k, G_ROT + 7] * z,
        geom[k, G_ROT + 2] * x + geom[k, G_ROT + 5] * y + geom[k, G_ROT + 8] * z,
    )


@njit(inline="always", **JIT)
def _box(geom, k, ox, oy, oz, dx, dy, dz, tmin):
    lox, loy, loz = _to_local(geom, k, ox - geom[k, G_A], oy - geom[k, G_A + 1], oz - geom[k, G_A + 2])
    ldx, ldy, ldz = _to_local(geom, k, dx, dy, dz)
    tn = -INF
    tf = INF
    for ax in range(3):
        if ax == 0:
            o, d, h = lox, ldx, geom[k, G_HALF]
        elif ax == 1:
            o, d, h = loy, ldy, geom[k, G_HALF + 1]
        else:
            o, d, h = loz, ldz, geom[k, G_HALF + 2]
        if abs(d) < 1e-12:
            if abs(o) > h:
                return INF
        else:
            inv = 1.0 / d
            t1 = (-h - o) * inv
            t2 = (h - o) * inv
            if t1 > t2:
                t1, t2 = t2, t1
            if t1 > tn:
                tn = t1
            if t2 < tf:
                tf = t2
            if tn > tf:
                return INF
    if tn > tmin:
        return tn
    if tf > tmin:
        return tf
    return INF


@njit(**HOT)
def _ellipsoid(geom, k, ox, oy, oz, dx, dy, dz, tmin):
    hx, hy, hz = geom[k, G_HALF], geom[k, G_HALF + 1], geom[k, G_HALF + 2]
    if hx <= 0.0 or hy <= 0.0 or hz <= 0.0:
        return INF
    lox, loy, loz = _to_local(geom, k, ox - geom[k, G_A], oy - geom[k, G_A + 1], oz - geom[k, G_A + 2])
    ldx, ldy, ldz = _to_local(geom, k, dx, dy, dz)
    lox, loy, loz = lox / hx, loy / hy, loz / hz
    ldx, ldy, ldz = ldx / hx, ldy / hy, ldz / hz
    a = ldx * ldx + ldy * ldy + ldz * ldz
    b = lox * ldx + loy * ldy + loz * ldz
    c = lox * lox + loy * loy + loz * loz - 1.0
    disc = b * b - a * c
    if disc < 0.0:
        return INF
    sq = math.sqrt(disc)
    t = (-b - sq) / a
    if t > tmin:
        return t
    t = (-b + sq) / a
    if t > tmin:
        return t
    return INF


@njit(**HOT)
def _disc(px, py, pz, nx, ny, nz, r, ox, oy, oz, dx, dy, dz, tmin):
    """Flat disc of radius r centred at p with (non-unit) axis n."""
    den = nx * dx + ny * dy + nz * dz
    if den == 0.0 or r <= 0.0:
        return INF
    t = ((px - ox) * nx + (py - oy) * ny + (pz - oz) * nz) / den
    if t <= tmin:
        return INF
    qx, qy, qz = ox + t * dx - px, oy + t * dy - py, oz + t * dz - pz
    if qx * qx + qy * qy + qz * qz <= r * r:
        return t
    return INF


@njit(**HOT)
def _capsule(geom, k, ox, oy, oz, dx, dy, dz, tmin):
    """First crossing of the capsule surface: side (0<y<|ba|²) or the outer half of either cap."""
    ax, ay, az, bx, by, bz, r = geom[k, G_A], geom[k, G_A + 1], geom[k, G_A + 2], geom[k, G_B], geom[k, G_B + 1], geom[k, G_B + 2], geom[k, G_R]
    bax, bay, baz = bx - ax, by - ay, bz - az
    oax, oay, oaz = ox - ax, oy - ay, oz - az
    baba = bax * bax + bay * bay + baz * baz
    bard = bax * dx + bay * dy + baz * dz
    baoa = bax * oax + bay * oay + baz * oaz
    rdoa = dx * oax + dy * oay + dz * oaz
    oaoa = oax * oax + oay * oay + oaz * oaz
    best = INF
    A = baba - bard * bard
    if A > 1e-12 * baba:
        B = baba * rdoa - baoa * bard
        C = baba * oaoa - baoa * baoa - r * r * baba
        h = B * B - A * C
        if h >= 0.0:
            sq = math.sqrt(h)
            t = (-B - sq) / A
            y = baoa + t * bard
            if t > tmin and y > 0.0 and y < baba:
                best = t
            else:
                t = (-B + sq) / A
                y = baoa + t * bard
                if t > tmin and y > 0.0 and y < baba:
                    best = t
    # end caps: sphere roots on the outer side of each end
    for end in range(2):
        if end == 0:
            cx, cy, cz = ax, ay, az
        else:
            cx, cy, cz = bx, by, bz
        px, py, pz = ox - cx, oy - cy, oz - cz
        b = px * dx + py * dy + pz * dz
        c = px * px + py * py + pz * pz - r * r
        h = b * b - c
        if h < 0.0:
            continue
        h = math.sqrt(h)
        for s in range(2):
            t = -b - h if s == 0 else -b + h
            if t <= tmin or t >= best:
                continue
            y = baoa + t * bard
            if (end == 0 and y <= 0.0) or (end == 1 and y >= baba):
                best = t
                break
    return best


@njit(**HOT)
def _frustum(geom, k, ox, oy, oz, dx, dy, dz, tmin, cone):
    """Capped cylinder (cone=False) or capped cone frustum from a (radius ra) to b (radius rb)."""
    ax, ay, az, bx, by, bz = geom[k, G_A], geom[k, G_A + 1], geom[k, G_A + 2], geom[k, G_B], geom[k, G_B + 1], geom[k, G_B + 2]
    ra = geom[k, G_R]
    rb = geom[k, G_R + 1] if cone else geom[k, G_R]
    bax, bay, baz = bx - ax, by - ay, bz - az
    oax, oay, oaz = ox - ax, oy - ay, oz - az
    baba = bax * bax + bay * bay + baz * baz
    if baba <= 0.0:
        return INF
    bard = bax * dx + bay * dy + baz * dz
    baoa = bax * oax + bay * oay + baz * oaz
    rdoa = dx * oax + dy * oay + dz * oaz
    oaoa = oax * oax + oay * oay + oaz * oaz
    kk = rb - ra
    A = baba - bard * bard - kk * kk * bard * bard / baba
    B = baba * rdoa - baoa * bard - ra * kk * bard - kk * kk * baoa * bard / baba
    C = baba * oaoa - baoa * baoa - baba * ra * ra - 2.0 * ra * kk * baoa - kk * kk * baoa * baoa / baba
    best = INF
    if abs(A) > 1e-12 * baba:
        h = B * B - A * C
        if h >= 0.0:
            sq = math.sqrt(h)
            for s in range(2):
                t = (-B - sq) / A if s == 0 else (-B + sq) / A
                if t > tmin and t < best:
                    y = (baoa + t * bard) / baba
                    if y >= 0.0 and y <= 1.0:
                        best = t
    elif B != 0.0:
        t = -C / (2.0 * B)
        if t > tmin:
            y = (baoa + t * bard) / baba
            if y >= 0.0 and y <= 1.0:
                best = t
    t = _disc(ax, ay, az, bax, bay, baz, ra, ox, oy, oz, dx, dy, dz, tmin)
    if t < best:
        best = t
    t = _disc(bx, by, bz, bax, bay, baz, rb, ox, oy, oz, dx, dy, dz, tmin)
    if t < best:
        best = t
    return best


@njit(inline="always", **JIT)
def _plane(geom, k, ox, oy, oz, dx, dy, dz, tmin):
    den = geom[k, G_B] * dx + geom[k, G_B + 1] * dy + geom[k, G_B + 2] * dz
    if den == 0.0:
        return INF
    t = ((geom[k, G_A] - ox) * geom[k, G_B] + (geom[k, G_A + 1] - oy) * geom[k, G_B + 1] + (geom[k, G_A + 2] - oz) * geom[k, G_B + 2]) / den
    if t > tmin:
        return t
    return INF


@njit(inline="always", **JIT)
def hit(pidx, geom, k, ox, oy, oz, dx, dy, dz, tmin, tmax=INF):
    """Ray parameter of the first surface crossing beyond tmin along a unit ray; inf if none.

    tmax lets the bounding-sphere test give up early on primitives wholly beyond it
    (a hit past tmax may still be returned; callers compare).
    """
    kind = pidx[k, I_KIND]
    if kind == PLANE:
        return _plane(geom, k, ox, oy, oz, dx, dy, dz, tmin)
    if kind == SPHERE:
        return _sphere(geom[k, G_A], geom[k, G_A + 1], geom[k, G_A + 2], geom[k, G_R], ox, oy, oz, dx, dy, dz, tmin)
    # cheap rejection by the bounding sphere before the exact test
    cx, cy, cz, r = geom[k, G_BS] - ox, geom[k, G_BS + 1] - oy, geom[k, G_BS + 2] - oz, geom[k, G_BSR]
    b = cx * dx + cy * dy + cz * dz
    if b + r < tmin or b - r > tmax or cx * cx + cy * cy + cz * cz - b * b > r * r:
        return INF
    if kind == BOX:
        return _box(geom, k, ox, oy, oz, dx, dy, dz, tmin)
    if kind == CAPSULE:
        return _capsule(geom, k, ox, oy, oz, dx, dy, dz, tmin)
    if kind == CYLINDER:
        return _frustum(geom, k, ox, oy, oz, dx, dy, dz, tmin, False)
    if kind == CONE:
        return _frustum(geom, k, ox, oy, oz, dx, dy, dz, tmin, True)
    if kind == ELLIPSOID:
        return _ellipsoid(geom, k, ox, oy, oz, dx, dy, dz, tmin)
    return INF


@njit(inline="always", **JIT)
def _unit(x, y, z):
    n = math.sqrt(x * x + y * y + z * z)
    if n == 0.0:
        return 0.0, 0.0, 1.0
    return x / n, y / n, z / n


@njit(inline="always", **JIT)
def normal(pidx, geom, k, px, py, pz):
    """Outward unit surface normal of primitive k at a point on its surface."""
    kind = pidx[k, I_KIND]
    if kind == PLANE:
        return geom[k, G_B], geom[k, G_B + 1], geom[k, G_B + 2]
    if kind == SPHERE:
        return _unit(px - geom[k, G_A], py - geom[k, G_A + 1], pz - geom[k, G_A + 2])
    if kind == BOX or kind == ELLIPSOID:
        qx, qy, qz = _to_local(geom, k, px - geom[k, G_A], py - geom[k, G_A + 1], pz - geom[k, G_A + 2])
        if kind == ELLIPSOID:
            lx, ly, lz = qx / (geom[k, G_HALF] * geom[k, G_HALF]), qy / (geom[k, G_HALF + 1] * geom[k, G_HALF + 1]), qz / (geom[k, G_HALF + 2] * geom[k, G_HALF + 2])
        else:
            rx = abs(qx) / max(geom[k, G_HALF], 1e-12)
            ry = abs(qy) / max(geom[k, G_HALF + 1], 1e-12)
            rz = abs(qz) / max(geom[k, G_HALF + 2], 1e-12)
            lx = ly = lz = 0.0
            if rx >= ry and rx >= rz:
                lx = 1.0 if qx >= 0.0 else -1.0
            elif ry >= rz:
                ly = 1.0 if qy >= 0.0 else -1.0
            else:
                lz = 1.0 if qz >= 0.0 else -1.0
        return _unit(
            geom[k, G_ROT] * lx + geom[k, G_ROT + 1] * ly + geom[k, G_ROT + 2] * lz,
            geom[k, G_ROT + 3] * lx + geom[k, G_ROT + 4] * ly + geom[k, G_ROT + 5] * lz,
            geom[k, G_ROT + 6] * lx + geom[k, G_ROT + 7] * ly + geom[k, G_ROT + 8] * lz,
        )
    # segment-based solids
    bax, bay, baz = geom[k, G_B] - geom[k, G_A], geom[k, G_B + 1] - geom[k, G_A + 1], geom[k, G_B + 2] - geom[k, G_A + 2]
    qx, qy, qz = px - geom[k, G_A], py - geom[k, G_A + 1], pz - geom[k, G_A + 2]
    baba = bax * bax + bay * bay + baz * baz
    y = (qx * bax + qy * bay + qz * baz) / baba if baba > 0.0 else 0.0
    if kind == CAPSULE:
        yc = min(max(y, 0.0), 1.0)
        return _unit(qx - yc * bax, qy - yc * bay, qz - yc * baz)
    length = math.sqrt(baba)
    ux, uy, uz = bax / length, bay / length, baz / length
    ra = geom[k, G_R]
    rb = geom[k, G_R + 1] if kind == CONE else geom[k, G_R]
    kk = rb - ra
    rx, ry, rz = qx - y * bax, qy - y * bay, qz - y * baz
    rlen = math.sqrt(rx * rx + ry * ry + rz * rz)
    side = abs(rlen - (ra + kk * min(max(y, 0.0), 1.0))) * length / math.sqrt(baba + kk * kk)
    cap_a = abs(y) * length
    cap_b = abs(1.0 - y) * length
    if cap_a <= side and cap_a <= cap_b:
        return -ux, -uy, -uz
    if cap_b <= side:
        return ux, uy, uz
    if rlen == 0.0:
        return ux, uy, uz
    return _unit(rx / rlen * length - ux * kk, ry / rlen * length - uy * kk, rz / rlen * length - uz * kk)


# --------------------------------------------------------------------------- bounds and binning


@njit(**JIT)
def prim_bounds(pidx, geom):
    """World axis-aligned bounds [P,3] lo, hi of every primitive (planes: infinite)."""
    n = pidx.shape[0]
    lo = np.empty((n, 3))
    hi = np.empty((n, 3))
    for k in range(n):
        kind = pidx[k, I_KIND]
        if kind == PLANE:
            for i in range(3):
                lo[k, i] = -INF
                hi[k, i] = INF
        elif kind == SPHERE:
            for i in range(3):
                lo[k, i] = geom[k, G_A + i] - geom[k, G_R]
                hi[k, i] = geom[k, G_A + i] + geom[k, G_R]
        elif kind == BOX or kind == ELLIPSOID:
            for i in range(3):
                ext = 0.0
                if kind == BOX:
                    for j in range(3):
                        ext += abs(geom[k, G_ROT + 3 * i + j]) * geom[k, G_HALF + j]
                else:
                    for j in range(3):
                        ext += (geom[k, G_ROT + 3 * i + j] * geom[k, G_HALF + j]) ** 2
                    ext = math.sqrt(ext)
                lo[k, i] = geom[k, G_A + i] - ext
                hi[k, i] = geom[k, G_A + i] + ext
        elif kind == CAPSULE:
            for i in range(3):
                lo[k, i] = min(geom[k, G_A + i], geom[k, G_B + i]) - geom[k, G_R]
                hi[k, i] = max(geom[k, G_A + i], geom[k, G_B + i]) + geom[k, G_R]
        else:
            ra = geom[k, G_R]
            rb = geom[k, G_R + 1] if kind == CONE else geom[k, G_R]
            bax, bay, baz = geom[k, G_B] - geom[k, G_A], geom[k, G_B + 1] - geom[k, G_A + 1], geom[k, G_B + 2] - geom[k, G_A + 2]
            baba = bax * bax + bay * bay + baz * baz
            for i in range(3):
                e = 1.0
                if baba > 0.0:
                    comp = (bax, bay, baz)[i]
                    e = math.sqrt(max(0.0, 1.0 - comp * comp / baba))
                lo[k, i] = min(geom[k, G_A + i] - ra * e, geom[k, G_B + i] - rb * e)
                hi[k, i] = max(geom[k, G_A + i] + ra * e, geom[k, G_B + i] + rb * e)
    return lo, hi


@njit(**JIT)
def prim_obb(pidx, geom):
    """Oriented boxes that contain each primitive: centre [P,3], axes [P,3,3] (columns), half sizes [P,3]."""
    n = pidx.shape[0]
    centre = np.zeros((n, 3))
    axes = np.zeros((n, 3, 3))
    half = np.zeros((n, 3))
    for k in range(n):
        kind = pidx[k, I_KIND]
        if kind == PLANE:
            continue
        if kind == BOX or kind == ELLIPSOID or kind == SPHERE:
            for i in range(3):
                centre[k, i] = geom[k, G_A + i]
                for j in range(3):
                    axes[k, i, j] = geom[k, G_ROT + 3 * i + j] if kind != SPHERE else (1.0 if i == j else 0.0)
                half[k, i] = geom[k, G_HALF + i] if kind != SPHERE else geom[k, G_R]
            continue
        bax, bay, baz = geom[k, G_B] - geom[k, G_A], geom[k, G_B + 1] - geom[k, G_A + 1], geom[k, G_B + 2] - geom[k, G_A + 2]
        length = math.sqrt(bax * bax + bay * bay + baz * baz)
        if length > 0.0:
            ux, uy, uz = bax / length, bay / length, baz / length
        else:
            ux, uy, uz = 0.0, 0.0, 1.0
        if abs(uz) < 0.9:
            vx, vy, vz = _unit(uy, -ux, 0.0)  # u × z
        else:
            vx, vy, vz = _unit(0.0, uz, -uy)  # u × x
        wx, wy, wz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
        r = geom[k, G_R] if kind != CONE else max(geom[k, G_R], geom[k, G_R + 1])
        along = length / 2.0 + (r if kind == CAPSULE else 0.0)
        centre[k, 0], centre[k, 1], centre[k, 2] = geom[k, G_A] + bax / 2, geom[k, G_A + 1] + bay / 2, geom[k, G_A + 2] + baz / 2
        axes[k, 0, 0], axes[k, 1, 0], axes[k, 2, 0] = ux, uy, uz
        axes[k, 0, 1], axes[k, 1, 1], axes[k, 2, 1] = vx, vy, vz
        axes[k, 0, 2], axes[k, 1, 2], axes[k, 2, 2] = wx, wy, wz
        half[k, 0], half[k, 1], half[k, 2] = along, r, r
    return centre, axes, half


@njit(**JIT)
def _screen_hull(k, centre, axes, half, cam, pts):
    """Convex hull (counter-clockwise, in `pts`) of primitive k's box clipped to depth >= NEAR
    and projected to pixels; returns the vertex count (0: nothing in front of the camera)."""
    ox, oy, oz = cam[C_POS], cam[C_POS + 1], cam[C_POS + 2]
    fx, fy, cx, cy = cam[C_FX], cam[C_FY], cam[C_CX], cam[C_CY]
    xs = np.empty(8)
    ys = np.empty(8)
    zs = np.empty(8)
    for c in range(8):
        wx, wy, wz = centre[k, 0] - ox, centre[k, 1] - oy, centre[k, 2] - oz
        for i in range(3):
            s = half[k, i] if (c >> i) & 1 else -half[k, i]
            wx += s * axes[k, 0, i]
            wy += s * axes[k, 1, i]
            wz += s * axes[k, 2, i]
        xs[c] = cam[C_ROT] * wx + cam[C_ROT + 3] * wy + cam[C_ROT + 6] * wz
        ys[c] = cam[C_ROT + 1] * wx + cam[C_ROT + 4] * wy + cam[C_ROT + 7] * wz
        zs[c] = cam[C_ROT + 2] * wx + cam[C_ROT + 5] * wy + cam[C_ROT + 8] * wz
    m = 0
    for c in range(8):
        if zs[c] >= NEAR:
            pts[m, 0] = fx * xs[c] / zs[c] + cx
            pts[m, 1] = fy * ys[c] / zs[c] + cy
            m += 1
    if m == 0:
        return 0
    if m < 8:  # the near plane cuts the box: add where its edges cross it
        for c in range(8):
            for i in range(3):
                d = c | (1 << i)
                if d == c or (zs[c] >= NEAR) == (zs[d] >= NEAR):
                    continue
                s = (NEAR - zs[c]) / (zs[d] - zs[c])
                pts[m, 0] = fx * (xs[c] + s * (xs[d] - xs[c])) / NEAR + cx
                pts[m, 1] = fy * (ys[c] + s * (ys[d] - ys[c])) / NEAR + cy
                m += 1
    # monotone chain hull
    for i in range(1, m):
        px, py = pts[i, 0], pts[i, 1]
        j = i - 1
        while j >= 0 and (pts[j, 0] > px or (pts[j, 0] == px and pts[j, 1] > py)):
            pts[j + 1, 0], pts[j + 1, 1] = pts[j, 0], pts[j, 1]
            j -= 1
        pts[j + 1, 0], pts[j + 1, 1] = px, py
    hull = np.empty((2 * m + 1, 2))
    h = 0
    for i in range(m):
        while h >= 2 and (hull[h - 1, 0] - hull[h - 2, 0]) * (pts[i, 1] - hull[h - 2, 1]) - (
            hull[h - 1, 1] - hull[h - 2, 1]
        ) * (pts[i, 0] - hull[h - 2, 0]) <= 0.0:
            h -= 1
        hull[h, 0], hull[h, 1] = pts[i, 0], pts[i, 1]
        h += 1
    lower = h + 1
    for i in range(m - 2, -1, -1):
        while h >= lower and (hull[h - 1, 0] - hull[h - 2, 0]) * (pts[i, 1] - hull[h - 2, 1]) - (
            hull[h - 1, 1] - hull[h - 2, 1]
        ) * (pts[i, 0] - hull[h - 2, 0]) <= 0.0:
            h -= 1
        hull[h, 0], hull[h, 1] = pts[i, 0], pts[i, 1]
        h += 1
    h = max(h - 1, 1)  # the last point repeats the first
    for i in range(h):
        pts[i, 0], pts[i, 1] = hull[i, 0], hull[i, 1]
    return h


@njit(**JIT)
def _tile_outside(pts, h, x0, y0, x1, y1):
    """True if an edge of the convex hull separates it from the rectangle [x0,x1]×[y0,y1]."""
    if h < 3:
        return False
    for i in range(h):
        j = i + 1 if i + 1 < h else 0
        ex, ey = pts[j, 0] - pts[i, 0], pts[j, 1] - pts[i, 1]
        out = True
        for c in range(4):
            qx = x1 if c & 1 else x0
            qy = y1 if c & 2 else y0
            if ex * (qy - pts[i, 1]) - ey * (qx - pts[i, 0]) >= 0.0:
                out = False
                break
        if out:
            return True
    return False


@njit(**JIT)
def bin_screen(pidx, geom, cam, width, height, tile, cull):
    """Screen tiles → primitives whose projected bounding box can cover a sample in the tile.

    Each primitive's oriented box is clipped to the near plane and projected;
    a tile gets the primitive unless an edge of that convex outline separates
    them. cull=False puts every primitive in every tile (the reference the culling
    is checked against).
    """
    ntx = (width + tile - 1) // tile
    nty = (height + tile - 1) // tile
    n = pidx.shape[0]
    centre, axes, half = prim_obb(pidx, geom)
    hulls = np.empty((n, 20, 2))
    nh = np.zeros(n, np.int64)
    rects = np.full((n, 4), -1, np.int64)
    eps = 1e-3  # pixels: round-off margin, never a reason to drop a primitive
    for k in range(n):
        if pidx[k, I_KIND] == PLANE or not cull:
            rects[k, 0], rects[k, 1], rects[k, 2], rects[k, 3] = 0, 0, ntx - 1, nty - 1
            continue
        h = _screen_hull(k, centre, axes, half, cam, hulls[k])
        if h == 0:
            continue
        nh[k] = h
        umin = vmin = INF
        umax = vmax = -INF
        for i in range(h):
            umin, umax = min(umin, hulls[k, i, 0]), max(umax, hulls[k, i, 0])
            vmin, vmax = min(vmin, hulls[k, i, 1]), max(vmax, hulls[k, i, 1])
        if umax < -eps or vmax < -eps or umin > width + eps or vmin > height + eps:
            continue
        rects[k, 0] = min(max(np.int64(math.floor((umin - eps) / tile)), 0), ntx - 1)
        rects[k, 1] = min(max(np.int64(math.floor((vmin - eps) / tile)), 0), nty - 1)
        rects[k, 2] = min(max(np.int64(math.floor((umax + eps) / tile)), 0), ntx - 1)
        rects[k, 3] = min(max(np.int64(math.floor((vmax + eps) / tile)), 0), nty - 1)
    ncell = ntx * nty
    counts = np.zeros(ncell + 1, np.int64)
    for k in range(n):
        if rects[k, 0] < 0:
            continue
        for ty in range(rects[k, 1], rects[k, 3] + 1):
            for tx in range(rects[k, 0], rects[k, 2] + 1):
                if not _tile_outside(hulls[k], nh[k], tx * tile - eps, ty * tile - eps, (tx + 1) * tile + eps, (ty + 1) * tile + eps):
                    counts[ty * ntx + tx + 1] += 1
    for c in range(ncell):
        counts[c + 1] += counts[c]
    items = np.empty(counts[ncell], np.int32)
    fill = counts[:ncell].copy()
    for k in range(n):  # same test again, now filling: items stay in primitive order
        if rects[k, 0] < 0:
            continue
        for ty in range(rects[k, 1], rects[k, 3] + 1):
            for tx in range(rects[k, 0], rects[k, 2] + 1):
                if not _tile_outside(hulls[k], nh[k], tx * tile - eps, ty * tile - eps, (tx + 1) * tile + eps, (ty + 1) * tile + eps):
                    c = ty * ntx + tx
                    items[fill[c]] = k
                    fill[c] += 1
    return counts, items


@njit(**JIT)
def bin_light(pidx, geom, sun, max_cells, giant, cull):
    """Bin primitives in the sun's view (orthographic along the sun direction).

    A shadow ray keeps its light-space (u, v) all the way to the sun, so it
    only needs the primitives binned in its cell. The grid spans the ordinary
    primitives; giant ones (light-space extent over `giant` metres: distant
    mountains, kilometre-long ground slabs) are binned into the cells they
    overlap but do not stretch the grid, so its cells stay fine. Infinite
    planes (and, with cull=False, everything) go on a list every shadow ray
    tests; giants are listed after them for rays from points outside the grid.
    Returns (basis_and_grid f64[9] = e1, e2, u0, v0, 1/cell;
    dims i64[3] = cells along u, along v, how many of `always` every ray tests; starts; items
    (the CSR lists of the cells and sub-cells, see _light_csr); always).
    """
    lx, ly, lz = sun[0], sun[1], sun[2]
    if abs(lz) < 0.9:
        e1x, e1y, e1z = _unit(ly, -lx, 0.0)
    else:
        e1x, e1y, e1z = _unit(0.0, lz, -ly)
    e2x, e2y, e2z = ly * e1z - lz * e1y, lz * e1x - lx * e1z, lx * e1y - ly * e1x
    n = pidx.shape[0]
    centre, axes, half = prim_obb(pidx, geom)
    uv = np.empty((n, 4))
    kind = np.zeros(n, np.int64)  # 0 binned, 1 plane or unculled, 2 giant
    umin = vmin = INF
    umax = vmax = -INF
    for k in range(n):
        if pidx[k, I_KIND] == PLANE or not cull:
            kind[k] = 1
            continue
        cu = centre[k, 0] * e1x + centre[k, 1] * e1y + centre[k, 2] * e1z
        cv = centre[k, 0] * e2x + centre[k, 1] * e2y + centre[k, 2] * e2z
        ru = rv = 0.0
        for i in range(3):
            ru += abs(axes[k, 0, i] * e1x + axes[k, 1, i] * e1y + axes[k, 2, i] * e1z) * half[k, i]
            rv += abs(axes[k, 0, i] * e2x + axes[k, 1, i] * e2y + axes[k, 2, i] * e2z) * half[k, i]
        uv[k, 0], uv[k, 1], uv[k, 2], uv[k, 3] = cu - ru, cv - rv, cu + ru, cv + rv
        if 2.0 * max(ru, rv) > giant:
            kind[k] = 2
            continue
        umin, vmin, umax, vmax = min(umin, cu - ru), min(vmin, cv - rv), max(umax, cu + ru), max(vmax, cv + rv)
    if umin > umax:  # only giants: let them span the grid
        for k in range(n):
            if kind[k] == 2:
                umin, vmin = min(umin, uv[k, 0]), min(vmin, uv[k, 1])
                umax, vmax = max(umax, uv[k, 2]), max(vmax, uv[k, 3])
    n_always = 0
    n_giant = 0
    for k in range(n):
        n_always += kind[k] == 1
        n_giant += kind[k] == 2
    always = np.empty(n_always + n_giant, np.int32)
    j = 0
    for want in (1, 2):
        for k in range(n):
            if kind[k] == want:
                always[j] = k
                j += 1
    grid = np.zeros(LG_LEN)
    grid[LG_E1], grid[LG_E1 + 1], grid[LG_E1 + 2] = e1x, e1y, e1z
    grid[LG_E2], grid[LG_E2 + 1], grid[LG_E2 + 2] = e2x, e2y, e2z
    dims = np.zeros(3, np.int64)
    dims[LD_N_ALWAYS] = n_always
    if umin > umax:  # nothing to bin: every ray tests the whole list
        dims[LD_N_ALWAYS] = n_always + n_giant
        return grid, dims, np.zeros(1, np.int64), np.empty(0, np.int32), always
    cell = max(max(umax - umin, vmax - vmin) / max_cells, 0.02)
    inv_cell = 1.0 / cell
    nu = int((umax - umin) / cell) + 1
    nv = int((vmax - vmin) / cell) + 1
    grid[LG_U0], grid[LG_V0], grid[LG_INV_CELL] = umin, vmin, inv_cell
    dims[LD_NU], dims[LD_NV] = nu, nv
    # light-space rectangles in cell units, computed as _in_shadow computes a point's, widened
    # by a margin far above round-off (binning a primitive into one cell too many costs a test)
    fr = np.zeros((n, 4))
    for k in range(n):
        if kind[k] == 1:
            continue
        fr[k, 0] = (uv[k, 0] - umin) * inv_cell - LIGHT_MARGIN
        fr[k, 1] = (uv[k, 1] - vmin) * inv_cell - LIGHT_MARGIN
        fr[k, 2] = (uv[k, 2] - umin) * inv_cell + LIGHT_MARGIN
        fr[k, 3] = (uv[k, 3] - vmin) * inv_cell + LIGHT_MARGIN
    starts, items = _light_csr(fr, kind != 1, nu, nv)
    return grid, dims, starts, items, always


@njit(**JIT)
def _light_csr(fr, binned, nu, nv):
    """The sun grid's CSR lists from the rectangles fr [P,4] = u0, v0, u1, v1 (cell units) of
    the primitives where `binned` [P], two levels deep.

    A cell that CROWDED or more primitives cover only in part is split into LIGHT_SUB ×
    LIGHT_SUB sub-cells (shadows of the subjects, which gather many small parts in a few cells,
    test a handful of parts instead of all of them): its list starts with one entry -1 - s,
    where s is the index in `starts` of its first sub-cell, followed by the primitives that
    cover the whole cell; sub-cells follow the nu·nv cells, row by row, each holding the
    other primitives whose rectangle overlaps it.
    """
    n = fr.shape[0]
    ncell = nu * nv
    rects = np.full((n, 4), -1, np.int64)
    for k in range(n):
        if not binned[k] or fr[k, 2] < 0.0 or fr[k, 3] < 0.0 or fr[k, 0] >= nu or fr[k, 1] >= nv:
            continue  # a giant beside the grid: only rays from outside it test it
        rects[k, 0] = max(0, min(nu - 1, np.int64(math.floor(fr[k, 0]))))
        rects[k, 1] = max(0, min(nv - 1, np.int64(math.floor(fr[k, 1]))))
        rects[k, 2] = max(0, min(nu - 1, np.int64(math.floor(fr[k, 2]))))
        rects[k, 3] = max(0, min(nv - 1, np.int64(math.floor(fr[k, 3]))))
    partial = np.zeros(ncell, np.int64)  # primitives covering part of each cell
    for k in range(n):
        if rects[k, 0] < 0:
            continue
        for cv in range(rects[k, 1], rects[k, 3] + 1):
            for cu in range(rects[k, 0], rects[k, 2] + 1):
                if not _covers(fr, k, cu, cv):
                    partial[cv * nu + cu] += 1
    sub = np.full(ncell, -1, np.int64)  # first sub-cell of a crowded cell
    n_sub = ncell
    for c in range(ncell):
        if partial[c] >= CROWDED:
            sub[c] = n_sub
            n_sub += LIGHT_SUB * LIGHT_SUB
    counts = np.zeros(n_sub + 1, np.int64)
    for c in range(ncell):
        if sub[c] >= 0:
            counts[c + 1] = 1
    _light_walk(fr, rects, sub, nu, counts, np.empty(0, np.int32), counts, False)
    for c in range(n_sub):
        counts[c + 1] += counts[c]
    items = np.empty(counts[n_sub], np.int32)
    fill = counts[:n_sub].copy()
    for c in range(ncell):
        if sub[c] >= 0:
            items[fill[c]] = np.int32(-1 - sub[c])
            fill[c] += 1
    _light_walk(fr, rects, sub, nu, counts, items, fill, True)
    return counts, items


@njit(**JIT)
def _light_walk(fr, rects, sub, nu, counts, items, fill, place):
    """Every (primitive, list) pair of the sun grid, primitives in order: a cell (rects [P,4],
    inclusive; -1: not binned) or, where sub[cell] >= 0 and the primitive covers only part of
    the cell, the sub-cells of it that the primitive overlaps. place=False counts them (counts[list + 1] += 1); place=True puts the primitive at
    items[fill[list]] and advances fill."""
    for k in range(rects.shape[0]):
        if rects[k, 0] < 0:
            continue
        for cv in range(rects[k, 1], rects[k, 3] + 1):
            for cu in range(rects[k, 0], rects[k, 2] + 1):
                c = cv * nu + cu
                split = sub[c] >= 0 and not _covers(fr, k, cu, cv)
                s0, t0, s1, t1 = 0, 0, 0, 0
                if split:
                    s0, t0, s1, t1 = _sub_span(fr, k, cu, cv)
                for sv in range(t0, t1 + 1):
                    for su in range(s0, s1 + 1):
                        q = sub[c] + sv * LIGHT_SUB + su if split else c
                        if place:
                            items[fill[q]] = k
                            fill[q] += 1
                        else:
                            counts[q + 1] += 1


@njit(inline="always", **JIT)
def _covers(fr, k, cu, cv):
    """Whether rectangle k covers the whole cell (cu, cv)."""
    return fr[k, 0] <= cu and fr[k, 1] <= cv and fr[k, 2] >= cu + 1.0 and fr[k, 3] >= cv + 1.0


@njit(inline="always", **JIT)
def _sub_index(f, c):
    """Sub-cell (0..LIGHT_SUB-1) of a position f (cell units) inside cell c = floor(f)."""
    return min(max(np.int64(math.floor((f - c) * LIGHT_SUB)), 0), LIGHT_SUB - 1)


@njit(inline="always", **JIT)
def _sub_span(fr, k, cu, cv):
    """The sub-cells of cell (cu, cv) that rectangle k overlaps: su0, sv0, su1, sv1 (inclusive)."""
    return (
        _sub_index(max(fr[k, 0], cu), cu),
        _sub_index(max(fr[k, 1], cv), cv),
        _sub_index(min(fr[k, 2], cu + 1.0), cu),
        _sub_index(min(fr[k, 3], cv + 1.0), cv),
    )


# --------------------------------------------------------------------------- textures


@njit(inline="always", **JIT)
def _hash(ix, iy, seed):
    h = (ix * 374761393 + iy * 668265263 + seed * 1442695041) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return h / 4294967296.0


@njit(**HOT)
def _value_noise(u, v, seed):
    iu = math.floor(u)
    iv = math.floor(v)
    fu = u - iu
    fv = v - iv
    iu = np.int64(iu)
    iv = np.int64(iv)
    su = fu * fu * (3.0 - 2.0 * fu)
    sv = fv * fv * (3.0 - 2.0 * fv)
    a = _hash(iu, iv, seed)
    b = _hash(iu + 1, iv, seed)
    c = _hash(iu, iv + 1, seed)
    d = _hash(iu + 1, iv + 1, seed)
    return (a * (1.0 - su) + b * su) * (1.0 - sv) + (c * (1.0 - su) + d * su) * sv


@njit(**HOT)
def _fbm(u, v, seed, fade):
    """Two octaves of value noise in [0,1]; the fine octave fades out when it would alias."""
    n1 = _value_noise(u, v, seed)
    n2 = _value_noise(2.03 * u + 17.1, 2.03 * v - 9.7, seed + 1)
    w2 = 0.35 * (1.0 - fade)
    return n1 * 0.65 + n2 * w2 + 0.5 * (0.35 - w2)


@njit(inline="always", **JIT)
def _fade(footprint, feature):
    """0 where a feature of this size spans several pixels, 1 where it is below a pixel."""
    x = (footprint / feature - 0.2) / 0.5
    return min(max(x, 0.0), 1.0)


@njit(inline="always", **JIT)
def texture(pattern, mat_params, m, px, py, pz, nx, ny, nz, footprint):
    """Albedo (r, g, b) and an edge class (pattern cell parity, 0 if smooth) at a world point."""
    r1, g1, b1, r2, g2, b2, s = mat_params[m, M_COLOR], mat_params[m, M_COLOR + 1], mat_params[m, M_COLOR + 2], mat_params[m, M_COLOR2], mat_params[m, M_COLOR2 + 1], mat_params[m, M_COLOR2 + 2], max(mat_params[m, M_SCALE], 1e-6)
    if pattern == FLAT:
        return r1, g1, b1, 0
    ax, ay, az = abs(nx), abs(ny), abs(nz)
    if az >= ax and az >= ay:
        u, v = px, py
    elif ax >= ay:
        u, v = py, pz
    else:
        u, v = px, pz
    w = 0.0  # weight of color2
    cls = 0
    tint = 1.0
    if pattern == CHECKER or pattern == STRIPES:
        if pattern == CHECKER:
            par = (np.int64(math.floor(u / s)) + np.int64(math.floor(v / s))) & 1
        else:
            par = np.int64(math.floor(v / s)) & 1
        fd = _fade(footprint, s)
        w = par * (1.0 - fd) + 0.5 * fd
        cls = 1 + par if fd < 0.5 else 0
    elif pattern == BRICKS or pattern == TILES:
        if pattern == BRICKS:
            bw, bh = s, s / 3.0
            row = np.int64(math.floor(v / bh))
            uu = u / bw + 0.5 * (row & 1)
            col = np.int64(math.floor(uu))
            gu, gv = 0.035, 0.11  # mortar as fractions of brick width / height
        else:
            bw, bh = s, s
            row = np.int64(math.floor(v / bh))
            uu = u / bw
            col = np.int64(math.floor(uu))
            gu, gv = 0.05, 0.05
        fu = uu - col
        fv = v / bh - row
        grout = fu < gu or fv < gv
        fd = _fade(footprint, bh * gv * 3.0)
        mean_w = gu + gv  # share of the surface that is mortar
        w = (1.0 if grout else 0.0) * (1.0 - fd) + mean_w * fd
        jitter = 0.82 + 0.36 * _hash(col, row, 7) if pattern == BRICKS else 0.92 + 0.16 * _hash(col, row, 11)
        tint = jitter * (1.0 - fd) + fd
        cls = (1 if grout else 2) if fd < 0.5 else 0
    elif pattern == NOISE:
        fd = _fade(footprint, s * 0.5)
        w = _fbm(u / s, v / s, 3, fd)
    elif pattern == GRADIENT:
        w = 0.5 - 0.5 * math.cos(2.0 * math.pi * pz / s)
    elif pattern == GRASS:
        fd = _fade(footprint, s * 0.5)
        w = _fbm(u / s, v / s, 5, fd)
        blade = 0.05
        fb = _fade(footprint, blade)
        tint = (0.8 + 0.4 * _hash(np.int64(math.floor(u / blade)), np.int64(math.floor(v / blade)), 13)) * (1.0 - fb) + fb
    r = (r1 * (1.0 - w) + r2 * w) * tint
    g = (g1 * (1.0 - w) + g2 * w) * tint
    b = (b1 * (1.0 - w) + b2 * w) * tint
    return r, g, b, cls


# --------------------------------------------------------------------------- tracing and shading


@njit(inline="always", **JIT)
def _ray(cam, sx, sy):
    """World unit direction through image point (sx, sy) and |c| of its camera-space (x, y, 1)."""
    x = (sx - cam[C_CX]) * cam[C_IFX]
    y = (sy - cam[C_CY]) * cam[C_IFY]
    dx = cam[C_ROT] * x + cam[C_ROT + 1] * y + cam[C_ROT + 2]
    dy = cam[C_ROT + 3] * x + cam[C_ROT + 4] * y + cam[C_ROT + 5]
    dz = cam[C_ROT + 6] * x + cam[C_ROT + 7] * y + cam[C_ROT + 8]
    clen = math.sqrt(x * x + y * y + 1.0)
    inv = 1.0 / clen
    return dx * inv, dy * inv, dz * inv, clen


@njit(**HOT)
def _primary(cam, sx, sy, start, end, items, pidx, geom):
    """Nearest hit (t, prim) through (sx, sy), and a bit per subject instance hit at all."""
    dx, dy, dz, clen = _ray(cam, sx, sy)
    ox, oy, oz = cam[C_POS], cam[C_POS + 1], cam[C_POS + 2]
    tmin = NEAR * clen
    best_t = INF
    best_k = -1
    bits = 0
    for q in range(start, end):
        k = items[q]
        # scenery wholly beyond the nearest hit so far cannot matter; subjects can (silhouettes)
        t = hit(pidx, geom, k, ox, oy, oz, dx, dy, dz, tmin, best_t if pidx[k, I_INST] == 0 else INF)
        if t < INF:
            inst = pidx[k, I_INST]
            if inst > 0 and inst <= 8:
                bits |= 1 << (inst - 1)
            if t < best_t:
                best_t = t
                best_k = k
    return best_t, best_k, bits, dx, dy, dz, clen


@njit(**HOT)
def _sky(light, dx, dy, dz):
    e = max(dz, 0.0)
    s = math.sqrt(e)
    r = light[L_SKY_HORIZON] + (light[L_SKY_TOP] - light[L_SKY_HORIZON]) * s
    g = light[L_SKY_HORIZON + 1] + (light[L_SKY_TOP + 1] - light[L_SKY_HORIZON + 1]) * s
    b = light[L_SKY_HORIZON + 2] + (light[L_SKY_TOP + 2] - light[L_SKY_HORIZON + 2]) * s
    if dz < 0.0:  # below the horizon: a slightly darker haze
        k = 1.0 + 0.25 * max(dz, -1.0)
        r, g, b = r * k, g * k, b * k
    cs = dx * light[L_SUN] + dy * light[L_SUN + 1] + dz * light[L_SUN + 2]
    if cs > 0.0:
        c2 = cs * cs
        c6 = c2 * c2 * c2
        c64 = c2 * c2
        c64 = c64 * c64
        c64 = c64 * c64
        c64 = c64 * c64
        c64 = c64 * c64
        glow = 0.35 * c64 + 0.12 * c6
        if cs > 0.99985:  # the sun's disc, about 2 degrees across
            glow = 3.0
        r += light[L_SUN_COLOR] * glow
        g += light[L_SUN_COLOR + 1] * glow
        b += light[L_SUN_COLOR + 2] * glow
    return r, g, b


@njit(inline="always", **JIT)
def light_cell(basis, dims, starts, items, px, py, pz):
    """The sun-grid lists (indices into `starts`) of the shadow rays from (px, py, pz): the
    cell's (-1: outside the grid) and, in a crowded cell, the sub-cell's (-1: none); see
    _light_csr (a negative entry in a cell's list is not a primitive)."""
    nu, nv = dims[LD_NU], dims[LD_NV]
    if nu <= 0:
        return -1, -1
    u = px * basis[LG_E1] + py * basis[LG_E1 + 1] + pz * basis[LG_E1 + 2]
    v = px * basis[LG_E2] + py * basis[LG_E2 + 1] + pz * basis[LG_E2 + 2]
    fu = (u - basis[LG_U0]) * basis[LG_INV_CELL]
    fv = (v - basis[LG_V0]) * basis[LG_INV_CELL]
    fcu = math.floor(fu)
    fcv = math.floor(fv)
    cu = np.int64(fcu)
    cv = np.int64(fcv)
    if cu < 0 or cv < 0 or cu >= nu or cv >= nv:
        return -1, -1
    c = cv * nu + cu
    q = starts[c]
    if q < starts[c + 1] and items[q] < 0:  # a crowded cell: and its sub-cell
        return c, -1 - np.int64(items[q]) + _sub_index(fv, fcv) * LIGHT_SUB + _sub_index(fu, fcu)
    return c, -1


@njit(**HOT)
def _occluder(items, lo, hi, px, py, pz, self_k, sx, sy, sz, scene):
    """The first primitive of items[lo:hi] other than self_k that the ray from (px, py, pz) along
    (sx, sy, sz) hits; -1: none. Negative entries (a crowded cell's sub-cell link) are skipped."""
    pidx, geom, zspan = scene.pidx, scene.geom, scene.zspan
    for q in range(lo, hi):
        k = items[q]
        if k < 0 or k == self_k or (sz > 0.0 and pz > zspan[k, Z_HI]) or (sz < 0.0 and pz < zspan[k, Z_LO]):
            continue  # the ray climbs away from everything below it (or the reverse)
        if hit(pidx, geom, k, px, py, pz, sx, sy, sz, 0.0) < INF:
            return k
    return -1


@njit(**HOT)
def _in_shadow(px, py, pz, self_k, light, scene, sun, hint):
    """A primitive other than self_k that the ray from (px, py, pz) towards the sun hits; -1: none.

    hint: a primitive to test first (-1: none), the occluder of a nearby ray: shadows come in
    patches, so it usually answers at once. Which occluder is returned may depend on it; whether
    there is one does not (every test is exact), so pixels never do.
    """
    sx, sy, sz = light[L_SUN], light[L_SUN + 1], light[L_SUN + 2]
    pidx, geom, zspan, basis = scene.pidx, scene.geom, scene.zspan, sun.basis
    if hint >= 0 and hint != self_k and not ((sz > 0.0 and pz > zspan[hint, Z_HI]) or (sz < 0.0 and pz < zspan[hint, Z_LO])):
        if hit(pidx, geom, hint, px, py, pz, sx, sy, sz, 0.0) < INF:
            return hint
    c, sc = light_cell(basis, sun.dims, sun.starts, sun.items, px, py, pz)
    # planes always; the giants after them only for points outside the grid
    k = _occluder(sun.always, 0, sun.dims[LD_N_ALWAYS] if c >= 0 else sun.always.shape[0], px, py, pz, self_k,
                  sx, sy, sz, scene)  # fmt: skip
    if k >= 0 or c < 0:
        return k
    k = _occluder(sun.items, sun.starts[c], sun.starts[c + 1], px, py, pz, self_k, sx, sy, sz, scene)
    if k >= 0 or sc < 0:
        return k
    return _occluder(sun.items, sun.starts[sc], sun.starts[sc + 1], px, py, pz, self_k, sx, sy, sz, scene)


@njit(inline="always", **JIT)
def _shade(k, t, dx, dy, dz, clen, cam, light, scene, sun, shadows, known_shadow, hint):
    """Colour of a hit (sun Lambert + hemisphere ambient + gloss, hard shadow, fog), its edge key
    and the shadow ray's occluder (-1: none or no ray cast).

    known_shadow: -1 casts the shadow ray; 0 or 1 takes the answer as given. hint: see _in_shadow.
    """
    pidx, geom, mat_params = scene.pidx, scene.geom, scene.mat_params
    ox, oy, oz = cam[C_POS], cam[C_POS + 1], cam[C_POS + 2]
    px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
    nx, ny, nz = normal(pidx, geom, k, px, py, pz)
    if nx * dx + ny * dy + nz * dz > 0.0:
        nx, ny, nz = -nx, -ny, -nz
    m = pidx[k, I_MAT]
    cosv = max(abs(nx * dx + ny * dy + nz * dz), 0.2)
    footprint = t * cam[C_IFX] / (clen * cosv)
    ar, ag, ab, cls = texture(scene.mat_pattern[m], mat_params, m, px, py, pz, nx, ny, nz, footprint)
    lx, ly, lz = light[L_SUN], light[L_SUN + 1], light[L_SUN + 2]
    ndl = nx * lx + ny * ly + nz * lz
    lit = 0.0
    shadowed = 0
    occluder = -1
    if ndl > 0.0:
        lit = ndl
        if known_shadow >= 0:
            shadowed = known_shadow
            if shadowed:
                lit = 0.0
        elif shadows:
            eps = SHADOW_EPS * (1.0 + t)
            occluder = _in_shadow(px + nx * eps, py + ny * eps, pz + nz * eps, k, light, scene, sun, hint)
            if occluder >= 0:
                lit = 0.0
                shadowed = 1
    hemi = 0.8 + 0.2 * nz
    r = ar * (light[L_AMBIENT] * hemi + light[L_SUN_COLOR] * lit)
    g = ag * (light[L_AMBIENT + 1] * hemi + light[L_SUN_COLOR + 1] * lit)
    b = ab * (light[L_AMBIENT + 2] * hemi + light[L_SUN_COLOR + 2] * lit)
    gloss = mat_params[m, M_GLOSS]
    if gloss > 0.0 and lit > 0.0:
        hx, hy, hz = _unit(lx - dx, ly - dy, lz - dz)
        spec = gloss * max(nx * hx + ny * hy + nz * hz, 0.0) ** 48
        r += light[L_SUN_COLOR] * spec
        g += light[L_SUN_COLOR + 1] * spec
        b += light[L_SUN_COLOR + 2] * spec
    fog = light[L_FOG]
    if fog > 0.0:
        fa = 1.0 - math.exp(-fog * t)
        r = r * (1.0 - fa) + light[L_SKY_HORIZON] * fa
        g = g * (1.0 - fa) + light[L_SKY_HORIZON + 1] * fa
        b = b * (1.0 - fa) + light[L_SKY_HORIZON + 2] * fa
    key = (np.int64(k) * 2 + shadowed) * 4 + cls
    return r, g, b, key, occluder


@njit(inline="always", **JIT)
def _u8(x):
    if x <= 0.0:
        return np.uint8(0)
    if x >= 1.0:
        return np.uint8(255)
    return np.uint8(int(x * 255.0 + 0.5))


# --------------------------------------------------------------------------- frames and tiles

# What the tile passes read and write; numba compiles named tuples to plain structs, so
# bundling costs nothing per call. Frame-stacked arrays have a leading [B] axis.
#   Scene: every frame's primitives and materials concatenated (pidx material and item
#     indices are global into them); zspan [P,2] world z range of each primitive.
#   Batch: image size, tile side (pixels), shadows on/off, the light vector, the Scene,
#     per frame cams [B,18], tile_starts [B,n_tiles+1] into tile_items, and the sun grids:
#     sun_basis [B,9], sun_dims [B,3], frame b's CSR starts sun_starts[sun_starts_at[b]:
#     sun_starts_at[b+1]] into sun_items and always-tested list sun_always[sun_always_at[b]:
#     sun_always_at[b+1]].
#   SunGrid: one frame's sun grid (see bin_light).
#   Images: the outputs of one frame (or [B] stacked): rgb uint8 [H,W,3], depth float32
#     [H,W] (metres along the optical axis, inf = sky), ids uint8 [H,W] (nearest instance),
#     sil uint8 [H,W] (bit k-1: subject k hit at all), key int64 [H,W] (edge key, -1 = sky).
Scene = namedtuple("Scene", ["pidx", "geom", "mat_pattern", "mat_params", "zspan"])
Batch = namedtuple(
    "Batch",
    ["width", "height", "tile", "shadows", "light", "scene", "cams", "tile_starts", "tile_items",
     "sun_basis", "sun_dims", "sun_starts", "sun_starts_at", "sun_items", "sun_always", "sun_always_at"],
)  # fmt: skip
SunGrid = namedtuple("SunGrid", ["basis", "dims", "starts", "items", "always"])
Images = namedtuple("Images", ["rgb", "depth", "ids", "sil", "key"])

# passes of `render_job`
PASS_CENTRE, PASS_ANTIALIAS = 1, 2


@njit(**HOT)
def _cast_tile(batch, cam, starts, sun, ti, out):
    """Centre sample of every pixel of tile ti: colour, depth, nearest instance, subject bits, edge key."""
    width, height, tile, light, scene = batch.width, batch.height, batch.tile, batch.light, batch.scene
    ntx = (width + tile - 1) // tile
    ty = ti // ntx
    tx = ti - ty * ntx
    s, e = starts[ti], starts[ti + 1]
    last = -1  # the latest shadow ray's occluder
    for j in range(ty * tile, min(height, ty * tile + tile)):
        for i in range(tx * tile, min(width, tx * tile + tile)):
            t, k, bits, dx, dy, dz, clen = _primary(cam, i + 0.5, j + 0.5, s, e, batch.tile_items, scene.pidx, scene.geom)
            out.sil[j, i] = bits
            if k < 0:
                r, g, b = _sky(light, dx, dy, dz)
                out.depth[j, i] = np.float32(INF)
                out.ids[j, i] = 0
                out.key[j, i] = -1
            else:
                r, g, b, kk, occ = _shade(k, t, dx, dy, dz, clen, cam, light, scene, sun, batch.shadows, -1, last)
                if occ >= 0:
                    last = occ
                out.depth[j, i] = np.float32(t / clen)
                out.ids[j, i] = np.uint8(min(scene.pidx[k, I_INST], 255))
                out.key[j, i] = kk
            out.rgb[j, i, 0] = _u8(r)
            out.rgb[j, i, 1] = _u8(g)
            out.rgb[j, i, 2] = _u8(b)


@njit(inline="always", **JIT)
def _shadow_seen(key, i, j, width, height, k):
    """Whether primitive k is in shadow where the centre samples of pixel (i, j) and its four
    neighbours see it: 0 or 1 if they all agree, -1 if they differ or none sees k (cast a ray)."""
    seen = -1
    for n in range(5):
        ni, nj = i, j
        if n == 1:
            ni = i - 1
        elif n == 2:
            ni = i + 1
        elif n == 3:
            nj = j - 1
        elif n == 4:
            nj = j + 1
        if ni < 0 or nj < 0 or ni >= width or nj >= height:
            continue
        kn_ = key[nj, ni]
        if kn_ < 0 or kn_ // 8 != k:
            continue
        bit = (kn_ // 4) % 2
        if seen < 0:
            seen = bit
        elif seen != bit:
            return -1
    return seen


@njit(inline="always", **JIT)
def _aa_sample(batch, cam, s, e, sun, key, i, j, sx, sy, surface, kc, known, last):
    """One anti-aliasing sample of pixel (i, j) at image point (sx, sy): colour clamped to 0..1,
    edge key (-1: sky) and the latest shadow ray's occluder (`last` if none was cast).

    surface: re-hit only primitive kc // 8 (one primitive all around the pixel), taking the
    shadow as `known` (0 or 1; -1 casts the ray); otherwise the ray is cast into the tile's
    primitives (s, e) and a shadow the neighbouring centres agree on is taken from them.
    """
    light, scene = batch.light, batch.scene
    k = -1
    kk = np.int64(-1)
    if surface:
        dx, dy, dz, clen = _ray(cam, sx, sy)
        k = kc // 8
        t = hit(scene.pidx, scene.geom, k, cam[C_POS], cam[C_POS + 1], cam[C_POS + 2], dx, dy, dz, NEAR * clen)
        if t < INF:
            r, g, b, kk, occ = _shade(k, t, dx, dy, dz, clen, cam, light, scene, sun, batch.shadows, known, last)
            if occ >= 0:
                last = occ
        else:
            k = -1
    if k < 0:
        t, k, _bits, dx, dy, dz, clen = _primary(cam, sx, sy, s, e, batch.tile_items, scene.pidx, scene.geom)
        if k < 0:
            r, g, b = _sky(light, dx, dy, dz)
            kk = np.int64(-1)
        else:
            seen = _shadow_seen(key, i, j, batch.width, batch.height, k)
            r, g, b, kk, occ = _shade(k, t, dx, dy, dz, clen, cam, light, scene, sun, batch.shadows, seen, last)
            if occ >= 0:
                last = occ
    return min(max(r, 0.0), 1.0), min(max(g, 0.0), 1.0), min(max(b, 0.0), 1.0), kk, last


@njit(**HOT)
def _antialias_tile(batch, cam, starts, sun, ti, out, offsets):
    """Re-shade the pixels of tile ti whose edge key differs from a 4-neighbour's from the
    rotated-grid samples `offsets` [4,2] (rows 0 and 2 lie farthest apart in y, rows 1 and 3
    in x); returns how many pixels it re-shaded.

    Where only the left/right (or only the upper/lower) neighbours differ, the pair of samples
    farthest apart across the edge is cast first; if both see the centre's key (primitive,
    shadow and texture cell), the edge passes beside this pixel's samples and their mean is
    its colour (on one side of an edge this is about half the pixels). Otherwise all four are
    averaged, in row order.
    """
    width, height, tile = batch.width, batch.height, batch.tile
    key = out.key
    ntx = (width + tile - 1) // tile
    ty = ti // ntx
    tx = ti - ty * ntx
    s, e = starts[ti], starts[ti + 1]
    count = 0
    last = -1  # the latest shadow ray's occluder
    for j in range(ty * tile, min(height, ty * tile + tile)):
        for i in range(tx * tile, min(width, tx * tile + tile)):
            kc = key[j, i]
            across = (i > 0 and key[j, i - 1] != kc) or (i + 1 < width and key[j, i + 1] != kc)
            along = (j > 0 and key[j - 1, i] != kc) or (j + 1 < height and key[j + 1, i] != kc)
            if not (across or along):
                continue
            count += 1
            # one primitive all around: re-sample that surface, not the scene; and if only its
            # texture cells differ (the same side of a shadow edge), not the shadow either
            surface = kc >= 0
            known = -1
            if surface:
                kp = kc // 8
                surface = (
                    (i == 0 or key[j, i - 1] // 8 == kp)
                    and (i + 1 == width or key[j, i + 1] // 8 == kp)
                    and (j == 0 or key[j - 1, i] // 8 == kp)
                    and (j + 1 == height or key[j + 1, i] // 8 == kp)
                )
                ks = kc // 4
                if surface and (
                    (i == 0 or key[j, i - 1] // 4 == ks)
                    and (i + 1 == width or key[j, i + 1] // 4 == ks)
                    and (j == 0 or key[j - 1, i] // 4 == ks)
                    and (j + 1 == height or key[j + 1, i] // 4 == ks)
                ):
                    known = ks % 2
            # samples in casting order: the pair farthest apart across the edge, then the other pair
            q0, q1 = (1, 3) if across and not along else (0, 2)
            p0, p1 = (0, 2) if q0 == 1 else (1, 3)
            r0 = g0 = b0 = r1 = g1 = b1 = r2 = g2 = b2 = r3 = g3 = b3 = 0.0
            ka = kb = np.int64(-1)
            for n in range(4):
                if n == 2 and across != along and ka == kc and kb == kc:
                    break
                q = q0 if n == 0 else (q1 if n == 1 else (p0 if n == 2 else p1))
                r, g, b, kk, last = _aa_sample(batch, cam, s, e, sun, key, i, j, i + 0.5 + offsets[q, 0],
                                               j + 0.5 + offsets[q, 1], surface, kc, known, last)  # fmt: skip
                if n == 0:
                    ka = kk
                elif n == 1:
                    kb = kk
                if q == 0:
                    r0, g0, b0 = r, g, b
                elif q == 1:
                    r1, g1, b1 = r, g, b
                elif q == 2:
                    r2, g2, b2 = r, g, b
                else:
                    r3, g3, b3 = r, g, b
            if across != along and ka == kc and kb == kc:  # the first pair's mean, in casting order
                if q0 == 0:
                    r, g, b = (r0 + r2) / 2.0, (g0 + g2) / 2.0, (b0 + b2) / 2.0
                else:
                    r, g, b = (r1 + r3) / 2.0, (g1 + g3) / 2.0, (b1 + b3) / 2.0
            else:  # all four, in row order
                r, g, b = (((r0 + r1) + r2) + r3) / 4.0, (((g0 + g1) + g2) + g3) / 4.0, (((b0 + b1) + b2) + b3) / 4.0
            out.rgb[j, i, 0] = _u8(r)
            out.rgb[j, i, 1] = _u8(g)
            out.rgb[j, i, 2] = _u8(b)
    return count


@njit(**HOT)
def _run_tiles(batch, cam, starts, sun, tiles, out, passes, offsets):
    """The passes of one job over its tiles, in order: every centre sample first, then anti-aliasing."""
    if passes & PASS_CENTRE:
        for q in range(tiles.shape[0]):
            _cast_tile(batch, cam, starts, sun, tiles[q], out)
    count = 0
    if passes & PASS_ANTIALIAS:
        for q in range(tiles.shape[0]):
            count += _antialias_tile(batch, cam, starts, sun, tiles[q], out, offsets)
    return count


@njit(nogil=True, **JIT)
def render_job(batch, images, b, tiles, passes, offsets):
    """Run `passes` (PASS_* bits) over `tiles` (tile indices) of frame b of the batch, writing
    into images (frame-stacked); returns how many pixels it anti-aliased.

    Serial and free of the GIL: the caller runs several jobs at once on its own threads, each
    taking the next job when it finishes one (a frame each for clips; shares of a frame's
    tiles, every centre pass before any anti-aliasing pass, for one frame). numba's static
    parallel loop split a batch's frames evenly between the threads instead, so a thread whose
    core was busy held up the batch while the other spun. The per-tile work runs in functions
    compiled without reference counting: numba would otherwise update the shared arrays'
    counts atomically on every inner call, which costs more than the ray casting and stops
    two threads scaling.
    """
    sun = SunGrid(
        batch.sun_basis[b],
        batch.sun_dims[b],
        batch.sun_starts[batch.sun_starts_at[b] : batch.sun_starts_at[b + 1]],
        batch.sun_items,
        batch.sun_always[batch.sun_always_at[b] : batch.sun_always_at[b + 1]],
    )
    out = Images(images.rgb[b], images.depth[b], images.ids[b], images.sil[b], images.key[b])
    return _run_tiles(batch, batch.cams[b], batch.tile_starts[b], sun, tiles, out, passes, offsets)


@njit(**JIT)
def cast_rays(pidx, geom, origins, dirs, tmin):
    """Nearest hit (t, prim) for explicit unit rays, testing every primitive (for tests and picking)."""
    n = origins.shape[0]
    ts = np.full(n, INF)
    ks = np.full(n, -1, np.int64)
    for r in range(n):
        for k in range(pidx.shape[0]):
            t = hit(pidx, geom, k, origins[r, 0], origins[r, 1], origins[r, 2], dirs[r, 0], dirs[r, 1], dirs[r, 2], tmin)
            if t < ts[r]:
                ts[r] = t
                ks[r] = k
    return ts, ks
