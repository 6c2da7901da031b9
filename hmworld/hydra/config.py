"""Model configuration: one frozen dataclass, three named sizes, the release's method by default.

`tiny` trains on a CPU in a minute (tests, smoke runs); `small` is a real
single-GPU run; `base` mirrors the paper's Wan2.1-1.3B-sized backbone.
Every default follows the public HyDRA release (H-EmbodVis/HyDRA,
`diffsynth/models/wan_video_dit.py`, `train_hydra.py`); the choices this
trainer made before are kept as named ablation switches (see docs/HYDRA.md):

    affinity        released: one score per (query frame, memory token) for all heads,
                    full width, unscaled | per-head: per head, scaled by 1/sqrt(d)
    candidates      outside-window: memory tokens wholly inside the local window are
                    not retrieved | all
    memory_scope    joint: one tokenizer pass over context and target | per-stream
    qk_norm         across-heads: RMSNorm over the full width (Wan) | per-head
    positions       rope: Wan's 3-D rotary embedding, memory at compressed positions |
                    sincos: additive sin-cos embedding
    camera_at       attention-input: added after norm and modulation | residual
    timestep        shared: one t for every frame | per-frame: t = 0 on the context
    loss_weighting  released: discrete shifted timesteps with the release's weights |
                    uniform: continuous shifted t, unweighted
    fov_rule        per-frame: each query frame picks its own context frames + a local
                    chunk | global: one set of context frames, full attention
    tokenizer_init  default: PyTorch's Conv3d init (as released) | mean: average pooling
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hmworld.errors import UserError, check_choice

MODES = ("hydra", "full-context", "fov-retrieval")
LATENTS = ("pixel", "wan-vae")
SIZES = ("tiny", "small", "base")
TOKENIZER_KERNELS = ((2, 2, 2), (1, 4, 4), (2, 8, 8))
CONFIG_FORMAT = 2

# Each switch: (released default, today's ablation).
SWITCHES: dict[str, tuple[str, ...]] = {
    "affinity": ("released", "per-head"),
    "candidates": ("outside-window", "all"),
    "memory_scope": ("joint", "per-stream"),
    "qk_norm": ("across-heads", "per-head"),
    "positions": ("rope", "sincos"),
    "camera_at": ("attention-input", "residual"),
    "timestep": ("shared", "per-frame"),
    "loss_weighting": ("released", "uniform"),
    "fov_rule": ("per-frame", "global"),
    "tokenizer_init": ("default", "mean"),
}
# The Wan2.1 negative prompt the release samples with (infer_hydra.py).
RELEASED_NEGATIVE_PROMPT = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，"
    "静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)

# Wan VAE compression (the paper's base model): 4× in time, 8× in space, 16 channels.
WAN_TIME_FACTOR = 4
WAN_SPACE_FACTOR = 8
WAN_CHANNELS = 16


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes the network's shape and its sampling defaults."""

    size: str = "tiny"
    mode: str = "hydra"
    latent: str = "pixel"
    vae_path: str | None = None  # local diffusers AutoencoderKLWan folder (latent="wan-vae")
    frame_size: tuple[int, int] = (32, 32)  # (H, W) frames are resized to
    frames: int = 16  # frames sampled per clip; the first half is context
    pixel_patch: tuple[int, int] = (1, 4)  # (time, space) patchify of the pixel latent
    patch: int = 1  # transformer patch on the latent grid
    dim: int = 64
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    tokenizer_kernel: tuple[int, int, int] = (2, 2, 2)  # memory tokenizer, token units (t, h, w)
    top_k: int = 10  # compressed memory frames retrieved per query frame
    local_window: int = 5  # full-resolution frames around each query frame
    fov_k: int = 5  # context latent frames fov-retrieval adds per query frame
    text: str = "none"  # none | hash | path to a local transformers text encoder | cache (embeddings precomputed)
    text_len: int = 32
    text_dim: int = 4096  # width of precomputed text embeddings (text="cache"; umT5-XXL: 4096)
    freq_dim: int = 256  # sinusoidal timestep features (Wan)
    shift: float = 5.0  # flow-matching timestep shift
    sample_steps: int = 16  # Euler steps at evaluation
    cfg_scale: float = 5.0  # classifier-free guidance when text conditioning is on (1 = off)
    negative_prompt: str = RELEASED_NEGATIVE_PROMPT
    train_timesteps: int = 1000  # discrete training schedule length (loss_weighting="released")
    affinity: str = "released"
    candidates: str = "outside-window"
    memory_scope: str = "joint"
    qk_norm: str = "across-heads"
    positions: str = "rope"
    camera_at: str = "attention-input"
    timestep: str = "shared"
    loss_weighting: str = "released"
    fov_rule: str = "per-frame"
    tokenizer_init: str = "default"

    def __post_init__(self) -> None:
        check_choice("model", self.mode, MODES)
        for name, allowed in SWITCHES.items():
            check_choice(name.replace("_", "-"), getattr(self, name), allowed)
        check_choice("latent", self.latent, LATENTS)
        if self.latent == "wan-vae" and not self.vae_path:
            raise UserError("latent 'wan-vae' needs --vae PATH (a local diffusers AutoencoderKLWan folder)")
        h, w = self.frame_size
        f = self.space_factor * self.patch
        if h <= 0 or w <= 0 or h % f or w % f:
            raise UserError(f"frame size {h}x{w} must be positive multiples of {f} (latent factor × patch)")
        if self.frames < 2:
            raise UserError(f"frames must be at least 2 (context + target), got {self.frames}")
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise UserError(f"dim {self.dim} must split into {self.heads} heads of even size")
        if self.dim % 8:
            raise UserError(f"dim must be a multiple of 8, got {self.dim}")
        per_token = self.latent_channels * self.patch**2
        if per_token > self.dim:  # the residual stream could not even carry the noise through
            raise UserError(
                f"a token holds {per_token} latent values ({self.latent_channels} channels × {self.patch}²) "
                f"but dim is {self.dim}; use a smaller patch or a larger dim"
            )
        if any(k < 1 for k in self.tokenizer_kernel) or len(self.tokenizer_kernel) != 3:
            raise UserError(f"tokenizer kernel must be three positive sizes, got {self.tokenizer_kernel}")
        for name in ("top_k", "local_window", "fov_k", "depth", "patch", "sample_steps", "text_len", "text_dim",
                     "train_timesteps"):
            if getattr(self, name) < 1:
                raise UserError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.shift <= 0 or self.mlp_ratio <= 0:
            raise UserError(f"shift and mlp ratio must be positive, got {self.shift} and {self.mlp_ratio}")
        if self.cfg_scale <= 0:
            raise UserError(f"cfg scale must be positive (1 turns guidance off), got {self.cfg_scale}")
        head = self.dim // self.heads
        if self.positions == "rope" and head < 6:
            raise UserError(f"rope needs a head size of at least 6 (time, rows, columns), got {head}")

    @property
    def time_factor(self) -> int:
        return WAN_TIME_FACTOR if self.latent == "wan-vae" else self.pixel_patch[0]

    @property
    def space_factor(self) -> int:
        return WAN_SPACE_FACTOR if self.latent == "wan-vae" else self.pixel_patch[1]

    @property
    def latent_channels(self) -> int:
        if self.latent == "wan-vae":
            return WAN_CHANNELS
        pt, ps = self.pixel_patch
        return 3 * pt * ps * ps

    @property
    def token_grid(self) -> tuple[int, int]:
        """Tokens per latent frame (rows, cols)."""
        f = self.space_factor * self.patch
        return self.frame_size[0] // f, self.frame_size[1] // f

    @property
    def context_frames(self) -> int:
        return self.frames // 2

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["format"] = CONFIG_FORMAT
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        if d.get("format", 1) != CONFIG_FORMAT:
            raise UserError(
                f"this run was written by an older trainer (config format {d.get('format', 1)}, now {CONFIG_FORMAT}); "
                "retrain it with this version"
            )
        d = {k: v for k, v in d.items() if k != "format"}
        for key in ("frame_size", "pixel_patch", "tokenizer_kernel"):
            d[key] = tuple(d[key])
        return cls(**d)


_SIZES: dict[str, dict[str, Any]] = {
    "tiny": {},
    "small": dict(
        frame_size=(96, 160), frames=50, pixel_patch=(1, 8), dim=512, depth=12, heads=8, sample_steps=30,
    ),
    # The paper's setting: Wan VAE latents (needs --vae), 150-frame clips, a Wan2.1-1.3B-sized DiT.
    "base": dict(
        latent="wan-vae", frame_size=(480, 832), frames=150, patch=2, dim=1536, depth=30, heads=12,
        mlp_ratio=8960 / 1536, sample_steps=50,
    ),
}

# Learning rates that work for each size with AdamW (tiny overfits fast, base is fine-tuned gently).
DEFAULT_LR = {"tiny": 1e-3, "small": 3e-4, "base": 1e-4}
FINETUNE_LR = 1e-5  # train_hydra.py: fine-tuning a loaded Wan2.1 backbone


def parse_kernel(text: str) -> tuple[int, int, int]:
    """'2x2x2' → (2, 2, 2); the tokenizer kernel in token units (time, height, width)."""
    parts = text.lower().split("x")
    try:
        kernel = tuple(int(p) for p in parts)
    except ValueError:
        kernel = ()
    if len(kernel) != 3 or any(k < 1 for k in kernel):
        shown = ", ".join("x".join(map(str, k)) for k in TOKENIZER_KERNELS)
        raise UserError(f"bad tokenizer kernel {text!r}; use TxHxW, e.g. {shown}")
    return kernel  # type: ignore[return-value]


def parse_size(text: str) -> tuple[int, int]:
    """'256x144' (WIDTHxHEIGHT, as every --size of hmworld) → (144, 256): the frame's (height, width)."""
    parts = text.lower().split("x")
    try:
        wh = tuple(int(p) for p in parts)
    except ValueError:
        wh = ()
    if len(wh) != 2 or min(wh) < 1:
        raise UserError(f"bad frame size {text!r}; use WIDTHxHEIGHT, e.g. 256x144")
    return wh[1], wh[0]


def model_config(size: str = "tiny", mode: str = "hydra", **overrides: Any) -> ModelConfig:
    """A named size with optional field overrides (None values are ignored)."""
    check_choice("config", size, SIZES)
    fields = {**_SIZES[size], **{k: v for k, v in overrides.items() if v is not None}}
    return ModelConfig(size=size, mode=mode, **fields)


def parse_ablations(items: list[str] | None) -> dict[str, str]:
    """['affinity=per-head', 'timestep=per-frame'] → {'affinity': 'per-head', …}; names and values as in SWITCHES."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        key = name.strip().replace("-", "_")
        if not sep or key not in SWITCHES:
            names = ", ".join(n.replace("_", "-") for n in SWITCHES)
            raise UserError(f"bad --ablate {item!r}; use NAME=VALUE with NAME one of {names}")
        check_choice(name.strip(), value.strip(), SWITCHES[key])
        out[key] = value.strip()
    return out
