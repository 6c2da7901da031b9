"""Frame-gathered attention: gathered + fused equals a dense masked reference; top-k and windows pick what they should."""

from __future__ import annotations

import math

import pytest
import torch

from hmworld.hydra.attention import (
    gathered_attention,
    per_head_affinity,
    select_memory,
    shared_affinity,
    window_indices,
)


def _inputs(B=2, H=3, F=7, S=4, d=8, M=4, Sm=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, H, F, S, d, generator=g, dtype=torch.float64) for _ in range(3))
    mk, mv = (torch.randn(B, H, M, Sm, d, generator=g, dtype=torch.float64) for _ in range(2))
    return q, k, v, mk, mv


def _dense(q, k, v, mk, mv, selected, valid, window):
    """Softmax over ALL full and memory keys with a mask built by loops."""
    B, H, F, S, d = q.shape
    M, Sm = mk.shape[2], mk.shape[3]
    out = torch.zeros_like(q)
    keys = torch.cat([k.flatten(2, 3), mk.flatten(2, 3)], dim=2)
    values = torch.cat([v.flatten(2, 3), mv.flatten(2, 3)], dim=2)
    w = min(window, F)
    for b in range(B):
        for h in range(H):
            for f in range(F):
                ok = torch.zeros(F * S + M * Sm, dtype=torch.bool)
                start = min(max(f - w // 2, 0), F - w)
                ok[start * S : (start + w) * S] = True
                sel = selected[b, f] if selected.dim() == 3 else selected[b, h, f]
                val = valid[b, f] if valid.dim() == 3 else valid[b, h, f]
                for m, good in zip(sel.tolist(), val.tolist(), strict=True):
                    if good:
                        ok[F * S + m * Sm : F * S + (m + 1) * Sm] = True
                s = q[b, h, f] @ keys[b, h].T / math.sqrt(d)
                out[b, h, f] = s.masked_fill(~ok, float("-inf")).softmax(-1) @ values[b, h]
    return out


@pytest.mark.parametrize(("top_k", "window"), [(2, 3), (1, 1), (4, 7), (3, 2)])
def test_gathered_attention_equals_dense_masked_reference(top_k, window):
    q, k, v, mk, mv = _inputs()
    selected, valid = select_memory(per_head_affinity(q, mk), top_k)
    out = gathered_attention(q, k, v, window_indices(7, window), mk, mv, selected, valid)
    assert out.shape == q.shape
    torch.testing.assert_close(out, _dense(q, k, v, mk, mv, selected, valid, window), rtol=1e-10, atol=1e-10)


def test_invalid_picks_are_masked_out_and_shared_picks_serve_every_head():
    q, k, v, mk, mv = _inputs(seed=3)
    aff = shared_affinity(q.permute(0, 2, 3, 1, 4).flatten(3), mk.permute(0, 2, 3, 1, 4).flatten(3))
    assert aff.shape == (2, 7, 4)
    excluded = torch.zeros(7, 4, dtype=torch.bool)
    excluded[:, 0] = True
    excluded[3, 1:] = True  # frame 3: only memory frame 0... which is excluded too: nothing to retrieve
    selected, valid = select_memory(aff, 2, excluded)
    assert not valid[:, 3].any() and valid[:, 0].all()
    assert (selected[valid] != 0).all()
    out = gathered_attention(q, k, v, window_indices(7, 3), mk, mv, selected, valid)
    torch.testing.assert_close(out, _dense(q, k, v, mk, mv, selected, valid, 3), rtol=1e-10, atol=1e-10)


def test_top_k_picks_the_frames_a_handmade_affinity_prefers():
    # memory frame m's mean key is the unit vector e_m, so frame f's affinity to m is its query's m-th entry
    M, d = 5, 5
    mem_k = torch.eye(M, d).view(1, M, 1, d).repeat(1, 1, 3, 1)
    prefs = torch.tensor([[0.1, 0.9, 0.3, 0.8, 0.0], [5.0, -1.0, 4.0, 0.0, 3.0], [0.0, 0.0, 0.0, 1.0, 2.0]])
    q = prefs.view(1, 3, 1, d).repeat(1, 1, 4, 1)
    affinity = shared_affinity(q, mem_k)
    torch.testing.assert_close(affinity[0], prefs)  # unscaled
    picks, valid = select_memory(affinity, 2)
    assert picks[0].tolist() == [[1, 3], [0, 2], [4, 3]] and valid.all()
    assert select_memory(affinity, 9)[0].shape[-1] == M  # k larger than memory: everything


def test_window_is_centred_and_shifted_inside_the_clip():
    w = window_indices(6, 3)
    assert w.tolist() == [[0, 1, 2], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [3, 4, 5]]
    assert window_indices(2, 5).tolist() == [[0, 1], [0, 1]]
    for f, row in enumerate(window_indices(9, 4).tolist()):
        assert f in row and len(set(row)) == 4


def test_gradients_flow_to_queries_keys_values_and_memory():
    q, k, v, mk, mv = (t.float().requires_grad_() for t in _inputs())
    selected, valid = select_memory(per_head_affinity(q, mk).detach(), 2)
    out = gathered_attention(q, k, v, window_indices(7, 3), mk, mv, selected, valid)
    out.square().sum().backward()
    for t in (q, k, v, mk, mv):
        assert t.grad is not None and t.grad.abs().sum() > 0


def test_keys_per_query_grow_with_k_and_window_not_with_clip_length(monkeypatch):
    import hmworld.hydra.attention as attention

    seen = []
    real = attention.F.scaled_dot_product_attention

    def spy(q, k, v, *args, **kwargs):
        seen.append((tuple(q.shape), tuple(k.shape)))
        return real(q, k, v, *args, **kwargs)

    monkeypatch.setattr(attention.F, "scaled_dot_product_attention", spy)
    for n_frames in (8, 32):
        q, k, v, mk, mv = _inputs(B=1, H=2, F=n_frames, S=6, M=n_frames // 2, Sm=2)
        selected, valid = select_memory(per_head_affinity(q, mk), 3)
        gathered_attention(q, k, v, window_indices(n_frames, 5), mk, mv, selected, valid)
    (q8, k8), (q32, k32) = seen
    assert k8[-2] == k32[-2] == 5 * 6 + 3 * 2  # window × S + k × Sm keys for every query frame
    assert q8[1] == 8 and q32[1] == 32  # query frames are a batch axis of the fused call
