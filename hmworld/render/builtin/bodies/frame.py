"""Rigid body frames that draw primitives: body-local metres in, world primitives out.

Body models are written in their own frame (x forward along the heading, y left,
z up, origin on the ground under the body centre) and nested frames (a tilted
torso, a turned head) compose by `child`. A frame only records what it draws, in
its local coordinates, into a parts.PoseBuilder, which moves every row into the
world in one vectorised step. Parts that keep their place in a frame are recorded
once (`record_parts`) and `stamp`ed each frame; the same parts on every leg are
drawn together (`limbs`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hmworld.render.builtin.bodies.parts import EYE3, Draws, Limbs, LocalParts, PoseBuilder, Row


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


class Frame(Draws):
    """World-from-local rigid transform that draws into a PoseBuilder under an instance id."""

    __slots__ = ("R", "builder", "instance", "t")

    def __init__(self, builder: PoseBuilder, instance: int, R: np.ndarray, t: np.ndarray) -> None:
        self.builder = builder
        self.instance = int(instance)
        self.R = np.asarray(R, dtype=float)
        self.t = np.asarray(t, dtype=float)

    def child(self, R: np.ndarray | None = None, t=(0.0, 0.0, 0.0)) -> Frame:
        R_local = np.eye(3) if R is None else R
        return Frame(self.builder, self.instance, self.R @ R_local, self.R @ np.asarray(t, dtype=float) + self.t)

    def pt(self, p) -> np.ndarray:
        return self.R @ np.asarray(p, dtype=float) + self.t

    def pts(self, p: np.ndarray) -> np.ndarray:
        """`pt` of each point of p [n,3] (a stacked matmul: the same arithmetic, point by point)."""
        return (self.R @ np.asarray(p, dtype=float)[:, :, None])[:, :, 0] + self.t

    def _draw(self, row: Row) -> None:
        self.builder.add_row(self, row)

    def stamp(self, parts: LocalParts) -> None:
        """Draw parts recorded once (`record_parts`) in this frame."""
        self.builder.add(self, parts)

    def limbs(self, n: int) -> Limbs:
        """Draw the same parts on each of n limbs: each part takes points [n,3] (see parts.Limbs)."""
        limbs = Limbs(n)
        self.builder.add(self, limbs)
        return limbs


def record_parts(draw: Callable[[Frame], None]) -> LocalParts:
    """What `draw(frame)` draws, kept in local coordinates, to `stamp` into any frame later."""
    builder = PoseBuilder()
    frame = Frame(builder, 0, EYE3, np.zeros(3))
    draw(frame)
    if any(f is not frame for f in builder.frames()):
        raise ValueError("record_parts: the drawing used a child frame; record each frame's parts apart")
    return builder.local()


@dataclass(frozen=True, eq=False)
class Rig:
    """Where a posed body's feet are and which are on the ground (for tests and callers that
    need contact points; the primitives carry the rest)."""

    feet: np.ndarray  # [legs, 3] world metres, the ground contact under each foot
    stance: np.ndarray  # [legs] bool


def columns(*cols, n: int | None = None) -> np.ndarray:
    """Rows [n, len(cols)] whose columns are `cols`, each an array [n] or one number for every
    row (points of several limbs: columns(x, y, z)); n defaults to the first array's length."""
    if n is None:
        n = next(len(c) for c in cols if isinstance(c, np.ndarray))
    out = np.empty((n, len(cols)))
    for j, c in enumerate(cols):
        out[:, j] = c
    return out


def v(x: float, y: float, z: float) -> np.ndarray:
    """A 3-vector (offsets added to numpy points read better as v(...) than as tuples)."""
    return np.array((x, y, z), dtype=float)
