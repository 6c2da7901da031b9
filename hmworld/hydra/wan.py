"""Wan2.1 as the backbone: a local diffusers WanTransformer3DModel folder turned into our model.

The paper fine-tunes Wan2.1-T2V-1.3B (`Wan-AI/Wan2.1-T2V-1.3B-Diffusers`
layout). Our block mirrors diffusers' WanTransformerBlock parameter for
parameter, so conversion is a renaming; what HyDRA adds (memory tokenizer,
camera encoders, projector) keeps its release init (default conv, zero,
identity). The release (`train_hydra.py`) then trains only the self-attention
(q/k/v/o, their norms, the tokenizer), the camera encoders and the projector,
at lr 1e-5; `released_trainable` names those parameters.

The released `hydra.ckpt` is a DiffSynth `WanModel` state dict (DiffSynth's
names, e.g. `blocks.0.self_attn.q.weight`, `blocks.0.self_attn.tokenizer.conv.weight`,
`blocks.0.cam_encoder_con.weight`, `head.head.weight`);
`release_state_dict_to_ours` renames those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hmworld.errors import UserError
from hmworld.hydra.config import ModelConfig
from hmworld.hydra.model import HydraDiT

BACKBONES = ("none", "wan2.1-t2v-1.3b")
# Wan2.1-T2V-1.3B's transformer config (the Diffusers release's config.json).
WAN21_T2V_13B = {
    "patch_size": [1, 2, 2], "num_attention_heads": 12, "attention_head_dim": 128, "in_channels": 16,
    "out_channels": 16, "text_dim": 4096, "freq_dim": 256, "ffn_dim": 8960, "num_layers": 30,
    "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None,
    "added_kv_proj_dim": None,
}  # fmt: skip

# diffusers name → ours (per block: the part after `blocks.N.`)
_WAN_TOP = {
    "patch_embedding": "patch_embed",
    "condition_embedder.time_embedder.linear_1": "time_embed.0",
    "condition_embedder.time_embedder.linear_2": "time_embed.2",
    "condition_embedder.time_proj": "time_proj.1",
    "condition_embedder.text_embedder.linear_1": "text_proj.0",
    "condition_embedder.text_embedder.linear_2": "text_proj.2",
    "proj_out": "final",
    "scale_shift_table": "final_mod",
}
_WAN_BLOCK = {
    "attn1.to_q": "q", "attn1.to_k": "k", "attn1.to_v": "v", "attn1.to_out.0": "o",
    "attn1.norm_q": "q_norm", "attn1.norm_k": "k_norm",
    "attn2.to_q": "cross_q", "attn2.to_k": "cross_k", "attn2.to_v": "cross_v", "attn2.to_out.0": "cross_o",
    "attn2.norm_q": "cross_q_norm", "attn2.norm_k": "cross_k_norm",
    "norm2": "norm_x", "ffn.net.0.proj": "mlp.0", "ffn.net.2": "mlp.2", "scale_shift_table": "modulation",
}  # fmt: skip
# DiffSynth (the release) name → ours
_RELEASE_TOP = {
    "patch_embedding": "patch_embed", "time_embedding.0": "time_embed.0", "time_embedding.2": "time_embed.2",
    "time_projection.1": "time_proj.1", "text_embedding.0": "text_proj.0", "text_embedding.2": "text_proj.2",
    "head.head": "final", "head.modulation": "final_mod",
}  # fmt: skip
_RELEASE_BLOCK = {
    "self_attn.q": "q", "self_attn.k": "k", "self_attn.v": "v", "self_attn.o": "o",
    "self_attn.norm_q": "q_norm", "self_attn.norm_k": "k_norm", "self_attn.tokenizer.conv": "tokenizer",
    "cross_attn.q": "cross_q", "cross_attn.k": "cross_k", "cross_attn.v": "cross_v", "cross_attn.o": "cross_o",
    "cross_attn.norm_q": "cross_q_norm", "cross_attn.norm_k": "cross_k_norm", "norm3": "norm_x",
    "ffn.0": "mlp.0", "ffn.2": "mlp.2", "modulation": "modulation", "cam_encoder_con": "cam_ctx",
    "cam_encoder_tgt": "cam_tgt", "projector": "projector",
}  # fmt: skip
_BLOCK_KEY = re.compile(r"^blocks\.(\d+)\.(.+)\.(weight|bias)$|^blocks\.(\d+)\.(scale_shift_table|modulation)$")


def _rename(state: Mapping[str, torch.Tensor], top: dict[str, str], block: dict[str, str]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        m = _BLOCK_KEY.match(key)
        if m and m.group(1) is not None:
            idx, name, kind = m.group(1), m.group(2), m.group(3)
            new = f"blocks.{idx}.{block[name]}.{kind}" if name in block else None
        elif m:
            idx, name = m.group(4), m.group(5)
            new = f"blocks.{idx}.{block[name]}" if name in block else None
        else:
            stem, _, kind = key.rpartition(".")
            if key in top:  # parameters without a .weight/.bias suffix
                new = top[key]
            else:
                new = f"{top[stem]}.{kind}" if stem in top else None
        if new is None:
            unknown.append(key)
            continue
        out[new] = value.reshape(-1, value.shape[-1]) if new.endswith(("modulation", "final_mod")) else value
    if unknown:
        raise UserError(f"unexpected parameters {unknown[:4]}{' …' if len(unknown) > 4 else ''}: not a Wan2.1 T2V transformer")
    return out


def wan_state_dict_to_ours(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """diffusers WanTransformer3DModel state dict → HydraDiT names (the HyDRA additions are absent)."""
    return _rename(state, _WAN_TOP, _WAN_BLOCK)


def release_state_dict_to_ours(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The release's DiffSynth WanModel state dict (hydra.ckpt, `state_dict` inside) → HydraDiT names."""
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    return _rename(state, _RELEASE_TOP, _RELEASE_BLOCK)


def config_from_wan(wan: Mapping[str, Any], base: ModelConfig) -> ModelConfig:
    """Our config with the transformer shape of a Wan config (diffusers config.json); the rest from `base`."""
    patch = list(wan.get("patch_size", [1, 2, 2]))
    heads, head_dim = int(wan["num_attention_heads"]), int(wan["attention_head_dim"])
    problems = []
    if patch[0] != 1 or patch[1] != patch[2]:
        problems.append(f"patch_size {patch} (need [1, p, p])")
    if wan.get("qk_norm") != "rms_norm_across_heads" or not wan.get("cross_attn_norm", True):
        problems.append(f"qk_norm {wan.get('qk_norm')!r} / cross_attn_norm {wan.get('cross_attn_norm')!r}")
    if wan.get("image_dim") or wan.get("added_kv_proj_dim"):
        problems.append("image conditioning (an I2V model; HyDRA fine-tunes T2V)")
    out_channels = wan.get("out_channels") or wan["in_channels"]
    if int(wan["in_channels"]) != base.latent_channels or int(out_channels) != base.latent_channels:
        problems.append(f"{wan['in_channels']} latent channels (the {base.latent} latent has {base.latent_channels})")
    if problems:
        raise UserError(f"cannot use this Wan transformer: {'; '.join(problems)}")
    text = base.text if base.text not in ("none", "hash") else "cache"
    return base.replace(
        dim=heads * head_dim, heads=heads, depth=int(wan["num_layers"]), mlp_ratio=int(wan["ffn_dim"]) / (heads * head_dim),
        patch=int(patch[1]), text=text, text_dim=int(wan["text_dim"]), freq_dim=int(wan["freq_dim"]), qk_norm="across-heads",
    )  # fmt: skip


def load_wan_transformer(folder: str | Path) -> torch.nn.Module:
    """diffusers WanTransformer3DModel from a local folder (fp32, CPU)."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise UserError(f"--weights {str(folder)!r} is not a diffusers WanTransformer3DModel folder (no config.json)")
    try:
        from diffusers import WanTransformer3DModel
    except ImportError as e:
        raise UserError("the Wan2.1 backbone needs diffusers: pip install 'hmworld[train]'") from e
    return WanTransformer3DModel.from_pretrained(folder, local_files_only=True, torch_dtype=torch.float32)


def from_wan(wan: torch.nn.Module, base: ModelConfig) -> tuple[ModelConfig, HydraDiT]:
    """Our model with a loaded Wan transformer's weights; the HyDRA parts at their release init."""
    cfg = config_from_wan(dict(wan.config), base)
    model = HydraDiT(cfg)
    missing, unexpected = model.load_state_dict(wan_state_dict_to_ours(wan.state_dict()), strict=False)
    added = {"tokenizer", "cam_ctx", "cam_tgt", "projector"}
    stray = [k for k in missing if k.split(".")[2] not in added] if missing else []
    if stray or unexpected:
        raise UserError(f"Wan conversion left parameters unset {stray[:4]} or unused {list(unexpected)[:4]}")
    return cfg, model


def released_trainable(name: str) -> bool:
    """Whether the release trains this parameter when fine-tuning Wan (self-attention, cameras, projector)."""
    parts = name.split(".")
    return len(parts) > 2 and parts[0] == "blocks" and parts[2] in {
        "q", "k", "v", "o", "q_norm", "k_norm", "tokenizer", "cam_ctx", "cam_tgt", "projector"
    }  # fmt: skip
