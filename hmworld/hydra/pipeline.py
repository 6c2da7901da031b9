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
from hmworld.hydra.baselines import select_context_fov
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
    ctx_keep: torch.Tensor | None  # [B,k] fov-retrieval's context frames
    captions: list[str]
    n_target: int  # real target frames
    target_length: int  # target stream length after padding


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
    keep = None
    if cfg.mode == "fov-retrieval":
        keep = select_context_fov(cam_ctx, cam_tgt, normalized_K(batch["K"].to(device).float(), H, W), cfg.fov_k)
    captions = [str(c) for c in batch.get("caption", [""] * B)]
    return Prepared(ctx, tgt, cam_ctx, cam_tgt, keep, captions, n_tgt, len_tgt)


def predictor(model: HydraDiT | torch.nn.Module, prep: Prepared) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """(x_t, t) → velocity for this batch's target latents."""

    def predict(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return model(prep.ctx, x_t, t, prep.cam_ctx, prep.cam_tgt, ctx_keep=prep.ctx_keep, captions=prep.captions)

    return predict


def training_loss(model: torch.nn.Module, prep: Prepared, generator: torch.Generator, shift: float) -> torch.Tensor:
    """Flow-matching loss on the target frames; noise and t drawn from `generator` (CPU, seeded)."""
    noise = torch.randn(prep.tgt.shape, generator=generator).to(prep.tgt.device)
    t = flow.sample_time(prep.tgt.shape[0], shift, generator, prep.tgt.device)
    return flow.flow_loss(predictor(model, prep), prep.tgt, noise, t)


@torch.no_grad()
def generate(
    model: torch.nn.Module, codec: LatentCodec, prep: Prepared, steps: int, shift: float, generator: torch.Generator
) -> torch.Tensor:
    """Target frames [B, n_target, 3, H, W] in [0, 1], sampled from noise given the clean context."""
    noise = torch.randn(prep.tgt.shape, generator=generator).to(prep.tgt.device)
    latents = flow.euler_sample(predictor(model, prep), noise, steps, shift)
    frames = codec.decode(latents)
    start = pad_front(prep.n_target, prep.target_length)
    return frames[:, start : start + prep.n_target]
