"""Per-frame cameras in HyDRA's representation, computed with hmworld.geometry.

HyDRA feeds each latent frame's pose relative to the first target frame as a
row-major 3×4 (12 numbers). We compute it for every sampled frame, so the
model is not tied to the 77-frame / stride-4 sampling of the release.
"""

from __future__ import annotations

import numpy as np
import torch

from hmworld import geometry


def relative_cameras(c2w: torch.Tensor, n_ctx: int) -> torch.Tensor:
    """c2w [B,T,4,4] → [B,T,12]: every frame's pose relative to frame `n_ctx` (first target)."""
    if not 0 < n_ctx < c2w.shape[1]:
        raise ValueError(f"n_ctx must split {c2w.shape[1]} frames into two non-empty streams, got {n_ctx}")
    poses = c2w.detach().cpu().double().numpy()
    ctx, tgt = geometry.hydra_camera_tensor(poses[:, :n_ctx], poses[:, n_ctx:], stride=1)
    out = np.concatenate([ctx, tgt], axis=1).astype(np.float32)
    return torch.from_numpy(out).to(c2w.device)


def pose_matrices(cams: np.ndarray) -> np.ndarray:
    """[..., 12] row-major 3×4 → [..., 4, 4] rigid transforms."""
    cams = np.asarray(cams, dtype=np.float64)
    out = np.zeros((*cams.shape[:-1], 4, 4))
    out[..., :3, :] = cams.reshape(*cams.shape[:-1], 3, 4)
    out[..., 3, 3] = 1.0
    return out


def normalized_K(K: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Intrinsics [B,3,3] in pixels → in units of the image size (resolution-free)."""
    scale = torch.tensor([[1.0 / width], [1.0 / height], [1.0]], dtype=K.dtype, device=K.device)
    return K * scale
