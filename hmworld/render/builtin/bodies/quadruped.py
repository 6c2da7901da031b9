"""Four-legged animals: one parametric body plan, proportioned per species.

Each species is a `QuadForm` (shares of the catalog length, width and height);
the layout solves where the head goes so the nose, tail and ear tips stay in
the catalog box. Legs follow gait.py: fore legs bend forward like a wrist,
hind legs backward like a hock, and the torso pitches with the leg pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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

DARK = (0.05, 0.04, 0.04)
MARGIN = 0.95  # share of the catalog box the resting layout fills, leaving room for gait pitch and sway
HORN = (0.88, 0.84, 0.72)
ANTLER = (0.50, 0.38, 0.26)


@dataclass(frozen=True)
class QuadForm:
    """Proportions as shares of the catalog size (L length, W width, H height to the head top).

    Heights name what a viewer sees: the belly line, the back line and the top of the head.
    """

    belly: float = 0.40  # underside of the chest / H
    back: float = 0.74  # top of the back / H
    head_top: float = 1.0  # top of the head (ears excluded) / H
    body_len: float = 0.6  # torso length / L
    body_w: float = 0.95  # torso width / W
    torso_x: float = -0.04  # torso centre ahead of the root / L
    hip_x: float = 0.2  # fore and hind leg roots from the torso centre / L
    neck_angle: float = 45.0  # degrees above horizontal
    neck_r: float = 0.32  # neck radius / W
    skull: float = 0.1  # skull radius / H
    snout: float = 0.12  # muzzle length / L
    muzzle: float = 0.55  # muzzle radius / skull radius
    head_pitch: float = 15.0  # muzzle below horizontal, degrees
    leg_r: float = 0.12  # leg radius / W
    lower: float = 0.45  # lower segment share of the leg
    ears: str = "floppy"  # floppy, pointed, round, side, none
    ear: float = 0.9  # ear length / skull radius
    tail: str = "thin"  # thin, bushy, hair, tuft, curl, stub, none
    tail_len: float = 0.3  # / L
    tail_angle: float = 20.0  # degrees above horizontal at the root
    tail_curl: float = 0.0  # extra degrees the tip bends upward
    hoof: bool = False
    nose: tuple[float, float, float] = (0.05, 0.04, 0.04)
    accent: str = "belly"  # what palette[1] colours: belly, mane, stripes, patches, spots, face, legs


FORMS: dict[str, QuadForm] = {
    "dog": QuadForm(),
    "cat": QuadForm(belly=0.38, back=0.78, body_len=0.58, torso_x=-0.06, hip_x=0.18, neck_angle=55, skull=0.16,
                    snout=0.03, muzzle=0.5, head_pitch=5, leg_r=0.16, ears="pointed", ear=0.9, tail_len=0.4,
                    tail_angle=35, tail_curl=45, nose=(0.85, 0.55, 0.55)),
    "horse": QuadForm(belly=0.45, back=0.76, body_len=0.56, torso_x=-0.08, hip_x=0.19, neck_angle=55, neck_r=0.3,
                      skull=0.06, snout=0.17, muzzle=0.75, head_pitch=60, leg_r=0.1, lower=0.5, ears="pointed",
                      ear=1.1, tail="hair", tail_len=0.32, tail_angle=-65, hoof=True, accent="mane"),
    "deer": QuadForm(belly=0.36, back=0.6, head_top=0.74, body_len=0.56, torso_x=-0.08, hip_x=0.19, neck_angle=62,
                     neck_r=0.25, skull=0.055, snout=0.12, muzzle=0.65, head_pitch=40, leg_r=0.1, lower=0.52,
                     ears="side", ear=1.3, tail="stub", tail_len=0.08, tail_angle=30, hoof=True),
    "cow": QuadForm(belly=0.42, back=0.88, head_top=0.92, body_len=0.66, torso_x=-0.07, hip_x=0.22, neck_angle=25,
                    neck_r=0.3, skull=0.11, snout=0.09, muzzle=0.85, head_pitch=55, leg_r=0.15, lower=0.5,
                    ears="side", ear=1.0, tail="tuft", tail_len=0.3, tail_angle=-75, hoof=True, accent="patches",
                    nose=(0.85, 0.6, 0.6)),
    "sheep": QuadForm(belly=0.42, back=0.82, body_len=0.64, torso_x=-0.06, hip_x=0.2, neck_angle=40, neck_r=0.26,
                      skull=0.11, snout=0.08, muzzle=0.75, head_pitch=45, leg_r=0.08, lower=0.5, ears="side",
                      ear=1.0, tail="none", hoof=True, accent="face"),
    "goat": QuadForm(belly=0.42, back=0.72, body_len=0.58, torso_x=-0.07, hip_x=0.19, neck_angle=55, skull=0.09,
                     snout=0.09, muzzle=0.7, head_pitch=45, leg_r=0.11, lower=0.5, ears="side", ear=1.0,
                     tail="stub", tail_len=0.08, tail_angle=50, hoof=True, accent="legs"),
    "pig": QuadForm(belly=0.32, back=0.86, head_top=0.82, body_len=0.74, torso_x=-0.05, hip_x=0.23, neck_angle=15,
                    neck_r=0.36, skull=0.17, snout=0.05, muzzle=0.7, head_pitch=5, leg_r=0.1, lower=0.5,
                    ears="floppy", ear=0.8, tail="curl", tail_len=0.08, tail_angle=30, hoof=True,
                    nose=(0.88, 0.55, 0.55)),
    "bear": QuadForm(belly=0.38, back=0.9, head_top=0.86, body_len=0.62, torso_x=-0.07, hip_x=0.2, neck_angle=12,
                     neck_r=0.32, skull=0.14, snout=0.08, muzzle=0.6, head_pitch=15, leg_r=0.15, lower=0.45,
                     ears="round", ear=0.5, tail="stub", tail_len=0.05, tail_angle=10),
    "fox": QuadForm(belly=0.38, back=0.68, body_len=0.52, torso_x=-0.06, hip_x=0.17, neck_angle=45, skull=0.14,
                    snout=0.1, muzzle=0.45, head_pitch=10, leg_r=0.14, ears="pointed", ear=1.1, tail="bushy",
                    tail_len=0.4, tail_angle=-5),
    "wolf": QuadForm(belly=0.42, back=0.78, body_len=0.56, torso_x=-0.06, hip_x=0.19, neck_angle=40, skull=0.1,
                     snout=0.12, muzzle=0.5, head_pitch=10, leg_r=0.14, ears="pointed", ear=0.9, tail="bushy",
                     tail_len=0.32, tail_angle=-25),
}
OVERRIDES: dict[str, dict[str, object]] = {
    "dachshund": {"belly": 0.25, "back": 0.68, "body_len": 0.62, "hip_x": 0.2, "skull": 0.14, "snout": 0.1,
                  "leg_r": 0.17, "neck_angle": 45, "tail_angle": 15, "tail_len": 0.22},
    "corgi": {"belly": 0.28, "back": 0.7, "body_len": 0.6, "hip_x": 0.19, "skull": 0.15, "snout": 0.07,
              "leg_r": 0.15, "ears": "pointed", "ear": 1.2, "tail": "none"},
    "husky": {"ears": "pointed", "tail": "bushy", "tail_angle": 40, "tail_len": 0.28, "muzzle": 0.5},
    "dalmatian": {"accent": "spots"},
    "tabby_cat": {"accent": "stripes"},
    "zebra": {"accent": "stripes", "neck_angle": 50, "tail": "tuft", "back": 0.72},
    "white_pony": {"back": 0.78, "belly": 0.44},
    "reindeer": {"back": 0.62, "head_top": 0.76, "neck_angle": 50, "tail": "none", "leg_r": 0.12},
    "highland_cow": {"belly": 0.36, "back": 0.86, "accent": "belly"},
    "polar_bear": {"neck_angle": 25, "skull": 0.12, "head_top": 0.8},
}


@dataclass(frozen=True)
class QuadLook:
    """Absolute layout (metres) and materials of one catalog animal at rest."""

    form: QuadForm
    L: float
    W: float
    H: float
    joint_z: float
    fore_x: float
    hind_x: float
    leg_y: float
    upper: float
    lower: float
    leg_r: float
    paw_r: float
    torso_c: tuple[float, float, float]  # in the torso frame (origin on the root, at leg-root height)
    torso_r: tuple[float, float, float]
    neck_a: tuple[float, float, float]
    head_c: tuple[float, float, float]
    skull_r: float
    neck_r: float
    max_excursion: float
    features: frozenset[str]
    coat: Material
    accent: Material
    leg_mat: Material
    lower_mat: Material
    dark: Material
    nose: Material


def quad_look(spec: SubjectSpec) -> QuadLook:
    """Solve the resting layout so the body fits the catalog box."""
    form = replace(FORMS.get(spec.species, FORMS["dog"]), **OVERRIDES.get(spec.id, {}))
    L, W, H = spec.length, spec.width, spec.height
    f = frozenset(spec.features)
    belly, back = form.belly * H, form.back * H
    rx, ry, rz = form.body_len * L / 2, form.body_w * W / 2, (back - belly) / 2
    joint_z = belly + 0.6 * rz
    tx = form.torso_x * L
    torso_c = (tx, 0.0, 0.5 * (belly + back) - joint_z)
    skull_r = min(form.skull * H, 0.36 * W, 0.12 * L)
    extra = 0.0
    if form.ears == "pointed":
        extra = max(0.0, 0.55 * skull_r + form.ear * skull_r - skull_r)
    elif form.ears == "round":
        extra = 0.2 * skull_r
    if "antlers" in f:
        extra = 0.0  # antlers rise above head_top, up to the catalog height
    elif "horns" in f:
        extra = max(extra, 0.45 * skull_r if spec.species == "goat" else 0.25 * skull_r)
    head_z = min(form.head_top * H, MARGIN * H - extra) - skull_r - joint_z
    neck_a = (tx + 0.75 * rx, 0.0, torso_c[2] + 0.45 * rz)
    rise = max(head_z - neck_a[2], 0.0)
    head_x = neck_a[0] + rise / np.tan(np.radians(form.neck_angle))
    pitch = np.radians(form.head_pitch)
    front = 0.2 * skull_r + np.cos(pitch) * (0.55 * skull_r + form.snout * L + 0.5 * form.muzzle * skull_r)
    head_x = min(head_x, MARGIN * L / 2 - front)
    leg_r = form.leg_r * W
    paw_r = 0.9 * leg_r if not form.hoof else 0.8 * leg_r
    fore_x, hind_x = tx + form.hip_x * L, tx - form.hip_x * L
    reach = (joint_z - paw_r) / 0.98
    max_exc = min(0.62 * reach, MARGIN * L / 2 - max(abs(fore_x), abs(hind_x)) - 1.7 * paw_r)
    coat_c, acc_c = spec.palette[0], spec.palette[1]
    if "shaggy" in f:
        coat = Material(coat_c, acc_c, "noise", scale=0.12)
    elif "woolly" in f:
        coat = Material(coat_c, tuple(0.85 * c for c in coat_c), "noise", scale=0.08)
    else:
        coat = Material(coat_c)
    accent = Material(acc_c)
    leg_mat = lower_mat = coat
    if form.accent == "stripes":
        leg_mat = lower_mat = Material(coat_c, acc_c, "stripes", scale=0.045 * H)
    elif form.accent == "mane":
        lower_mat = accent
    elif form.accent in ("face", "legs"):
        leg_mat = lower_mat = accent
    return QuadLook(
        form=form, L=L, W=W, H=H, joint_z=joint_z, fore_x=fore_x, hind_x=hind_x, leg_y=0.62 * (W / 2 - leg_r),
        upper=(1 - form.lower) * reach, lower=form.lower * reach, leg_r=leg_r, paw_r=paw_r,
        torso_c=torso_c, torso_r=(rx, ry, rz), neck_a=neck_a, head_c=(head_x, 0.0, head_z), skull_r=skull_r,
        neck_r=min(form.neck_r * W, 0.9 * skull_r), max_excursion=max_exc, features=f, coat=coat,
        accent=accent, leg_mat=leg_mat, lower_mat=lower_mat, dark=Material(DARK), nose=Material(form.nose),
    )


def quad_parts(lk: QuadLook) -> LocalParts:
    """Torso, coat markings, neck and head in the torso frame: everything but legs and tail, recorded once."""
    return record_parts(lambda torso: _body(torso, lk))


def build_quadruped(fr: Frame, lk: QuadLook, parts: LocalParts, phase: float, pattern: GaitPattern, duty: float,
                    cycle_m: float, weight: float) -> Rig:
    """Pose one animal in body frame `fr` (`parts`: quad_parts(lk)); returns where its four feet are."""
    f = lk.form
    excursion = weight * duty * cycle_m / 2.0
    lift = weight * pattern.lift * (lk.upper + lk.lower)
    fc = foot_cycle(phase, np.asarray(pattern.offsets), duty, excursion, lift, pattern.tuck)
    reach = lk.upper + lk.lower
    rest = lk.joint_z - lk.paw_r
    z_fore = lk.paw_r + hip_height(rest, 0.995 * reach, fc.dx[:2], fc.lift[:2])
    z_hind = lk.paw_r + hip_height(rest, 0.995 * reach, fc.dx[2:], fc.lift[2:])
    span = lk.fore_x - lk.hind_x
    pitch = np.arctan2(z_fore - z_hind, span)
    mid_x = 0.5 * (lk.fore_x + lk.hind_x)
    mid_z = 0.5 * (z_fore + z_hind)
    # the torso frame sits on the root at leg-root height, pitched about the point between the leg roots
    tilt = rot_y(-pitch)
    torso = fr.child(tilt, v(mid_x, 0.0, mid_z) - tilt @ v(mid_x, 0.0, 0.0))
    # ---- legs in the body frame: LF, RF, LH, RH; each hangs from its own solved hip height
    fore = np.array([True, True, False, False])
    root_x = np.where(fore, lk.fore_x, lk.hind_x)
    ys = np.array([1.0, -1.0, 1.0, -1.0]) * lk.leg_y
    hips = columns(root_x, np.where(fore, z_fore, z_hind))
    feet = columns(root_x + fc.dx, lk.paw_r + fc.lift)
    knees, feet = two_bone(hips, feet, lk.upper, lk.lower, np.where(fore, 1.0, -1.0))
    knee = columns(knees[:, 0], ys, knees[:, 1])
    foot = columns(feet[:, 0], ys, feet[:, 1])
    legs = fr.limbs(4)
    legs.cone(columns(hips[:, 0], ys, hips[:, 1]), knee, lk.leg_r * 1.45, lk.leg_r, lk.leg_mat)
    legs.capsule(knee, foot, min(lk.leg_r * 0.85, lk.paw_r), lk.lower_mat)
    if f.hoof:
        legs.cylinder(columns(foot[:, 0], ys, foot[:, 2] - lk.paw_r), columns(foot[:, 0], ys, foot[:, 2] + 0.6 * lk.paw_r),
                      lk.paw_r * 1.05, lk.dark)
    else:
        legs.ellipsoid(columns(foot[:, 0] + 0.3 * lk.paw_r, ys, foot[:, 2]), (lk.paw_r * 1.3, lk.paw_r, lk.paw_r),
                       lk.lower_mat)
    feet_world = fr.pts(columns(foot[:, 0], ys, foot[:, 2] - lk.paw_r))
    torso.stamp(parts)
    _tail(torso, lk, np.array(lk.torso_c), phase, weight)
    return Rig(feet_world, fc.stance | (fc.lift <= 0.0))


def _body(t: Frame, lk: QuadLook) -> None:
    f = lk.form
    feats = lk.features
    rx, ry, rz = lk.torso_r
    c = np.array(lk.torso_c)
    t.ellipsoid(c, lk.torso_r, lk.coat)
    t.ellipsoid(c + v(0.55 * rx, 0.0, -0.05 * rz), (0.45 * rx, 0.97 * ry, 1.0 * rz), lk.coat)  # deep chest
    if "woolly" in feats:  # fleece: a second, offset puff
        t.ellipsoid(c + v(-0.15 * rx, 0.0, 0.12 * rz), (0.85 * rx, 1.0 * ry, 0.95 * rz), lk.coat)
    if f.accent == "belly":
        t.ellipsoid(c + v(0.15 * rx, 0.0, -0.34 * rz), (0.82 * rx, 0.93 * ry, 0.72 * rz), lk.accent)
        t.ellipsoid(c + v(0.88 * rx, 0.0, -0.12 * rz), (0.22 * rx, 0.75 * ry, 0.65 * rz), lk.accent)  # bib
    if f.accent == "stripes":
        for i, x in enumerate(np.linspace(-0.8, 0.3, 6)):
            k = np.sqrt(max(1.0 - x * x, 0.05))
            t.ellipsoid(c + v(x * rx, 0.0, 0.0), (0.04 * rx, ry * k * 1.025 + 0.002, rz * k * 1.025 + 0.002),
                        lk.accent, rot=rot_y(0.12 if i % 2 else -0.1))
    if f.accent in ("patches", "spots"):
        _spots(t, lk, c)
    # neck and head
    head = np.array(lk.head_c)
    neck_a = np.array(lk.neck_a)
    neck_b = head + v(-0.35 * lk.skull_r, 0.0, -0.25 * lk.skull_r)
    t.capsule(neck_a, neck_b, lk.neck_r, lk.coat)
    if "mane" in feats:
        d = neck_b - neck_a
        mid = neck_a + 0.5 * d + np.array([-0.55, 0.0, 0.8]) * lk.neck_r
        t.ellipsoid(mid, (0.55 * np.linalg.norm(d), 0.35 * lk.neck_r, 0.45 * lk.neck_r), lk.accent, rot=along(d))
    _head(t, lk, head)


def _spots(t: Frame, lk: QuadLook, c: np.ndarray) -> None:
    """Patches (holstein) or spots (dalmatian): flattened blobs sunk into the torso surface."""
    rx, ry, rz = lk.torso_r
    big = lk.form.accent == "patches"
    pts = [(-0.55, 0.6), (0.1, 1.2), (0.55, 0.3), (-0.2, -0.4)] if big else \
          [(-0.6, 0.5), (-0.2, 1.1), (0.2, 0.3), (0.6, 1.0), (-0.45, -0.2), (0.35, -0.5), (0.0, 0.6)]
    s = 0.28 if big else 0.1
    for i, (u, ang) in enumerate(pts):
        side = 1.0 if i % 2 == 0 else -1.0
        k = np.sqrt(max(1.0 - u * u, 0.05))
        y, z = side * ry * k * np.cos(ang), rz * k * np.sin(ang)
        n = np.array([u / rx, y / (ry * ry), z / (rz * rz)])  # the ellipsoid's surface normal there
        p = c + v(u * rx, y, z)
        R = along(n)
        t.ellipsoid(p, (0.06 * s * rz + 0.004, s * rx * 0.7, s * rz * 1.1), lk.accent, rot=R)


def _head(t: Frame, lk: QuadLook, head: np.ndarray) -> None:
    f = lk.form
    feats = lk.features
    r = lk.skull_r
    pitch = np.radians(f.head_pitch)
    d = np.array([np.cos(pitch), 0.0, -np.sin(pitch)])
    snout = f.snout * lk.L
    mr = f.muzzle * r
    face = lk.accent if f.accent in ("face", "patches") else lk.coat
    t.ellipsoid(head, (r * 1.1, r * 0.9, r), face)
    muzzle_c = head + d * (0.55 * r + 0.5 * snout)
    muzzle_mat = lk.accent if f.accent in ("belly", "face") and "bulky" not in feats else face
    t.ellipsoid(muzzle_c, (0.5 * snout + 0.5 * mr, mr, 0.9 * mr), muzzle_mat, rot=along(d))
    tip = muzzle_c + d * (0.5 * snout + 0.45 * mr)
    if "snout" in feats:
        t.cylinder(tip - d * 0.2 * mr, tip + d * 0.1 * mr, 0.75 * mr, lk.nose)
    else:
        t.sphere(tip + v(0.0, 0.0, 0.25 * mr), 0.3 * mr, lk.nose)
    for s in (1.0, -1.0):  # eyes
        t.sphere(head + v(0.62 * r, s * 0.5 * r, 0.32 * r), 0.16 * r, lk.dark)
    if "beard" in feats:
        t.cone(muzzle_c + v(0.0, 0.0, -0.6 * mr), muzzle_c + v(-0.1 * r, 0.0, -0.8 * mr - 0.9 * r), 0.3 * mr, 0.0, lk.accent)
    if "shaggy" in feats:  # fringe over the eyes
        t.ellipsoid(head + v(0.45 * r, 0.0, 0.45 * r), (0.6 * r, 0.95 * r, 0.5 * r), lk.coat)
    _ears(t, lk, head, r)
    if "antlers" in feats:
        _antlers(t, lk, head, r)
    elif "horns" in feats:
        _horns(t, lk, head, r)


def _ears(t: Frame, lk: QuadLook, head: np.ndarray, r: float) -> None:
    f = lk.form
    e = f.ear * r
    for s in (1.0, -1.0):
        if f.ears == "pointed":
            base = head + v(-0.25 * r, s * 0.5 * r, 0.55 * r)
            t.cone(base, base + v(-0.1 * e, s * 0.12 * e, e), 0.35 * r, 0.0, lk.coat)
        elif f.ears == "floppy":
            t.ellipsoid(head + v(-0.2 * r, s * 0.9 * r, -0.15 * r), (0.35 * e, 0.12 * r, 0.6 * e), lk.coat,
                        rot=rot_y(-0.2))
        elif f.ears == "side":
            base = head + v(-0.35 * r, s * 0.7 * r, 0.4 * r)
            d = np.array([-0.2, s * 1.0, 0.25])
            t.ellipsoid(base + 0.5 * e * d / np.linalg.norm(d), (0.5 * e, 0.28 * e, 0.1 * e), lk.coat, rot=along(d))
        elif f.ears == "round":
            t.sphere(head + v(-0.3 * r, s * 0.65 * r, 0.8 * r), 0.3 * r, lk.coat)


def _antlers(t: Frame, lk: QuadLook, head: np.ndarray, r: float) -> None:
    top = lk.H * 0.975 - lk.joint_z  # the antlers' reach in the torso frame (approx.)
    span = min(0.45 * lk.W, 2.2 * r + 0.3 * (top - head[2]))
    height = top - head[2] - 0.6 * r
    mat = Material(ANTLER)
    rr = 0.16 * r
    for s in (1.0, -1.0):
        base = head + v(-0.3 * r, s * 0.45 * r, 0.7 * r)
        mid = base + v(-0.25 * height, s * 0.5 * (span - 0.45 * r), 0.55 * height)
        tip = base + v(-0.05 * height, s * (span - 0.45 * r - rr), height - rr)
        t.capsule(base, mid, rr, mat)
        t.capsule(mid, tip, rr * 0.85, mat)
        brow = base + 0.35 * (mid - base)
        t.capsule(brow, brow + v(0.3 * height, s * 0.1 * span, 0.25 * height), rr * 0.8, mat)
        t.capsule(mid, mid + v(0.25 * height, s * 0.05 * span, 0.3 * height), rr * 0.75, mat)


def _horns(t: Frame, lk: QuadLook, head: np.ndarray, r: float) -> None:
    mat = Material(HORN)
    goat = lk.form.accent == "legs"
    for s in (1.0, -1.0):
        base = head + v(-0.3 * r, s * 0.55 * r, 0.7 * r)
        if goat:  # curving back over the neck
            mid = base + v(-0.5 * r, s * 0.15 * r, 0.45 * r)
            t.capsule(base, mid, 0.16 * r, mat)
            t.capsule(mid, mid + v(-0.55 * r, s * 0.1 * r, -0.1 * r), 0.11 * r, mat)
        else:  # out to the side, tips up
            long = "shaggy" in lk.features
            th = 0.2 * r if long else 0.15 * r
            reach = min(0.5 * lk.W - th, base[1] * s + (2.2 * r if long else 0.7 * r))
            mid = np.array([base[0] + 0.05 * r, s * reach * 0.8, base[2] + 0.1 * r])
            tip = np.array([base[0] + 0.15 * r, s * reach, base[2] + (0.55 if long else 0.3) * r])
            t.capsule(base, mid, th, mat)
            t.capsule(mid, tip, 0.6 * th, mat)


def _tail(t: Frame, lk: QuadLook, c: np.ndarray, phase: float, weight: float) -> None:
    f = lk.form
    if f.tail == "none" or not ({"tail", "bushy tail"} & lk.features or f.tail in ("stub", "curl")):
        return
    rx, _, rz = lk.torso_r
    root = c + v(-0.93 * rx, 0.0, 0.4 * rz)
    sway = 0.3 * np.sin(2.0 * np.pi * phase) * weight
    a = np.radians(f.tail_angle + (12.0 * weight if f.tail in ("thin", "bushy") else 0.0))
    d = np.array([-np.cos(a) * np.cos(sway), np.sin(sway) * np.cos(a), np.sin(a)])
    w = lk.W
    thick = {"bushy": 0.22, "tuft": 0.14, "hair": 0.13}.get(f.tail, 0.1) * w
    room = MARGIN * lk.L / 2 + root[0] - thick  # how far back the tail may reach
    head_room = MARGIN * lk.H - lk.joint_z - root[2] - thick  # and how high
    length = min(f.tail_len * lk.L, room / max(-d[0], 0.25), head_room / max(d[2], 0.25))
    end = root + d * length
    mat = lk.accent if f.accent == "mane" else lk.coat
    if f.tail == "thin":  # two tapering pieces, the tip curling up
        mid = root + d * 0.55 * length
        a2 = a + np.radians(f.tail_curl)
        d2 = np.array([-np.cos(a2) * np.cos(sway), np.sin(sway) * np.cos(a2), np.sin(a2)])
        tip_len = min(0.45 * length, max(MARGIN * lk.L / 2 + mid[0], 0.0) / max(-d2[0], 0.25),
                      max(MARGIN * lk.H - lk.joint_z - mid[2], 0.0) / max(d2[2], 0.25))
        t.cone(root, mid, 0.1 * w, 0.07 * w, mat)
        t.cone(mid, mid + d2 * tip_len, 0.07 * w, 0.035 * w, mat)
    elif f.tail == "bushy":
        t.ellipsoid(root + 0.5 * length * d, (0.5 * length, 0.2 * w, 0.2 * w), lk.coat, rot=along(d))
        if f.accent == "belly":
            t.sphere(end - 0.1 * length * d, 0.15 * w, lk.accent)
    elif f.tail == "hair":
        t.ellipsoid(root + 0.5 * length * d, (0.5 * length, 0.1 * w, 0.13 * w), mat, rot=along(d))
    elif f.tail == "tuft":
        t.capsule(root, end, 0.035 * w, mat)
        t.ellipsoid(end, (0.05 * w, 0.05 * w, 0.12 * w), lk.accent, rot=along(d))
    elif f.tail == "curl":
        t.sphere(root + d * 0.3 * length, 0.05 * w, lk.coat)
    elif f.tail == "stub":
        t.ellipsoid(root + 0.5 * length * d, (0.6 * length, 0.08 * w, 0.12 * w), mat, rot=along(d))
