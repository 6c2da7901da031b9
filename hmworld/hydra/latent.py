"""The latent space the diffusion model works in; pluggable.

`pixel`: a lossless space-time patchify of the (already resized) frames; needs
no weights, so a CPU smoke run works anywhere. `wan-vae`: diffusers'
AutoencoderKLWan loaded from a local folder, as the paper's base model (4× in
time with a causal first frame, 8× in space, 16 channels).

Streams are padded to a length the codec accepts by repeating their first and
last frames, exactly as HyDRA's data pads 75 frames to 77; latent frame i then
stands for padded frame i × time_factor.
"""

from __future__ import annotations

import abc
from pathlib import Path

import numpy as np
import torch

from hmworld import geometry
from hmworld.errors import UserError
from hmworld.hydra.config import ModelConfig


class LatentCodec(abc.ABC):
    """Video [B,T,3,H,W] in [0,1] ↔ latent [B,C,F,h,w]; frozen, holds no trainable weights."""

    channels: int
    time_factor: int
    space_factor: int

    @abc.abstractmethod
    def stream_length(self, n: int) -> int:
        """Frames a stream of `n` frames is padded to."""

    @abc.abstractmethod
    def latent_frames(self, padded: int) -> int:
        """Latent frames a padded stream becomes."""

    @abc.abstractmethod
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Video → latent."""

    @abc.abstractmethod
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent → video."""

    def latent_to_frame(self, n_latent: int) -> np.ndarray:
        """Padded-stream frame each latent frame stands for (its camera is taken there)."""
        return np.arange(n_latent) * self.time_factor


def pad_index(n: int, length: int) -> np.ndarray:
    """Frame index of each padded position, repeating first and last frames as geometry.pad_stream."""
    return geometry.pad_stream(np.arange(n), length)


def pad_front(n: int, length: int) -> int:
    """Where the real frames start in a padded stream (mirrors geometry.pad_stream)."""
    return (length - n) // 2


class PixelCodec(LatentCodec):
    """Space-time patchify: [B,T,3,H,W] → [B, 3·pt·ps², T/pt, H/ps, W/ps], values in [-1, 1]."""

    def __init__(self, time_patch: int, space_patch: int) -> None:
        self.time_factor = time_patch
        self.space_factor = space_patch
        self.channels = 3 * time_patch * space_patch * space_patch

    def stream_length(self, n: int) -> int:
        return -(-n // self.time_factor) * self.time_factor

    def latent_frames(self, padded: int) -> int:
        return padded // self.time_factor

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        B, T, C, H, W = video.shape
        pt, ps = self.time_factor, self.space_factor
        x = (video * 2.0 - 1.0).reshape(B, T // pt, pt, C, H // ps, ps, W // ps, ps)
        x = x.permute(0, 2, 3, 5, 7, 1, 4, 6)  # B, pt, C, ps, ps, F, h, w
        return x.reshape(B, pt * C * ps * ps, T // pt, H // ps, W // ps)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        B, _, n, h, w = latent.shape
        pt, ps = self.time_factor, self.space_factor
        x = latent.reshape(B, pt, 3, ps, ps, n, h, w).permute(0, 5, 1, 2, 6, 3, 7, 4)
        x = x.reshape(B, n * pt, 3, h * ps, w * ps)
        return ((x + 1.0) / 2.0).clamp(0.0, 1.0)


class WanVAECodec(LatentCodec):
    """diffusers AutoencoderKLWan; latents normalised with the VAE's own per-channel mean/std."""

    time_factor = 4
    space_factor = 8

    def __init__(self, vae: torch.nn.Module) -> None:
        self.vae = vae.eval().requires_grad_(False)
        cfg = vae.config
        self.channels = int(cfg.z_dim)
        self.time_factor = int(getattr(cfg, "scale_factor_temporal", None) or 4)
        self.space_factor = int(getattr(cfg, "scale_factor_spatial", None) or 8)
        p = next(vae.parameters())
        self._mean = torch.tensor(cfg.latents_mean, dtype=p.dtype, device=p.device).view(1, -1, 1, 1, 1)
        self._std = torch.tensor(cfg.latents_std, dtype=p.dtype, device=p.device).view(1, -1, 1, 1, 1)

    @classmethod
    def from_path(cls, path: str | Path, device: torch.device | str = "cpu") -> WanVAECodec:
        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise UserError(f"--vae {str(path)!r} is not a diffusers model folder (no config.json there)")
        try:
            from diffusers import AutoencoderKLWan
        except ImportError as e:
            raise UserError("latent 'wan-vae' needs diffusers: pip install 'hmworld[train]'") from e
        vae = AutoencoderKLWan.from_pretrained(folder, local_files_only=True)
        return cls(vae.to(device))

    def stream_length(self, n: int) -> int:
        return 1 + -(-(n - 1) // self.time_factor) * self.time_factor

    def latent_frames(self, padded: int) -> int:
        return 1 + (padded - 1) // self.time_factor

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        x = (video.permute(0, 2, 1, 3, 4) * 2.0 - 1.0).to(self._mean.dtype)
        z = self.vae.encode(x).latent_dist.mode()
        return ((z - self._mean) / self._std).float()

    @torch.no_grad()
    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        z = latent.to(self._mean.dtype) * self._std + self._mean
        x = self.vae.decode(z).sample.float()
        return ((x.permute(0, 2, 1, 3, 4) + 1.0) / 2.0).clamp(0.0, 1.0)


def make_codec(cfg: ModelConfig, device: torch.device | str = "cpu") -> LatentCodec:
    if cfg.latent == "pixel":
        return PixelCodec(*cfg.pixel_patch)
    codec = WanVAECodec.from_path(cfg.vae_path or "", device)
    got = (codec.time_factor, codec.space_factor, codec.channels)
    want = (cfg.time_factor, cfg.space_factor, cfg.latent_channels)
    if got != want:
        raise UserError(
            f"VAE at {cfg.vae_path!r} gives {got[0]}x time, {got[1]}x space, {got[2]} channels; "
            f"the model expects {want[0]}x, {want[1]}x, {want[2]}"
        )
    return codec
