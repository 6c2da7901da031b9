"""Birds: an ellipsoid body on two legs whose joint bends backward, with neck, head and beak.

The visible "knee" of a bird is its ankle, so the leg joint sits behind the
hip-foot line; the head bobs forward once per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmworld.catalog.subjects import SubjectSpec
from hmworld.render.builtin.bodies.frame import (
    Frame,
    Rig,
    along,
    columns,
    record_parts,
    rot_y,
    v,
)
from hmworld.render.builtin.bodies.gait import GaitPattern, foot_cycle, hip_height, two_bone
from hmworld.render.builtin.bodies.parts import LocalParts
from hmworld.render.builtin.primitives import Material

YELLOW = (0.92, 0.72, 0.25)
ORANGE = (0.98, 0.55, 0.10)
WHITE = (0.96, 0.95, 0.93)
NECK_RING = Material(WHITE)  # a duck's collar


@dataclass(frozen=True)
class BirdForm:
    """Proportions as shares of the catalog size; colours name palette roles or fixed RGB."""

    leg: float  # hip height / H
    body_len: float  # / L
    body_h: float  # / H
    body_pitch: float  # degrees, breast up
    neck_angle: float  # degrees above horizontal
    head_r: float  # / H
    beak: float  # beak length / L
    neck_r: float  # / W
    tail: str  # fan, point, puff
    bob: float  # head bob per step, share of head radius
    comb: bool = False
    head_top: float = 1.0  # top of the head (comb excluded) / H


FORMS: dict[str, BirdForm] = {
    "chicken": BirdForm(0.34, 0.72, 0.52, 18, 65, 0.09, 0.07, 0.32, "fan", 0.8, comb=True),
    "duck": BirdForm(0.24, 0.78, 0.44, 4, 60, 0.1, 0.13, 0.16, "point", 0.5, head_top=0.84),
    "goose": BirdForm(0.24, 0.62, 0.32, 8, 72, 0.058, 0.1, 0.14, "point", 0.4),
    "ostrich": BirdForm(0.44, 0.72, 0.26, 10, 84, 0.032, 0.07, 0.1, "puff", 0.2),
}


@dataclass(frozen=True)
class BirdLook:
    form: BirdForm
    L: float
    W: float
    H: float
    hip_z: float
    upper: float
    lower: float
    leg_r: float
    toe: float
    hip_y: float
    body_c: tuple[float, float, float]  # relative to the hip point
    body_r: tuple[float, float, float]
    neck_a: tuple[float, float, float]
    head_c: tuple[float, float, float]
    head_r: float
    neck_r: float
    max_excursion: float
    body: Material
    wing: Material
    head: Material
    neck: Material
    legs: Material
    thigh: Material
    beak: Material
    tail: Material
    comb: Material


def bird_look(spec: SubjectSpec) -> BirdLook:
    form = FORMS.get(spec.species, FORMS["chicken"])
    L, W, H = spec.length, spec.width, spec.height
    p0, p1 = spec.palette[0], spec.palette[1]
    hip_z = form.leg * H
    rx, ry, rz = form.body_len * L / 2, 0.95 * W / 2, form.body_h * H / 2
    body_c = (-0.02 * rx, 0.0, 0.25 * rz)
    head_r = form.head_r * H
    comb = 0.5 * head_r if form.comb else 0.0
    head_z = min(form.head_top, 0.975) * H - head_r - comb - hip_z
    neck_a = (body_c[0] + 0.6 * rx, 0.0, body_c[2] + 0.45 * rz)
    head_x = neck_a[0] + max(head_z - neck_a[2], 0.0) / np.tan(np.radians(form.neck_angle))
    head_x = min(head_x, 0.47 * L - (0.9 + form.bob) * head_r - form.beak * L)
    leg_r = 0.045 * W if spec.species != "ostrich" else 0.06 * W
    reach = hip_z / 0.97
    toe = 0.12 * L
    skin = p1 if spec.species == "ostrich" else (ORANGE if spec.species in ("duck", "goose") else YELLOW)
    beak = p1 if spec.species == "goose" else (YELLOW if spec.species != "ostrich" else (0.75, 0.62, 0.5))
    return BirdLook(
        form=form, L=L, W=W, H=H, hip_z=hip_z, upper=0.45 * reach, lower=0.55 * reach, leg_r=leg_r, toe=toe,
        hip_y=0.32 * W / 2, body_c=body_c, body_r=(rx, ry, rz), neck_a=neck_a, head_c=(head_x, 0.0, head_z),
        head_r=head_r, neck_r=form.neck_r * W,
        max_excursion=min(0.55 * reach, 0.49 * L - toe),
        body=Material(p0, tuple(0.8 * c for c in p0), "noise", scale=0.15) if spec.species == "chicken" else Material(p0),
        wing=Material(WHITE if spec.species == "ostrich" else tuple(0.82 * c for c in p0)),
        head=Material(p1 if spec.species == "duck" else p0, p1, "flat", gloss=0.5 if spec.species == "duck" else 0.0),
        neck=Material(p1 if spec.species in ("ostrich", "duck") else p0, p1, "flat",
                      gloss=0.5 if spec.species == "duck" else 0.0),
        legs=Material(skin), thigh=Material(skin if spec.species == "ostrich" else p0), beak=Material(beak),
        tail=Material((0.12, 0.16, 0.10) if spec.species == "chicken" else (WHITE if spec.species == "ostrich" else p0)),
        comb=Material(p1 if spec.species == "chicken" else (0.85, 0.1, 0.1)),
    )


def bird_parts(lk: BirdLook) -> LocalParts:
    """Body, wings and tail in the pitched body frame (at the hip point), recorded once."""
    return record_parts(lambda body: _body(body, lk))


def build_bird(fr: Frame, lk: BirdLook, parts: LocalParts, phase: float, pattern: GaitPattern, duty: float,
               cycle_m: float, weight: float) -> Rig:
    """Pose one bird in body frame `fr` (`parts`: bird_parts(lk)); returns where its two feet are."""
    f = lk.form
    excursion = weight * duty * cycle_m / 2.0
    lift = weight * pattern.lift * (lk.upper + lk.lower)
    fc = foot_cycle(phase, np.asarray(pattern.offsets), duty, excursion, lift, pattern.tuck)
    reach = lk.upper + lk.lower
    hip_z = hip_height(0.97 * reach, 0.995 * reach, fc.dx, fc.lift)
    side = np.array([1.0, -1.0])
    hips = columns(0.0, hip_z, n=2)
    feet = columns(fc.dx, fc.lift)
    knees, feet = two_bone(hips, feet, lk.upper, lk.lower, -np.ones(2))
    y = side * lk.hip_y
    knee = columns(knees[:, 0], y, knees[:, 1])
    legs = fr.limbs(2)
    legs.capsule(columns(0.0, y, hip_z), knee, lk.leg_r * 1.5, lk.thigh)
    legs.capsule(knee, columns(feet[:, 0], y, feet[:, 1] + lk.leg_r), lk.leg_r, lk.legs)
    legs.box(columns(feet[:, 0] + 0.35 * lk.toe, y, feet[:, 1] + 0.4 * lk.leg_r),
             (0.5 * lk.toe, 1.6 * lk.leg_r, 0.4 * lk.leg_r), lk.legs)
    feet_world = fr.pts(columns(feet[:, 0], y, feet[:, 1]))
    fr.child(rot_y(-np.radians(f.body_pitch)), (0.0, 0.0, hip_z)).stamp(parts)
    # neck and head live in the upright frame so the head stays level
    up = fr.child(None, (0.0, 0.0, hip_z))
    bob = weight * f.bob * lk.head_r * np.sin(4.0 * np.pi * phase)
    head = np.array(lk.head_c) + v(bob, 0.0, 0.0)
    neck_a = _in_parent(f.body_pitch, lk.neck_a)
    up.cone(neck_a, head - v(0.1 * lk.head_r, 0.0, 0.2 * lk.head_r), lk.neck_r, 0.7 * lk.head_r, lk.neck)
    up.sphere(head, lk.head_r, lk.head)
    beak_len = f.beak * lk.L
    base = head + v(0.75 * lk.head_r, 0.0, -0.1 * lk.head_r)
    if f.tail == "point" and f.bob > 0.45:  # duck: a flat bill
        up.ellipsoid(base + v(0.5 * beak_len, 0.0, -0.05 * lk.head_r), (0.55 * beak_len, 0.45 * lk.head_r, 0.16 * lk.head_r),
                     lk.beak)
        ring = neck_a + 0.4 * (head - neck_a)
        up.ellipsoid(ring, (1.05 * lk.neck_r, 1.05 * lk.neck_r, 0.1 * lk.head_r), NECK_RING)
    else:
        up.cone(base, base + v(beak_len, 0.0, -0.15 * beak_len), 0.38 * lk.head_r, 0.0, lk.beak)
    if f.comb:
        for k, x in enumerate((-0.3, 0.05, 0.35)):
            up.sphere(head + v(x * lk.head_r, 0.0, 0.95 * lk.head_r + (0.12 if k == 1 else 0.0) * lk.head_r),
                      0.32 * lk.head_r, lk.comb)
        up.ellipsoid(head + v(0.7 * lk.head_r, 0.0, -0.85 * lk.head_r), (0.2 * lk.head_r, 0.15 * lk.head_r, 0.35 * lk.head_r),
                     lk.comb)
    return Rig(feet_world, fc.stance | (fc.lift <= 0.0))


def _body(body: Frame, lk: BirdLook) -> None:
    """Body, wings and tail in the pitched body frame."""
    rx, ry, rz = lk.body_r
    c = np.array(lk.body_c)
    body.ellipsoid(c, lk.body_r, lk.body)
    for s in (1.0, -1.0):
        body.ellipsoid(c + v(0.0, s * 0.82 * ry, 0.15 * rz), (0.72 * rx, 0.22 * ry, 0.55 * rz), lk.wing, rot=rot_y(0.12))
    _tail(body, lk, c)


def _in_parent(pitch_deg: float, p) -> np.ndarray:
    """A point of the pitched body frame in the upright frame at the same origin."""
    return rot_y(-np.radians(pitch_deg)) @ np.asarray(p, dtype=float)


def _tail(body: Frame, lk: BirdLook, c: np.ndarray) -> None:
    rx, ry, rz = lk.body_r
    root = c + v(-0.75 * rx, 0.0, 0.25 * rz)
    kind = lk.form.tail
    if kind == "fan":
        d = np.array([-0.35, 0.0, 1.0])
        body.ellipsoid(root + 0.3 * rz * d, (0.65 * rz, 0.25 * ry, 0.22 * rx), lk.tail, rot=along(d))
    elif kind == "point":
        body.cone(root, root + v(-0.25 * rx, 0.0, 0.3 * rz), 0.4 * rz, 0.0, lk.tail)
    else:
        body.ellipsoid(root + v(0.0, 0.0, 0.1 * rz), (0.3 * rx, 0.6 * ry, 0.5 * rz), lk.tail)
