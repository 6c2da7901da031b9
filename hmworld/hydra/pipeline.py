"""One batch of the agreed sample contract → latents and cameras; its loss; its generation.

Context = the first half of the sampled frames, target = the second half.
Each stream is padded to a length the latent codec accepts (HyDRA pads its
75 frames to 77 the same way); latent frame i takes the camera of the frame
it stands for, relative to the first target frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from hmworld.errors import UserError
from hmworld.hydra import flow
from hmworld.hydra.baselines import select_context_fov, select_context_fov_per_frame
from hmworld.hydra.cameras import normalized_K, relative_cameras
from hmworld.hydra.config import ModelConfig
from hmworld.hydra.latent import LatentCodec, pad_front, pad_index
from hmworld.hydra.model import HydraDiT


@dataclass(frozen=True, eq=False)
class Prepared:
    """Model inputs for one batch."""

    ctx: torch.Tensor  # [B,C,Fc,h,w] clean context latents
    tgt: torch.Tensor  # [B,C,Ft,h,w] clean target latents (x_0)
    cam_ctx: torch.Tensor  # [B,Fc,12]
    cam_tgt: torch.Tensor  # [B,Ft,12]
    ctx_keep: torch.Tensor | None  # [B,k] fov-retrieval's context frames (global rule)
    captions: list[str]
    n_target: int  # real target frames
    target_length: int  # target stream length after padding
    fov_frames: torch.Tensor | None = None  # [B,Ft,k] fov-retrieval's context frames per target frame
    text: tuple[torch.Tensor, torch.Tensor] | None = None  # precomputed text embeddings [B,L,E] and mask [B,L]
    negative_text: tuple[torch.Tensor, torch.Tensor] | None = None  # the negative prompt's, same shapes


def prepare_batch(batch: Mapping[str, Any], codec: LatentCodec, cfg: ModelConfig, device: torch.device) -> Prepared:
    video = batch["video"].to(device)
    B, T, _, H, W = video.shape
    if (H, W) != tuple(cfg.frame_size):
        raise UserError(f"frames are {H}x{W} but the model expects {cfg.frame_size[0]}x{cfg.frame_size[1]}")
    if T < 2:
        raise UserError(f"a clip needs at least 2 frames (context + target), got {T}")
    n_ctx, n_tgt = T // 2, T - T // 2
    rel = relative_cameras(batch["c2w"].to(device), n_ctx)
    len_ctx, len_tgt = codec.stream_length(n_ctx), codec.stream_length(n_tgt)
    ctx_idx = torch.from_numpy(pad_index(n_ctx, len_ctx)).to(device)
    tgt_idx = torch.from_numpy(pad_index(n_tgt, len_tgt) + n_ctx).to(device)
    with torch.no_grad():
        ctx = codec.encode(video[:, ctx_idx])
        tgt = codec.encode(video[:, tgt_idx])
    cam_ctx = rel[:, ctx_idx[torch.from_numpy(codec.latent_to_frame(ctx.shape[2])).to(device)]]
    cam_tgt = rel[:, tgt_idx[torch.from_numpy(codec.latent_to_frame(tgt.shape[2])).to(device)]]
    keep, fov_frames = fov_selection(cfg, cam_ctx, cam_tgt, normalized_K(batch["K"].to(device).float(), H, W))
    captions = [str(c) for c in batch.get("caption", [""] * B)]
    return Prepared(ctx, tgt, cam_ctx, cam_tgt, keep, captions, n_tgt, len_tgt, fov_frames)


def fov_selection(
    cfg: ModelConfig, cam_ctx: torch.Tensor, cam_tgt: torch.Tensor, K_norm: torch.Tensor
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """fov-retrieval's context frames: (global keep [B,k], None) or (None, per target frame [B,Ft,k])."""
    if cfg.mode != "fov-retrieval":
        return None, None
    if cfg.fov_rule == "global":
        return select_context_fov(cam_ctx, cam_tgt, K_norm, cfg.fov_k), None
    return None, select_context_fov_per_frame(cam_ctx, cam_tgt, K_norm, cfg.fov_k)


def predictor(
    model: HydraDiT | torch.nn.Module, prep: Prepared, cfg_scale: float = 1.0, negative_prompt: str = ""
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(x_t, t) → velocity for this batch's target latents.

    cfg_scale != 1 with text conditioning: classifier-free guidance against the
    negative prompt, v = v_neg + s·(v_pos - v_neg) (the release's sampler).
    """

    def run(x_t: torch.Tensor, t: torch.Tensor, captions: list[str], text: Any) -> torch.Tensor:
        return model(prep.ctx, x_t, t, prep.cam_ctx, prep.cam_tgt, ctx_keep=prep.ctx_keep, captions=captions,
                     text=text, fov_frames=prep.fov_frames)  # fmt: skip

    guided = cfg_scale != 1.0 and getattr(model, "text_proj", None) is not None
    negative = [negative_prompt] * len(prep.captions)

    def predict(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        v = run(x_t, t, prep.captions, prep.text)
        if not guided:
            return v
        v_neg = run(x_t, t, negative, prep.negative_text)
        return v_neg + cfg_scale * (v - v_neg)

    return predict


def training_loss(model: torch.nn.Module, prep: Prepared, generator: torch.Generator, cfg: ModelConfig) -> torch.Tensor:
    """Flow-matching loss on the target frames; noise and t drawn from `generator` (CPU, seeded).

    loss_weighting 'released': discrete shifted timesteps with the release's weights; 'uniform': continuous, unweighted.
    """
    noise = torch.randn(prep.tgt.shape, generator=generator).to(prep.tgt.device)
    B = prep.tgt.shape[0]
    if cfg.loss_weighting == "released":
        t, weight = flow.sample_time_released(B, cfg.train_timesteps, cfg.shift, generator, prep.tgt.device)
    else:
        t, weight = flow.sample_time(B, cfg.shift, generator, prep.tgt.device), None
    return flow.flow_loss(predictor(model, prep), prep.tgt, noise, t, weight)


@torch.no_grad()
def generate(
    model: torch.nn.Module, codec: LatentCodec, prep: Prepared, steps: int, cfg: ModelConfig, generator: torch.Generator
) -> torch.Tensor:
    """Target frames [B, n_target, 3, H, W] in [0, 1], sampled from noise given the clean context."""
    noise = torch.randn(prep.tgt.shape, generator=generator).to(prep.tgt.device)
    predict = predictor(model, prep, cfg.cfg_scale, cfg.negative_prompt)
    latents = flow.euler_sample(predict, noise, steps, cfg.shift)
    frames = codec.decode(latents)
    start = pad_front(prep.n_target, prep.target_length)
    return frames[:, start : start + prep.n_target]
