"""Context-as-Memory's retrieval rule: keep the context frames whose view overlaps the targets'.

Overlap is measured, not guessed from angles: sample camera b's frustum (a
grid of pixel rays at several depths), and count the share of those points
that camera a sees. Works on HyDRA's relative poses, so no world frame is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hmworld import geometry
from hmworld.hydra.cameras import pose_matrices

DEFAULT_DEPTHS = (1.0, 2.0, 4.0, 8.0, 16.0)  # metres: near subjects to far background


def fov_overlap(
    cam_a: np.ndarray, cam_b: np.ndarray, K_norm: np.ndarray, depths: Sequence[float] = DEFAULT_DEPTHS, grid: int = 6
) -> np.ndarray:
    """Share of camera b's frustum samples that camera a sees: [Na, Nb] in [0, 1].

    cam_a [Na,12], cam_b [Nb,12] relative poses (same reference); K_norm [3,3]
    intrinsics in units of the image size.
    """
    Kg = np.asarray(K_norm, dtype=np.float64) * np.array([[grid], [grid], [1.0]])
    rays = geometry.pixel_rays(Kg, grid, grid).reshape(-1, 3)
    pts = (np.asarray(depths, dtype=np.float64)[:, None, None] * rays[None]).reshape(-1, 3)
    Pb = pose_matrices(cam_b)
    world = np.einsum("bij,pj->bpi", Pb[:, :3, :3], pts) + Pb[:, None, :3, 3]
    Pa = pose_matrices(cam_a)
    proj = geometry.project(world[None], Pa[:, None], Kg)
    seen = proj.in_front & geometry.in_image(proj.uv, grid, grid)
    return seen.mean(axis=-1)


def select_context_fov(cam_ctx: torch.Tensor, cam_tgt: torch.Tensor, K_norm: torch.Tensor, k: int) -> torch.Tensor:
    """Indices [B, min(k, Fc)] of the context frames that best cover the target views, in time order.

    A context frame's score is its mean overlap over all target frames (the
    targets are generated jointly, so a frame that many of them see is worth most).
    """
    keep = min(k, cam_ctx.shape[1])
    picks = [np.sort(np.argsort(-o.mean(axis=1), kind="stable")[:keep]) for o in _overlaps(cam_ctx, cam_tgt, K_norm)]
    return torch.from_numpy(np.stack(picks)).long().to(cam_ctx.device)


def _overlaps(cam_ctx: torch.Tensor, cam_tgt: torch.Tensor, K_norm: torch.Tensor) -> list[np.ndarray]:
    """Per clip, fov_overlap(context, target) [Fc, Ft]; each call is vectorised over all frame pairs."""
    ctx = cam_ctx.detach().cpu().double().numpy()
    tgt = cam_tgt.detach().cpu().double().numpy()
    Ks = K_norm.detach().cpu().double().numpy()
    return [fov_overlap(ctx[b], tgt[b], Ks[b]) for b in range(ctx.shape[0])]


def select_context_fov_per_frame(
    cam_ctx: torch.Tensor, cam_tgt: torch.Tensor, K_norm: torch.Tensor, k: int
) -> torch.Tensor:
    """Indices [B, Ft, min(k, Fc)]: for each target frame, the context frames whose view overlaps it most.

    The release's FOV-retrieval baseline (H-EmbodVis/HyDRA, earlier commit,
    `wan_video_dit_fov.py`) takes these per query frame (`camera_indices`);
    how it computed them is not published, so overlap is our measured share
    of the target frame's frustum samples that the context frame sees.
    Ties keep the earlier frame.
    """
    keep = min(k, cam_ctx.shape[1])
    picks = [np.argsort(-o.T, axis=1, kind="stable")[:, :keep] for o in _overlaps(cam_ctx, cam_tgt, K_norm)]
    return torch.from_numpy(np.stack(picks)).long().to(cam_ctx.device)
