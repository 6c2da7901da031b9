"""A rigid body frame that writes primitives: body-local metres in, world primitives out.

Body models are written in their own frame (x forward along the heading, y left,
z up, origin on the ground under the body centre) and nested frames (a tilted
torso, a turned head) compose by `child`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmworld.render.builtin.primitives import Material, PrimitiveBuilder


def rot_y(angle: float) -> np.ndarray:
    """Pitch: positive turns +z towards +x (leans forward)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def along(direction, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Rotation whose local x axis points along `direction` (for ellipsoids laid along a bone)."""
    x = np.asarray(direction, dtype=float)
    x = x / np.linalg.norm(x)
    up = np.asarray(up, dtype=float)
    y = np.cross(up, x)
    if np.linalg.norm(y) < 1e-6:
        y = np.cross((0.0, 1.0, 0.0), x) if abs(x[1]) < 0.9 else np.cross((1.0, 0.0, 0.0), x)
    y = y / np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)], axis=1)


class Frame:
    """World-from-local rigid transform bound to a builder and an instance id."""

    __slots__ = ("R", "builder", "instance", "t")

    def __init__(self, builder: PrimitiveBuilder, instance: int, R: np.ndarray, t: np.ndarray) -> None:
        self.builder = builder
        self.instance = int(instance)
        self.R = np.asarray(R, dtype=float)
        self.t = np.asarray(t, dtype=float)

    def child(self, R: np.ndarray | None = None, t=(0.0, 0.0, 0.0)) -> Frame:
        R_local = np.eye(3) if R is None else R
        return Frame(self.builder, self.instance, self.R @ R_local, self.R @ np.asarray(t, dtype=float) + self.t)

    def pt(self, p) -> np.ndarray:
        return self.R @ np.asarray(p, dtype=float) + self.t

    def sphere(self, c, r: float, m: Material) -> None:
        self.builder.sphere(self.pt(c), r, m, instance=self.instance)

    def capsule(self, a, b, r: float, m: Material) -> None:
        self.builder.capsule(self.pt(a), self.pt(b), r, m, instance=self.instance)

    def cylinder(self, a, b, r: float, m: Material) -> None:
        self.builder.cylinder(self.pt(a), self.pt(b), r, m, instance=self.instance)

    def cone(self, a, b, ra: float, rb: float, m: Material) -> None:
        self.builder.cone(self.pt(a), self.pt(b), ra, rb, m, instance=self.instance)

    def box(self, c, half, m: Material, rot: np.ndarray | None = None) -> None:
        R = self.R if rot is None else self.R @ rot
        self.builder.box(self.pt(c), half, m, instance=self.instance, rot=R)

    def ellipsoid(self, c, radii, m: Material, rot: np.ndarray | None = None) -> None:
        R = self.R if rot is None else self.R @ rot
        self.builder.ellipsoid(self.pt(c), radii, m, instance=self.instance, rot=R)


@dataclass(frozen=True, eq=False)
class Rig:
    """Where a posed body's feet are and which are on the ground (for tests and callers that
    need contact points; the primitives carry the rest)."""

    feet: np.ndarray  # [legs, 3] world metres, the ground contact under each foot
    stance: np.ndarray  # [legs] bool


def v(x: float, y: float, z: float) -> np.ndarray:
    """A 3-vector (offsets added to numpy points read better as v(...) than as tuples)."""
    return np.array((x, y, z), dtype=float)
