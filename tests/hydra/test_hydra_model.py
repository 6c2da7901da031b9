"""The diffusion transformer: inits that keep added parts harmless, the three modes, text, checkpointing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hmworld.errors import UserError
from hmworld.hydra.config import ModelConfig, model_config, parse_kernel, parse_size
from hmworld.hydra.model import HydraDiT

MODES = ("hydra", "full-context", "fov-retrieval")


def _model(mode="hydra", seed=0, **kw) -> HydraDiT:
    torch.manual_seed(seed)
    model = HydraDiT(model_config("tiny", mode, **kw)).eval()
    with torch.no_grad():  # a "pretrained" output layer, so outputs are not trivially zero
        model.final.weight.normal_(std=0.2)
    return model


def _inputs(cfg: ModelConfig, B=2, Fc=8, Ft=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    h, w = cfg.frame_size[0] // cfg.space_factor, cfg.frame_size[1] // cfg.space_factor
    C = cfg.latent_channels
    ctx = torch.randn(B, C, Fc, h, w, generator=g)
    tgt = torch.randn(B, C, Ft, h, w, generator=g)
    t = torch.rand(B, generator=g)
    cams = torch.randn(B, Fc + Ft, 12, generator=g)
    keep = torch.stack([torch.randperm(Fc, generator=g)[: cfg.fov_k].sort().values for _ in range(B)])
    fov = torch.stack([torch.stack([torch.randperm(Fc, generator=g)[: cfg.fov_k] for _ in range(Ft)]) for _ in range(B)])
    return ctx, tgt, t, cams[:, :Fc], cams[:, Fc:], {"ctx_keep": keep, "fov_frames": fov}


@pytest.mark.parametrize("mode", MODES)
def test_zero_initialised_camera_encoders_leave_the_output_unchanged(mode):
    model = _model(mode)
    ctx, tgt, t, cc, ct, keep = _inputs(model.cfg)
    with torch.no_grad():
        a = model(ctx, tgt, t, cc, ct, **keep)
        b = model(ctx, tgt, t, torch.randn_like(cc) * 5, torch.randn_like(ct) * 5, **keep)
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert a.abs().mean() > 1e-3  # the output is not trivially zero
        for block in model.blocks:  # once the encoders learn something, cameras matter
            block.cam_tgt.weight.normal_(std=0.1)
        c = model(ctx, tgt, t, cc, ct, **keep)
        d = model(ctx, tgt, t, cc, torch.randn_like(ct) * 5, **keep)
    assert not torch.allclose(c, d)


def test_projector_starts_as_identity_and_the_mean_ablation_tokenizer_as_average_pooling():
    model = _model("hydra", tokenizer_init="mean", memory_scope="per-stream")
    x = torch.randn(3, 5, 64)
    block = model.blocks[0]
    torch.testing.assert_close(block.projector(x), x)
    h = torch.randn(2, 8, 64, 64)  # B, F (4 context + 4 target), S = 8×8 grid, D
    mem = block.memory_tokens(h, model.layout(4, 4, (8, 8), torch.device("cpu"), None))
    grid = h.view(2, 8, 8, 8, 64).permute(0, 4, 1, 2, 3)
    pooled = torch.cat([F.avg_pool3d(grid[:, :, :4], 2), F.avg_pool3d(grid[:, :, 4:], 2)], dim=2)
    torch.testing.assert_close(mem, pooled.flatten(3).permute(0, 2, 3, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel", [(2, 2, 2), (1, 4, 4), (2, 8, 8), (3, 3, 3)])
def test_every_tokenizer_kernel_runs_and_trains(kernel):
    model = _model("hydra", tokenizer_kernel=kernel).train()
    ctx, tgt, t, cc, ct, _ = _inputs(model.cfg, Fc=5, Ft=3)
    out = model(ctx, tgt, t, cc, ct)
    assert out.shape == tgt.shape
    out.square().mean().backward()
    assert model.blocks[0].tokenizer.weight.grad.abs().sum() > 0


def test_global_fov_retrieval_keeping_every_frame_is_the_full_context_model():
    fov = _model("fov-retrieval", fov_rule="global")
    full = HydraDiT(model_config("tiny", "full-context")).eval()
    full.load_state_dict(fov.state_dict())
    ctx, tgt, t, cc, ct, _ = _inputs(fov.cfg)
    every = torch.arange(8).expand(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(fov(ctx, tgt, t, cc, ct, ctx_keep=every), full(ctx, tgt, t, cc, ct))
        # keeping fewer frames changes what the targets can see
        assert not torch.allclose(fov(ctx, tgt, t, cc, ct, ctx_keep=every[:, :3]), full(ctx, tgt, t, cc, ct))
    with pytest.raises(ValueError, match="ctx_keep"):
        fov(ctx, tgt, t, cc, ct)


def test_context_frames_reach_the_targets_in_every_mode():
    for mode in MODES:
        model = _model(mode)
        ctx, tgt, t, cc, ct, _ = _inputs(model.cfg)
        keep = {"ctx_keep": torch.arange(8).expand(2, 8), "fov_frames": torch.arange(8).expand(2, 8, 8)[..., :5]}
        with torch.no_grad():
            a = model(ctx, tgt, t, cc, ct, **keep)
            b = model(ctx + 1.0, tgt, t, cc, ct, **keep)
        assert not torch.allclose(a, b), mode


def test_hash_text_conditioning_changes_the_output_and_none_ignores_captions():
    texted = _model("hydra", text="hash")
    plain = _model("hydra")
    ctx, tgt, t, cc, ct, _ = _inputs(texted.cfg)
    with torch.no_grad():
        a = texted(ctx, tgt, t, cc, ct, captions=["a red cube walks", "a dog"])
        b = texted(ctx, tgt, t, cc, ct, captions=["two blue cubes run", ""])
        assert torch.isfinite(b).all()
        assert not torch.allclose(a, b)
        torch.testing.assert_close(
            plain(ctx, tgt, t, cc, ct, captions=["x", "y"]), plain(ctx, tgt, t, cc, ct, captions=["p", "q"])
        )


def test_gradient_checkpointing_gives_the_same_gradients():
    grads = []
    for ckpt in (False, True):
        model = _model("hydra").train()
        model.grad_checkpoint = ckpt
        ctx, tgt, t, cc, ct, _ = _inputs(model.cfg)
        model(ctx, tgt, t, cc, ct).square().mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    torch.testing.assert_close(grads[0], grads[1])


def test_config_rejects_bad_values_with_one_line_errors():
    with pytest.raises(UserError, match="unknown model 'memory'"):
        model_config("tiny", "memory")
    with pytest.raises(UserError, match="unknown config 'huge'"):
        model_config("huge")
    with pytest.raises(UserError, match="--vae"):
        model_config("base")
    with pytest.raises(UserError, match="token holds 192 latent values"):
        model_config("tiny", patch=2)
    with pytest.raises(UserError, match="multiples of 4"):
        model_config("tiny", frame_size=(30, 32))
    with pytest.raises(UserError, match="TxHxW"):
        parse_kernel("2x2")
    with pytest.raises(UserError, match="WIDTHxHEIGHT"):
        parse_size("big")
    assert parse_kernel("1x4x4") == (1, 4, 4) and parse_size("160x96") == (96, 160)


def test_config_round_trips_through_a_dict():
    cfg = model_config("small", "fov-retrieval", top_k=7, tokenizer_kernel=(1, 4, 4))
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    base = model_config("base", vae_path="/models/wan")
    assert base.latent == "wan-vae" and base.token_grid == (30, 52) and base.latent_channels == 16


@pytest.mark.parametrize("mode", MODES)
def test_bf16_autocast_forward_and_backward(mode):
    model = _model(mode, text="hash").train()
    ctx, tgt, t, cc, ct, keep = _inputs(model.cfg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(ctx, tgt, t, cc, ct, **keep, captions=["a dog", "two cubes"])
        loss = (out.float() - tgt).square().mean()
    loss.backward()
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
