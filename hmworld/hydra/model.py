"""The video diffusion transformer: Wan2.1's block with HyDRA's memory, as released by default.

Tokens keep a frame axis throughout: x [B, F, S, D] (F latent frames, S
tokens per frame), context frames first. Each block (Wan's, with HyDRA's
additions from H-EmbodVis/HyDRA `wan_video_dit.py` / `train_hydra.py`):

    h  = adaLN(x)  (+ cam_ctx(pose) | cam_tgt(pose) when camera_at = attention-input)
    x += gate · projector(self_attention(h))   hydra: retrieval over memory tokens
    x += cross_attention(LN(x), text)          when text conditioning is on
    x += gate · mlp(adaLN(x))

The parameter layout mirrors diffusers' WanTransformer3DModel one to one
(separate q/k/v/o, RMSNorm over the full width, Wan's text and time
embedders, patch-major output), so a Wan2.1 checkpoint converts by renaming
(`hmworld.hydra.wan`). The ablation switches of ModelConfig select the
trainer's earlier choices (see docs/HYDRA.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from hmworld.hydra.attention import (
    gathered_attention,
    inside_window,
    per_head_affinity,
    select_memory,
    shared_affinity,
    window_indices,
)
from hmworld.hydra.config import ModelConfig
from hmworld.hydra.rope import apply_rope, grid_positions, rope_angles
from hmworld.hydra.text import make_text_encoder

CAMERA_DIM = 12  # HyDRA's relative pose: row-major 3×4
EPS = 1e-6


def sincos(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding [..., dim] of positions [...]: sines then cosines (the sincos ablation)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=pos.device, dtype=torch.float32) / half)
    angles = pos.float()[..., None] * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def timestep_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Wan's timestep features [..., dim] of t [...] in [0, 1000]: cosines then sines (diffusers Timesteps, flipped)."""
    s = sincos(t, dim)
    half = dim // 2
    return torch.cat([s[..., half:], s[..., :half]], dim=-1)


@dataclass(frozen=True, eq=False)
class MemoryLayout:
    """Where the memory tokens sit: grid, rotary positions and the latent frames each covers."""

    frames: int  # M
    rows: int
    cols: int
    times: torch.Tensor  # [M] rotary time of each memory frame
    spans: torch.Tensor  # [M, 2] first and last latent frame it covers


def memory_layout(cfg: ModelConfig, n_ctx: int, n_tgt: int, grid: tuple[int, int], device: torch.device) -> MemoryLayout:
    """Memory grid of the tokenizer (kernel = stride, streams padded by repetition to whole kernels).

    Rotary position of memory frame m: time kt·m + (kt - 1)/2 (its centre),
    row kh·i, column kw·j, as the release places its 2×2×2 tokens.
    """
    kt, kh, kw = cfg.tokenizer_kernel
    streams = [(0, n_ctx + n_tgt)] if cfg.memory_scope == "joint" else [(0, n_ctx), (n_ctx, n_tgt)]
    starts, ends = [], []
    for offset, length in streams:
        first = torch.arange(-(-length // kt), device=device) * kt
        starts.append(offset + first)
        ends.append(offset + (first + kt - 1).clamp(max=length - 1))
    start = torch.cat(starts)
    return MemoryLayout(
        frames=start.shape[0],
        rows=-(-grid[0] // kh),
        cols=-(-grid[1] // kw),
        times=start.double() + (kt - 1) / 2,
        spans=torch.stack([start, torch.cat(ends)], dim=1),
    )


@dataclass(frozen=True, eq=False)
class Layout:
    """What every block needs to know about the token sequence of one forward pass."""

    n_ctx: int
    grid: tuple[int, int]
    rope: torch.Tensor | None  # [F·S, d/2] (or [B, 1, F·S, d/2]) angles of the full-resolution tokens
    memory: MemoryLayout | None
    memory_rope: torch.Tensor | None  # [M·Sm, d/2]
    excluded: torch.Tensor | None  # [F, M] memory frames that are no candidates
    fov_frames: torch.Tensor | None  # [B, Ft, n] fov-retrieval: frames each target frame sees


class RMSNorm(nn.Module):
    """x / rms(x) · weight, computed in float32 (torch.nn.RMSNorm's parameters, Wan's numerics)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS) * self.weight.float()).to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, text: bool) -> None:
        super().__init__()
        D, H = cfg.dim, cfg.heads
        self.cfg = cfg
        self.heads = H
        self.norm1 = nn.LayerNorm(D, elementwise_affine=False, eps=EPS)
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        norm_dim = D if cfg.qk_norm == "across-heads" else D // H
        self.q_norm, self.k_norm = RMSNorm(norm_dim), RMSNorm(norm_dim)
        kernel = cfg.tokenizer_kernel
        self.tokenizer = nn.Conv3d(D, D, kernel, stride=kernel) if cfg.mode == "hydra" else None
        self.cam_ctx = nn.Linear(CAMERA_DIM, D)
        self.cam_tgt = nn.Linear(CAMERA_DIM, D)
        self.projector = nn.Linear(D, D)
        self.cross = text
        if text:
            self.norm_x = nn.LayerNorm(D, eps=EPS)
            self.cross_q, self.cross_k, self.cross_v, self.cross_o = (nn.Linear(D, D) for _ in range(4))
            self.cross_q_norm, self.cross_k_norm = RMSNorm(D), RMSNorm(D)
        self.norm2 = nn.LayerNorm(D, elementwise_affine=False, eps=EPS)
        hidden = round(D * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(D, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, D))
        self.modulation = nn.Parameter(torch.randn(6, D) / math.sqrt(D))

    def reset_special(self) -> None:
        """The release's inits of the added parts: zero cameras, identity projector (train_hydra.py)."""
        for enc in (self.cam_ctx, self.cam_tgt):
            nn.init.zeros_(enc.weight)
            nn.init.zeros_(enc.bias)
        nn.init.eye_(self.projector.weight)
        nn.init.zeros_(self.projector.bias)
        if self.tokenizer is not None:
            if self.cfg.tokenizer_init == "mean":  # ablation: memory = mean of the tokens it covers
                w = torch.zeros_like(self.tokenizer.weight)
                idx = torch.arange(w.shape[0])
                w[idx, idx] = 1.0 / math.prod(self.cfg.tokenizer_kernel)
                with torch.no_grad():
                    self.tokenizer.weight.copy_(w)
                nn.init.zeros_(self.tokenizer.bias)
            else:
                self.tokenizer.reset_parameters()

    def forward(self, x: torch.Tensor, e: torch.Tensor, cam: torch.Tensor, layout: Layout,
                text: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:  # fmt: skip
        """x [B,F,S,D], e [B,F,6,D] timestep modulation, cam [B,F,12] → x."""
        n_ctx = layout.n_ctx
        cam_emb = torch.cat([self.cam_ctx(cam[:, :n_ctx]), self.cam_tgt(cam[:, n_ctx:])], dim=1).unsqueeze(2)
        if self.cfg.camera_at == "residual":
            x = x + cam_emb.to(x.dtype)
        shift1, scale1, gate1, shift2, scale2, gate2 = (self.modulation.float() + e.float()).unsqueeze(3).unbind(2)
        h = (self.norm1(x.float()) * (1 + scale1) + shift1).to(x.dtype)
        if self.cfg.camera_at == "attention-input":
            h = h + cam_emb.to(h.dtype)
        x = (x.float() + gate1 * self.projector(self.attend(h, layout)).float()).to(x.dtype)
        if self.cross and text is not None:
            x = x + self.cross_attend(self.norm_x(x.float()).to(x.dtype), *text)
        m = self.mlp((self.norm2(x.float()) * (1 + scale2) + shift2).to(x.dtype))
        return (x.float() + gate2 * m.float()).to(x.dtype)

    def _norm(self, norm: RMSNorm, y: torch.Tensor) -> torch.Tensor:
        if self.cfg.qk_norm == "across-heads":
            return norm(y)
        return norm(y.unflatten(-1, (self.heads, -1))).flatten(-2)

    def _heads(self, y: torch.Tensor) -> torch.Tensor:
        """[B, F, S, D] → [B, H, F, S, d]."""
        return y.unflatten(-1, (self.heads, -1)).permute(0, 3, 1, 2, 4)

    def attend(self, h: torch.Tensor, layout: Layout) -> torch.Tensor:
        B, n_frames, S, D = h.shape
        q_flat = self._norm(self.q_norm, self.q(h))  # after the norm, before rotary: the affinity's query
        q, k, v = self._heads(q_flat), self._heads(self._norm(self.k_norm, self.k(h))), self._heads(self.v(h))
        if layout.rope is not None:
            q, k = apply_rope(q.flatten(2, 3), layout.rope).view(q.shape), apply_rope(k.flatten(2, 3), layout.rope).view(k.shape)
        mode = self.cfg.mode
        if mode == "hydra":
            o = self.retrieve(h, q_flat, q, k, v, layout)
        elif mode == "fov-retrieval" and self.cfg.fov_rule == "per-frame":
            o = gathered_attention(q, k, v, self.fov_frames(q, k, layout))
        else:
            o = F.scaled_dot_product_attention(q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3)).view(q.shape)
        return self.o(o.permute(0, 2, 3, 1, 4).reshape(B, n_frames, S, D))

    def retrieve(self, h: torch.Tensor, q_flat: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                 layout: Layout) -> torch.Tensor:  # fmt: skip
        """HyDRA's dynamic retrieval attention → [B, H, F, S, d]."""
        mem = self.memory_tokens(h, layout)  # [B, M, Sm, D]
        mem_k_flat = self._norm(self.k_norm, self.k(mem))
        mem_k, mem_v = self._heads(mem_k_flat), self._heads(self.v(mem))
        if self.cfg.affinity == "released":
            affinity = shared_affinity(q_flat, mem_k_flat)
        else:
            affinity = per_head_affinity(self._heads(q_flat), mem_k)
        selected, valid = select_memory(affinity, self.cfg.top_k, layout.excluded)
        if layout.memory_rope is not None:
            mem_k = apply_rope(mem_k.flatten(2, 3), layout.memory_rope).view(mem_k.shape)
        frames = window_indices(q.shape[2], self.cfg.local_window, q.device)
        return gathered_attention(q, k, v, frames, mem_k, mem_v, selected, valid)

    def fov_frames(self, q: torch.Tensor, k: torch.Tensor, layout: Layout) -> torch.Tensor:
        """[B, F, w + k] frames each query frame sees under the release's FOV-retrieval rule.

        Target frame j: a chunk of `local_window` target frames around it plus
        its `fov_k` context frames by view overlap (layout.fov_frames). Context
        frame: the last `local_window` target frames (the release clamps its
        chunk to the target stream) plus the `fov_k` context frames of highest
        affinity (spatial mean of rotated q · k over the full width, unscaled).
        """
        assert layout.fov_frames is not None, "fov-retrieval per-frame needs fov_frames"
        B, _, n_frames = q.shape[:3]
        n_ctx = layout.n_ctx
        n_tgt = n_frames - n_ctx
        chunk = window_indices(n_tgt, self.cfg.local_window, q.device) + n_ctx  # [Ft, w]
        tgt_rows = torch.cat([chunk.expand(B, n_tgt, chunk.shape[1]), layout.fov_frames], dim=2)
        q_bar = q[:, :, :n_ctx].float().mean(dim=3).permute(0, 2, 1, 3).flatten(2)  # [B, Fc, D]
        k_bar = k[:, :, :n_ctx].float().mean(dim=3).permute(0, 2, 1, 3).flatten(2)
        picks = (q_bar @ k_bar.transpose(1, 2)).topk(layout.fov_frames.shape[2], dim=-1, sorted=True).indices
        ctx_rows = torch.cat([chunk[-1:].expand(B, n_ctx, chunk.shape[1]), picks], dim=2)
        return torch.cat([ctx_rows, tgt_rows], dim=1)

    def memory_tokens(self, h: torch.Tensor, layout: Layout) -> torch.Tensor:
        """3-D conv (kernel = stride) over the token grid → [B, M, Sm, D] memory tokens."""
        B, _, _, D = h.shape
        gh, gw = layout.grid
        kt, kh, kw = self.cfg.tokenizer_kernel
        n_ctx = layout.n_ctx
        parts = [h] if self.cfg.memory_scope == "joint" else [h[:, :n_ctx], h[:, n_ctx:]]
        out = []
        for part in parts:
            g = part.reshape(B, part.shape[1], gh, gw, D).permute(0, 4, 1, 2, 3)
            pad = (0, -gw % kw, 0, -gh % kh, 0, -part.shape[1] % kt)
            if any(pad):
                g = F.pad(g, pad, mode="replicate")
            out.append(self.tokenizer(g).flatten(3).permute(0, 2, 3, 1))
        return torch.cat(out, dim=1)

    def cross_attend(self, x: torch.Tensor, text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, n_frames, S, D = x.shape
        H = self.heads
        q = self.cross_q_norm(self.cross_q(x)).view(B, n_frames * S, H, -1).transpose(1, 2)
        k = self.cross_k_norm(self.cross_k(text)).view(B, text.shape[1], H, -1).transpose(1, 2)
        v = self.cross_v(text).view(B, text.shape[1], H, -1).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return self.cross_o(o.transpose(1, 2).reshape(B, n_frames, S, D))


class HydraDiT(nn.Module):
    """Predicts the flow-matching velocity of the target latents given clean context latents."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        D, p = cfg.dim, cfg.patch
        latent_channels = cfg.latent_channels
        self.patch_embed = nn.Conv3d(latent_channels, D, (1, p, p), stride=(1, p, p))
        self.time_embed = nn.Sequential(nn.Linear(cfg.freq_dim, D), nn.SiLU(), nn.Linear(D, D))
        self.time_proj = nn.Sequential(nn.SiLU(), nn.Linear(D, 6 * D))
        self.text = make_text_encoder(cfg.text, D, cfg.text_len) if cfg.text != "cache" else None
        text_on = cfg.text != "none"
        text_width = cfg.text_dim if cfg.text == "cache" else (self.text.dim if self.text is not None else 0)
        self.text_proj = (
            nn.Sequential(nn.Linear(text_width, D), nn.GELU(approximate="tanh"), nn.Linear(D, D)) if text_on else None
        )
        self.blocks = nn.ModuleList(Block(cfg, text=text_on) for _ in range(cfg.depth))
        self.final_norm = nn.LayerNorm(D, elementwise_affine=False, eps=EPS)
        self.final_mod = nn.Parameter(torch.randn(2, D) / math.sqrt(D))
        self.final = nn.Linear(D, latent_channels * p * p)
        self.grad_checkpoint = False
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.patch_embed.weight.view(self.cfg.dim, -1))
        nn.init.zeros_(self.patch_embed.bias)
        nn.init.normal_(self.time_embed[0].weight, std=0.02)
        nn.init.normal_(self.time_embed[2].weight, std=0.02)
        for block in self.blocks:
            block.reset_special()
        nn.init.zeros_(self.final.weight)
        nn.init.zeros_(self.final.bias)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def pos_embed(self, frame_pos: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        """The sincos ablation: half the channels for the frame, a quarter each for row and column."""
        D = self.cfg.dim
        B, n_frames = frame_pos.shape
        dev = frame_pos.device
        t = sincos(frame_pos, D // 2)[:, :, None, :].expand(B, n_frames, gh * gw, D // 2)
        rows = torch.arange(gh, device=dev).repeat_interleave(gw)
        cols = torch.arange(gw, device=dev).repeat(gh)
        yx = torch.cat([sincos(rows, D // 4), sincos(cols, D // 4)], dim=-1)
        return torch.cat([t, yx.expand(B, n_frames, gh * gw, D // 2)], dim=-1)

    def layout(self, n_ctx: int, n_tgt: int, grid: tuple[int, int], device: torch.device,
               fov_frames: torch.Tensor | None, frame_pos: torch.Tensor | None = None) -> Layout:  # fmt: skip
        """frame_pos [B, F]: the frames' times when they are not 0..F-1 (global fov-retrieval drops context frames)."""
        cfg = self.cfg
        n_frames = n_ctx + n_tgt
        head = cfg.dim // cfg.heads
        rope = None
        if cfg.positions == "rope" and frame_pos is None:
            rope = rope_angles(head, *grid_positions(torch.arange(n_frames, device=device), *grid))
        elif cfg.positions == "rope":
            rope = rope_angles(head, *grid_positions(frame_pos.reshape(-1), *grid)).view(frame_pos.shape[0], 1, -1, head // 2)
        memory = memory_rope = excluded = None
        if cfg.mode == "hydra":
            memory = memory_layout(cfg, n_ctx, n_tgt, grid, device)
            if cfg.positions == "rope":
                _, kh, kw = cfg.tokenizer_kernel
                memory_rope = rope_angles(head, *grid_positions(memory.times, memory.rows, memory.cols, kh, kw))
            if cfg.candidates == "outside-window":
                excluded = inside_window(memory.spans, n_frames, cfg.local_window)
        if cfg.mode == "fov-retrieval" and cfg.fov_rule == "per-frame" and fov_frames is None:
            raise ValueError("fov-retrieval (per-frame) needs fov_frames: the context frames of each target frame")
        return Layout(n_ctx, grid, rope, memory, memory_rope, excluded, fov_frames)

    def embed_text(
        self, captions: list[str] | None, text: tuple[torch.Tensor, torch.Tensor] | None, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Projected text tokens [B, L, D] and their mask [B, L], or None without text conditioning."""
        if self.text_proj is None:
            return None
        if text is None:
            if self.text is None:
                raise ValueError("text = 'cache' needs precomputed text embeddings")
            emb, mask = self.text(list(captions) if captions is not None else [""] * batch)
            mask = mask.clone()
            mask[:, 0] = True  # an empty caption still has one (neutral) key
        else:
            emb, mask = text
        if self.cfg.text != "hash":  # Wan's convention: padding tokens are zero vectors, and attended
            emb = emb * mask[..., None].to(emb.dtype)
            mask = torch.ones_like(mask)
        dtype = self.text_proj[0].weight.dtype
        return self.text_proj(emb.to(dtype)), mask

    def forward(
        self,
        ctx: torch.Tensor,
        tgt: torch.Tensor,
        t: torch.Tensor,
        cam_ctx: torch.Tensor,
        cam_tgt: torch.Tensor,
        ctx_keep: torch.Tensor | None = None,
        captions: list[str] | None = None,
        text: tuple[torch.Tensor, torch.Tensor] | None = None,
        fov_frames: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """ctx [B,C,Fc,h,w] clean, tgt [B,C,Ft,h,w] noisy at t [B] in [0, 1]; cameras [B,F,12] → velocity like tgt.

        ctx_keep [B,k]: the context frames fov-retrieval (global rule) keeps.
        text: precomputed text embeddings [B,L,text_dim] and mask [B,L] (text = 'cache').
        fov_frames [B,Ft,k]: fov-retrieval (per-frame rule): each target frame's context frames.
        """
        B, C, Fc = ctx.shape[:3]
        Ft = tgt.shape[2]
        dev = ctx.device
        ctx_pos = torch.arange(Fc, device=dev).expand(B, Fc)
        if self.cfg.mode == "fov-retrieval" and self.cfg.fov_rule == "global":
            if ctx_keep is None:
                raise ValueError("fov-retrieval (global) needs ctx_keep: the context frames to keep")
            b_idx = torch.arange(B, device=dev)[:, None]
            ctx = ctx.transpose(1, 2)[b_idx, ctx_keep].transpose(1, 2)
            cam_ctx = cam_ctx[b_idx, ctx_keep]
            ctx_pos = ctx_keep
        n_ctx = ctx.shape[2]
        x = self.patch_embed(torch.cat([ctx, tgt], dim=2).to(self.patch_embed.weight.dtype))
        gh, gw = x.shape[-2:]
        x = x.flatten(3).permute(0, 2, 3, 1)
        frame_pos = torch.cat([ctx_pos, Fc + torch.arange(Ft, device=dev).expand(B, Ft)], dim=1)
        if self.cfg.positions == "sincos":
            x = x + self.pos_embed(frame_pos, gh, gw).to(x.dtype)
        dropped = self.cfg.mode == "fov-retrieval" and self.cfg.fov_rule == "global"
        layout = self.layout(n_ctx, Ft, (gh, gw), dev, fov_frames, frame_pos if dropped else None)
        t_tgt = t.float().view(B, 1).expand(B, Ft)
        t_ctx = torch.zeros(B, n_ctx, device=dev) if self.cfg.timestep == "per-frame" else t.float().view(B, 1).expand(B, n_ctx)
        t_frames = torch.cat([t_ctx, t_tgt], dim=1)
        temb = self.time_embed(timestep_features(t_frames * 1000.0, self.cfg.freq_dim).to(self.time_embed[0].weight.dtype))
        e = self.time_proj(temb).unflatten(-1, (6, -1))  # [B, F, 6, D]
        cam = torch.cat([cam_ctx, cam_tgt], dim=1).to(x.dtype)
        txt = self.embed_text(captions, text, B)
        for block in self.blocks:
            if self.grad_checkpoint and self.training:
                x = checkpoint(block, x, e, cam, layout, txt, use_reentrant=False)
            else:
                x = block(x, e, cam, layout, txt)
        shift, scale = (self.final_mod.float() + temb[:, n_ctx:, None, :].float()).unsqueeze(3).unbind(2)
        y = self.final((self.final_norm(x[:, n_ctx:].float()) * (1 + scale) + shift).to(x.dtype))
        p = self.cfg.patch
        y = y.view(B, Ft, gh, gw, p, p, C).permute(0, 6, 1, 2, 4, 3, 5)  # Wan: patch-major channels
        return y.reshape(B, C, Ft, gh * p, gw * p)
