"""Ray/primitive intersections are exact: hits lie on the surface, nothing is crossed before them,
misses never enter the solid, and normals agree with the signed distance field's gradient."""

from __future__ import annotations

import numpy as np
import pytest

from hmworld.render.builtin import kernels as kn
from hmworld.render.builtin import primitives as pr
from hmworld.render.builtin.primitives import Material, PrimitiveBuilder
from hmworld.render.builtin.raycast import cast_rays, pack

M = Material((0.5, 0.5, 0.5))


def _rot(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _local(p, c, R):
    return (p - c) @ R  # R^T (p - c) for row vectors


def sdf_box(p, c, h, R):
    d = np.abs(_local(p, c, R)) - h
    return np.linalg.norm(np.maximum(d, 0), axis=-1) + np.minimum(d.max(axis=-1), 0)


def sdf_capsule(p, a, b, r):
    ba, pa = b - a, p - a
    y = np.clip(pa @ ba / (ba @ ba), 0, 1)
    return np.linalg.norm(pa - y[..., None] * ba, axis=-1) - r


def sdf_cone(p, a, b, ra, rb):
    """Capped cone frustum (Inigo Quilez's exact distance); ra == rb gives a capped cylinder."""
    rba = rb - ra
    baba = (b - a) @ (b - a)
    papa = np.sum((p - a) ** 2, axis=-1)
    paba = (p - a) @ (b - a) / baba
    x = np.sqrt(np.maximum(papa - paba * paba * baba, 0))
    cax = np.maximum(0, x - np.where(paba < 0.5, ra, rb))
    cay = np.abs(paba - 0.5) - 0.5
    k = rba * rba + baba
    f = np.clip((rba * (x - ra) + paba * baba) / k, 0, 1)
    cbx = x - ra - f * rba
    cby = paba - f
    s = np.where((cbx < 0) & (cay < 0), -1.0, 1.0)
    return s * np.sqrt(np.minimum(cax * cax + cay * cay * baba, cbx * cbx + cby * cby * baba))


def ellipsoid_implicit(p, c, h, R):
    """|q/h| - 1: not a distance, but zero exactly on the surface and negative inside."""
    return np.linalg.norm(_local(p, c, R) / h, axis=-1) - 1


def cases(rng: np.random.Generator):
    """(name, builder, signed-distance function) for one random instance of every kind."""
    c = rng.uniform(-0.3, 0.3, 3)
    R = _rot(rng)
    h = rng.uniform(0.3, 1.0, 3)
    a, b = rng.uniform(-0.8, 0.8, 3), rng.uniform(-0.8, 0.8, 3)
    r, r2 = rng.uniform(0.15, 0.5), rng.uniform(0.0, 0.5)
    out = []
    bb = PrimitiveBuilder()
    bb.sphere(c, r, M)
    out.append(("sphere", bb, lambda p: np.linalg.norm(p - c, axis=-1) - r))
    bb = PrimitiveBuilder()
    bb.box(c, h, M, rot=R)
    out.append(("box", bb, lambda p: sdf_box(p, c, h, R)))
    bb = PrimitiveBuilder()
    bb.ellipsoid(c, h, M, rot=R)
    out.append(("ellipsoid", bb, lambda p: ellipsoid_implicit(p, c, h, R)))
    bb = PrimitiveBuilder()
    bb.capsule(a, b, r, M)
    out.append(("capsule", bb, lambda p: sdf_capsule(p, a, b, r)))
    bb = PrimitiveBuilder()
    bb.cylinder(a, b, r, M)
    out.append(("cylinder", bb, lambda p: sdf_cone(p, a, b, r, r)))
    bb = PrimitiveBuilder()
    bb.cone(a, b, r, r2, M)
    out.append(("cone", bb, lambda p: sdf_cone(p, a, b, r, r2)))
    return out


def random_rays(rng: np.random.Generator, n: int, prims) -> tuple[np.ndarray, np.ndarray]:
    """Rays from a 4 m sphere aimed at points of the primitive's grown bounds: many hit, many miss."""
    p_ = pack(prims)
    lo, hi = kn.prim_bounds(p_.prim_index, p_.prim_geometry)
    mid, half = (lo[0] + hi[0]) / 2, (hi[0] - lo[0]) / 2 * 1.3
    o = rng.normal(size=(n, 3))
    o = 4.0 * o / np.linalg.norm(o, axis=1, keepdims=True)
    d = rng.uniform(mid - half, mid + half, (n, 3)) - o
    return o, d / np.linalg.norm(d, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
def test_hits_lie_on_the_surface_and_nothing_is_crossed_before(seed: int) -> None:
    rng = np.random.default_rng(seed)
    steps = np.linspace(0.0, 1.0, 400)
    for name, bb, sdf in cases(rng):
        o, d = random_rays(rng, 400, bb.build())
        t, k = cast_rays(bb.build(), o, d)
        hit = np.isfinite(t)
        assert 0.15 < hit.mean() < 0.95, (name, hit.mean())
        assert np.all(k[hit] == 0) and np.all(k[~hit] == -1)
        p = o[hit] + t[hit, None] * d[hit]
        assert np.abs(sdf(p)).max() < 1e-9, name
        # every point before the hit is outside (allowing for the surface itself)
        before = o[hit, None, :] + (t[hit, None, None] * steps[None, :-1, None]) * d[hit, None, :]
        assert sdf(before).min() > -1e-9, name
        # a miss never enters: march the whole ray through the solid's neighbourhood
        along = o[~hit, None, :] + (8.0 * steps)[None, :, None] * d[~hit, None, :]
        assert sdf(along).min() > -1e-3, name


@pytest.mark.parametrize("seed", range(2))
def test_normals_follow_the_distance_gradient(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    eps = 1e-6
    for name, bb, sdf in cases(rng):
        prims = bb.build()
        p_ = pack(prims)
        o, d = random_rays(rng, 300, prims)
        t, _ = cast_rays(prims, o, d)
        pts = o[np.isfinite(t)] + t[np.isfinite(t), None] * d[np.isfinite(t)]
        grads = np.stack([(sdf(pts + eps * e) - sdf(pts - eps * e)) / (2 * eps) for e in np.eye(3)], axis=-1)
        grads /= np.linalg.norm(grads, axis=1, keepdims=True)
        normals = np.array([kn.normal(p_.prim_index, p_.prim_geometry, 0, *q) for q in pts])
        assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
        agree = np.sum(normals * grads, axis=1) > 0.999
        # only edges and rims (a set of measure zero, hit by chance within eps) may disagree
        assert agree.mean() > 0.97, (name, agree.mean())


def test_plane_is_hit_from_both_sides_at_the_analytic_distance() -> None:
    b = PrimitiveBuilder()
    b.plane(M, height=0.5)
    o = np.array([[0.0, 0.0, 2.0], [1.0, 1.0, -1.0], [0.0, 0.0, 2.0]])
    d = np.array([[0.0, 0.6, -0.8], [0.0, 0.0, 1.0], [0.0, 0.8, 0.6]])
    t, k = cast_rays(b.build(), o, d)
    assert np.allclose(t[:2], [1.5 / 0.8, 1.5])
    assert np.isinf(t[2]) and k[2] == -1


def test_rays_starting_inside_leave_through_the_surface() -> None:
    b = PrimitiveBuilder()
    b.box((0, 0, 0), (1.0, 2.0, 3.0), M)
    t, _ = cast_rays(b.build(), np.zeros((3, 3)), np.eye(3))
    assert np.allclose(t, [1.0, 2.0, 3.0])


def test_kernel_constants_match_the_primitive_api() -> None:
    """kernels.py keeps its own copies (numba caches per file); they must not drift."""
    assert (kn.PLANE, kn.SPHERE, kn.BOX, kn.CAPSULE, kn.CYLINDER, kn.CONE, kn.ELLIPSOID) == (
        pr.PLANE, pr.SPHERE, pr.BOX, pr.CAPSULE, pr.CYLINDER, pr.CONE, pr.ELLIPSOID,
    )  # fmt: skip
    names = ("FLAT", "CHECKER", "STRIPES", "BRICKS", "NOISE", "GRADIENT", "GRASS", "TILES")
    assert [getattr(kn, n) for n in names] == [pr.PATTERNS.index(n.lower()) for n in names]
    assert len(pr.PATTERNS) == len(names), "a new pattern needs its kernel constant and texture code"


def test_bounds_contain_the_primitives() -> None:
    rng = np.random.default_rng(7)
    for name, bb, sdf in cases(rng):
        p_ = pack(bb.build())
        lo, hi = kn.prim_bounds(p_.prim_index, p_.prim_geometry)
        pts = rng.uniform(lo[0] - 1, hi[0] + 1, (20000, 3))
        inside = sdf(pts) < 0
        assert inside.any(), name
        assert np.all((pts[inside] >= lo[0]) & (pts[inside] <= hi[0])), name
