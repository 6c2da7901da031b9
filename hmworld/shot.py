"""A shot: one plan row materialised into per-frame truth.

The shot is the single source of truth for motion. Backends realise it and
never invent motion; annotations copy it; what a backend measures is added
beside it, never written over it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHOT_FORMAT = 1


@dataclass(frozen=True, eq=False)
class Shot:
    """Everything that moves in one clip, per frame, in our conventions (geometry.py).

    Arrays: c2w [T,4,4]; K [3,3]; subject_pos [N,T,3] (root on the ground, metres);
    subject_heading [N,T] (radians, CCW about +Z from +X, along the path tangent);
    subject_phase [N,T] (gait cycles, unwrapped: frac() is the point in the cycle);
    subject_speed [N,T] (m/s); subject_size [N,3] (length, width, height in metres).
    """

    clip_id: str
    scene: str
    subjects: tuple[str, ...]
    paths: tuple[str, ...]
    gaits: tuple[str, ...]
    camera: str
    placement: int
    seed: int
    fps: int
    frames: int
    width: int
    height: int
    hfov_deg: float
    c2w: np.ndarray
    K: np.ndarray
    subject_pos: np.ndarray
    subject_heading: np.ndarray
    subject_phase: np.ndarray
    subject_speed: np.ndarray
    subject_size: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.frames) / self.fps

    def subject_centers(self) -> np.ndarray:
        """Centre of each subject's body box [N,T,3]: the root lifted by half its height."""
        centers = self.subject_pos.copy()
        centers[..., 2] += self.subject_size[:, None, 2] / 2.0
        return centers

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; floats kept at full precision so a round trip is exact."""
        return {
            "format": SHOT_FORMAT,
            "clip_id": self.clip_id,
            "scene": self.scene,
            "subjects": list(self.subjects),
            "paths": list(self.paths),
            "gaits": list(self.gaits),
            "camera": self.camera,
            "placement": self.placement,
            "seed": self.seed,
            "fps": self.fps,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "hfov_deg": self.hfov_deg,
            "c2w": self.c2w.tolist(),
            "K": self.K.tolist(),
            "subject_pos": self.subject_pos.tolist(),
            "subject_heading": self.subject_heading.tolist(),
            "subject_phase": self.subject_phase.tolist(),
            "subject_speed": self.subject_speed.tolist(),
            "subject_size": self.subject_size.tolist(),
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Shot:
        n = len(d["subjects"])
        t = int(d["frames"])

        def arr(key: str, shape: tuple[int, ...]) -> np.ndarray:
            return np.asarray(d[key], dtype=np.float64).reshape(shape)

        return cls(
            clip_id=str(d["clip_id"]),
            scene=str(d["scene"]),
            subjects=tuple(d["subjects"]),
            paths=tuple(d["paths"]),
            gaits=tuple(d["gaits"]),
            camera=str(d["camera"]),
            placement=int(d["placement"]),
            seed=int(d["seed"]),
            fps=int(d["fps"]),
            frames=t,
            width=int(d["width"]),
            height=int(d["height"]),
            hfov_deg=float(d["hfov_deg"]),
            c2w=arr("c2w", (t, 4, 4)),
            K=arr("K", (3, 3)),
            subject_pos=arr("subject_pos", (n, t, 3)),
            subject_heading=arr("subject_heading", (n, t)),
            subject_phase=arr("subject_phase", (n, t)),
            subject_speed=arr("subject_speed", (n, t)),
            subject_size=arr("subject_size", (n, 3)),
            extra=dict(d.get("extra", {})),
        )
