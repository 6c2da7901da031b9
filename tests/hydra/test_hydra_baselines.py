"""fov-retrieval keeps the context frames that look where the target frames look."""

from __future__ import annotations

import numpy as np
import torch

from hmworld import geometry
from hmworld.hydra.baselines import fov_overlap, select_context_fov

K_NORM = geometry.intrinsics(60.0, 1, 1)  # 60° horizontal FOV in units of the image size


def _cams(yaw_deg: np.ndarray, ref_yaw_deg: float = 0.0) -> np.ndarray:
    """Cameras at the origin turned by yaw, relative to one at ref_yaw, as HyDRA's 12 numbers."""
    yaw = np.radians(np.asarray(yaw_deg, dtype=float))
    c2w = geometry.pose_from_angles(np.zeros((yaw.size, 3)), yaw, np.zeros(yaw.size))
    ref = geometry.pose_from_angles(np.zeros(3), np.radians(ref_yaw_deg), 0.0)
    rel = geometry.invert_pose(ref) @ c2w
    return rel[:, :3, :4].reshape(-1, 12)


def test_overlap_is_full_for_the_same_view_none_for_the_opposite_and_graded_between():
    cams = _cams(np.array([0.0, 15.0, 45.0, 90.0, 180.0]))
    overlap = fov_overlap(cams, cams[:1], K_NORM)[:, 0]
    assert overlap[0] == 1.0
    assert overlap[4] == 0.0 and overlap[3] == 0.0  # 90° apart with a 60° FOV: nothing shared
    assert 1.0 > overlap[1] > overlap[2] > 0.0


def test_selection_keeps_the_context_frames_facing_the_targets_in_time_order():
    ctx_yaw = np.array([0.0, 40.0, 80.0, 120.0, 160.0, 120.0, 80.0, 40.0, 5.0, -30.0])
    tgt_yaw = np.array([-10.0, 0.0, 10.0])
    cam_ctx = torch.from_numpy(_cams(ctx_yaw)).float()[None]
    cam_tgt = torch.from_numpy(_cams(tgt_yaw)).float()[None]
    keep = select_context_fov(cam_ctx, cam_tgt, torch.from_numpy(K_NORM).float()[None], k=3)
    assert keep.tolist() == [[0, 8, 9]]
    assert select_context_fov(cam_ctx, cam_tgt, torch.from_numpy(K_NORM).float()[None], k=50).shape == (1, 10)
