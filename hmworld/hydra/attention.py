"""Dynamic retrieval attention: each query frame attends to a few memory frames it picks itself.

Layout: q, k, v [B, H, F, S, d] (F frames of S tokens); compressed memory
mem_k, mem_v [B, H, M, Sm, d] (M compressed frames of Sm tokens each).

For every query frame the affinity between its mean-pooled query and each
compressed frame's mean-pooled memory key picks the top-k compressed frames
(per head); the query also sees a local window of full-resolution frames
around itself. Keys are gathered, then one fused `scaled_dot_product_attention`
runs with the query frames as a batch axis, so memory grows with k and the
window, never with clip length squared. `retrieval_attention_dense` is the
slow reference (a dense mask over every key) used by the tests.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def frame_affinity(q: torch.Tensor, mem_k: torch.Tensor) -> torch.Tensor:
    """[B,H,F,M]: scaled dot product of mean-pooled queries and mean-pooled memory keys."""
    q_bar = q.mean(dim=3)
    k_bar = mem_k.mean(dim=3)
    return q_bar @ k_bar.transpose(-1, -2) / math.sqrt(q.shape[-1])


def select_memory(affinity: torch.Tensor, top_k: int) -> torch.Tensor:
    """Indices [B,H,F,min(k,M)] of the highest-affinity compressed frames per query frame."""
    k = min(top_k, affinity.shape[-1])
    return affinity.topk(k, dim=-1, sorted=True).indices


def window_indices(n_frames: int, window: int, device: torch.device | None = None) -> torch.Tensor:
    """[F, min(window, F)]: the full-resolution frames around each frame, shifted to stay inside the clip."""
    w = min(window, n_frames)
    start = (torch.arange(n_frames, device=device) - w // 2).clamp(0, n_frames - w)
    return start[:, None] + torch.arange(w, device=device)


def retrieval_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mem_k: torch.Tensor,
    mem_v: torch.Tensor,
    top_k: int,
    window: int,
    selected: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Output [B,H,F,S,d] and the memory frames each query frame used [B,H,F,k]."""
    B, H, n_frames = q.shape[:3]
    if selected is None:
        selected = select_memory(frame_affinity(q, mem_k), top_k)
    win = window_indices(n_frames, window, q.device)
    local_k = k[:, :, win].flatten(3, 4)  # [B,H,F,w·S,d]
    local_v = v[:, :, win].flatten(3, 4)
    b_idx = torch.arange(B, device=q.device)[:, None, None, None]
    h_idx = torch.arange(H, device=q.device)[None, :, None, None]
    far_k = mem_k[b_idx, h_idx, selected].flatten(3, 4)  # [B,H,F,k·Sm,d]
    far_v = mem_v[b_idx, h_idx, selected].flatten(3, 4)
    keys = torch.cat([local_k, far_k], dim=3).flatten(0, 1)
    values = torch.cat([local_v, far_v], dim=3).flatten(0, 1)
    out = F.scaled_dot_product_attention(q.flatten(0, 1), keys, values)  # 4-D: the fused kernels take it
    return out.view(q.shape), selected


def retrieval_attention_dense(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mem_k: torch.Tensor,
    mem_v: torch.Tensor,
    selected: torch.Tensor,
    window: int,
) -> torch.Tensor:
    """Reference: softmax over ALL full and memory keys with a mask of the allowed ones."""
    B, H, n_frames, S, d = q.shape
    M, Sm = mem_k.shape[2], mem_k.shape[3]
    win = window_indices(n_frames, window, q.device)
    full_ok = torch.zeros(n_frames, n_frames, dtype=torch.bool, device=q.device)
    full_ok[torch.arange(n_frames, device=q.device)[:, None], win] = True
    mem_ok = torch.zeros(B, H, n_frames, M, dtype=torch.bool, device=q.device)
    mem_ok.scatter_(3, selected, True)
    frame_ok = torch.cat([full_ok.expand(B, H, n_frames, n_frames), mem_ok], dim=3)
    repeats = torch.tensor([S] * n_frames + [Sm] * M, device=q.device)
    token_ok = frame_ok.repeat_interleave(repeats, dim=3).repeat_interleave(S, dim=2)
    keys = torch.cat([k.flatten(2, 3), mem_k.flatten(2, 3)], dim=2)
    values = torch.cat([v.flatten(2, 3), mem_v.flatten(2, 3)], dim=2)
    scores = q.flatten(2, 3) @ keys.transpose(-1, -2) / math.sqrt(d)
    weights = scores.masked_fill(~token_ok, float("-inf")).softmax(dim=-1)
    return (weights @ values).view(B, H, n_frames, S, d)
