"""A synthetic stand-in for hmworld.dataset.ClipDataset that follows its sample contract exactly.

Coloured cubes walk on a checkered ground while the camera pans away from
them and back, so they leave the frame and re-enter; every camera, mask and
subject position is known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from hmworld import geometry
from hmworld.hydra import data as hydra_data

PALETTE = np.array([[0.95, 0.2, 0.15], [0.1, 0.35, 0.95], [0.95, 0.85, 0.1]])
CAMERA_HEIGHT = 1.5
CUBE = 1.0  # metres


class MovingSquares(Dataset):
    """`n_clips` deterministic clips of `clip_frames` frames; samples `frames` of them at `size`."""

    def __init__(
        self,
        n_clips: int = 4,
        frames: int = 16,
        size: tuple[int, int] = (32, 32),
        clip_frames: int = 32,
        split: str = "train",
        seed: int = 0,
        hfov_deg: float = 60.0,
        sweep_deg: float = 110.0,
    ) -> None:
        self.n_clips = n_clips
        self.frames = frames
        self.size = size
        self.clip_frames = clip_frames
        self.split = split
        self.seed = seed
        self.hfov_deg = hfov_deg
        self.sweep = np.radians(sweep_deg)

    def __len__(self) -> int:
        return self.n_clips

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, {"train": 0, "test": 1}.get(self.split, 2), i])
        T, (H, W) = self.clip_frames, self.size
        t = np.arange(T)
        yaw = rng.choice([-1.0, 1.0]) * self.sweep * np.sin(np.pi * t / (T - 1))
        position = np.stack([0.03 * t, np.zeros(T), np.full(T, CAMERA_HEIGHT)], axis=-1)
        c2w = geometry.pose_from_angles(position, yaw, np.full(T, -0.15))
        K = geometry.intrinsics(self.hfov_deg, W, H)

        n = int(rng.integers(1, 4))
        az = rng.uniform(-0.25, 0.25, n)
        dist = rng.uniform(3.0, 5.0, n)
        heading = rng.uniform(0, 2 * np.pi, n)
        speed = rng.uniform(0.4, 0.9, n)
        start = np.stack([dist * np.cos(az), dist * np.sin(az)], axis=-1)
        xy = start[:, None] + (speed[:, None, None] * t[None, :, None] / 15.0) * np.stack(
            [np.cos(heading), np.sin(heading)], axis=-1
        )[:, None]
        centres = np.concatenate([xy, np.full((n, T, 1), CUBE / 2)], axis=-1)  # [N,T,3]

        rays = geometry.pixel_rays(K, W, H)
        dirs = np.einsum("tij,hwj->thwi", c2w[:, :3, :3], rays)
        dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
        azimuth = np.arctan2(dirs[..., 1], dirs[..., 0])
        sky = np.stack([0.5 + 0.3 * np.sin(6 * azimuth), 0.55 + 0.25 * np.cos(3 * azimuth), 0.8 + 0.0 * azimuth], -1)
        ground_dist = CAMERA_HEIGHT / np.maximum(-dirs[..., 2], 1e-6)
        gx = position[:, None, None, 0] + dirs[..., 0] * ground_dist
        gy = position[:, None, None, 1] + dirs[..., 1] * ground_dist
        checker = ((np.floor(gx / 2) + np.floor(gy / 2)) % 2)[..., None]
        ground = np.array([0.35, 0.5, 0.3]) + 0.2 * checker
        img = np.where((dirs[..., 2] < 0)[..., None], ground, sky)

        proj = geometry.project(np.swapaxes(centres, 0, 1), c2w, K)  # uv [T,N,2], depth [T,N]
        half = K[0, 0] * (CUBE / 2) / np.where(proj.in_front, proj.depth, 1.0)
        rows = np.arange(H)[None, :, None] + 0.5
        cols = np.arange(W)[None, None, :] + 0.5
        zbuf = np.full((T, H, W), np.inf)
        ids = np.zeros((T, H, W), dtype=np.uint8)
        colours = PALETTE[rng.permutation(3)[:n]]
        for k in range(n):  # ≤ 3 subjects; each is vectorised over frames and pixels
            u, v, h = proj.uv[:, k, 0, None, None], proj.uv[:, k, 1, None, None], half[:, k, None, None]
            inside = (np.abs(cols - u) < h) & (np.abs(rows - v) < h) & proj.in_front[:, k, None, None]
            closer = inside & (proj.depth[:, k, None, None] < zbuf)
            zbuf = np.where(closer, proj.depth[:, k, None, None], zbuf)
            ids[closer] = k + 1
            img[closer] = colours[k]

        visible = np.stack([(ids == k + 1).sum(axis=(1, 2)) for k in range(n)])  # [N,T]
        uv = np.swapaxes(proj.uv, 0, 1)
        hh = np.swapaxes(half, 0, 1)
        front = np.swapaxes(proj.in_front, 0, 1)
        in_frame = front & (uv[..., 0] + hh > 0) & (uv[..., 0] - hh < W) & (uv[..., 1] + hh > 0) & (uv[..., 1] - hh < H)
        state = np.where(visible > 0, 2, np.where(in_frame, 1, 0)).astype(np.int8)
        reentry, pairs = _reentries(state)

        fi = np.linspace(0, T - 1, self.frames).round().astype(np.int64)
        subject_pos = np.zeros((3, self.frames, 3), np.float32)
        subject_pos[:n] = np.concatenate([xy, np.zeros((n, T, 1))], -1)[:, fi]
        subject_xy = np.zeros((3, self.frames, 2), np.float32)
        subject_xy[:n] = uv[:, fi]
        subject_state = np.full((3, self.frames), -1, np.int8)
        subject_state[:n] = state[:, fi]
        reentry_frame = np.full(3, -1, np.int64)
        reentry_frame[:n] = reentry
        cond, tgt = geometry.split_streams(c2w)
        cond_cam, tgt_cam = geometry.hydra_camera_tensor(cond, tgt)
        return {
            "clip_id": f"squares_{self.split}_{i:03d}",
            "caption": f"{n} coloured cubes walk while the camera pans away and back",
            "video": torch.from_numpy(img[fi].transpose(0, 3, 1, 2).astype(np.float32)),
            "frame_index": torch.from_numpy(fi),
            "masks": torch.from_numpy(ids[fi]),
            "c2w": torch.from_numpy(c2w[fi].astype(np.float32)),
            "K": torch.from_numpy(K.astype(np.float32)),
            "hydra_cond_cam": torch.from_numpy(cond_cam.astype(np.float32)),
            "hydra_tgt_cam": torch.from_numpy(tgt_cam.astype(np.float32)),
            "subject_valid": torch.tensor([k < n for k in range(3)]),
            "subject_pos": torch.from_numpy(subject_pos),
            "subject_xy": torch.from_numpy(subject_xy),
            "subject_state": torch.from_numpy(subject_state),
            "n_pairs": int(pairs),
            "reentry_frame": torch.from_numpy(reentry_frame),
        }


def _reentries(state: np.ndarray) -> tuple[np.ndarray, int]:
    """First frame each subject is visible again after having left the frame; and the exit–entry pair count."""
    seen = np.maximum.accumulate(state == 2, axis=1)
    gone = np.maximum.accumulate(seen & (state == 0), axis=1)
    back = np.zeros_like(gone)
    back[:, 1:] = gone[:, :-1] & (state[:, 1:] == 2)
    first = np.where(back.any(axis=1), back.argmax(axis=1), -1)
    entries = (state[:, 1:] == 2) & (state[:, :-1] != 2) & seen[:, :-1]
    after_exit = entries & gone[:, :-1]
    return first, int(after_exit.sum())


@pytest.fixture
def squares() -> type[MovingSquares]:
    return MovingSquares


@pytest.fixture
def synthetic_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI's dataset reader (hydra.data.open_dataset) at these clips: 4 train, 2 test."""

    def open_synthetic(data, split, cfg, masks=True):
        return MovingSquares(n_clips=4 if split == "train" else 2, split=split, frames=cfg.frames, size=tuple(cfg.frame_size))

    monkeypatch.setattr(hydra_data, "open_dataset", open_synthetic)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and stay fast when other jobs share the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_wan_vae(tmp_path_factory: pytest.TempPathFactory):
    """A randomly initialised AutoencoderKLWan (4× time, 8× space, 16 channels) saved as a local folder."""
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLWan(
        base_dim=8, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    folder = tmp_path_factory.mktemp("wan_vae")
    vae.save_pretrained(folder)
    return folder
