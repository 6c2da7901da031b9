"""Exact axis-aligned bounds of primitives, written independently of the ray caster's kernels."""

from __future__ import annotations

import numpy as np

from hmworld.render.builtin import primitives as P


def primitive_bounds(ps: P.PrimitiveSet) -> tuple[np.ndarray, np.ndarray]:
    """lo, hi [n,3] per primitive; planes are infinite."""
    n = len(ps)
    lo, hi = np.zeros((n, 3)), np.zeros((n, 3))
    for k in range(n):
        kind, a, b, r, h, R = ps.kind[k], ps.a[k], ps.b[k], ps.radius[k], ps.half[k], ps.rot[k]
        if kind == P.PLANE:
            lo[k], hi[k] = -np.inf, np.inf
        elif kind == P.SPHERE:
            lo[k], hi[k] = a - r[0], a + r[0]
        elif kind == P.BOX:
            e = np.abs(R) @ h
            lo[k], hi[k] = a - e, a + e
        elif kind == P.ELLIPSOID:
            e = np.sqrt((R**2) @ (h**2))
            lo[k], hi[k] = a - e, a + e
        elif kind == P.CAPSULE:
            lo[k], hi[k] = np.minimum(a, b) - r[0], np.maximum(a, b) + r[0]
        else:  # cylinder or cone: discs at both ends
            ra, rb = r[0], (r[1] if kind == P.CONE else r[0])
            d = b - a
            dd = float(d @ d)
            e = np.sqrt(np.maximum(0.0, 1.0 - d * d / dd)) if dd > 0 else np.ones(3)
            lo[k], hi[k] = np.minimum(a - ra * e, b - rb * e), np.maximum(a + ra * e, b + rb * e)
    return lo, hi


def horizontal_distance_to_origin(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance in the ground plane from the origin to each box [n]."""
    dx = np.maximum(np.maximum(lo[:, 0], -hi[:, 0]), 0.0)
    dy = np.maximum(np.maximum(lo[:, 1], -hi[:, 1]), 0.0)
    return np.hypot(dx, dy)


def surface_points(ps: P.PrimitiveSet, k: int, n: int = 24) -> np.ndarray:
    """Points on (or, for round shapes, densely around) primitive k's surface [m,3]."""
    kind, a, b, r, h, R = ps.kind[k], ps.a[k], ps.b[k], ps.radius[k], ps.half[k], ps.rot[k]
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, n, endpoint=False), np.linspace(-np.pi / 2, np.pi / 2, n // 2 + 1))
    unit = np.stack([np.cos(v) * np.cos(u), np.cos(v) * np.sin(u), np.sin(v)], -1).reshape(-1, 3)
    if kind == P.BOX:  # a lattice over the box (its hull is the box)
        g = np.linspace(-1.0, 1.0, 9)
        lattice = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        return a + (lattice * h) @ R.T
    if kind == P.ELLIPSOID:
        return a + (unit * h) @ R.T
    if kind == P.SPHERE:
        return a + unit * r[0]
    if kind == P.CAPSULE:
        return np.concatenate([a + unit * r[0], b + unit * r[0]])
    # cylinder / cone: rims of both end discs
    d = (b - a) / max(np.linalg.norm(b - a), 1e-12)
    e1 = np.cross(d, (1.0, 0.0, 0.0) if abs(d[0]) < 0.9 else (0.0, 1.0, 0.0))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(d, e1)
    t = np.linspace(0, 2 * np.pi, 4 * n, endpoint=False)[:, None]
    rim = np.cos(t) * e1 + np.sin(t) * e2
    rb = r[1] if kind == P.CONE else r[0]
    return np.concatenate([a + r[0] * rim, b + rb * rim])


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z of the cross product of 2-D vectors (numpy 2 deprecates np.cross on 2-vectors)."""
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _hull(points: np.ndarray) -> np.ndarray:
    """2-D convex hull (Andrew's monotone chain), counter-clockwise."""
    pts = np.unique(np.round(points, 9), axis=0)
    if len(pts) < 3:
        return pts

    def half(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and _cross(out[-1] - out[-2], p - out[-2]) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def footprint_distance(ps: P.PrimitiveSet, k: int) -> float:
    """Distance in the ground plane from the origin to primitive k's footprint (0 if over it)."""
    hull = _hull(surface_points(ps, k)[:, :2])
    if len(hull) < 3:
        return float(np.min(np.hypot(hull[:, 0], hull[:, 1])))
    edges = np.roll(hull, -1, axis=0) - hull
    if np.all(_cross(edges, -hull) >= 0):
        return 0.0
    t = np.clip(np.einsum("ij,ij->i", -hull, edges) / np.einsum("ij,ij->i", edges, edges), 0.0, 1.0)
    closest = hull + t[:, None] * edges
    return float(np.min(np.hypot(closest[:, 0], closest[:, 1])))
