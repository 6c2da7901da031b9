"""Hand-built shots and clip folders for the events tests (no renderer needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from hmworld.clip import Measured, clip_dir, write_clip_json
from hmworld.geometry import intrinsics, pose_from_angles
from hmworld.shot import Shot

W, H = 64, 48  # area 3072: visible / in-frame thresholds are 1 px at the defaults
SIZE = (0.6, 0.4, 1.7)  # length, width, height of a person-sized box


def make_shot(
    clip_id: str = "c0000",
    pos: np.ndarray | None = None,
    frames: int = 150,
    n: int = 1,
    scene: str = "meadow",
    camera: str = "pan_left",
    fps: int = 15,
    yaw: np.ndarray | float = 0.0,
    width: int = W,
    height: int = H,
) -> Shot:
    """A camera at (0, 0, 1.5) looking along +X (yaw 0, +Y is image-left), hfov 90°.

    pos [N,T,3] subject roots; default: every subject 6 m ahead, centred.
    """
    if pos is None:
        pos = np.zeros((n, frames, 3))
        pos[..., 0] = 6.0
    n = pos.shape[0]
    c2w = pose_from_angles(
        np.array([0.0, 0.0, 1.5]),
        np.broadcast_to(np.asarray(yaw, float), (frames,)),
        np.zeros(frames),
    )
    return Shot(
        clip_id=clip_id,
        scene=scene,
        subjects=tuple(f"person_{i}" for i in range(n)),
        paths=("line",) * n,
        gaits=("walk",) * n,
        camera=camera,
        placement=0,
        seed=0,
        fps=fps,
        frames=frames,
        width=width,
        height=height,
        hfov_deg=90.0,
        c2w=c2w,
        K=intrinsics(90.0, width, height),
        subject_pos=pos.astype(float),
        subject_heading=np.zeros((n, frames)),
        subject_phase=np.zeros((n, frames)),
        subject_speed=np.ones((n, frames)),
        subject_size=np.tile(np.array(SIZE), (n, 1)),
    )


def write_clip(root: Path, shot: Shot, visible: np.ndarray, silhouette: np.ndarray | None) -> Path:
    """A complete clip folder as a backend leaves it (clip.json last); video and masks are not needed here."""
    d = clip_dir(root, shot.clip_id)
    d.mkdir(parents=True, exist_ok=True)
    write_clip_json(
        d,
        shot,
        Measured(np.atleast_2d(visible), None if silhouette is None else np.atleast_2d(silhouette)),
        {"name": "test"},
        {},
    )
    return d


def steps(frames: int, *spans: tuple[int, int, int]) -> np.ndarray:
    """Counts [T] that are 0 except `value` over [start, stop) for each (start, stop, value)."""
    a = np.zeros(frames, np.int64)
    for start, stop, value in spans:
        a[start:stop] = value
    return a


def hmworld(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real console script, in a subprocess."""
    exe = Path(sys.executable).with_name("hmworld")
    return subprocess.run(
        [str(exe), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def write_full_clip(
    root: Path, shot: Shot, visible: np.ndarray, silhouette: np.ndarray | None
) -> Path:
    """A clip folder a packager accepts: real H.264 video and instance masks beside clip.json."""
    from hmworld.render.base import write_instances
    from hmworld.video import write_video

    d = clip_dir(root, shot.clip_id)
    d.mkdir(parents=True, exist_ok=True)
    frames = np.full((shot.frames, shot.height, shot.width, 3), 90, np.uint8)
    frames[:, :, : shot.width // 2] = 160
    write_video(d / "rgb.mp4", frames, shot.fps, preset="ultrafast")
    write_instances(d, np.zeros((shot.frames, shot.height, shot.width), np.uint8))
    return write_clip(root, shot, visible, silhouette)
