"""Catalog subjects as posed primitives: one subject at one instant, or all of a shot's at a frame.

The shot owns motion (root position, heading, gait phase, speed); this module
only turns it into limbs. Bodies fit their catalog box (length × width ×
height about the root, from the ground up) because the event detector uses
that box as the subject's 3-D bounds.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from hmworld.catalog.subjects import SUBJECTS, Gait, SubjectSpec
from hmworld.errors import UserError, check_choice
from hmworld.render.builtin.bodies.biped import (
    BipedParts,
    HumanLook,
    biped_parts,
    build_biped,
    human_look,
)
from hmworld.render.builtin.bodies.bird import BirdLook, bird_look, bird_parts, build_bird
from hmworld.render.builtin.bodies.frame import Frame, Rig
from hmworld.render.builtin.bodies.gait import PATTERNS, GaitPattern, effective_duty, motion_weight
from hmworld.render.builtin.bodies.parts import LocalParts, PoseBuilder
from hmworld.render.builtin.bodies.quadruped import QuadLook, build_quadruped, quad_look, quad_parts
from hmworld.render.builtin.primitives import PrimitiveSet, yaw_matrix
from hmworld.shot import Shot


@cache
def subject_look(subject_id: str) -> HumanLook | QuadLook | BirdLook:
    """The frame-independent layout and materials of a catalog subject (cached)."""
    spec = _spec(subject_id)
    if spec.body == "biped":
        return human_look(spec)
    if spec.body == "quadruped":
        return quad_look(spec)
    if spec.body == "bird":
        return bird_look(spec)
    raise ValueError(f"subject {subject_id!r} has body plan {spec.body!r}; known: biped, quadruped, bird")


@cache
def subject_parts(subject_id: str) -> BipedParts | LocalParts:
    """The parts of a catalog subject that keep their place in a body frame, recorded once (cached)."""
    look = subject_look(subject_id)
    if isinstance(look, HumanLook):
        return biped_parts(look)
    if isinstance(look, QuadLook):
        return quad_parts(look)
    return bird_parts(look)


def _spec(subject_id: str) -> SubjectSpec:
    check_choice("subject", subject_id, list(SUBJECTS))
    return SUBJECTS[subject_id]


def resolve_gait(spec: SubjectSpec, gait: str | None, speed: float) -> Gait:
    """The named gait of this subject, or the one its catalog entry uses at `speed`."""
    if gait is None:
        return spec.gait_for_speed(abs(speed))
    for g in spec.gaits:
        if g.name == gait:
            return g
    raise UserError(f"subject {spec.id!r} has no gait {gait!r}; allowed: {', '.join(g.name for g in spec.gaits)}")


@cache
def _stride(subject_id: str, gait: str) -> tuple[Gait, GaitPattern, float]:
    """A subject's gait, the pattern its legs follow in it and the duty factor that fits its legs (cached)."""
    spec, look = SUBJECTS[subject_id], subject_look(subject_id)
    g = resolve_gait(spec, gait, 0.0)
    patterns = PATTERNS[spec.body]
    pattern = patterns.get(g.name, patterns["run"])
    reach = 0.56 * look.leg if isinstance(look, HumanLook) else look.max_excursion
    return g, pattern, effective_duty(pattern, g.cycle_m, reach)


def pose_into(builder: PoseBuilder, subject_id: str, instance: int, pos, heading: float, phase: float,
              speed: float = 1.0, gait: str | None = None) -> Rig:
    """Add one posed subject to `builder`; returns its rig (feet in world metres, stance flags)."""
    if not 1 <= int(instance) <= 255:
        raise ValueError(f"subject instance ids run 1..255 (0 is scenery), got {instance}")
    spec = _spec(subject_id)
    look = subject_look(subject_id)
    g, pattern, duty = _stride(subject_id, resolve_gait(spec, gait, speed).name)
    weight = motion_weight(speed, spec.gaits[0].speed_min)
    fr = Frame(builder, instance, yaw_matrix(float(heading)), np.asarray(pos, dtype=float).reshape(3))
    parts = subject_parts(subject_id)
    phase = float(phase)
    if isinstance(look, HumanLook):
        return build_biped(fr, look, parts, phase, pattern, duty, g.cycle_m, weight)
    if isinstance(look, QuadLook):
        return build_quadruped(fr, look, parts, phase, pattern, duty, g.cycle_m, weight)
    return build_bird(fr, look, parts, phase, pattern, duty, g.cycle_m, weight)


def subject_primitives(subject_id: str, instance: int, pos, heading: float, phase: float, speed: float = 1.0,
                       gait: str | None = None) -> PrimitiveSet:
    """One subject posed at one instant; every primitive carries `instance` (1-based mask id)."""
    pose = PoseBuilder()
    pose_into(pose, subject_id, instance, pos, heading, phase, speed, gait)
    return pose.build()


def subject_rig(subject_id: str, pos, heading: float, phase: float, speed: float = 1.0,
                gait: str | None = None) -> Rig:
    """Where the subject's feet are at this instant (world metres) and which are on the ground."""
    return pose_into(PoseBuilder(), subject_id, 1, pos, heading, phase, speed, gait)


def pose_subjects(shot: Shot, frame: int) -> PrimitiveSet:
    """All subjects of `shot` at `frame`; subject k-1 carries instance id k."""
    if not 0 <= frame < shot.frames:
        raise ValueError(f"frame {frame} outside the shot's 0..{shot.frames - 1}")
    b = PoseBuilder()
    for k, sid in enumerate(shot.subjects):
        pose_into(b, sid, k + 1, shot.subject_pos[k, frame], shot.subject_heading[k, frame],
                  shot.subject_phase[k, frame], shot.subject_speed[k, frame], shot.gaits[k] if shot.gaits else None)
    return b.build()
