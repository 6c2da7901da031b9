"""The 10 subject paths: ground paths described by heading along the way.

A path is the heading offset θ(u) as a function of normalised arc length
u ∈ [0, 1] plus a speed multiplier m(τ) over normalised time τ ∈ [0, 1]. Its
position is the integral of (cos θ, sin θ) along the distance walked, so the
heading is the path tangent by construction. Pure math; nothing renders here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class PathSpec:
    id: str
    description: str  # caption phrase, e.g. "walks in a straight line"
    turns: bool  # whether the heading changes along the way


PATH_LIST: tuple[PathSpec, ...] = (
    PathSpec("straight", "moves in a straight line", False),
    PathSpec("diagonal", "moves diagonally across the area", False),
    PathSpec("left_turn", "moves ahead and then turns left", True),
    PathSpec("right_turn", "moves ahead and then turns right", True),
    PathSpec("u_turn", "moves ahead, turns around and comes back", True),
    PathSpec("circle", "moves around in a wide circle", True),
    PathSpec("figure_eight", "moves in a figure-eight loop", True),
    PathSpec("zigzag", "zigzags from side to side", True),
    PathSpec("s_curve", "follows a gentle S-shaped curve", True),
    PathSpec("stop_and_go", "moves ahead, pausing now and then before moving on", False),
)

PATHS: dict[str, PathSpec] = {p.id: p for p in PATH_LIST}


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _ramp(u: np.ndarray, a: float, b: float) -> np.ndarray:
    return _smoothstep((u - a) / (b - a))


def path_heading(path_id: str, u: np.ndarray) -> np.ndarray:
    """Heading offset θ(u) in radians relative to the subject's base heading."""
    u = np.asarray(u, dtype=float)
    if path_id in ("straight", "stop_and_go"):
        return np.zeros_like(u)
    if path_id == "diagonal":
        return np.full_like(u, np.pi / 4)
    if path_id == "left_turn":
        return (np.pi / 2) * _ramp(u, 0.4, 0.6)
    if path_id == "right_turn":
        return -(np.pi / 2) * _ramp(u, 0.4, 0.6)
    if path_id == "u_turn":
        return np.pi * _ramp(u, 0.35, 0.65)
    if path_id == "circle":
        return 2.0 * np.pi * u
    if path_id == "figure_eight":
        return 4.0 * np.pi * np.minimum(u, 1.0 - u)
    if path_id == "zigzag":
        return 0.8 * np.tanh(6.0 * np.sin(5.0 * np.pi * u))
    if path_id == "s_curve":
        return (np.pi / 3) * np.sin(2.0 * np.pi * u)
    raise KeyError(path_id)


def speed_multiplier(path_id: str, tau: np.ndarray) -> np.ndarray:
    """m(τ) ∈ [0, 1]: 1 is the cruise speed; stop-and-go pauses twice."""
    tau = np.asarray(tau, dtype=float)
    if path_id != "stop_and_go":
        return np.ones_like(tau)
    stop1 = _ramp(tau, 0.22, 0.28) - _ramp(tau, 0.40, 0.46)
    stop2 = _ramp(tau, 0.58, 0.64) - _ramp(tau, 0.76, 0.82)
    return 1.0 - stop1 - stop2


def _integrate(theta: np.ndarray, ds: np.ndarray) -> np.ndarray:
    """Positions [..., n, 2] from headings at samples and step lengths between them (trapezoid)."""
    c, s = np.cos(theta), np.sin(theta)
    step = np.stack([(c[..., 1:] + c[..., :-1]) / 2 * ds, (s[..., 1:] + s[..., :-1]) / 2 * ds], axis=-1)
    zero = np.zeros((*step.shape[:-2], 1, 2))
    return np.concatenate([zero, np.cumsum(step, axis=-2)], axis=-2)


@cache
def unit_extent(path_id: str) -> float:
    """Diagonal of the bounding box of the path at length 1 (any rotation fits in a square of this side)."""
    u = np.linspace(0.0, 1.0, 2001)
    xy = _integrate(path_heading(path_id, u), np.diff(u))
    return float(np.linalg.norm(xy.max(axis=0) - xy.min(axis=0)))


@cache
def mean_speed_multiplier(path_id: str) -> float:
    return float(speed_multiplier(path_id, np.linspace(0.0, 1.0, 4001)).mean())


@dataclass(frozen=True, eq=False)
class PathSample:
    """One subject's path sampled per frame, in the path's own frame (starts at 0, base heading +X)."""

    xy: np.ndarray  # [T, 2] metres
    heading: np.ndarray  # [T] radians
    speed: np.ndarray  # [T] m/s
    distance: np.ndarray  # [T] metres walked since frame 0


def sample_path(path_id: str, cruise_speed: float, frames: int, fps: float) -> PathSample:
    """Per-frame position and heading for a subject moving at `cruise_speed` (times m(τ))."""
    tau = np.arange(frames) / max(frames - 1, 1)
    speed = cruise_speed * speed_multiplier(path_id, tau)
    ds = (speed[1:] + speed[:-1]) / 2.0 / fps
    distance = np.concatenate([[0.0], np.cumsum(ds)])
    total = max(distance[-1], 1e-9)
    heading = path_heading(path_id, distance / total)
    xy = _integrate(heading, ds)
    return PathSample(xy, heading, speed, distance)
