"""A small fixed world for the ray caster's benchmark and self-tests, independent of the catalog.

The "standard scene" of `tools/bench_render.py`: a ground plane, five boxes and
two articulated walkers of ten primitives each, lit by a sun with shadows,
filmed by a camera that pans away from the walkers and back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmworld.geometry import angles_from_pose, intrinsics, look_at, pose_from_angles
from hmworld.render.builtin.primitives import Material, PrimitiveBuilder, PrimitiveSet, yaw_matrix
from hmworld.shot import Shot

WALKER_HEIGHT = 1.75
SKIN = Material((0.86, 0.67, 0.55))
SHIRTS = (
    Material((0.85, 0.22, 0.18), (0.95, 0.9, 0.85), "stripes", 0.12),
    Material((0.2, 0.45, 0.85), (0.1, 0.25, 0.55), "checker", 0.15),
)
TROUSERS = (Material((0.18, 0.2, 0.32)), Material((0.35, 0.3, 0.22)))


@dataclass(frozen=True, eq=False)
class ReferenceScene:
    """Same fields as a catalog BuiltScene, so `SunSky.of` and the backend take either."""

    prims: PrimitiveSet
    sun_dir: np.ndarray
    sun_color: tuple[float, float, float]
    ambient: tuple[float, float, float]
    sky_top: tuple[float, float, float]
    sky_horizon: tuple[float, float, float]
    fog: float


def reference_scene(seed: int = 0) -> ReferenceScene:
    """Ground plane and five textured boxes; `seed` only jitters the boxes."""
    rng = np.random.default_rng(seed)
    b = PrimitiveBuilder()
    b.plane(Material((0.42, 0.58, 0.28), (0.3, 0.44, 0.2), "grass", 3.0))
    boxes = [
        ((6.0, 4.0, 1.5), (1.5, 1.0, 1.5), Material((0.7, 0.33, 0.24), (0.86, 0.84, 0.8), "bricks", 0.5)),
        ((-5.0, 5.0, 1.0), (1.0, 1.0, 1.0), Material((0.92, 0.92, 0.9), (0.25, 0.25, 0.3), "checker", 0.5)),
        ((4.0, -6.0, 0.6), (0.6, 1.6, 0.6), Material((0.8, 0.62, 0.35), (0.55, 0.4, 0.2), "noise", 0.4)),
        ((-6.0, -4.0, 2.0), (1.2, 1.2, 2.0), Material((0.85, 0.85, 0.82), (0.4, 0.4, 0.42), "tiles", 0.6)),
        ((9.0, -1.0, 0.4), (0.4, 0.4, 0.4), Material((0.3, 0.55, 0.8), gloss=0.5)),
    ]
    for centre, half, mat in boxes:
        c = np.asarray(centre) + np.r_[rng.uniform(-0.3, 0.3, 2), 0.0]
        b.box(c, half, mat, yaw=float(rng.uniform(0, np.pi)))
    return ReferenceScene(
        prims=b.build(),
        sun_dir=np.array([0.45, -0.35, 0.82]) / np.linalg.norm([0.45, -0.35, 0.82]),
        sun_color=(1.0, 0.96, 0.88),
        ambient=(0.36, 0.4, 0.48),
        sky_top=(0.28, 0.5, 0.86),
        sky_horizon=(0.76, 0.85, 0.95),
        fog=0.0,
    )


def add_walker(b: PrimitiveBuilder, instance: int, pos, heading: float, phase: float, look: int = 0) -> None:
    """A ten-primitive walker (torso, head, two-part arms and legs) with its root at `pos` on the ground."""
    R = yaw_matrix(float(heading))
    root = np.asarray(pos, dtype=float)

    def w(x: float, y: float, z: float) -> np.ndarray:
        return root + R @ np.array([x, y, z])

    s = 2.0 * np.pi * float(phase)
    shirt, trousers = SHIRTS[look % 2], TROUSERS[look % 2]
    b.capsule(w(0, 0, 1.0), w(0, 0, 1.38), 0.17, shirt, instance=instance)
    b.sphere(w(0.02, 0, 1.63), 0.12, SKIN, instance=instance)
    for side, sign in ((0.1, 1.0), (-0.1, -1.0)):
        swing = 0.45 * np.sin(s) * sign
        bend = 0.5 * max(0.0, np.sin(s + np.pi / 2 * sign))
        hip = np.array([0.0, side, 0.92])
        knee = hip + 0.44 * np.array([np.sin(swing), 0.0, -np.cos(swing)])
        foot = knee + 0.42 * np.array([np.sin(swing - bend), 0.0, -np.cos(swing - bend)])
        foot[2] = max(foot[2], 0.07)
        b.capsule(w(*hip), w(*knee), 0.08, trousers, instance=instance)
        b.capsule(w(*knee), w(*foot), 0.065, trousers, instance=instance)
        shoulder = np.array([0.0, 2.3 * side, 1.4])
        arm = -0.8 * swing
        elbow = shoulder + 0.3 * np.array([np.sin(arm), 0.0, -np.cos(arm)])
        hand = elbow + 0.27 * np.array([np.sin(arm + 0.3), 0.0, -np.cos(arm + 0.3)])
        b.capsule(w(*shoulder), w(*elbow), 0.055, shirt, instance=instance)
        b.capsule(w(*elbow), w(*hand), 0.045, SKIN, instance=instance)


def reference_pose(shot: Shot, frame: int) -> PrimitiveSet:
    """All walkers of a shot at a frame (subject k-1 is instance k), like `subjects.pose_subjects`."""
    b = PrimitiveBuilder()
    for k in range(shot.n_subjects):
        add_walker(b, k + 1, shot.subject_pos[k, frame], shot.subject_heading[k, frame], shot.subject_phase[k, frame], k)
    return b.build()


def reference_shot(
    frames: int = 48, width: int = 256, height: int = 256, fps: int = 15, hfov_deg: float = 70.0, n_subjects: int = 2
) -> Shot:
    """Walkers crossing in front of a camera that pans 70° away and back over the shot."""
    t = np.arange(frames) / fps
    u = np.arange(frames) / max(frames - 1, 1)
    eye = np.array([-7.0, -1.0, 1.7])
    base = look_at(eye, np.array([0.0, 0.0, 0.9]))
    yaw0, pitch0, _ = angles_from_pose(base)
    yaw = yaw0 + np.radians(70.0) * np.sin(np.pi * u) ** 2
    c2w = pose_from_angles(np.broadcast_to(eye, (frames, 3)), yaw, np.full(frames, pitch0))
    speed = np.array([1.2, 1.0, 1.4])[:n_subjects]
    start = np.array([[-1.0, -3.0], [1.0, 3.0], [2.5, -1.0]])[:n_subjects]
    direction = np.array([np.pi / 2, -np.pi / 2, np.pi])[:n_subjects]
    pos = np.zeros((n_subjects, frames, 3))
    pos[..., 0] = start[:, None, 0] + np.cos(direction)[:, None] * speed[:, None] * t
    pos[..., 1] = start[:, None, 1] + np.sin(direction)[:, None] * speed[:, None] * t
    heading = np.broadcast_to(direction[:, None], (n_subjects, frames)).copy()
    return Shot(
        clip_id="reference",
        scene="reference",
        subjects=tuple(f"walker_{k}" for k in range(n_subjects)),
        paths=("straight",) * n_subjects,
        gaits=("walk",) * n_subjects,
        camera="pan_away_and_back",
        placement=0,
        seed=0,
        fps=fps,
        frames=frames,
        width=width,
        height=height,
        hfov_deg=hfov_deg,
        c2w=c2w,
        K=intrinsics(hfov_deg, width, height),
        subject_pos=pos,
        subject_heading=heading,
        subject_phase=speed[:, None] * t[None, :] / 1.4,
        subject_speed=np.broadcast_to(speed[:, None], (n_subjects, frames)).copy(),
        subject_size=np.tile([0.5, 0.6, WALKER_HEIGHT], (n_subjects, 1)),
    )
