"""The `hydra` default follows the public release, point by point (issue 15, points 1–8).

Each test writes a small dense reference from the method's description
(not from our code): loops over frames, explicit masks over every key,
complex-number rotary embedding, an unfolded convolution. It then checks
that our module selects the same tokens and gives the same output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hmworld.hydra import flow
from hmworld.hydra import model as model_module
from hmworld.hydra.baselines import fov_overlap, select_context_fov_per_frame
from hmworld.hydra.config import RELEASED_NEGATIVE_PROMPT, model_config
from hmworld.hydra.model import Block, HydraDiT
from hmworld.hydra.pipeline import Prepared, predictor, training_loss

TOL = dict(atol=2e-5, rtol=1e-4)


def small_cfg(**kw):
    base = dict(dim=48, heads=4, depth=1, frame_size=(16, 16), frames=16, pixel_patch=(1, 4), top_k=3, local_window=3)
    base.update(kw)
    return model_config("tiny", kw.pop("mode", "hydra"), **{k: v for k, v in base.items() if k != "mode"})


def randomise(module: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() > 1 else 0.5))


# ----------------------------------------------------------------------------- reference pieces


def ref_rmsnorm(x, weight):
    return x / torch.sqrt((x**2).mean(-1, keepdim=True) + 1e-6) * weight


def ref_rotate(x, t, h, w):
    """x [..., N, d] rotated with Wan's 3-D RoPE at positions t, h, w [N], via complex numbers."""
    d = x.shape[-1]
    dh = 2 * (d // 6)
    dt = d - 2 * dh
    angles = []
    for pos, dim in ((t, dt), (h, dh), (w, dh)):
        inv = 10000.0 ** (-(torch.arange(dim // 2, dtype=torch.float64) * 2) / dim)
        angles.append(pos.double()[:, None] * inv[None])
    ang = torch.cat(angles, dim=1)  # [N, d/2]
    z = torch.complex(x[..., 0::2].double(), x[..., 1::2].double()) * torch.polar(torch.ones_like(ang), ang)
    return torch.stack([z.real, z.imag], dim=-1).flatten(-2).float()


def ref_conv_2x2x2(g, weight, bias):
    """g [B, F, gh, gw, D] (even sizes) → memory tokens [B, F/2, gh/2·gw/2, D] by an unfolded 2×2×2 conv."""
    B, F, gh, gw, D = g.shape
    patches = g.view(B, F // 2, 2, gh // 2, 2, gw // 2, 2, D)
    res = torch.zeros(B, F // 2, gh // 2, gw // 2, weight.shape[0])
    for a in range(2):
        for b in range(2):
            for c in range(2):
                res += patches[:, :, a, :, b, :, c, :] @ weight[:, :, a, b, c].T
    return (res + bias).reshape(B, F // 2, (gh // 2) * (gw // 2), -1)


def ref_window(f, n_frames, w):
    start = min(max(f - w // 2, 0), n_frames - w)
    return list(range(start, start + w))


def dense_attention(q, keys, values, allowed):
    """q [H, S, d], keys/values [H, L, d], allowed [L] bool → [H, S, d]: softmax over all keys with a mask."""
    scores = q @ keys.transpose(-1, -2) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~allowed, float("-inf"))
    return scores.softmax(-1) @ values


def heads(x, H):
    return x.unflatten(-1, (H, -1)).movedim(-2, 0)  # [..., N, D] → [H, ..., N, d]


# ----------------------------------------------------------------------------- points 1–4


def reference_retrieval(block: Block, h: torch.Tensor, n_ctx: int, grid: tuple[int, int], top_k: int, window: int):
    """Points 1–4 from the description: returns (selected memory frames per (b, f), attention output [B,F,S,D])."""
    B, n_frames, S, D = h.shape
    H = block.heads
    gh, gw = grid
    W = {n: p.detach() for n, p in block.named_parameters()}
    q = ref_rmsnorm(h @ W["q.weight"].T + W["q.bias"], W["q_norm.weight"])
    k = ref_rmsnorm(h @ W["k.weight"].T + W["k.bias"], W["k_norm.weight"])
    v = h @ W["v.weight"].T + W["v.bias"]
    # 3: one 2×2×2 conv over the whole sequence (context and target together), same k/v projections, full-width key norm
    mem = ref_conv_2x2x2(h.view(B, n_frames, gh, gw, D), W["tokenizer.weight"], W["tokenizer.bias"])
    M, Sm = mem.shape[1], mem.shape[2]
    mk = ref_rmsnorm(mem @ W["k.weight"].T + W["k.bias"], W["k_norm.weight"])
    mv = mem @ W["v.weight"].T + W["v.bias"]
    # 4: rotary positions; memory at time 2m + 0.5, row 2i, column 2j
    ft = torch.arange(n_frames).repeat_interleave(S).double()
    fh = torch.arange(gh).repeat_interleave(gw).repeat(n_frames).double()
    fw = torch.arange(gw).repeat(gh * n_frames).double()
    mt = (torch.arange(M) * 2 + 0.5).repeat_interleave(Sm).double()
    mh = (torch.arange(gh // 2) * 2).repeat_interleave(gw // 2).repeat(M).double()
    mw = (torch.arange(gw // 2) * 2).repeat((gh // 2) * M).double()
    out = torch.zeros(B, n_frames, S, D)
    chosen = {}
    for b in range(B):
        qh = ref_rotate(heads(q[b].reshape(-1, D), H), ft, fh, fw)  # [H, F·S, d]
        kh = ref_rotate(heads(k[b].reshape(-1, D), H), ft, fh, fw)
        vh = heads(v[b].reshape(-1, D), H)
        mkh = ref_rotate(heads(mk[b].reshape(-1, D), H), mt, mh, mw)
        mvh = heads(mv[b].reshape(-1, D), H)
        for f in range(n_frames):
            win = ref_window(f, n_frames, window)
            # 1: one score per memory frame, shared by all heads: mean query (normed, unrotated) · mean memory key
            scores = {m: float(q[b, f].mean(0) @ mk[b, m].mean(0)) for m in range(M)}
            # 2: memory frames wholly inside the window are no candidates
            cands = [m for m in range(M) if not (2 * m >= win[0] and 2 * m + 1 <= win[-1])]
            picked = sorted(cands, key=lambda m: -scores[m])[:top_k]
            chosen[b, f] = sorted(picked)
            allowed = torch.zeros(n_frames * S + M * Sm, dtype=torch.bool)
            for g in win:
                allowed[g * S : (g + 1) * S] = True
            for m in picked:
                allowed[n_frames * S + m * Sm : n_frames * S + (m + 1) * Sm] = True
            keys = torch.cat([kh, mkh], dim=1)
            values = torch.cat([vh, mvh], dim=1)
            o = dense_attention(qh[:, f * S : (f + 1) * S], keys, values, allowed)  # [H, S, d]
            out[b, f] = o.movedim(0, 1).reshape(S, D)
    return chosen, out @ W["o.weight"].T + W["o.bias"]


def test_points_1_to_4_retrieval_selects_and_attends_like_the_dense_reference(monkeypatch):
    cfg = small_cfg(frames=16)  # 16 latent frames: 8 context, 8 target; 4×4 tokens per frame
    block = Block(cfg, text=False)
    randomise(block, 1)
    hydra_model = HydraDiT(cfg)
    n_ctx, grid = 5, (4, 4)  # an odd split: memory token 2 spans a context and a target frame (joint tokenizer)
    layout = hydra_model.layout(n_ctx, 16 - n_ctx, grid, torch.device("cpu"), None)
    h = torch.randn(2, 16, 16, cfg.dim, generator=torch.Generator().manual_seed(2))
    seen = {}
    real_select = model_module.select_memory

    def recording(affinity, top_k, excluded):
        idx, valid = real_select(affinity, top_k, excluded)
        seen["idx"], seen["valid"], seen["affinity"] = idx, valid, affinity
        return idx, valid

    monkeypatch.setattr(model_module, "select_memory", recording)
    with torch.no_grad():
        ours = block.attend(h, layout)
        chosen, ref = reference_retrieval(block, h, n_ctx, grid, cfg.top_k, cfg.local_window)
    assert seen["affinity"].shape == (2, 16, 8)  # one score per (query frame, memory frame): shared by heads
    for (b, f), picked in chosen.items():
        got = sorted(seen["idx"][b, f][seen["valid"][b, f]].tolist())
        assert got == picked, (b, f)
    torch.testing.assert_close(ours, ref, **TOL)


def test_point_2_only_memory_wholly_inside_the_window_is_excluded():
    from hmworld.hydra.attention import inside_window

    spans = torch.tensor([[0, 1], [2, 3], [4, 5], [6, 7]])
    ex = inside_window(spans, 8, 5)
    # frame 0's window is 0..4: tokens 0 and 1 lie inside; token 2 (4..5) straddles its edge
    assert ex[0].tolist() == [True, True, False, False]
    assert ex[4].tolist() == [False, True, True, False]  # window 2..6
    assert ex[7].tolist() == [False, False, True, True]  # window 3..7


def test_point_3_memory_tokenizer_is_one_2x2x2_conv_over_the_joint_sequence():
    cfg = small_cfg()
    assert cfg.tokenizer_kernel == (2, 2, 2) and cfg.memory_scope == "joint"
    block = Block(cfg, text=False)
    randomise(block, 3)
    hm = HydraDiT(cfg)
    layout = hm.layout(3, 5, (4, 4), torch.device("cpu"), None)
    h = torch.randn(1, 8, 16, cfg.dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ours = block.memory_tokens(h, layout)
        ref = ref_conv_2x2x2(h.view(1, 8, 4, 4, cfg.dim), block.tokenizer.weight, block.tokenizer.bias)
    torch.testing.assert_close(ours, ref, **TOL)
    assert layout.memory.spans.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert layout.memory.times.tolist() == [0.5, 2.5, 4.5, 6.5]


def test_released_defaults():
    cfg = model_config("base", "hydra", vae_path="x")
    assert (cfg.top_k, cfg.local_window, cfg.tokenizer_kernel, cfg.fov_k) == (10, 5, (2, 2, 2), 5)
    assert (cfg.affinity, cfg.candidates, cfg.memory_scope, cfg.qk_norm, cfg.positions) == (
        "released", "outside-window", "joint", "across-heads", "rope")  # fmt: skip
    assert (cfg.camera_at, cfg.timestep, cfg.loss_weighting, cfg.fov_rule) == (
        "attention-input", "shared", "released", "per-frame")  # fmt: skip
    assert (cfg.shift, cfg.sample_steps, cfg.cfg_scale) == (5.0, 50, 5.0)


# ----------------------------------------------------------------------------- point 5


def reference_full_block(block: Block, x, e, cam, n_ctx, grid):
    """Wan block, full attention, with the camera added after norm and modulation (point 5)."""
    B, n_frames, S, D = x.shape
    H = block.heads
    W = {n: p.detach() for n, p in block.named_parameters()}
    mod = W["modulation"] + e  # [B, F, 6, D]
    sh1, sc1, g1, sh2, sc2, g2 = (mod[:, :, i, None, :] for i in range(6))
    ln = torch.nn.functional.layer_norm
    cam_emb = torch.cat([cam[:, :n_ctx] @ W["cam_ctx.weight"].T + W["cam_ctx.bias"],
                         cam[:, n_ctx:] @ W["cam_tgt.weight"].T + W["cam_tgt.bias"]], dim=1)[:, :, None]  # fmt: skip
    h = ln(x, (D,), eps=1e-6) * (1 + sc1) + sh1 + cam_emb
    q = ref_rmsnorm(h @ W["q.weight"].T + W["q.bias"], W["q_norm.weight"])
    k = ref_rmsnorm(h @ W["k.weight"].T + W["k.bias"], W["k_norm.weight"])
    v = h @ W["v.weight"].T + W["v.bias"]
    gh, gw = grid
    ft = torch.arange(n_frames).repeat_interleave(S).double()
    fh = torch.arange(gh).repeat_interleave(gw).repeat(n_frames).double()
    fw = torch.arange(gw).repeat(gh * n_frames).double()
    att = torch.zeros(B, n_frames * S, D)
    for b in range(B):
        qh = ref_rotate(heads(q[b].reshape(-1, D), H), ft, fh, fw)
        kh = ref_rotate(heads(k[b].reshape(-1, D), H), ft, fh, fw)
        vh = heads(v[b].reshape(-1, D), H)
        att[b] = dense_attention(qh, kh, vh, torch.ones(kh.shape[1], dtype=torch.bool)).movedim(0, 1).reshape(-1, D)
    att = att.view(B, n_frames, S, D) @ W["o.weight"].T + W["o.bias"]
    x = x + g1 * (att @ W["projector.weight"].T + W["projector.bias"])
    m = ln(x, (D,), eps=1e-6) * (1 + sc2) + sh2
    m = torch.nn.functional.gelu(m @ W["mlp.0.weight"].T + W["mlp.0.bias"], approximate="tanh")
    return x + g2 * (m @ W["mlp.2.weight"].T + W["mlp.2.bias"])


def test_point_5_cameras_add_to_the_attention_input_not_the_residual():
    cfg = small_cfg(mode="full-context")
    block = Block(cfg, text=False)
    randomise(block, 5)
    hm = HydraDiT(cfg)
    layout = hm.layout(3, 5, (4, 4), torch.device("cpu"), None)
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 8, 16, cfg.dim, generator=g)
    e = torch.randn(2, 8, 6, cfg.dim, generator=g) * 0.2
    cam = torch.randn(2, 8, 12, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(block(x, e, cam, layout, None), reference_full_block(block, x, e, cam, 3, (4, 4)), **TOL)
        # the ablation adds to the residual stream instead: a different result
        other = Block(cfg.replace(camera_at="residual"), text=False)
        other.load_state_dict(block.state_dict())
        assert not torch.allclose(other(x, e, cam, layout, None), block(x, e, cam, layout, None), atol=1e-3)


# ----------------------------------------------------------------------------- point 6


def ref_time_features(t, dim=256):
    half = dim // 2
    f = 10000.0 ** (-torch.arange(half, dtype=torch.float64) / half)
    a = t.double()[..., None] * f
    return torch.cat([a.cos(), a.sin()], dim=-1).float()


@pytest.mark.parametrize("timestep", ["shared", "per-frame"])
def test_point_6_one_timestep_modulates_every_frame(timestep):
    cfg = small_cfg(mode="full-context", timestep=timestep)
    model = HydraDiT(cfg).eval()
    captured = {}
    model.blocks[0].register_forward_pre_hook(lambda mod, args: captured.update(e=args[1]))
    g = torch.Generator().manual_seed(7)
    ctx, tgt = torch.randn(2, 48, 8, 4, 4, generator=g), torch.randn(2, 48, 8, 4, 4, generator=g)
    t = torch.tensor([0.3, 0.8])
    with torch.no_grad():
        model(ctx, tgt, t, torch.zeros(2, 8, 12), torch.zeros(2, 8, 12))
    W = {n: p.detach() for n, p in model.named_parameters()}

    def ref_e(tt):
        z = ref_time_features(tt * 1000.0) @ W["time_embed.0.weight"].T + W["time_embed.0.bias"]
        z = torch.nn.functional.silu(z) @ W["time_embed.2.weight"].T + W["time_embed.2.bias"]
        return (torch.nn.functional.silu(z) @ W["time_proj.1.weight"].T + W["time_proj.1.bias"]).view(-1, 6, cfg.dim)

    e = captured["e"]
    ctx_t = t if timestep == "shared" else torch.zeros(2)
    for f in range(8):
        torch.testing.assert_close(e[:, f], ref_e(ctx_t), **TOL)
        torch.testing.assert_close(e[:, 8 + f], ref_e(t), **TOL)


# ----------------------------------------------------------------------------- point 7


def test_point_7_released_timestep_weighting_and_target_half_loss():
    times, weights = flow.released_schedule(1000, 5.0)
    sig = torch.linspace(1.0, 0.0, 1001, dtype=torch.float64)[:-1]
    sig = 5 * sig / (1 + 4 * sig)
    y = torch.exp(-2 * ((sig * 1000 - 500) / 1000) ** 2)
    y = (y - y.min()) * 1000 / (y - y.min()).sum()
    torch.testing.assert_close(times, sig.float())
    torch.testing.assert_close(weights, y.float())
    assert abs(float(weights.mean()) - 1.0) < 1e-5

    class Fixed(torch.nn.Module):  # a model whose velocity is a known function of x_t
        text_proj = None

        def forward(self, ctx, x_t, t, *a, **k):
            return 0.5 * x_t

    g = torch.Generator().manual_seed(8)
    prep = Prepared(torch.randn(2, 3, 4, 2, 2, generator=g), torch.randn(2, 3, 4, 2, 2, generator=g),
                    torch.zeros(2, 4, 12), torch.zeros(2, 4, 12), None, ["", ""], 4, 4)  # fmt: skip
    cfg = small_cfg()
    loss = training_loss(Fixed(), prep, torch.Generator().manual_seed(9), cfg)
    # the same draws by hand: noise first, then the timestep index
    g2 = torch.Generator().manual_seed(9)
    noise = torch.randn(prep.tgt.shape, generator=g2)
    idx = torch.randint(0, 1000, (2,), generator=g2)
    t = sig.float()[idx].view(2, 1, 1, 1, 1)
    x_t = (1 - t) * prep.tgt + t * noise
    mse = ((0.5 * x_t - (noise - prep.tgt)) ** 2).flatten(1).mean(1)
    torch.testing.assert_close(loss, (mse * y.float()[idx]).mean(), **TOL)


def test_point_7_sampler_is_euler_on_the_shifted_schedule_with_guidance():
    sig = torch.linspace(1.0, 0.0, 51)[:-1]
    sig = torch.cat([5 * sig / (1 + 4 * sig), torch.zeros(1)])
    torch.testing.assert_close(flow.sample_schedule(50, 5.0), sig)

    class Text(torch.nn.Module):  # velocity depends on the caption: "a" → 1, negative prompt → -1
        text_proj = True

        def forward(self, ctx, x_t, t, *a, captions=None, **k):
            sign = torch.tensor([1.0 if c == "a" else -1.0 for c in captions]).view(-1, 1, 1, 1, 1)
            return sign * torch.ones_like(x_t)

    prep = Prepared(torch.zeros(1, 1, 1, 1, 1), torch.zeros(1, 1, 1, 1, 1), torch.zeros(1, 1, 12),
                    torch.zeros(1, 1, 12), None, ["a"], 1, 1)  # fmt: skip
    cfg = small_cfg(text="hash")
    assert cfg.negative_prompt == RELEASED_NEGATIVE_PROMPT
    v = predictor(Text(), prep, cfg.cfg_scale, cfg.negative_prompt)(torch.zeros(1, 1, 1, 1, 1), torch.ones(1))
    assert float(v) == pytest.approx(-1.0 + 5.0 * (1.0 - -1.0))


# ----------------------------------------------------------------------------- point 8


def test_point_8_fov_baseline_picks_per_query_frame_and_attends_like_the_reference():
    cfg = small_cfg(mode="fov-retrieval", fov_k=2, local_window=3)
    block = Block(cfg, text=False)
    randomise(block, 10)
    hm = HydraDiT(cfg)
    B, n_ctx, n_tgt, S, D, H = 2, 5, 4, 16, cfg.dim, cfg.heads
    n_frames = n_ctx + n_tgt
    g = torch.Generator().manual_seed(11)
    fov = torch.stack([torch.stack([torch.randperm(n_ctx, generator=g)[:2] for _ in range(n_tgt)]) for _ in range(B)])
    layout = hm.layout(n_ctx, n_tgt, (4, 4), torch.device("cpu"), fov)
    h = torch.randn(B, n_frames, S, D, generator=g)
    with torch.no_grad():
        ours = block.attend(h, layout)
    W = {n: p.detach() for n, p in block.named_parameters()}
    q = ref_rmsnorm(h @ W["q.weight"].T + W["q.bias"], W["q_norm.weight"])
    k = ref_rmsnorm(h @ W["k.weight"].T + W["k.bias"], W["k_norm.weight"])
    v = h @ W["v.weight"].T + W["v.bias"]
    ft = torch.arange(n_frames).repeat_interleave(S).double()
    fh = torch.arange(4).repeat_interleave(4).repeat(n_frames).double()
    fw = torch.arange(4).repeat(4 * n_frames).double()
    ref = torch.zeros(B, n_frames, S, D)
    for b in range(B):
        qh = ref_rotate(heads(q[b].reshape(-1, D), H), ft, fh, fw)
        kh = ref_rotate(heads(k[b].reshape(-1, D), H), ft, fh, fw)
        vh = heads(v[b].reshape(-1, D), H)
        q_mean = qh.view(H, n_frames, S, -1).mean(2).movedim(0, 1).reshape(n_frames, D)  # rotated, full width
        k_mean = kh.view(H, n_frames, S, -1).mean(2).movedim(0, 1).reshape(n_frames, D)
        for f in range(n_frames):
            if f >= n_ctx:  # target frame: a chunk of target frames around it + its FOV context frames
                frames = [n_ctx + j for j in ref_window(f - n_ctx, n_tgt, 3)] + fov[b, f - n_ctx].tolist()
            else:  # context frame: the release's clamped chunk (last target frames) + top context frames by affinity
                aff = q_mean[f] @ k_mean[:n_ctx].T
                frames = [n_ctx + j for j in ref_window(n_tgt - 1, n_tgt, 3)] + aff.argsort(descending=True)[:2].tolist()
            allowed = torch.zeros(n_frames * S, dtype=torch.bool)
            for fr in frames:
                allowed[fr * S : (fr + 1) * S] = True
            ref[b, f] = dense_attention(qh[:, f * S : (f + 1) * S], kh, vh, allowed).movedim(0, 1).reshape(S, D)
    torch.testing.assert_close(ours, ref @ W["o.weight"].T + W["o.bias"], **TOL)


def test_point_8_fov_frames_are_the_most_overlapping_context_frames_of_each_target():
    rng = np.random.default_rng(0)
    yaw = np.linspace(-1.5, 1.5, 9)
    cams = np.zeros((1, 9, 12))
    for i, a in enumerate(yaw):  # cameras turning about the vertical (OpenCV y) axis, at the origin
        R = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        cams[0, i] = np.concatenate([R, rng.normal(0, 0.01, (3, 1))], axis=1).reshape(-1)
    K = torch.tensor([[[0.8, 0, 0.5], [0, 0.8, 0.5], [0, 0, 1.0]]])
    ctx, tgt = torch.from_numpy(cams[:, :5]).float(), torch.from_numpy(cams[:, 5:]).float()
    picks = select_context_fov_per_frame(ctx, tgt, K, 2)
    for j in range(4):
        share = [float(fov_overlap(cams[0, c : c + 1], cams[0, 5 + j : 6 + j], K[0].double().numpy())[0, 0]) for c in range(5)]
        assert picks[0, j].tolist() == list(np.argsort(-np.array(share), kind="stable")[:2])
