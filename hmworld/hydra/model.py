"""The video diffusion transformer: context latents stay clean, target latents are denoised.

Tokens keep a frame axis throughout: x [B, F, S, D] (F latent frames, S
tokens per frame), context frames first. Each block:

    x += cam_ctx(pose) | cam_tgt(pose)      zero-initialised, broadcast over space
    x += gate · projector(attention(adaLN(x)))   hydra: retrieval attention over
                                             memory tokens; otherwise full attention
    x += cross_attention(x, caption)         optional
    x += gate · mlp(adaLN(x))

Per-frame timestep modulation (Wan style: a learned table plus the timestep
embedding) lets context frames carry t = 0 while target frames carry t.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from hmworld.hydra.attention import retrieval_attention
from hmworld.hydra.config import ModelConfig
from hmworld.hydra.text import make_text_encoder

CAMERA_DIM = 12  # HyDRA's relative pose: row-major 3×4


def sincos(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding [..., dim] of positions or times [...]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=pos.device, dtype=torch.float32) / half)
    angles = pos.float()[..., None] * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class TimestepEmbedder(nn.Module):
    def __init__(self, dim: int, freq_dim: int = 256) -> None:
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sincos(t * 1000.0, self.freq_dim))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, text: bool) -> None:
        super().__init__()
        D, H = cfg.dim, cfg.heads
        self.heads = H
        self.top_k = cfg.top_k
        self.window = cfg.local_window
        self.kernel = cfg.tokenizer_kernel
        self.cam_ctx = nn.Linear(CAMERA_DIM, D)
        self.cam_tgt = nn.Linear(CAMERA_DIM, D)
        self.norm1 = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        self.qkv = nn.Linear(D, 3 * D)
        self.q_norm = nn.RMSNorm(D // H, eps=1e-6)
        self.k_norm = nn.RMSNorm(D // H, eps=1e-6)
        self.out = nn.Linear(D, D)
        self.projector = nn.Linear(D, D)
        self.tokenizer = nn.Conv3d(D, D, self.kernel, stride=self.kernel) if cfg.mode == "hydra" else None
        self.cross = text
        if text:
            self.norm_x = nn.LayerNorm(D, eps=1e-6)
            self.cross_q = nn.Linear(D, D)
            self.cross_kv = nn.Linear(D, 2 * D)
            self.cross_out = nn.Linear(D, D)
        self.norm2 = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
        hidden = round(D * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(D, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, D))
        self.modulation = nn.Parameter(torch.randn(6, D) / math.sqrt(D))

    def reset_special(self) -> None:
        """Inits that make the added parts harmless at the start of training."""
        for enc in (self.cam_ctx, self.cam_tgt):
            nn.init.zeros_(enc.weight)
            nn.init.zeros_(enc.bias)
        nn.init.eye_(self.projector.weight)
        nn.init.zeros_(self.projector.bias)
        if self.tokenizer is not None:  # start as average pooling: memory = mean of the tokens it covers
            w = torch.zeros_like(self.tokenizer.weight)
            idx = torch.arange(w.shape[0])
            w[idx, idx] = 1.0 / math.prod(self.kernel)
            with torch.no_grad():
                self.tokenizer.weight.copy_(w)
            nn.init.zeros_(self.tokenizer.bias)

    def forward(
        self,
        x: torch.Tensor,
        e: torch.Tensor,
        cam: torch.Tensor,
        n_ctx: int,
        grid: tuple[int, int],
        text: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> torch.Tensor:
        cam_emb = torch.cat([self.cam_ctx(cam[:, :n_ctx]), self.cam_tgt(cam[:, n_ctx:])], dim=1)
        x = x + cam_emb.unsqueeze(2)
        shift1, scale1, gate1, shift2, scale2, gate2 = (self.modulation + e).unsqueeze(3).unbind(2)
        h = self.norm1(x) * (1 + scale1) + shift1
        x = x + gate1 * self.projector(self.attend(h, n_ctx, grid))
        if self.cross and text is not None:
            x = x + self.cross_attend(self.norm_x(x), *text)
        return x + gate2 * self.mlp(self.norm2(x) * (1 + scale2) + shift2)

    def attend(self, h: torch.Tensor, n_ctx: int, grid: tuple[int, int]) -> torch.Tensor:
        B, n_frames, S, D = h.shape
        H, d = self.heads, D // self.heads
        q, k, v = self.qkv(h).view(B, n_frames, S, 3, H, d).permute(3, 0, 4, 1, 2, 5)
        q, k = self.q_norm(q.float()).to(v.dtype), self.k_norm(k.float()).to(v.dtype)  # norms in fp32
        if self.tokenizer is None:
            o = F.scaled_dot_product_attention(q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3))
        else:
            mem = self.memory_tokens(h, n_ctx, grid)
            M, Sm = mem.shape[1], mem.shape[2]
            kv = F.linear(mem, self.qkv.weight[D:], self.qkv.bias[D:])
            mem_k, mem_v = kv.view(B, M, Sm, 2, H, d).permute(3, 0, 4, 1, 2, 5)
            mem_k = self.k_norm(mem_k.float()).to(mem_v.dtype)
            o, _ = retrieval_attention(q, k, v, mem_k, mem_v, self.top_k, self.window)
        return self.out(o.reshape(B, H, n_frames, S, d).permute(0, 2, 3, 1, 4).reshape(B, n_frames, S, D))

    def memory_tokens(self, h: torch.Tensor, n_ctx: int, grid: tuple[int, int]) -> torch.Tensor:
        """3-D conv (kernel = stride) over each stream's token grid → [B, M, Sm, D] memory tokens."""
        B, _, _, D = h.shape
        gh, gw = grid
        kt, kh, kw = self.kernel
        streams = []
        for part in (h[:, :n_ctx], h[:, n_ctx:]):  # context and target streams never share a memory token
            g = part.reshape(B, part.shape[1], gh, gw, D).permute(0, 4, 1, 2, 3)
            pad = (0, -gw % kw, 0, -gh % kh, 0, -part.shape[1] % kt)
            if any(pad):
                g = F.pad(g, pad, mode="replicate")
            streams.append(self.tokenizer(g).flatten(3).permute(0, 2, 3, 1))
        return torch.cat(streams, dim=1)

    def cross_attend(self, x: torch.Tensor, text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, n_frames, S, D = x.shape
        H, d = self.heads, D // self.heads
        q = self.cross_q(x).view(B, n_frames * S, H, d).transpose(1, 2)
        k, v = self.cross_kv(text).view(B, text.shape[1], 2, H, d).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
        return self.cross_out(o.transpose(1, 2).reshape(B, n_frames, S, D))


class HydraDiT(nn.Module):
    """Predicts the flow-matching velocity of the target latents given clean context latents."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        D, p = cfg.dim, cfg.patch
        latent_channels = cfg.latent_channels
        self.patch_embed = nn.Conv3d(latent_channels, D, (1, p, p), stride=(1, p, p))
        self.time_embed = TimestepEmbedder(D)
        self.time_proj = nn.Sequential(nn.SiLU(), nn.Linear(D, 6 * D))
        self.text = make_text_encoder(cfg.text, D, cfg.text_len)
        self.text_proj = nn.Linear(self.text.dim, D) if self.text is not None else None
        self.blocks = nn.ModuleList(Block(cfg, text=self.text is not None) for _ in range(cfg.depth))
        self.final_norm = nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
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
        nn.init.normal_(self.time_embed.mlp[0].weight, std=0.02)
        nn.init.normal_(self.time_embed.mlp[2].weight, std=0.02)
        for block in self.blocks:
            block.reset_special()
        nn.init.zeros_(self.final.weight)
        nn.init.zeros_(self.final.bias)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def pos_embed(self, frame_pos: torch.Tensor, gh: int, gw: int) -> torch.Tensor:
        """Fixed 3-D sin-cos: half the channels for the frame, a quarter each for row and column."""
        D = self.cfg.dim
        B, n_frames = frame_pos.shape
        dev = frame_pos.device
        t = sincos(frame_pos, D // 2)[:, :, None, :].expand(B, n_frames, gh * gw, D // 2)
        rows = torch.arange(gh, device=dev).repeat_interleave(gw)
        cols = torch.arange(gw, device=dev).repeat(gh)
        yx = torch.cat([sincos(rows, D // 4), sincos(cols, D // 4)], dim=-1)
        return torch.cat([t, yx.expand(B, n_frames, gh * gw, D // 2)], dim=-1)

    def forward(
        self,
        ctx: torch.Tensor,
        tgt: torch.Tensor,
        t: torch.Tensor,
        cam_ctx: torch.Tensor,
        cam_tgt: torch.Tensor,
        ctx_keep: torch.Tensor | None = None,
        captions: list[str] | None = None,
    ) -> torch.Tensor:
        """ctx [B,C,Fc,h,w] clean, tgt [B,C,Ft,h,w] noisy at t [B]; cameras [B,F,12] → velocity like tgt.

        ctx_keep [B,k]: the context frames fov-retrieval keeps (required in that mode).
        """
        B, C, Fc = ctx.shape[:3]
        Ft = tgt.shape[2]
        dev = ctx.device
        ctx_pos = torch.arange(Fc, device=dev).expand(B, Fc)
        if self.cfg.mode == "fov-retrieval":
            if ctx_keep is None:
                raise ValueError("fov-retrieval needs ctx_keep: the context frames to keep")
            b_idx = torch.arange(B, device=dev)[:, None]
            ctx = ctx.transpose(1, 2)[b_idx, ctx_keep].transpose(1, 2)
            cam_ctx = cam_ctx[b_idx, ctx_keep]
            ctx_pos = ctx_keep
        n_ctx = ctx.shape[2]
        x = self.patch_embed(torch.cat([ctx, tgt], dim=2))
        gh, gw = x.shape[-2:]
        x = x.flatten(3).permute(0, 2, 3, 1)
        frame_pos = torch.cat([ctx_pos, Fc + torch.arange(Ft, device=dev).expand(B, Ft)], dim=1)
        x = x + self.pos_embed(frame_pos, gh, gw).to(x.dtype)
        t_frames = torch.cat([torch.zeros(B, n_ctx, device=dev), t[:, None].float().expand(B, Ft)], dim=1)
        temb = self.time_embed(t_frames)
        e = self.time_proj(temb).view(B, n_ctx + Ft, 6, -1)
        cam = torch.cat([cam_ctx, cam_tgt], dim=1)
        text = None
        if self.text is not None:
            emb, mask = self.text(list(captions) if captions is not None else [""] * B)
            mask = mask.clone()
            mask[:, 0] = True  # an empty caption still has one (neutral) key
            text = (self.text_proj(emb), mask)
        for block in self.blocks:
            if self.grad_checkpoint and self.training:
                x = checkpoint(block, x, e, cam, n_ctx, (gh, gw), text, use_reentrant=False)
            else:
                x = block(x, e, cam, n_ctx, (gh, gw), text)
        shift, scale = (self.final_mod + temb[:, n_ctx:, None, :]).unsqueeze(3).unbind(2)
        y = self.final(self.final_norm(x[:, n_ctx:]) * (1 + scale) + shift)
        p = self.cfg.patch
        y = y.view(B, Ft, gh, gw, C, p, p).permute(0, 4, 1, 2, 5, 3, 6)
        return y.reshape(B, C, Ft, gh * p, gw * p)
