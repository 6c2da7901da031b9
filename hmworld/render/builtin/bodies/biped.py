"""People: a biped skeleton dressed from the catalog palette and features.

Proportions are fractions of the body height (the catalog height less any tall
headwear, so the whole figure fits its catalog box). Legs follow gait.py's foot
cycle with two-bone knees; arms swing against the opposite leg.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmworld.catalog.subjects import SubjectSpec
from hmworld.render.builtin.bodies.frame import Frame, Rig, columns, record_parts, rot_y, rot_z
from hmworld.render.builtin.bodies.gait import GaitPattern, foot_cycle, hip_height, two_bone
from hmworld.render.builtin.bodies.parts import LocalParts
from hmworld.render.builtin.primitives import Material

SHOE = (0.09, 0.08, 0.07)
WHITE = (0.95, 0.95, 0.94)

# headwear: height above the crown, as a share of body height
HEADWEAR_EXTRA = {"cap": 0.012, "hard hat": 0.03, "helmet": 0.028, "chef hat": 0.095, "beanie": 0.02,
                  "hood": 0.018, "bun": 0.022}
# garments the features do not say, keyed by subject id (renderer-side detail)
SHORT_SLEEVES = frozenset({"boy_striped_shirt", "jogger_orange", "doctor_blue_scrubs", "woman_tennis",
                           "woman_yellow_dress"})
LEGWEAR = {"boy_striped_shirt": "shorts", "woman_tennis": "skirt", "woman_white_blouse": "skirt",
           "girl_school_uniform": "skirt"}
LONG_DRESS = frozenset({"woman_sari"})
WHITE_SHOES = frozenset({"woman_tennis", "chef_white", "doctor_blue_scrubs"})
BACKPACK_COLOUR = {"man_backpack": (0.55, 0.22, 0.10), "girl_school_uniform": (0.85, 0.30, 0.45)}
BUILD = {  # (limb thickness, torso depth, hip width) factors
    "slim": (0.9, 0.92, 0.95), "average": (1.0, 1.0, 1.0), "stocky": (1.18, 1.25, 1.1),
    "child": (1.0, 0.95, 0.95), "elderly": (1.02, 1.08, 1.0),
}


@dataclass(frozen=True)
class HumanLook:
    """Everything about a person that does not change from frame to frame (metres)."""

    H: float  # body height, crown of the hair, without headwear
    ankle: float
    thigh: float
    shin: float
    hip_y: float
    shoulder_y: float
    shoulder_up: float  # shoulder joint above the hip joint
    head_up: float  # head centre above the hip joint
    head_r: tuple[float, float, float]
    upper_arm: float
    fore_arm: float
    limb: float
    girth: float
    stoop: float
    features: frozenset[str]
    legwear: str  # "trousers", "shorts", "skirt", "dress", "long dress", "coat"
    short_sleeves: bool
    skin: Material
    hair: Material
    top: Material
    bottom: Material
    sleeve: Material
    shoe: Material
    accent: Material  # backpack, tie, hi-vis band, box
    headwear: Material

    @property
    def leg(self) -> float:
        return self.thigh + self.shin


def human_look(spec: SubjectSpec) -> HumanLook:
    """Proportions and materials of one catalog person."""
    f = frozenset(spec.features)
    extra = max((HEADWEAR_EXTRA.get(x, 0.0) for x in f), default=0.0)
    H = spec.height / (1.0 + extra)
    limb, girth, hipw = BUILD.get(spec.build, BUILD["average"])
    child = spec.build == "child"
    hip_z = (0.47 if child else 0.515) * H
    ankle = 0.04 * H
    leg = (hip_z - ankle) / 0.985
    thigh, shin = 0.51 * leg, 0.49 * leg
    head_r = (0.071 * H, 0.063 * H, 0.079 * H) if child else (0.06 * H, 0.053 * H, 0.066 * H)
    head_z = 0.995 * H - 0.004 * H - head_r[2]
    shoulder_z = (0.78 if child else 0.81) * H
    shoulder_y = min(spec.width / 2.0 - 0.038 * H * limb, 0.12 * H)
    top, bottom, skin, hair = spec.palette[:4]
    if "stripes" in f and spec.build == "child":
        top_m = Material(top, WHITE, "stripes", scale=0.035 * H)
    elif "camouflage" in f:
        top_m = Material(top, (0.18, 0.22, 0.12), "noise", scale=0.12)
    elif "metal" in f:
        top_m = Material(top, top, "flat", gloss=0.8)
    elif "hood" in f:
        top_m = Material(top, top, "flat", gloss=0.45)
    else:
        top_m = Material(top)
    if "camouflage" in f:
        bottom_m = Material(bottom, (0.18, 0.22, 0.12), "noise", scale=0.12)
    elif "metal" in f:
        bottom_m = Material(bottom, bottom, "flat", gloss=0.8)
    else:
        bottom_m = Material(bottom)
    if "dress" in f:
        legwear = "long dress" if spec.id in LONG_DRESS else "dress"
    elif "coat" in f:
        legwear = "coat"
    else:
        legwear = LEGWEAR.get(spec.id, "trousers")
    short = spec.id in SHORT_SLEEVES
    sleeve = Material((0.25, 0.30, 0.42)) if "vest" in f else top_m
    if "hard hat" in f or "chef hat" in f:
        head_m = Material(WHITE, WHITE, "flat", gloss=0.3 if "hard hat" in f else 0.0)
    elif "helmet" in f:
        head_m = top_m
    elif "beanie" in f:
        head_m = Material((0.55, 0.12, 0.14), (0.35, 0.08, 0.1), "stripes", scale=0.012)
    elif "visor" in f or "headband" in f:
        head_m = Material(WHITE)
    else:
        head_m = Material(tuple(0.8 * c for c in top)) if "cap" in f else top_m
    accent = {"tie": (0.55, 0.06, 0.10), "vest": (0.85, 0.86, 0.88), "box": (0.72, 0.55, 0.32)}
    acc = BACKPACK_COLOUR.get(spec.id, (0.22, 0.26, 0.55))
    for k, c in accent.items():
        if k in f:
            acc = c
    return HumanLook(
        H=H, ankle=ankle, thigh=thigh, shin=shin, hip_y=0.052 * H * hipw, shoulder_y=shoulder_y,
        shoulder_up=shoulder_z - hip_z, head_up=head_z - hip_z, head_r=head_r,
        upper_arm=(0.16 if child else 0.17) * H, fore_arm=(0.135 if child else 0.145) * H,
        limb=limb, girth=girth, stoop=0.12 if spec.build == "elderly" else 0.0, features=f,
        legwear=legwear, short_sleeves=short, skin=Material(skin), hair=Material(hair), top=top_m,
        bottom=bottom_m, sleeve=sleeve, shoe=Material(WHITE if spec.id in WHITE_SHOES else SHOE),
        accent=Material(acc, acc, "flat", gloss=0.6 if "vest" in f else 0.0), headwear=head_m,
    )


@dataclass(frozen=True, eq=False)
class BipedParts:
    """A person's parts that keep their place in the upper body's frame (at the hip joint).

    torso: pelvis, chest, shoulders, neck; worn: what goes over the torso (after the hem of a
    skirt, dress or coat, which follows the hips) and the head with its hair and headwear.
    """

    torso: LocalParts
    worn: LocalParts


def biped_parts(lk: HumanLook) -> BipedParts:
    """The frame-independent parts of a person, recorded once."""
    return BipedParts(record_parts(lambda up: _torso(up, lk)),
                      record_parts(lambda up: (_worn(up, lk), _head(up, lk))))


def build_biped(fr: Frame, look: HumanLook, parts: BipedParts, phase: float, pattern: GaitPattern, duty: float,
                cycle_m: float, weight: float) -> Rig:
    """Pose and dress one person in body frame `fr`; returns where the feet are."""
    H, lk = look.H, look
    excursion = weight * duty * cycle_m / 2.0
    lift = weight * pattern.lift * lk.leg
    fc = foot_cycle(phase, np.asarray(pattern.offsets), duty, excursion, lift, pattern.tuck)
    hip_z = lk.ankle + hip_height(0.985 * lk.leg, 0.995 * lk.leg, fc.dx, fc.lift)
    side = np.array([1.0, -1.0])  # left, right
    # ---- legs (body frame)
    hips = columns(0.0, hip_z, n=2)
    ankles = columns(fc.dx, lk.ankle + fc.lift)
    knees, ankles = two_bone(hips, ankles, lk.thigh, lk.shin, np.ones(2))
    lower_leg = lk.skin if lk.legwear in ("shorts", "skirt", "dress") else lk.bottom
    upper_leg = lk.skin if lk.legwear in ("dress",) else lk.bottom
    r_th, r_sh = 0.04 * H * lk.limb, 0.029 * H * lk.limb
    y = side * lk.hip_y
    knee = columns(knees[:, 0], y, knees[:, 1])
    ank = columns(ankles[:, 0], y, ankles[:, 1])
    legs = fr.limbs(2)
    legs.capsule(columns(0.0, y, hip_z), knee, r_th, upper_leg)
    legs.capsule(knee, ank, r_sh, lower_leg)
    legs.box(columns(ank[:, 0] + 0.032 * H, y, ank[:, 2] - lk.ankle + 0.021 * H),
             (0.068 * H, 0.027 * H * lk.limb, 0.021 * H), lk.shoe)
    feet_world = fr.pts(columns(ank[:, 0], y, ank[:, 2] - lk.ankle))
    # ---- upper body: its own frame at the hip joint, leaning forward
    lean = lk.stoop + weight * pattern.lean
    up = fr.child(rot_y(lean), (0.0, 0.0, hip_z))
    up.stamp(parts.torso)
    _hem(up, lk, hip_z)
    up.stamp(parts.worn)
    # arms swing with the opposite leg
    norm = fc.dx / excursion if excursion > 1e-9 else np.zeros(2)
    swing = weight * pattern.arm_swing * norm[::-1]
    _arms(up, lk, side, swing, pattern.elbow * weight + 0.12 + 0.35 * np.maximum(swing, 0.0))
    return Rig(feet_world, fc.stance | (fc.lift <= 0.0))


def _torso(up: Frame, lk: HumanLook) -> None:
    H = lk.H
    sy = lk.shoulder_y
    up.ellipsoid((0.0, 0.0, 0.035 * H), (0.07 * H * lk.girth, lk.hip_y + 0.045 * H, 0.07 * H), lk.bottom)
    up.ellipsoid((0.0, 0.0, _chest_z(lk)), (_chest_rx(lk), 0.86 * sy, 0.15 * H), lk.top)
    up.capsule((0.0, -sy, lk.shoulder_up - 0.005 * H), (0.0, sy, lk.shoulder_up - 0.005 * H), 0.037 * H * lk.limb,
               lk.top)
    neck_top = lk.head_up - 0.5 * lk.head_r[2]
    up.capsule((0.0, 0.0, lk.shoulder_up), (0.006 * H, 0.0, neck_top), 0.027 * H, lk.skin)


def _chest_z(lk: HumanLook) -> float:
    return lk.shoulder_up - 0.125 * lk.H


def _chest_rx(lk: HumanLook) -> float:
    return 0.074 * lk.H * lk.girth


def _hem(up: Frame, lk: HumanLook, hip_z: float) -> None:
    """A skirt, dress or coat: a cone from the waist whose hem stays off the ground when the hips dip."""
    if lk.legwear not in ("dress", "long dress", "skirt", "coat"):
        return
    H = lk.H
    waist = 0.06 * H
    bottom_z = max({"skirt": -0.15, "dress": -0.24, "coat": -0.27, "long dress": -0.43}[lk.legwear] * H,
                   0.03 * H - hip_z)
    mat = lk.top if lk.legwear == "coat" else lk.bottom
    r_bot = min(0.13 * H, lk.shoulder_y + 0.03 * H)
    up.cone((0.0, 0.0, waist + 0.04 * H), (0.0, 0.0, bottom_z), 0.085 * H * lk.girth, r_bot, mat)


def _worn(up: Frame, lk: HumanLook) -> None:
    """Tie, hi-vis vest, shawl, sari drape, backpack."""
    H = lk.H
    f = lk.features
    sy = lk.shoulder_y
    rx, chest_z = _chest_rx(lk), _chest_z(lk)
    if "tie" in f:
        up.box((rx * 0.97, 0.0, chest_z + 0.02 * H), (0.006 * H, 0.014 * H, 0.08 * H), lk.accent)
    if "vest" in f:
        up.ellipsoid((0.0, 0.0, chest_z - 0.03 * H), (rx * 1.04, 0.86 * sy * 1.04, 0.014 * H), lk.accent)
    if "shawl" in f:
        up.ellipsoid((-0.005 * H, 0.0, lk.shoulder_up - 0.03 * H), (rx * 1.15, sy + 0.03 * H, 0.075 * H), lk.top)
    if lk.legwear == "long dress":  # the sari's drape over one shoulder
        up.ellipsoid((0.01 * H, 0.02 * H, chest_z), (rx * 1.06, 0.03 * H, 0.17 * H), lk.bottom, rot=_roll(0.6))
    if "backpack" in f:
        up.box((-rx - 0.045 * H, 0.0, chest_z + 0.015 * H), (0.045 * H, 0.75 * sy, 0.11 * H), lk.accent)


def _roll(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _head(up: Frame, lk: HumanLook) -> None:
    H = lk.H
    f = lk.features
    rx, ry, rz = lk.head_r
    hz = lk.head_up
    up.ellipsoid((0.008 * H, 0.0, hz), (rx, ry, rz), lk.skin)
    crown = hz + rz + 0.004 * H
    hood = "hood" in f
    if hood:
        up.ellipsoid((-0.03 * H, 0.0, hz + 0.004 * H), (rx * 1.2, ry * 1.3, rz * 1.17), lk.top)
    else:  # hair cap: covers top and back, leaves the face
        up.ellipsoid((-0.012 * H, 0.0, hz + 0.012 * H), (rx * 1.04, ry * 1.08, rz * 0.92), lk.hair)
    if "long hair" in f:
        up.ellipsoid((-0.032 * H, 0.0, hz - 0.06 * H), (0.045 * H, ry * 1.12, 0.1 * H), lk.hair)
    if "ponytail" in f:
        up.capsule((-rx - 0.005 * H, 0.0, hz + 0.01 * H), (-rx - 0.03 * H, 0.0, hz - 0.09 * H), 0.022 * H, lk.hair)
    if "bun" in f:
        up.sphere((-0.035 * H, 0.0, crown - 0.012 * H), 0.034 * H, lk.hair)
    if "cap" in f:
        up.ellipsoid((-0.004 * H, 0.0, crown - 0.016 * H), (rx * 1.1, ry * 1.12, 0.028 * H), lk.headwear)
        up.box((rx * 0.95, 0.0, crown - 0.03 * H), (0.035 * H, ry * 0.9, 0.004 * H), lk.headwear,
               rot=rot_y(0.15))
    if "hard hat" in f:
        up.ellipsoid((0.0, 0.0, crown - 0.03 * H), (rx * 1.22, ry * 1.25, 0.058 * H), lk.headwear)
        up.cylinder((0.004 * H, 0.0, crown - 0.035 * H), (0.004 * H, 0.0, crown - 0.029 * H), rx * 1.38, lk.headwear)
    if "helmet" in f:
        up.ellipsoid((-0.004 * H, 0.0, crown - 0.028 * H), (rx * 1.18, ry * 1.22, 0.056 * H), lk.headwear)
    if "chef hat" in f:
        up.cylinder((0.0, 0.0, crown - 0.03 * H), (0.0, 0.0, crown + 0.06 * H), ry * 0.98, lk.headwear)
        up.ellipsoid((0.0, 0.0, crown + 0.065 * H), (ry * 1.12, ry * 1.12, 0.03 * H), lk.headwear)
    if "beanie" in f:
        up.ellipsoid((-0.006 * H, 0.0, crown - 0.025 * H), (rx * 1.1, ry * 1.14, 0.045 * H), lk.headwear)
    if "visor" in f or "headband" in f:
        z = hz + 0.025 * H
        up.cylinder((0.006 * H, 0.0, z - 0.007 * H), (0.006 * H, 0.0, z + 0.007 * H), ry * 1.05, lk.headwear)
        if "visor" in f:
            up.box((rx + 0.02 * H, 0.0, z - 0.004 * H), (0.03 * H, ry * 0.85, 0.004 * H), lk.headwear, rot=rot_y(0.1))


def _arms(up: Frame, lk: HumanLook, side: np.ndarray, swing: np.ndarray, elbow: np.ndarray) -> None:
    """Both arms (side [2]: +1 left, -1 right), swung forward by `swing` [2] radians at the
    shoulder and bent by `elbow` [2] at the elbow; a parcel carrier holds both forearms
    forward under the parcel, which is drawn after the left arm."""
    H = lk.H
    box = "box" in lk.features
    if box:
        swing, elbow = np.full(2, -0.25), np.full(2, 1.35)
    sh = columns(0.0, side * lk.shoulder_y, lk.shoulder_up)
    d1 = columns(np.sin(swing), 0.0, -np.cos(swing))
    d2 = columns(np.sin(swing + elbow), 0.0, -np.cos(swing + elbow))
    el = sh + lk.upper_arm * d1
    wr = el + lk.fore_arm * d2
    r_up, r_fo = 0.026 * H * lk.limb, 0.022 * H * lk.limb
    for arm in (slice(0, 1), slice(1, 2)) if box else (slice(0, 2),):
        arms = up.limbs(arm.stop - arm.start)
        arms.capsule(sh[arm], el[arm], r_up, lk.sleeve)
        arms.capsule(el[arm], wr[arm], r_fo, lk.skin if lk.short_sleeves else lk.sleeve)
        arms.sphere(wr[arm] + 0.02 * H * d2[arm], 0.024 * H * lk.limb, lk.skin)
        if box and arm.start == 0:
            half = (0.075 * H, lk.shoulder_y * 0.95, 0.06 * H)
            up.box((wr[0, 0] + 0.03 * H, 0.0, wr[0, 2] + half[2] + 0.005 * H), half, lk.accent, rot=rot_z(0.0))
