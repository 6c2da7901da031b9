"""The 28 back-and-forth camera trajectories and the initial camera placements.

A trajectory is a set of channels keyed over normalised time τ ∈ [0, 1],
eased between keys: `yaw`/`pitch` offsets (degrees, yaw positive = pan left,
i.e. counter-clockwise seen from above), `orbit` about the group's centre
(degrees), and `dolly`/`truck`/`pedestal` translations (metres along the initial
forward, right and up directions). Every trajectory turns the camera away from
the subjects and back (its motion reverses at least once). The camera's own
motion never depends on where the subjects are; only its start is aimed at
them (the placement).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from hmworld.geometry import look_at, pose_from_angles

CHANNELS = ("yaw", "pitch", "orbit", "dolly", "truck", "pedestal")

Keys = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TrajectorySpec:
    id: str
    description: str  # caption phrase: "pans to the left, away from the subjects, and back"
    channels: tuple[tuple[str, Keys], ...]  # (channel, ((τ, value), ...)); missing channels stay 0

    def keys(self, channel: str) -> Keys:
        return dict(self.channels).get(channel, ((0.0, 0.0), (1.0, 0.0)))


@dataclass(frozen=True)
class Placement:
    """Where the camera starts, relative to the group: azimuth from the group's heading."""

    id: int
    azimuth_deg: float
    distance_m: float
    height_m: float
    hfov_deg: float
    description: str


# timing shapes (τ, fraction of amplitude)
_OUT_BACK: Keys = ((0.0, 0.0), (0.22, 0.0), (0.45, 1.0), (0.58, 1.0), (0.82, 0.0), (1.0, 0.0))
_HOLD: Keys = ((0.0, 0.0), (0.16, 0.0), (0.34, 1.0), (0.66, 1.0), (0.86, 0.0), (1.0, 0.0))
_DOUBLE: Keys = ((0.0, 0.0), (0.1, 0.0), (0.26, 1.0), (0.32, 1.0), (0.48, 0.0), (0.64, -1.0), (0.70, -1.0), (0.86, 0.0), (1.0, 0.0))
_WHIP: Keys = ((0.0, 0.0), (0.3, 0.0), (0.37, 1.0), (0.62, 1.0), (0.9, 0.0), (1.0, 0.0))
_SLOW_FAST: Keys = ((0.0, 0.0), (0.12, 0.0), (0.52, 1.0), (0.62, 1.0), (0.7, 0.0), (1.0, 0.0))
_LINEAR: Keys = ((0.0, 0.0), (1.0, 1.0))


def _scale(keys: Keys, amplitude: float) -> Keys:
    return tuple((t, v * amplitude) for t, v in keys)


def _t(id: str, description: str, **channels: Keys) -> TrajectorySpec:
    return TrajectorySpec(id, description, tuple((c, k) for c, k in channels.items()))


TRAJECTORY_LIST: tuple[TrajectorySpec, ...] = (
    _t("pan_left_60", "pans left, away from the subjects, then pans back", yaw=_scale(_OUT_BACK, 60)),
    _t("pan_right_60", "pans right, away from the subjects, then pans back", yaw=_scale(_OUT_BACK, -60)),
    _t("pan_left_90", "pans a quarter turn to the left and then returns", yaw=_scale(_OUT_BACK, 90)),
    _t("pan_right_90", "pans a quarter turn to the right and then returns", yaw=_scale(_OUT_BACK, -90)),
    _t("pan_left_135", "swings far to the left, almost turning around, then swings back", yaw=_scale(_OUT_BACK, 135)),
    _t("pan_right_135", "swings far to the right, almost turning around, then swings back", yaw=_scale(_OUT_BACK, -135)),
    _t("pan_left_hold", "pans left, lingers on the surroundings for a while, then pans back", yaw=_scale(_HOLD, 90)),
    _t("pan_right_hold", "pans right, lingers on the surroundings for a while, then pans back", yaw=_scale(_HOLD, -90)),
    _t("sweep_left_right", "sweeps left, back across to the right, and returns to the centre", yaw=_scale(_DOUBLE, 75)),
    _t("sweep_right_left", "sweeps right, back across to the left, and returns to the centre", yaw=_scale(_DOUBLE, -75)),
    _t("pan_left_dolly_in", "pans left while moving forward, then pans back and retreats", yaw=_scale(_OUT_BACK, 80), dolly=_scale(_OUT_BACK, 3.0)),
    _t("pan_right_dolly_in", "pans right while moving forward, then pans back and retreats", yaw=_scale(_OUT_BACK, -80), dolly=_scale(_OUT_BACK, 3.0)),
    _t("pan_left_dolly_out", "pans left while pulling back, then pans back and moves in again", yaw=_scale(_OUT_BACK, 80), dolly=_scale(_OUT_BACK, -3.0)),
    _t("pan_right_dolly_out", "pans right while pulling back, then pans back and moves in again", yaw=_scale(_OUT_BACK, -80), dolly=_scale(_OUT_BACK, -3.0)),
    _t("truck_left_pan", "slides sideways to the left while turning away, then slides and turns back", yaw=_scale(_OUT_BACK, 70), truck=_scale(_OUT_BACK, -4.0)),
    _t("truck_right_pan", "slides sideways to the right while turning away, then slides and turns back", yaw=_scale(_OUT_BACK, -70), truck=_scale(_OUT_BACK, 4.0)),
    _t("orbit_left_look_away", "circles to the left around the scene while looking away, then circles back", yaw=_scale(_OUT_BACK, 80), orbit=_scale(_OUT_BACK, 40)),
    _t("orbit_right_look_away", "circles to the right around the scene while looking away, then circles back", yaw=_scale(_OUT_BACK, -80), orbit=_scale(_OUT_BACK, -40)),
    _t("tilt_up", "tilts up to the sky, losing the subjects, then tilts back down", pitch=_scale(_OUT_BACK, 60)),
    _t("tilt_down", "tilts down to the ground at its feet, then tilts back up", pitch=_scale(_OUT_BACK, -65)),
    _t("pan_left_tilt_up", "turns up and to the left, away from the subjects, then returns", yaw=_scale(_OUT_BACK, 60), pitch=_scale(_OUT_BACK, 30)),
    _t("pan_right_tilt_up", "turns up and to the right, away from the subjects, then returns", yaw=_scale(_OUT_BACK, -60), pitch=_scale(_OUT_BACK, 30)),
    _t("whip_pan_left", "whips quickly to the left, holds, then slowly pans back", yaw=_scale(_WHIP, 100)),
    _t("whip_pan_right", "whips quickly to the right, holds, then slowly pans back", yaw=_scale(_WHIP, -100)),
    _t("slow_left_fast_back", "drifts slowly to the left and then snaps back to the subjects", yaw=_scale(_SLOW_FAST, 90)),
    _t("crane_up_pan_left", "rises up like a crane while panning left, then comes down and pans back", yaw=_scale(_OUT_BACK, 80), pedestal=_scale(_OUT_BACK, 3.0)),
    _t("dolly_back_pan_left", "moves steadily backwards while panning left and back again", yaw=_scale(_OUT_BACK, 70), dolly=_scale(_LINEAR, -7.0)),
    _t("dolly_back_pan_right", "moves steadily backwards while panning right and back again", yaw=_scale(_OUT_BACK, -70), dolly=_scale(_LINEAR, -7.0)),
)

TRAJECTORIES: dict[str, TrajectorySpec] = {t.id: t for t in TRAJECTORY_LIST}

PLACEMENTS: tuple[Placement, ...] = (
    Placement(0, 90.0, 6.0, 1.7, 70.0, "from the side, at eye level"),
    Placement(1, -90.0, 7.0, 1.6, 70.0, "from the other side, at eye level"),
    Placement(2, 40.0, 8.0, 2.2, 65.0, "from ahead and to one side, slightly raised"),
    Placement(3, -140.0, 6.5, 1.9, 75.0, "from behind and to one side"),
    Placement(4, 120.0, 9.0, 3.0, 70.0, "from a raised vantage point, a little behind"),
)


def _ease(tau: np.ndarray, keys: Keys) -> np.ndarray:
    """Piecewise smoothstep between keys: zero velocity at every key, so reversals are gentle."""
    kt = np.array([k[0] for k in keys])
    kv = np.array([k[1] for k in keys])
    seg = np.clip(np.searchsorted(kt, tau, side="right") - 1, 0, len(kt) - 2)
    u = np.clip((tau - kt[seg]) / (kt[seg + 1] - kt[seg]), 0.0, 1.0)
    if len(kt) == 2:  # a single segment is a steady move, not an eased one
        return kv[seg] + (kv[seg + 1] - kv[seg]) * u
    return kv[seg] + (kv[seg + 1] - kv[seg]) * (u * u * (3.0 - 2.0 * u))


def sample_channels(spec: TrajectorySpec, frames: int) -> dict[str, np.ndarray]:
    """Each channel's value per frame [T] (cached: a plan reuses 28 trajectories many times)."""
    return dict(_cached_channels(spec, frames))


@cache
def _cached_channels(spec: TrajectorySpec, frames: int) -> tuple[tuple[str, np.ndarray], ...]:
    tau = np.arange(frames) / max(frames - 1, 1)
    out = []
    for c in CHANNELS:
        values = _ease(tau, spec.keys(c))
        values.flags.writeable = False
        out.append((c, values))
    return tuple(out)


def trajectory_c2w(spec: TrajectorySpec, frames: int, eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Camera poses [T,4,4] for a trajectory that starts at `eye` looking at `target`."""
    ch = sample_channels(spec, frames)
    start = look_at(np.asarray(eye, float), np.asarray(target, float))
    fwd = start[:3, 2]
    yaw0 = np.arctan2(fwd[1], fwd[0])
    pitch0 = np.arcsin(np.clip(fwd[2], -1.0, 1.0))
    phi = np.radians(ch["orbit"])
    c, s = np.cos(phi), np.sin(phi)
    rel = np.asarray(eye, float)[:2] - np.asarray(target, float)[:2]
    base = np.asarray(target, float)[:2] + np.stack([c * rel[0] - s * rel[1], s * rel[0] + c * rel[1]], axis=-1)
    yaw_base = yaw0 + phi
    forward_h = np.stack([np.cos(yaw_base), np.sin(yaw_base)], axis=-1)
    right_h = np.stack([np.sin(yaw_base), -np.cos(yaw_base)], axis=-1)
    xy = base + ch["dolly"][:, None] * forward_h + ch["truck"][:, None] * right_h
    z = np.full(frames, float(eye[2])) + ch["pedestal"]
    position = np.concatenate([xy, z[:, None]], axis=-1)
    return pose_from_angles(position, yaw_base + np.radians(ch["yaw"]), pitch0 + np.radians(ch["pitch"]))


def reverses(spec: TrajectorySpec, frames: int = 150) -> bool:
    """True if some channel moves one way and later the other (the back-and-forth property)."""
    for values in sample_channels(spec, frames).values():
        d = np.diff(values)
        moving = d[np.abs(d) > 1e-9]
        if moving.size and np.any(np.sign(moving[1:]) != np.sign(moving[:-1])):
            return True
    return False
