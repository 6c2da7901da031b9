"""Analytic primitives and materials for the builtin ray caster, as flat arrays.

Scene recipes and subject models describe geometry through `PrimitiveBuilder`;
the ray caster consumes the `PrimitiveSet` it builds (struct of arrays, so a
compiled kernel can loop over it without Python objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# primitive kinds
PLANE, SPHERE, BOX, CAPSULE, CYLINDER, CONE, ELLIPSOID = range(7)

# procedural texture patterns; coordinates are world metres (x, y, z) at the hit point
PATTERNS = ("flat", "checker", "stripes", "bricks", "noise", "gradient", "grass", "tiles")


@dataclass(frozen=True)
class Material:
    """A surface: `color` everywhere for "flat"; patterns mix `color` and `color2`.

    scale: pattern period in metres. gloss: 0..1 extra specular highlight from the sun.
    """

    color: tuple[float, float, float]
    color2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pattern: str = "flat"
    scale: float = 1.0
    gloss: float = 0.0

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}; allowed: {', '.join(PATTERNS)}")


@dataclass(frozen=True, eq=False)
class PrimitiveSet:
    """P primitives. Unused slots are zero.

    kind [P] int8; instance [P] int16 (0 = scenery, k = subject k-1); material [P] int32;
    a [P,3] (centre, or first end point); b [P,3] (second end point);
    radius [P,2] (radius, or end radii for a cone); half [P,3] (box half sizes or
    ellipsoid radii); rot [P,3,3] world-from-local rotation (box, ellipsoid);
    plane: a = point on plane, b = unit normal.
    Materials: color [M,3], color2 [M,3], pattern [M] int8 (index in PATTERNS),
    scale [M], gloss [M].
    """

    kind: np.ndarray
    instance: np.ndarray
    material: np.ndarray
    a: np.ndarray
    b: np.ndarray
    radius: np.ndarray
    half: np.ndarray
    rot: np.ndarray
    mat_color: np.ndarray
    mat_color2: np.ndarray
    mat_pattern: np.ndarray
    mat_scale: np.ndarray
    mat_gloss: np.ndarray

    def __len__(self) -> int:
        return int(self.kind.shape[0])


def material_arrays(mats: Sequence[Material]) -> dict[str, np.ndarray]:
    """A material table as PrimitiveSet's mat_* fields: colours [M,3], pattern [M] (PATTERNS
    index), scale and gloss [M]."""
    return {
        "mat_color": np.array([m.color for m in mats], dtype=np.float64).reshape(len(mats), 3),
        "mat_color2": np.array([m.color2 for m in mats], dtype=np.float64).reshape(len(mats), 3),
        "mat_pattern": np.array([PATTERNS.index(m.pattern) for m in mats], dtype=np.int8),
        "mat_scale": np.array([m.scale for m in mats], dtype=np.float64),
        "mat_gloss": np.array([m.gloss for m in mats], dtype=np.float64),
    }


def yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class PrimitiveBuilder:
    """Collects primitives and materials; `build()` returns the flat arrays."""

    def __init__(self) -> None:
        self._materials: list[Material] = []
        self._material_index: dict[Material, int] = {}
        self._rows: list[tuple] = []

    def material(self, m: Material) -> int:
        if m not in self._material_index:
            self._material_index[m] = len(self._materials)
            self._materials.append(m)
        return self._material_index[m]

    def _add(self, kind, mat, instance, a=(0, 0, 0), b=(0, 0, 0), radius=(0, 0), half=(0, 0, 0), rot=None):
        m = self.material(mat) if isinstance(mat, Material) else int(mat)
        r = np.eye(3) if rot is None else np.asarray(rot, dtype=float)
        self._rows.append((kind, instance, m, a, b, radius, half, r))

    def plane(self, material: Material | int, height: float = 0.0, normal=(0.0, 0.0, 1.0)) -> None:
        n = np.asarray(normal, dtype=float)
        self._add(PLANE, material, 0, a=(0.0, 0.0, height), b=n / np.linalg.norm(n))

    def sphere(self, center, radius: float, material: Material | int, instance: int = 0) -> None:
        self._add(SPHERE, material, instance, a=center, radius=(radius, radius))

    def box(self, center, half_size, material: Material | int, yaw: float = 0.0, instance: int = 0, rot=None) -> None:
        self._add(BOX, material, instance, a=center, half=half_size, rot=yaw_matrix(yaw) if rot is None else rot)

    def ellipsoid(self, center, radii, material: Material | int, yaw: float = 0.0, instance: int = 0, rot=None) -> None:
        self._add(ELLIPSOID, material, instance, a=center, half=radii, rot=yaw_matrix(yaw) if rot is None else rot)

    def capsule(self, a, b, radius: float, material: Material | int, instance: int = 0) -> None:
        self._add(CAPSULE, material, instance, a=a, b=b, radius=(radius, radius))

    def cylinder(self, a, b, radius: float, material: Material | int, instance: int = 0) -> None:
        self._add(CYLINDER, material, instance, a=a, b=b, radius=(radius, radius))

    def cone(self, a, b, radius_a: float, radius_b: float, material: Material | int, instance: int = 0) -> None:
        """Capped frustum from a (radius_a) to b (radius_b); radius_b = 0 gives a cone."""
        self._add(CONE, material, instance, a=a, b=b, radius=(radius_a, radius_b))

    def extend(self, other: PrimitiveBuilder) -> None:
        """Append another builder's primitives (materials are re-indexed)."""
        for kind, inst, m, a, b, radius, half, rot in other._rows:
            self._rows.append((kind, inst, self.material(other._materials[m]), a, b, radius, half, rot))

    def build(self) -> PrimitiveSet:
        rows = self._rows
        mats = self._materials or [Material((0.5, 0.5, 0.5))]
        n = len(rows)
        return PrimitiveSet(
            kind=np.array([r[0] for r in rows], dtype=np.int8).reshape(n),
            instance=np.array([r[1] for r in rows], dtype=np.int16).reshape(n),
            material=np.array([r[2] for r in rows], dtype=np.int32).reshape(n),
            a=np.array([r[3] for r in rows], dtype=np.float64).reshape(n, 3),
            b=np.array([r[4] for r in rows], dtype=np.float64).reshape(n, 3),
            radius=np.array([r[5] for r in rows], dtype=np.float64).reshape(n, 2),
            half=np.array([r[6] for r in rows], dtype=np.float64).reshape(n, 3),
            rot=np.array([r[7] for r in rows], dtype=np.float64).reshape(n, 3, 3),
            **material_arrays(mats),
        )


def concat(*sets: PrimitiveSet) -> PrimitiveSet:
    """One set holding all primitives of `sets` in order (material indices re-based)."""
    if not sets:
        return PrimitiveBuilder().build()
    offsets = np.cumsum([0] + [len(s.mat_color) for s in sets[:-1]])
    cat = np.concatenate
    return PrimitiveSet(
        kind=cat([s.kind for s in sets]),
        instance=cat([s.instance for s in sets]),
        material=cat([s.material + np.int32(off) for s, off in zip(sets, offsets, strict=True)]).astype(np.int32),
        a=cat([s.a for s in sets]),
        b=cat([s.b for s in sets]),
        radius=cat([s.radius for s in sets]),
        half=cat([s.half for s in sets]),
        rot=cat([s.rot for s in sets]),
        mat_color=cat([s.mat_color for s in sets]),
        mat_color2=cat([s.mat_color2 for s in sets]),
        mat_pattern=cat([s.mat_pattern for s in sets]),
        mat_scale=cat([s.mat_scale for s in sets]),
        mat_gloss=cat([s.mat_gloss for s in sets]),
    )
