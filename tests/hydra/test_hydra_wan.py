"""Wan2.1 backbone: a tiny random diffusers WanTransformer3DModel converts into our model exactly, then trains."""

from __future__ import annotations

import pytest
import torch

from hmworld.errors import UserError
from hmworld.hydra.config import model_config
from hmworld.hydra.model import HydraDiT
from hmworld.hydra.pipeline import Prepared, training_loss
from hmworld.hydra.wan import (
    config_from_wan,
    from_wan,
    release_state_dict_to_ours,
    released_trainable,
)

diffusers = pytest.importorskip("diffusers")

TINY_WAN = dict(
    patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=16, in_channels=12, out_channels=12,
    text_dim=32, freq_dim=64, ffn_dim=96, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
)  # fmt: skip
FC, FT = 5, 4  # latent frames


def tiny_wan(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    wan = diffusers.WanTransformer3DModel(**TINY_WAN).eval()
    with torch.no_grad():  # diffusers zero-inits nothing we rely on; make every bias and norm weight matter
        for p in wan.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
    return wan


def base_cfg(**kw):
    return model_config("tiny", "hydra", pixel_patch=(1, 2), frame_size=(16, 16), frames=18, **kw)


def inputs(seed=1, B=2):
    g = torch.Generator().manual_seed(seed)
    ctx = torch.randn(B, 12, FC, 8, 8, generator=g)
    tgt = torch.randn(B, 12, FT, 8, 8, generator=g)
    t = torch.tensor([0.25, 0.9])[:B]
    text = torch.randn(B, 7, 32, generator=g)
    return ctx, tgt, t, text


def test_at_init_our_model_equals_diffusers_forward_when_retrieval_covers_every_frame():
    wan = tiny_wan()
    cfg, ours = from_wan(wan, base_cfg(local_window=FC + FT))
    assert (cfg.dim, cfg.heads, cfg.depth, cfg.patch, cfg.text, cfg.text_dim) == (64, 4, 2, 2, "cache", 32)
    ours.eval()
    ctx, tgt, t, text = inputs()
    zero = torch.zeros(2, FC, 12), torch.zeros(2, FT, 12)
    with torch.no_grad():
        want = wan(torch.cat([ctx, tgt], dim=2), timestep=t * 1000.0, encoder_hidden_states=text).sample[:, :, FC:]
        got = ours(ctx, tgt, t, *zero, text=(text, torch.ones(2, 7, dtype=torch.bool)))
    assert want.abs().mean() > 1e-2
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    # the released window (5 frames) retrieves memory instead: a different model from the first step
    _, windowed = from_wan(wan, base_cfg())
    with torch.no_grad():
        other = windowed.eval()(ctx, tgt, t, *zero, text=(text, torch.ones(2, 7, dtype=torch.bool)))
    assert not torch.allclose(other, want, atol=1e-3)


def test_a_few_fine_tuning_steps_train_only_what_the_release_trains():
    cfg, model = from_wan(tiny_wan(), base_cfg())
    for name, p in model.named_parameters():
        p.requires_grad_(released_trainable(name))
    trained = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(".tokenizer." in n for n in trained) and any(".cam_ctx." in n for n in trained)
    assert not any(n.startswith(("patch_embed", "final", "time_", "text_proj")) or ".mlp." in n or ".cross_" in n for n in trained)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    ctx, tgt, _, text = inputs(seed=3)
    g = torch.Generator().manual_seed(0)
    cams = torch.randn(2, FC + FT, 12, generator=g)
    prep = Prepared(ctx, tgt, cams[:, :FC], cams[:, FC:], None, ["", ""], FT, FT,
                    text=(text, torch.ones(2, 7, dtype=torch.bool)))  # fmt: skip
    losses = []
    for _ in range(4):
        loss = training_loss(model.train(), prep, torch.Generator().manual_seed(0), cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]  # the same draw each step: the loss must fall
    for n, p in model.named_parameters():
        changed = not torch.equal(p.detach(), before[n])
        assert changed == (n in trained) or (n in trained and p.grad is None), n


def test_release_checkpoint_names_map_onto_ours():
    cfg, model = from_wan(tiny_wan(), base_cfg())
    ours = model.state_dict()
    rename = {  # the release's DiffSynth WanModel names (train_hydra.py / wan_video_dit.py)
        "patch_embed": "patch_embedding", "time_embed.0": "time_embedding.0", "time_embed.2": "time_embedding.2",
        "time_proj.1": "time_projection.1", "text_proj.0": "text_embedding.0", "text_proj.2": "text_embedding.2",
        "final": "head.head", "final_mod": "head.modulation", "q": "self_attn.q", "k": "self_attn.k",
        "v": "self_attn.v", "o": "self_attn.o", "q_norm": "self_attn.norm_q", "k_norm": "self_attn.norm_k",
        "tokenizer": "self_attn.tokenizer.conv", "cross_q": "cross_attn.q", "cross_k": "cross_attn.k",
        "cross_v": "cross_attn.v", "cross_o": "cross_attn.o", "cross_q_norm": "cross_attn.norm_q",
        "cross_k_norm": "cross_attn.norm_k", "norm_x": "norm3", "mlp.0": "ffn.0", "mlp.2": "ffn.2",
        "modulation": "modulation", "cam_ctx": "cam_encoder_con", "cam_tgt": "cam_encoder_tgt", "projector": "projector",
    }  # fmt: skip
    release = {}
    for key, value in ours.items():
        if key.startswith("blocks."):
            _, i, rest = key.split(".", 2)
            stem, _, kind = rest.rpartition(".")
            name = f"blocks.{i}.{rename[stem]}.{kind}" if stem else f"blocks.{i}.{rename[rest]}"
            release[name] = value[None] if rest == "modulation" else value
        else:
            stem, _, kind = key.rpartition(".")
            release[f"{rename[stem]}.{kind}" if stem else rename[key]] = value[None] if key == "final_mod" else value
    assert "blocks.0.self_attn.tokenizer.conv.weight" in release and release["head.modulation"].shape == (1, 2, 64)
    fresh = HydraDiT(cfg)
    fresh.load_state_dict(release_state_dict_to_ours({"state_dict": release}))
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, ours[k]), k


def test_unusable_wan_configs_are_user_errors():
    with pytest.raises(UserError, match="latent channels"):
        config_from_wan({**TINY_WAN, "in_channels": 16, "out_channels": 16}, base_cfg())
    with pytest.raises(UserError, match="I2V"):
        config_from_wan({**TINY_WAN, "image_dim": 1280}, base_cfg())
