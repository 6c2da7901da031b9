"""What body frames draw, kept in local coordinates and moved into the world in one step.

A body draws a few dozen primitives in a handful of nested frames. Instead of
transforming each primitive as it is drawn, frames hand their local rows to a
`PoseBuilder`, which keeps them in drawing order as segments (single rows, the
same parts on every limb, or parts recorded once and stamped) and builds the
PrimitiveSet with one stacked matmul per field. What a sequence of segments
fixes whatever the pose (kinds, instance ids, the material table) is worked out
once per sequence and cached.

Bit for bit: a stacked matmul multiplies each point by its frame's rotation with
the same BLAS product as `R @ p` does for one point, so the world coordinates do
not depend on the grouping (tools/bench_pose.py compares them bit for bit with the
code that transformed row by row; tests/render/test_pose_golden.py holds them to
fingerprints of that code's output on any machine, within round-off).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hmworld.render.builtin.primitives import (
    BOX,
    CAPSULE,
    CONE,
    CYLINDER,
    ELLIPSOID,
    SPHERE,
    Material,
    PrimitiveBuilder,
    PrimitiveSet,
    material_arrays,
)

ZERO3 = (0.0, 0.0, 0.0)
EYE3 = np.eye(3)
ENDS = (CAPSULE, CYLINDER, CONE)  # kinds whose `b` is a second point (the rest keep b = 0)
ORIENTED = (BOX, ELLIPSOID)  # kinds that carry their frame's rotation (the rest: identity)

# one primitive in its frame: kind, material, a, b, radius (r0, r1), half sizes, local rotation or None
Row = tuple[int, Material, object, object, object, object, "np.ndarray | None"]


class Placed(Protocol):
    """A frame as the builder sees it: world-from-local rotation R [3,3], origin t [3], instance id."""

    R: np.ndarray
    t: np.ndarray
    instance: int


@dataclass(frozen=True, eq=False)
class LocalParts:
    """n primitives in one frame's local coordinates.

    kind [n] int8; materials: n Materials; a, b [n,3] metres (b is 0 where a kind has no
    second point); radius [n,2]; half [n,3]; rot [n,3,3] the local rotation of a box or
    ellipsoid drawn with one (identity elsewhere); turned [n] bool: such a rotation was given.
    """

    kind: np.ndarray
    materials: tuple[Material, ...]
    a: np.ndarray
    b: np.ndarray
    radius: np.ndarray
    half: np.ndarray
    rot: np.ndarray
    turned: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.shape[0])

    @staticmethod
    def of_rows(rows: list[Row]) -> LocalParts:
        n = len(rows)
        return LocalParts(
            kind=np.array([r[0] for r in rows], dtype=np.int8).reshape(n),
            materials=tuple(r[1] for r in rows),
            a=np.array([r[2] for r in rows], dtype=np.float64).reshape(n, 3),
            b=np.array([r[3] for r in rows], dtype=np.float64).reshape(n, 3),
            radius=np.array([r[4] for r in rows], dtype=np.float64).reshape(n, 2),
            half=np.array([r[5] for r in rows], dtype=np.float64).reshape(n, 3),
            rot=np.array([EYE3 if r[6] is None else r[6] for r in rows], dtype=np.float64).reshape(n, 3, 3),
            turned=np.array([r[6] is not None for r in rows], dtype=bool).reshape(n),
        )


class Draws(ABC):
    """The drawing vocabulary shared by frames and limbs: each call hands one Row to `_draw`."""

    @abstractmethod
    def _draw(self, row: Row) -> None:
        """Record one part (Frame: in its local coordinates; Limbs: on every limb)."""

    def sphere(self, c, r: float, m: Material) -> None:
        self._draw((SPHERE, m, c, ZERO3, (r, r), ZERO3, None))

    def capsule(self, a, b, r: float, m: Material) -> None:
        self._draw((CAPSULE, m, a, b, (r, r), ZERO3, None))

    def cylinder(self, a, b, r: float, m: Material) -> None:
        self._draw((CYLINDER, m, a, b, (r, r), ZERO3, None))

    def cone(self, a, b, ra: float, rb: float, m: Material) -> None:
        """Capped frustum from a (radius ra) to b (radius rb)."""
        self._draw((CONE, m, a, b, (ra, rb), ZERO3, None))

    def box(self, c, half, m: Material, rot: np.ndarray | None = None) -> None:
        """rot: the box's rotation in the frame (default: the frame's axes)."""
        self._draw((BOX, m, c, ZERO3, (0.0, 0.0), half, rot))

    def ellipsoid(self, c, radii, m: Material, rot: np.ndarray | None = None) -> None:
        """rot: the ellipsoid's rotation in the frame (default: the frame's axes)."""
        self._draw((ELLIPSOID, m, c, ZERO3, (0.0, 0.0), radii, rot))


class Limbs(Draws):
    """The same parts drawn on each of `n` limbs, limb by limb (as a loop over the limbs would).

    Each part takes points [n,3] (or one point for all limbs) and one radius or size for
    all limbs; boxes and ellipsoids drawn this way carry their frame's rotation.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[Row] = []

    def _draw(self, row: Row) -> None:
        if row[6] is not None:
            raise ValueError("parts drawn on limbs take their frame's rotation; draw a turned part on its own")
        self.parts.append(row)

    def key(self) -> tuple:
        return ("limbs", self.n, tuple((p[0], id(p[1])) for p in self.parts))

    def local(self) -> LocalParts:
        """The rows limb by limb."""
        k, n = len(self.parts), self.n
        limb_major = np.arange(k * n).reshape(k, n).T.reshape(-1)
        return LocalParts(np.array([p[0] for p in self.parts] * n, dtype=np.int8),
                          tuple(p[1] for p in self.parts) * n,
                          np.concatenate([per_limb(p[2], n) for p in self.parts])[limb_major],
                          np.concatenate([per_limb(p[3], n) for p in self.parts])[limb_major],
                          np.repeat(np.array([p[4] for p in self.parts], dtype=np.float64), n, axis=0)[limb_major],
                          np.repeat(np.array([p[5] for p in self.parts], dtype=np.float64), n, axis=0)[limb_major],
                          np.broadcast_to(EYE3, (k * n, 3, 3)).copy(), np.zeros(k * n, dtype=bool))


_ZEROS: dict[int, np.ndarray] = {}


def per_limb(p, n: int) -> np.ndarray:
    """A part's points [n,3], from points [n,3] or one point for every limb."""
    if isinstance(p, np.ndarray) and p.shape == (n, 3):
        return p
    if p is ZERO3:  # the unused second point of most parts
        if n not in _ZEROS:
            _ZEROS[n] = np.zeros((n, 3))
            _ZEROS[n].flags.writeable = False
        return _ZEROS[n]
    return np.broadcast_to(np.asarray(p, dtype=np.float64), (n, 3))


Segment = list[Row] | Limbs | LocalParts


@dataclass(frozen=True, eq=False)
class _Layout:
    """What a sequence of segments fixes whatever the pose, worked out once per sequence.

    kind [n] int8, instance [n] int16, material [n] int32 (index in the table, in order of
    first use, equal materials shared); ends [n,1], oriented [n,1,1] bool (see ENDS,
    ORIENTED); segment [n]: each row's segment; order [n]: where each row sits when the
    floats are gathered as `_floats` does (single rows, limbs part by part, stamped parts);
    turned: the rows drawn with a rotation of their own, turned_rot [k,3,3] their rotations
    where stamped, turned_rows (k's index, single row's index) where drawn singly; repeats:
    1 for each single row, then n for each part of each n limbs (their radii and sizes); mats:
    the table as PrimitiveSet's mat_* arrays; materials [n]; keep: the objects whose ids
    the cache key holds, kept alive so that an id is not reused while its entry lives.
    """

    kind: np.ndarray
    instance: np.ndarray
    material: np.ndarray
    ends: np.ndarray
    oriented: np.ndarray
    segment: np.ndarray
    order: np.ndarray
    turned: np.ndarray
    turned_rot: np.ndarray
    turned_rows: list[tuple[int, int]]
    repeats: np.ndarray
    mats: dict[str, np.ndarray]
    materials: tuple[Material, ...]
    keep: tuple


_LAYOUTS: dict[tuple, _Layout] = {}
_LAYOUTS_MAX = 512  # a few per group of catalog subjects; the cache starts over when full


def _key(frame: Placed, seg: Segment) -> tuple:
    if isinstance(seg, list):
        return (frame.instance, tuple((r[0], id(r[1]), r[6] is None) for r in seg))
    if isinstance(seg, Limbs):
        return (frame.instance, seg.key())
    return (frame.instance, id(seg))


class PoseBuilder:
    """Collects what frames draw, in drawing order, and builds it as one PrimitiveSet."""

    def __init__(self) -> None:
        self._segments: list[tuple[Placed, Segment]] = []

    def add_row(self, frame: Placed, row: Row) -> None:
        if self._segments:
            last_frame, last = self._segments[-1]
            if last_frame is frame and isinstance(last, list):
                last.append(row)
                return
        self._segments.append((frame, [row]))

    def add(self, frame: Placed, seg: Limbs | LocalParts) -> None:
        self._segments.append((frame, seg))

    def frames(self) -> list[Placed]:
        return [f for f, _ in self._segments]

    def _layout(self) -> _Layout:
        key = tuple(_key(f, s) for f, s in self._segments)
        layout = _LAYOUTS.get(key)
        if layout is None:
            if len(_LAYOUTS) >= _LAYOUTS_MAX:
                _LAYOUTS.clear()
            layout = _LAYOUTS[key] = self._make_layout()
        return layout

    def _make_layout(self) -> _Layout:
        segs = [s for _, s in self._segments]
        parts = [LocalParts.of_rows(s) if isinstance(s, list) else s.local() if isinstance(s, Limbs) else s
                 for s in segs]
        counts = [len(p) for p in parts]
        kind = np.concatenate([p.kind for p in parts])
        materials = tuple(m for p in parts for m in p.materials)
        index: dict[Material, int] = {}
        material = np.array([index.setdefault(m, len(index)) for m in materials], dtype=np.int32)
        turned = np.flatnonzero(np.concatenate([p.turned for p in parts]))
        turned_rot = np.concatenate([p.rot for p in parts])[turned]
        n_rows = sum(len(s) for s in segs if isinstance(s, list))
        n_limbs = sum(s.n * len(s.parts) for s in segs if isinstance(s, Limbs))
        order, row_at, where = [], [], {"rows": 0, "limbs": n_rows, "stamped": n_rows + n_limbs}
        for s in segs:
            if isinstance(s, list):
                row_at += range(where["rows"], where["rows"] + len(s))
                order.append(np.arange(where["rows"], where["rows"] + len(s)))
                where["rows"] += len(s)
            elif isinstance(s, Limbs):
                k = len(s.parts)
                order.append(where["limbs"] + np.arange(k * s.n).reshape(k, s.n).T.reshape(-1))
                row_at += [-1] * (k * s.n)
                where["limbs"] += k * s.n
            else:
                order.append(np.arange(where["stamped"], where["stamped"] + len(s)))
                row_at += [-1] * len(s)
                where["stamped"] += len(s)
        mats = list(index)
        return _Layout(
            kind=kind,
            instance=np.repeat(np.array([f.instance for f, _ in self._segments], dtype=np.int16), counts),
            material=material.reshape(len(kind)),
            ends=np.isin(kind, ENDS)[:, None],
            oriented=np.isin(kind, ORIENTED)[:, None, None],
            segment=np.repeat(np.arange(len(segs)), counts),
            order=np.concatenate(order),
            turned=turned,
            turned_rot=turned_rot,
            turned_rows=[(j, row_at[i]) for j, i in enumerate(turned.tolist()) if row_at[i] >= 0],
            repeats=np.array([1] * n_rows + [s.n for s in segs if isinstance(s, Limbs) for _ in s.parts]),
            mats=material_arrays(mats),
            materials=materials,
            keep=(tuple(s for s in segs if not isinstance(s, list)), materials),
        )

    def _rows(self) -> list[Row]:
        return [r for _, s in self._segments if isinstance(s, list) for r in s]

    def _floats(self, layout: _Layout, rows: list[Row]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Local a, b [n,3], radius [n,2], half [n,3] of every row, in drawing order."""
        limbs = [s for _, s in self._segments if isinstance(s, Limbs)]
        stamped = [s for _, s in self._segments if isinstance(s, LocalParts)]
        drawn = rows + [p for s in limbs for p in s.parts]  # one radius and size each, repeated per limb
        n = len(rows)
        a = [np.array([r[2] for r in rows], dtype=np.float64).reshape(n, 3),
             *(per_limb(p[2], s.n) for s in limbs for p in s.parts), *(s.a for s in stamped)]
        b = [np.array([r[3] for r in rows], dtype=np.float64).reshape(n, 3),
             *(per_limb(p[3], s.n) for s in limbs for p in s.parts), *(s.b for s in stamped)]
        radius = [np.repeat(np.array([r[4] for r in drawn], dtype=np.float64).reshape(-1, 2), layout.repeats, axis=0),
                  *(s.radius for s in stamped)]
        half = [np.repeat(np.array([r[5] for r in drawn], dtype=np.float64).reshape(-1, 3), layout.repeats, axis=0),
                *(s.half for s in stamped)]
        order = layout.order
        return (np.concatenate(a)[order], np.concatenate(b)[order], np.concatenate(radius)[order],
                np.concatenate(half)[order])

    def _turned_rot(self, layout: _Layout, rows: list[Row]) -> np.ndarray:
        """The local rotations [k,3,3] of the rows drawn with one (layout.turned)."""
        if not layout.turned_rows:
            return layout.turned_rot
        rot = layout.turned_rot.copy()
        for j, i in layout.turned_rows:
            rot[j] = rows[i][6]
        return rot

    def local(self) -> LocalParts:
        """Everything drawn so far, in drawing order, in its frames' local coordinates."""
        layout = self._layout()
        rows = self._rows()
        a, b, radius, half = self._floats(layout, rows)
        rot = np.broadcast_to(EYE3, (len(a), 3, 3)).copy()
        rot[layout.turned] = self._turned_rot(layout, rows)
        turned = np.zeros(len(a), dtype=bool)
        turned[layout.turned] = True
        return LocalParts(layout.kind.copy(), layout.materials, a, b, radius, half, rot, turned)

    def build(self) -> PrimitiveSet:
        """World primitives in drawing order; materials indexed in order of first use (equal ones shared).

        Each row goes through its frame as `R @ p + t`; boxes and ellipsoids take `R @ rot`
        where drawn with a rotation, else R; the other kinds keep the identity.
        """
        if not self._segments:
            return PrimitiveBuilder().build()
        layout = self._layout()
        rows = self._rows()
        a, b, radius, half = self._floats(layout, rows)
        R = np.array([f.R for f, _ in self._segments])[layout.segment]
        t = np.array([f.t for f, _ in self._segments])[layout.segment]
        rot = np.where(layout.oriented, R, EYE3)
        turned = layout.turned
        if len(turned):
            rot[turned] = R[turned] @ self._turned_rot(layout, rows)
        return PrimitiveSet(
            kind=layout.kind.copy(),
            instance=layout.instance.copy(),
            material=layout.material.copy(),
            a=(R @ a[:, :, None])[:, :, 0] + t,
            b=np.where(layout.ends, (R @ b[:, :, None])[:, :, 0] + t, b),
            radius=radius,
            half=half,
            rot=rot,
            **{k: v.copy() for k, v in layout.mats.items()},
        )
