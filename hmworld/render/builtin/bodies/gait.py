"""Gait math: where each foot is in its cycle, and two-bone legs that reach it.

The shot's phase is distance / cycle_m, so a stance foot that moves backwards
relative to the body by exactly the distance the body covers while it is down
stays planted in the world. With duty factor β (the share of the cycle a foot
is down) that distance is β · cycle_m, so the foot sweeps ±β · cycle_m / 2
about its hip. That identity is the whole of "no foot sliding". Pure math.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class GaitPattern:
    """How the legs take turns: duty factor, per-leg touchdown phase, swing height."""

    duty: float  # share of the cycle each foot is on the ground
    offsets: tuple[float, ...]  # per-leg touchdown phase, cycles
    lift: float  # swing foot height as a share of leg length
    arm_swing: float = 0.0  # bipeds: shoulder swing amplitude, radians
    elbow: float = 0.0  # bipeds: mean elbow bend, radians
    lean: float = 0.0  # forward lean of the upper body, radians
    tuck: float = 1.0  # < 1: the swing foot rises early, behind the body, and reaches forward late


# legs: (left, right)
BIPED: dict[str, GaitPattern] = {
    "walk": GaitPattern(0.60, (0.0, 0.5), 0.11, arm_swing=0.42, elbow=0.30, lean=0.04, tuck=0.8),
    "trot": GaitPattern(0.42, (0.0, 0.5), 0.28, arm_swing=0.60, elbow=1.10, lean=0.12, tuck=0.65),
    "run": GaitPattern(0.36, (0.0, 0.5), 0.38, arm_swing=0.75, elbow=1.45, lean=0.16, tuck=0.6),
}
# legs: (left fore, right fore, left hind, right hind)
QUADRUPED: dict[str, GaitPattern] = {
    # lateral-sequence walk: LH, LF, RH, RF a quarter cycle apart
    "walk": GaitPattern(0.66, (0.25, 0.75, 0.0, 0.5), 0.16, tuck=0.85),
    # trot: diagonal pairs (LF + RH, RF + LH) in unison
    "trot": GaitPattern(0.44, (0.0, 0.5, 0.5, 0.0), 0.24, tuck=0.8),
    # transverse gallop: hind pair, then fore pair, each slightly staggered
    "run": GaitPattern(0.32, (0.55, 0.65, 0.0, 0.1), 0.30, tuck=0.8),
}
BIRD: dict[str, GaitPattern] = {
    "walk": GaitPattern(0.60, (0.0, 0.5), 0.14),
    "trot": GaitPattern(0.45, (0.0, 0.5), 0.20),
    "run": GaitPattern(0.38, (0.0, 0.5), 0.26),
}
PATTERNS: dict[str, dict[str, GaitPattern]] = {"biped": BIPED, "quadruped": QUADRUPED, "bird": BIRD}

MIN_DUTY = 0.14  # below this a gait stops reading as stepping


def smoothstep(x: np.ndarray | float) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@lru_cache(maxsize=4096)  # a path's subject keeps its speed for many frames
def motion_weight(speed: float, slowest: float) -> float:
    """1 when moving, easing to 0 as speed falls to 0, so a stopped body stands instead of freezing mid-stride.

    Scaling the stride by this weight lets a stance foot slide at (1 - w) · speed, which is
    at most a few centimetres per second and only while the subject is nearly stopped.
    """
    ref = max(0.5 * slowest, 1e-3)
    return float(smoothstep(abs(speed) / ref))


def effective_duty(pattern: GaitPattern, cycle_m: float, max_excursion: float) -> float:
    """Duty factor that keeps each foot's sweep (β · cycle_m / 2) within `max_excursion`.

    Shortening stance instead of the sweep keeps the foot planted: a short-legged animal
    on a long cycle simply spends more of it in the air.
    """
    if cycle_m <= 0:
        return pattern.duty
    return float(np.clip(2.0 * max_excursion / cycle_m, MIN_DUTY, pattern.duty))


def _clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """np.clip for the few-element arrays of one body (np.clip's overhead is most of its cost there);
    the same values as np.clip except that it may give a zero the other sign (no caller here sees one)."""
    return np.minimum(np.maximum(x, lo), hi)


@dataclass(frozen=True, eq=False)
class FootCycle:
    """Per-leg foot offsets from the hip in the body frame, at one instant."""

    dx: np.ndarray  # [legs] forward offset, metres
    lift: np.ndarray  # [legs] height above the ground, metres
    stance: np.ndarray  # [legs] bool: foot on the ground
    swing: np.ndarray  # [legs] 0..1 progress through the swing (0 in stance)


def foot_cycle(phase: float, offsets: np.ndarray, duty: float, excursion: float, lift: float,
               tuck: float = 1.0) -> FootCycle:
    """Touch down `excursion` ahead of the hip, sweep back linearly to `-excursion`, swing forward.

    The linear stance sweep is what keeps the foot still in the world: it moves back by
    2 · excursion while the body moves forward by duty · cycle_m = 2 · excursion. The swing
    is free; `tuck` < 1 lifts the foot early (knee flexed behind the body) and brings it
    forward late, as runners do.
    """
    s = np.mod(phase - np.asarray(offsets, dtype=float), 1.0)
    stance = s < duty
    u_st = s / duty
    u_sw = _clip((s - duty) / max(1.0 - duty, 1e-9), 0.0, 1.0)
    dx = np.where(stance, excursion * (1.0 - 2.0 * u_st), -excursion * np.cos(np.pi * u_sw ** (1.0 / tuck)))
    lz = np.where(stance, 0.0, lift * np.sin(np.pi * u_sw**tuck))
    return FootCycle(dx, lz, stance, np.where(stance, 0.0, u_sw))


def hip_height(rest: float, reach: float, dx: np.ndarray, lift: np.ndarray) -> float:
    """Highest hip that lets every foot (dx forward, lift up, from under the hip) be reached.

    Taking the minimum over legs gives the natural bob: high at mid-stance, low when the
    feet are spread.
    """
    need = lift + np.sqrt(np.maximum(reach * reach - dx * dx, 0.0))
    return float(min(rest, float(need.min())))


def two_bone(hip: np.ndarray, foot: np.ndarray, upper: float, lower: float, bend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Knees [n,2] and reached feet [n,2] for hips and feet [n,2] in the sagittal (x, z) plane.

    bend +1 puts the joint forward of the hip-foot line (human knee, fore leg); -1 behind
    (hock, bird ankle). A foot out of reach is pulled in along the hip-foot line.
    """
    hip = np.asarray(hip, dtype=float)
    d_vec = np.asarray(foot, dtype=float) - hip
    d = np.sqrt(np.add.reduce(d_vec * d_vec, axis=-1))  # np.linalg.norm's own arithmetic, without its overhead
    u = d_vec / np.maximum(d, 1e-9)[:, None]
    d = _clip(d, abs(upper - lower) + 1e-6, (upper + lower) * (1.0 - 1e-6))
    a = (upper * upper - lower * lower + d * d) / (2.0 * d)
    h = np.sqrt(np.maximum(upper * upper - a * a, 0.0))
    n = u[:, ::-1] * (-1.0, 1.0)  # u turned +90° in (x, z): forward when u points down
    knee = hip + a[:, None] * u + (np.asarray(bend, dtype=float) * h)[:, None] * n
    return knee, hip + d[:, None] * u
