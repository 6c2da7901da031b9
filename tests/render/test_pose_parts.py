"""PoseBuilder: however rows are grouped (single, limb-wise, recorded and stamped), the built
primitives are exactly what transforming each primitive on its own gives."""

from __future__ import annotations

import numpy as np
import pytest

from hmworld.render.builtin.bodies.frame import Frame, columns, record_parts, rot_y, rot_z
from hmworld.render.builtin.bodies.parts import PoseBuilder
from hmworld.render.builtin.primitives import Material, PrimitiveBuilder, PrimitiveSet, yaw_matrix

FIELDS = ("kind", "instance", "material", "a", "b", "radius", "half", "rot", "mat_color", "mat_color2",
          "mat_pattern", "mat_scale", "mat_gloss")
RED, BLUE = Material((0.8, 0.1, 0.1)), Material((0.1, 0.1, 0.8), (0.0, 0.0, 0.0), "stripes", scale=0.2)


class Reference:
    """The frame semantics row by row, as primitives were built before PoseBuilder: every point
    `R @ p + t`; boxes and ellipsoids `R @ rot` (or R); other kinds the identity."""

    def __init__(self, b: PrimitiveBuilder, instance: int, R: np.ndarray, t: np.ndarray) -> None:
        self.b, self.instance, self.R, self.t = b, instance, R, t

    def child(self, R: np.ndarray, t) -> Reference:
        return Reference(self.b, self.instance, self.R @ R, self.R @ np.asarray(t, dtype=float) + self.t)

    def pt(self, p) -> np.ndarray:
        return self.R @ np.asarray(p, dtype=float) + self.t

    def sphere(self, c, r, m) -> None:
        self.b.sphere(self.pt(c), r, m, instance=self.instance)

    def capsule(self, a, b, r, m) -> None:
        self.b.capsule(self.pt(a), self.pt(b), r, m, instance=self.instance)

    def cone(self, a, b, ra, rb, m) -> None:
        self.b.cone(self.pt(a), self.pt(b), ra, rb, m, instance=self.instance)

    def box(self, c, half, m, rot=None) -> None:
        self.b.box(self.pt(c), half, m, instance=self.instance, rot=self.R if rot is None else self.R @ rot)

    def ellipsoid(self, c, radii, m, rot=None) -> None:
        self.b.ellipsoid(self.pt(c), radii, m, instance=self.instance, rot=self.R if rot is None else self.R @ rot)


def assert_same(got: PrimitiveSet, want: PrimitiveSet) -> None:
    for f in FIELDS:
        g, w = getattr(got, f), getattr(want, f)
        assert g.dtype == w.dtype and g.shape == w.shape, f
        assert g.tobytes() == w.tobytes(), f


def body(rng: np.random.Generator):
    """Random local geometry of a two-legged body with a turned torso."""
    return dict(
        legs=rng.normal(size=(3, 2, 3)), radii=rng.uniform(0.02, 0.1, size=3), torso_t=rng.normal(size=3),
        torso_pitch=float(rng.uniform(-0.5, 0.5)), chest=rng.normal(size=3), head=rng.normal(size=3),
        tilt=float(rng.uniform(-1.0, 1.0)), tail=rng.normal(size=(2, 3)),
    )


def draw_reference(fr: Reference, g: dict) -> None:
    hip, knee, foot = g["legs"]
    for i in range(2):  # one leg at a time
        fr.capsule(hip[i], knee[i], g["radii"][0], RED)
        fr.cone(knee[i], foot[i], g["radii"][1], g["radii"][2], BLUE)
        fr.box(foot[i], (0.1, 0.05, 0.02), RED)
    torso = fr.child(rot_y(g["torso_pitch"]), g["torso_t"])
    torso.ellipsoid(g["chest"], (0.3, 0.2, 0.4), BLUE)
    torso.box(g["head"], (0.1, 0.1, 0.1), Material((0.8, 0.1, 0.1)), rot=rot_z(g["tilt"]))  # equal to RED
    torso.sphere(g["head"] * 1.1, 0.05, RED)
    torso.capsule(g["tail"][0], g["tail"][1], 0.02, BLUE)


def draw_grouped(fr: Frame, g: dict, torso_parts) -> None:
    hip, knee, foot = g["legs"]
    legs = fr.limbs(2)
    legs.capsule(hip, knee, g["radii"][0], RED)
    legs.cone(knee, foot, g["radii"][1], g["radii"][2], BLUE)
    legs.box(foot, (0.1, 0.05, 0.02), RED)
    torso = fr.child(rot_y(g["torso_pitch"]), g["torso_t"])
    torso.stamp(torso_parts)
    torso.capsule(g["tail"][0], g["tail"][1], 0.02, BLUE)


def torso_drawing(g: dict):
    def draw(t: Frame) -> None:
        t.ellipsoid(g["chest"], (0.3, 0.2, 0.4), BLUE)
        t.box(g["head"], (0.1, 0.1, 0.1), Material((0.8, 0.1, 0.1)), rot=rot_z(g["tilt"]))
        t.sphere(g["head"] * 1.1, 0.05, RED)
    return draw


@pytest.mark.parametrize("seed", range(6))
def test_grouped_drawing_builds_exactly_the_row_by_row_primitives(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bodies = [body(rng) for _ in range(3)]
    places = [(yaw_matrix(float(rng.uniform(-4, 4))), rng.normal(size=3) * 10.0) for _ in bodies]
    want = PrimitiveBuilder()
    pose = PoseBuilder()
    for k, (g, (R, t)) in enumerate(zip(bodies, places, strict=True)):
        draw_reference(Reference(want, k + 1, R, t), g)
        draw_grouped(Frame(pose, k + 1, R, t), g, record_parts(torso_drawing(g)))
    built = pose.build()
    assert_same(built, want.build())
    assert len(pose.build()) == 3 * 10  # building twice (the cached layout) gives the same
    assert_same(pose.build(), built)


def test_limbs_draw_limb_by_limb_and_points_move_with_the_frame() -> None:
    R, t = yaw_matrix(0.7), np.array([1.0, -2.0, 0.5])
    pose = PoseBuilder()
    fr = Frame(pose, 4, R, t)
    p = columns(np.array([0.1, 0.2, 0.3]), 0.5, -1.0)
    legs = fr.limbs(3)
    legs.sphere(p, 0.1, RED)
    legs.ellipsoid(p + 1.0, (0.1, 0.2, 0.3), BLUE)
    ps = pose.build()
    assert ps.kind.tolist() == [1, 6] * 3
    assert ps.material.tolist() == [0, 1] * 3 and np.all(ps.instance == 4)
    np.testing.assert_array_equal(ps.a[0::2], fr.pts(p))
    np.testing.assert_array_equal(ps.a[1::2], np.array([fr.pt(q) for q in p + 1.0]))
    np.testing.assert_array_equal(ps.rot[1], R)
    np.testing.assert_array_equal(ps.rot[0], np.eye(3))


def test_a_turned_part_is_not_drawn_limb_wise_and_a_recording_keeps_to_one_frame() -> None:
    fr = Frame(PoseBuilder(), 1, np.eye(3), np.zeros(3))
    with pytest.raises(ValueError, match="turned part"):
        fr.limbs(2).box(np.zeros((2, 3)), (0.1, 0.1, 0.1), RED, rot=rot_z(0.3))
    with pytest.raises(ValueError, match="child frame"):
        record_parts(lambda f: f.child(rot_y(0.1), (0.0, 0.0, 1.0)).sphere((0, 0, 0), 0.1, RED))


def test_nothing_drawn_builds_the_empty_set() -> None:
    assert_same(PoseBuilder().build(), PrimitiveBuilder().build())
