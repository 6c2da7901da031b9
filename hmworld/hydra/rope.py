"""Wan's 3-D rotary position embedding, for full-resolution tokens and compressed memory tokens.

A head of size d is split into a time part, a row part and a column part
(rows = columns = 2·⌊d/6⌋, time = the rest; diffusers' WanRotaryPosEmbed).
Each part rotates consecutive channel pairs (x[2i], x[2i+1]) by the angle
position · θ^(-2i/d_part), θ = 10000. Positions may be fractional: HyDRA's
release places a 2×2×2 memory token at time 2f + 0.5, row 2h, column 2w
(`get_compressed_freqs_cis_3d` in diffsynth/models/wan_video_dit.py).
"""

from __future__ import annotations

import torch

THETA = 10000.0


def axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Channels of a head given to (time, rows, columns)."""
    hw = 2 * (head_dim // 6)
    return head_dim - 2 * hw, hw, hw


def _axis_angles(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """[N, dim/2] angles in float64 for positions [N]."""
    inv = THETA ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=pos.device)[: dim // 2] / dim)
    return pos.double()[:, None] * inv[None]


def rope_angles(head_dim: int, t: torch.Tensor, h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Angles [N, head_dim/2] (float64) of N tokens at time t, row h, column w (each [N])."""
    dt, dh, dw = axis_dims(head_dim)
    return torch.cat([_axis_angles(t, dt), _axis_angles(h, dh), _axis_angles(w, dw)], dim=-1)


def grid_positions(
    frames: torch.Tensor, rows: int, cols: int, row_step: float = 1.0, col_step: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, h, w) [F·rows·cols] of a token grid, frames-major then rows then columns; frames [F] are times."""
    F = frames.shape[0]
    dev = frames.device
    t = frames.double()[:, None, None].expand(F, rows, cols)
    h = (torch.arange(rows, device=dev, dtype=torch.float64) * row_step)[None, :, None].expand(F, rows, cols)
    w = (torch.arange(cols, device=dev, dtype=torch.float64) * col_step)[None, None, :].expand(F, rows, cols)
    return t.reshape(-1), h.reshape(-1), w.reshape(-1)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate x [..., N, d] by angles [N, d/2] pairwise; returns x's dtype."""
    cos = angles.cos().to(torch.float32)
    sin = angles.sin().to(torch.float32)
    x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1)
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    return out.to(x.dtype)
