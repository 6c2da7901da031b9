"""Frame-gathered attention: each query frame attends to a few frames (and memory tokens) chosen for it.

Layout: q, k, v [B, H, F, S, d] (F frames of S tokens); compressed memory
mem_k, mem_v [B, H, M, Sm, d] (M memory frames of Sm tokens each).

HyDRA's dynamic retrieval (H-EmbodVis/HyDRA, `DynamicRetrievalAttention`):
every query frame sees the full-resolution frames of a local window around
itself plus the top-k memory frames by affinity. The release's affinity is
one score per (query frame, memory frame) for all heads: the spatial mean of
the normed query (before rotary embedding) dotted with the spatial mean of
each memory key, over the full channel width, unscaled. Memory frames lying
wholly inside the query's window are no candidates.

Keys are gathered per query frame, then one fused `scaled_dot_product_attention`
runs with the query frames as a batch axis, so memory grows with k and the
window, never with clip length squared.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def window_indices(n_frames: int, window: int, device: torch.device | None = None) -> torch.Tensor:
    """[F, min(window, F)]: the frames around each frame, shifted to stay inside the clip (start = clamp(f - w//2))."""
    w = min(window, n_frames)
    start = (torch.arange(n_frames, device=device) - w // 2).clamp(0, n_frames - w)
    return start[:, None] + torch.arange(w, device=device)


def inside_window(spans: torch.Tensor, n_frames: int, window: int) -> torch.Tensor:
    """[F, M] True where memory frame m (covering frames spans[m] = (first, last)) lies wholly in f's window."""
    win = window_indices(n_frames, window, spans.device)
    lo, hi = win[:, :1], win[:, -1:]
    return (spans[None, :, 0] >= lo) & (spans[None, :, 1] <= hi)


def shared_affinity(q: torch.Tensor, mem_k: torch.Tensor) -> torch.Tensor:
    """Release affinity [B, F, M] from q [B, F, S, D] and memory keys [B, M, Sm, D]: unscaled, full width."""
    return q.float().mean(dim=2) @ mem_k.float().mean(dim=2).transpose(-1, -2)


def per_head_affinity(q: torch.Tensor, mem_k: torch.Tensor) -> torch.Tensor:
    """Ablation affinity [B, H, F, M] from q [B, H, F, S, d], mem_k [B, H, M, Sm, d]: per head, scaled by 1/sqrt(d)."""
    return q.float().mean(dim=3) @ mem_k.float().mean(dim=3).transpose(-1, -2) / math.sqrt(q.shape[-1])


def select_memory(
    affinity: torch.Tensor, top_k: int, excluded: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k memory frames per query frame: indices and validity, both [..., F, min(k, M)].

    affinity [..., F, M]; excluded [F, M] marks frames that are no candidates
    (they come last and are flagged invalid, so a query never attends to them).
    """
    k = min(top_k, affinity.shape[-1])
    if excluded is None:
        idx = affinity.topk(k, dim=-1, sorted=True).indices
        return idx, torch.ones_like(idx, dtype=torch.bool)
    scores = affinity.masked_fill(excluded, float("-inf"))
    idx = scores.topk(k, dim=-1, sorted=True).indices
    valid = ~excluded.expand(affinity.shape).gather(-1, idx)
    return idx, valid


def _gather_frames(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x [B, H, N, S, d] and idx [F, n] | [B, F, n] | [B, H, F, n] → [B, H, F, n·S, d]."""
    B, H = x.shape[:2]
    if idx.dim() == 2:
        return x[:, :, idx].flatten(3, 4)
    if idx.dim() == 3:
        idx = idx[:, None].expand(B, H, *idx.shape[1:])
    b = torch.arange(B, device=x.device)[:, None, None, None]
    h = torch.arange(H, device=x.device)[None, :, None, None]
    return x[b, h, idx].flatten(3, 4)


def gathered_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    frames: torch.Tensor,
    mem_k: torch.Tensor | None = None,
    mem_v: torch.Tensor | None = None,
    selected: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Output [B, H, F, S, d]: each query frame attends to its frames' tokens and its selected memory tokens.

    frames [F, n] or [B, F, n]: full-resolution frames per query frame.
    selected, valid [B, F, k] (shared by heads) or [B, H, F, k]: memory frames; invalid ones are masked out.
    """
    B, H, n_frames = q.shape[:3]
    keys, values = [_gather_frames(k, frames)], [_gather_frames(v, frames)]
    mask = None
    if selected is not None and mem_k is not None and mem_v is not None:
        keys.append(_gather_frames(mem_k, selected))
        values.append(_gather_frames(mem_v, selected))
        if valid is not None and not bool(valid.all()):
            Sm = mem_k.shape[3]
            mem_ok = valid.expand(B, H, n_frames, valid.shape[-1]) if valid.dim() == 4 else valid[:, None].expand(
                B, H, n_frames, valid.shape[-1]
            )
            local_ok = torch.ones(B, H, n_frames, keys[0].shape[3], dtype=torch.bool, device=q.device)
            mask = torch.cat([local_ok, mem_ok.repeat_interleave(Sm, dim=-1)], dim=-1)
            mask = mask.flatten(0, 1)[:, :, None, :]  # [B·H, F, 1, L]: broadcast over the frame's queries
    key = torch.cat(keys, dim=3).flatten(0, 1)
    value = torch.cat(values, dim=3).flatten(0, 1)
    out = F.scaled_dot_product_attention(q.flatten(0, 1), key, value, attn_mask=mask)
    return out.view(q.shape)
