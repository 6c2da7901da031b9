"""Dynamic retrieval attention: gathered + fused equals the dense masked reference; top-k and windows pick what they should."""

from __future__ import annotations

import math

import pytest
import torch

from hmworld.hydra.attention import (
    frame_affinity,
    retrieval_attention,
    retrieval_attention_dense,
    select_memory,
    window_indices,
)


def _inputs(B=2, H=3, F=7, S=4, d=8, M=4, Sm=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, H, F, S, d, generator=g, dtype=torch.float64) for _ in range(3))
    mk, mv = (torch.randn(B, H, M, Sm, d, generator=g, dtype=torch.float64) for _ in range(2))
    return q, k, v, mk, mv


def _naive_selection(q, mk, top_k):
    """Loops over every (batch, head, frame): mean-pool, dot, sort."""
    B, H, F, _, d = q.shape
    M = mk.shape[2]
    out = torch.zeros(B, H, F, min(top_k, M), dtype=torch.long)
    for b in range(B):
        for h in range(H):
            for f in range(F):
                qb = q[b, h, f].mean(0)
                scores = [float(qb @ mk[b, h, m].mean(0)) / math.sqrt(d) for m in range(M)]
                order = sorted(range(M), key=lambda m: -scores[m])[: out.shape[-1]]
                out[b, h, f] = torch.tensor(order)
    return out


@pytest.mark.parametrize(("top_k", "window"), [(2, 3), (1, 1), (4, 7), (3, 2)])
def test_gathered_attention_equals_dense_masked_reference(top_k, window):
    q, k, v, mk, mv = _inputs()
    out, selected = retrieval_attention(q, k, v, mk, mv, top_k, window)
    assert out.shape == q.shape
    assert selected.shape == (2, 3, 7, min(top_k, 4))
    ref = retrieval_attention_dense(q, k, v, mk, mv, selected, window)
    torch.testing.assert_close(out, ref, rtol=1e-10, atol=1e-10)


def test_selection_matches_a_naive_loop_and_the_dense_reference_on_it():
    q, k, v, mk, mv = _inputs(seed=3)
    naive = _naive_selection(q, mk, 2)
    _, selected = retrieval_attention(q, k, v, mk, mv, top_k=2, window=3)
    assert torch.equal(selected.sort(-1).values, naive.sort(-1).values)
    out, _ = retrieval_attention(q, k, v, mk, mv, top_k=2, window=3, selected=naive)
    torch.testing.assert_close(out, retrieval_attention_dense(q, k, v, mk, mv, naive, 3))


def test_top_k_picks_the_frames_a_handmade_affinity_prefers():
    # memory frame m's mean key is the unit vector e_m, so frame f's affinity to m is its query's m-th entry
    M, d = 5, 5
    mem_k = torch.eye(M, d).view(1, 1, M, 1, d).repeat(1, 1, 1, 3, 1)
    prefs = torch.tensor([[0.1, 0.9, 0.3, 0.8, 0.0], [5.0, -1.0, 4.0, 0.0, 3.0], [0.0, 0.0, 0.0, 1.0, 2.0]])
    q = prefs.view(1, 1, 3, 1, d).repeat(1, 1, 1, 4, 1)
    affinity = frame_affinity(q, mem_k)
    torch.testing.assert_close(affinity[0, 0], prefs / math.sqrt(d))
    picks = select_memory(affinity, 2)[0, 0]
    assert picks.tolist() == [[1, 3], [0, 2], [4, 3]]
    assert select_memory(affinity, 9).shape[-1] == M  # k larger than memory: everything


def test_window_is_centred_and_shifted_inside_the_clip():
    w = window_indices(6, 3)
    assert w.tolist() == [[0, 1, 2], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [3, 4, 5]]
    assert window_indices(2, 5).tolist() == [[0, 1], [0, 1]]
    for f, row in enumerate(window_indices(9, 4).tolist()):
        assert f in row and len(set(row)) == 4


def test_a_frame_neither_in_the_window_nor_retrieved_cannot_affect_a_query():
    q, k, v, mk, mv = _inputs(F=8, seed=5)
    out, selected = retrieval_attention(q, k, v, mk, mv, top_k=1, window=3)
    # query frame 0 sees full frames 0..2; changing frame 6's keys and values leaves it alone
    k2, v2 = k.clone(), v.clone()
    k2[:, :, 6] += 3.0
    v2[:, :, 6] += 3.0
    out2, _ = retrieval_attention(q, k2, v2, mk, mv, top_k=1, window=3, selected=selected)
    torch.testing.assert_close(out2[:, :, 0], out[:, :, 0])
    assert not torch.allclose(out2[:, :, 6], out[:, :, 6])
    # but the memory frame it retrieved does reach it
    mv2 = mv.clone()
    b_idx = torch.arange(2)[:, None]
    h_idx = torch.arange(3)[None, :]
    mv2[b_idx, h_idx, selected[:, :, 0, 0]] += 3.0
    out3, _ = retrieval_attention(q, k, v, mk, mv2, top_k=1, window=3, selected=selected)
    assert not torch.allclose(out3[:, :, 0], out[:, :, 0])


def test_gradients_flow_to_queries_keys_values_and_memory():
    q, k, v, mk, mv = (t.float().requires_grad_() for t in _inputs())
    out, _ = retrieval_attention(q, k, v, mk, mv, top_k=2, window=3)
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
        retrieval_attention(q, k, v, mk, mv, top_k=3, window=5)
    (q8, k8), (q32, k32) = seen
    assert k8[-2] == k32[-2] == 5 * 6 + 3 * 2  # window × S + k × Sm keys for every query frame
    assert q8[1] == 8 and q32[1] == 32  # query frames are a batch axis of the fused call
