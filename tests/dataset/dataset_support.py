"""Small real clip folders for the dataset tests, without the render backends.

Shots come from the real plan (catalog motion); pixels from a tiny box
painter: each subject is the projected rectangle of its body box, nearest
wins, on a background that changes with the camera's heading. Videos are
real H.264 through hmworld.video; clip.json through hmworld.clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hmworld.atomic import write_json
from hmworld.clip import DEPTH_FILE, Measured, clip_dir, write_clip_json
from hmworld.dataset.splits import SplitRule
from hmworld.depth import write_depth
from hmworld.events import clip_events, write_events
from hmworld.geometry import project
from hmworld.plan import PlanSettings, make_plan, materialise, plan_rows
from hmworld.render.base import write_instances
from hmworld.shot import Shot
from hmworld.video import write_video

# village_square clips go to test, the others to train
RULE = SplitRule(test_scenes=("village_square",), test_subjects=(), test_fraction=0.0)
COLOURS = np.array([[230, 40, 40], [40, 200, 60], [50, 90, 240]], dtype=np.uint8)


def make_shots(
    n: int, frames: int = 30, width: int = 64, height: int = 48, scenes: list[str] | None = None, seed: int = 0,
    group_sizes: tuple[int, ...] = (1, 2, 3),
) -> list[Shot]:
    table = make_plan(
        scenes=scenes or ["park", "village_square", "beach"], clips=n, seed=seed,
        settings=PlanSettings(frames=frames, fps=15, width=width, height=height), group_sizes=group_sizes,
    )
    return [materialise(r) for r in plan_rows(table)]


def paint(shot: Shot) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb uint8 [T,H,W,3], ids uint8 [T,H,W], silhouette pixels [N,T]); see `paint_depth`."""
    rgb, ids, silhouette, _ = paint_with_depth(shot)
    return rgb, ids, silhouette


BACKDROP_DEPTH_M = 20.0  # the painter's background: a wall this far in the lower half, no surface (sky) above


def paint_with_depth(shot: Shot) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rgb uint8 [T,H,W,3], ids uint8 [T,H,W], silhouette pixels [N,T], depth float32 [T,H,W] metres).

    Each subject is a flat card at its body-box centre's depth, so depth at a
    subject's pixels equals its `subject_depth`; the background is a wall at
    BACKDROP_DEPTH_M below the middle row and +inf (no surface) above it.
    """
    t, h, w, n = shot.frames, shot.height, shot.width, shot.n_subjects
    centers = np.swapaxes(shot.subject_centers(), 0, 1)  # [T,N,3]
    proj = project(centers, shot.c2w, shot.K)
    depth = np.where(proj.in_front, proj.depth, np.inf)  # [T,N]
    f = shot.K[0, 0]
    half_w = f * shot.subject_size[None, :, 1] / 2 / np.where(proj.in_front, proj.depth, 1.0)
    half_h = f * shot.subject_size[None, :, 2] / 2 / np.where(proj.in_front, proj.depth, 1.0)
    xs = np.arange(w) + 0.5
    ys = np.arange(h) + 0.5
    u, v = proj.uv[..., 0], proj.uv[..., 1]
    in_x = np.abs(xs[None, None, :] - u[..., None]) <= half_w[..., None]  # [T,N,W]
    in_y = np.abs(ys[None, None, :] - v[..., None]) <= half_h[..., None]  # [T,N,H]
    inside = in_y[..., :, None] & in_x[..., None, :] & proj.in_front[..., None, None]  # [T,N,H,W]
    silhouette = inside.sum(axis=(2, 3)).T.astype(np.int64)  # [N,T]
    zbuf = np.where(inside, depth[..., None, None], np.inf)
    nearest = np.argmin(zbuf, axis=1) if n else np.zeros((t, h, w), np.int64)
    hit = np.isfinite(np.min(zbuf, axis=1)) if n else np.zeros((t, h, w), bool)
    ids = np.where(hit, nearest + 1, 0).astype(np.uint8)
    yaw = np.arctan2(shot.c2w[:, 1, 2], shot.c2w[:, 0, 2])  # [T]
    grad = (np.arange(w)[None, :] / w * 80 + np.arange(h)[:, None] / h * 40)
    stripes = 60 * (np.sin(np.arange(w)[None, None, :] / 4.0 + 8 * yaw[:, None, None]) > 0)  # [T,1,W]
    base = np.stack([grad + 60, grad + 40, 120 - grad / 2], axis=-1)  # [H,W,3]
    rgb = (base[None] + stripes[..., None]).clip(0, 255)
    rgb = np.broadcast_to(rgb, (t, h, w, 3)).astype(np.uint8).copy()
    for k in range(n):  # three subjects at most
        rgb[ids == k + 1] = COLOURS[k]
    backdrop = np.where(np.arange(h)[:, None] >= h // 2, BACKDROP_DEPTH_M, np.inf) * np.ones((1, w))
    card = np.concatenate([np.full((t, 1), np.inf), depth], axis=1)  # [T,N+1]: id 0 has no card
    depth_px = np.take_along_axis(card, ids.reshape(t, -1).astype(np.int64), axis=1).reshape(t, h, w)
    depth_px = np.where(ids > 0, depth_px, backdrop[None]).astype(np.float32)
    return rgb, ids, silhouette, depth_px


def write_clip(root: Path, shot: Shot, caption: str | None = None, events: bool = True, depth: bool = True) -> Path:
    """A complete clip folder under root/clips/<id>: rgb.mp4, instances.npz, depth.npz (unless not `depth`),
    clip.json (+ events, caption)."""
    out = clip_dir(root, shot.clip_id)
    out.mkdir(parents=True, exist_ok=True)
    rgb, ids, sil, depth_m = paint_with_depth(shot)
    write_video(out / "rgb.mp4", rgb, shot.fps, preset="ultrafast")
    write_instances(out, ids)
    if depth:
        write_depth(out / DEPTH_FILE, depth_m)
    visible = np.stack([(ids == k + 1).reshape(shot.frames, -1).sum(1) for k in range(shot.n_subjects)]).reshape(
        shot.n_subjects, shot.frames
    )
    measured = Measured(visible.astype(np.int64), sil)
    write_clip_json(out, shot, measured, {"name": "boxes", "version": "test"}, {})
    if events:
        from hmworld.clip import read_clip

        write_events(out, clip_events(read_clip(out)))
    if caption is not None:
        write_json(out / "caption.json", {"caption": caption, "captioner": "test", "prompt": None})
    return out


def make_dataset(root: Path, n: int = 6, frames: int = 30, width: int = 64, height: int = 48, depth: bool = True,
                 **kw) -> list[Shot]:
    shots = make_shots(n, frames, width, height, **kw)
    for i, s in enumerate(shots):
        write_clip(root, s, caption=f"clip number {i} in {s.scene}", events=i % 2 == 0, depth=depth)
    return shots
