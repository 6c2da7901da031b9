"""States, hysteresis, events and pairs: hand-built cases with known answers, and an oracle."""

from __future__ import annotations

import numpy as np
import pytest
from events_support import H, W, make_shot, steps
from hypothesis import given, settings
from hypothesis import strategies as st

from hmworld.clip import ClipRecord, Measured
from hmworld.errors import UserError
from hmworld.events import (
    EVENT_KINDS,
    OCCLUDED,
    OUT_OF_FRAME,
    VISIBLE,
    ClipEvents,
    Event,
    EventParams,
    Pair,
    box_view,
    clip_events,
    compute_states,
    detect_events,
    stable_states,
)
from hmworld.geometry import project


def record(shot, visible, silhouette="same") -> ClipRecord:
    vis = np.atleast_2d(np.asarray(visible))
    sil = (
        vis.copy()
        if isinstance(silhouette, str)
        else (None if silhouette is None else np.atleast_2d(silhouette))
    )
    return ClipRecord(path=None, shot=shot, measured=Measured(vis, sil), backend={}, stats={})


def kinds(ce: ClipEvents) -> list[tuple[int, str, int]]:
    return [(e.subject, e.kind, e.frame) for e in ce.events]


# --------------------------------------------------------------------------- known answers


def test_walks_out_of_the_left_edge_at_40_and_back_at_90():
    ce = clip_events(record(make_shot(), steps(150, (0, 40, 30), (90, 150, 30))))
    assert kinds(ce) == [(0, "exit", 40), (0, "entry", 90)]
    assert ce.pairs == (Pair(subject=0, exit_frame=40, entry_frame=90, hidden_frames=50),)
    assert ce.passed
    exit_event = ce.events[0]
    assert exit_event.time_s == pytest.approx(40 / 15)
    assert ce.events[1].time_s == pytest.approx(6.0)
    assert (ce.states[0, :40] == VISIBLE).all() and (ce.states[0, 40:90] == OUT_OF_FRAME).all()


def test_passing_behind_a_box_is_occluded_not_an_exit():
    vis = steps(150, (0, 60, 30), (75, 150, 30))
    sil = np.full(150, 30)  # in frame all along: hidden, not gone
    ce = clip_events(record(make_shot(), vis, sil))
    assert kinds(ce) == [(0, "occluded", 60), (0, "revealed", 75)]
    assert ce.pairs == () and not ce.passed
    assert (ce.states[0, 60:75] == OCCLUDED).all()


@pytest.mark.parametrize("count", [0, 30])
def test_never_seen_or_always_visible_makes_no_pair(count):
    ce = clip_events(record(make_shot(), np.full(150, count)))
    assert ce.events == () and ce.pairs == () and not ce.passed
    assert (ce.states == (VISIBLE if count else OUT_OF_FRAME)).all()


@pytest.mark.parametrize("k", [2, 3, 5])
def test_flicker_at_the_border_shorter_than_k_makes_no_event(k):
    vis = np.full(150, 30)
    vis[50 : 50 + k - 1] = 0  # k-1 frames out, then back
    vis[100 : 100 + k - 1] = 0
    ce = clip_events(record(make_shot(), vis), EventParams(min_frames=k))
    assert ce.events == ()
    vis[50 : 50 + k] = 0  # k frames out: now it counts
    ce = clip_events(record(make_shot(), vis), EventParams(min_frames=k))
    assert kinds(ce) == [(0, "exit", 50), (0, "entry", 50 + k)]
    assert ce.pairs[0].hidden_frames == k


def test_alternating_flicker_then_leaving_exits_where_it_stays_out():
    vis = np.full(150, 30)
    vis[40:150] = 0
    vis[[41, 43]] = 30  # visible, gone, visible, gone ... at the border
    ce = clip_events(record(make_shot(), vis))
    assert kinds(ce) == [(0, "exit", 44)]


def test_a_short_reappearance_at_the_end_is_not_confirmed():
    ce = clip_events(record(make_shot(), steps(150, (0, 40, 30), (148, 150, 30))))
    assert kinds(ce) == [(0, "exit", 40)] and not ce.passed


def test_subject_behind_the_camera_is_out_of_frame():
    pos = np.zeros((1, 150, 3))
    pos[..., 0] = -6.0  # behind a camera looking along +X
    shot = make_shot(pos=pos)
    front, px = box_view(shot)
    assert not front.any() and (px == 0).all()
    ce = clip_events(record(shot, np.zeros(150), None))
    assert (ce.states == OUT_OF_FRAME).all() and ce.in_frame_source == "geometry"


def test_a_box_straddling_the_camera_plane_still_covers_the_image():
    pos = np.zeros((1, 3, 3))
    pos[0, :, 0] = [0.2, -0.2, -3.0]  # centre just ahead of / just behind / far behind the camera
    front, px = box_view(make_shot(pos=pos, frames=3))
    assert front[0].tolist() == [True, True, False]
    assert px[0, 0] == pytest.approx(W * H) and px[0, 1] == pytest.approx(W * H) and px[0, 2] == 0


def test_geometry_fallback_tells_occluded_from_out_of_frame():
    """UE5-style clip (no silhouettes): the projected box decides in frame vs out of frame."""
    t = 150
    pos = np.zeros((1, t, 3))
    pos[0, :, 0] = 6.0
    y = np.concatenate([np.linspace(0, 10, 50), np.full(50, 10.0), np.linspace(10, 0, 50)])
    pos[0, :, 1] = y  # +Y is image-left: out of the left edge and back
    shot = make_shot(pos=pos)
    _, px = box_view(shot)
    params = EventParams()
    in_box = px * params.box_fill >= params.in_frame_threshold(W * H)
    # the box is fully out of the image once its nearest edge (y - 0.2 m at depth 6.3 m) is past the left edge
    out = (y - 0.2) / 6.3 > 1.0
    assert (in_box == ~out).all()
    vis = np.zeros(t, np.int64)  # seen at the start and the end, hidden whenever else in frame
    vis[:20] = 30
    vis[-5:] = 30
    ce = clip_events(record(shot, vis, None), params)
    first_out = int(np.argmax(out))
    back_in = first_out + int(np.argmax(~out[first_out:]))
    assert kinds(ce) == [
        (0, "occluded", 20),
        (0, "exit", first_out),
        (0, "occluded", back_in),
        (0, "entry", 145),
    ]
    assert ce.pairs == (Pair(0, first_out, 145, 145 - first_out),)


def test_thresholds_scale_with_the_image_area():
    params = EventParams(visible_frac=1e-3)
    area = np.array([1000, 100_000])
    vis = np.array([[[1]], [[99]]])  # 1 px of 1000 is enough; 99 of 100,000 is not
    states = compute_states(vis, None, np.ones_like(vis, bool), area, params)
    assert states.ravel().tolist() == [VISIBLE, OCCLUDED]
    assert params.visible_threshold(832 * 480).item() == 400
    assert EventParams().visible_threshold(832 * 480).item() == 80


def test_two_subjects_are_independent_and_events_are_in_time_order():
    vis = np.stack([steps(150, (0, 30, 30), (100, 150, 30)), steps(150, (0, 150, 30))])
    vis[1, 60:80] = 0
    sil = vis.copy()
    sil[1] = 30  # subject 1 hides behind something
    ce = clip_events(record(make_shot(n=2), vis, sil))
    assert kinds(ce) == [
        (0, "exit", 30),
        (1, "occluded", 60),
        (1, "revealed", 80),
        (0, "entry", 100),
    ]
    assert [p.subject for p in ce.pairs] == [0]


def test_entry_may_pass_through_occluded_and_pairs_with_the_first_exit():
    # visible, out, in frame but hidden, out again, visible: one pair, from the first exit
    st_ = np.array([[[2] * 10 + [0] * 10 + [1] * 10 + [0] * 10 + [1] * 5 + [2] * 10]], np.int8)
    a = detect_events(st_, 15)
    got = [(EVENT_KINDS[k], int(f)) for k, f in zip(a.event_kind, a.event_frame, strict=True)]
    assert got == [("exit", 10), ("occluded", 20), ("exit", 30), ("occluded", 40), ("entry", 45)]
    assert (a.pair_exit.tolist(), a.pair_entry.tolist(), a.pair_hidden.tolist()) == (
        [10],
        [45],
        [35],
    )


def test_min_hidden_frames_sets_the_verdict_not_the_pairs():
    vis = steps(150, (0, 40, 30), (50, 150, 30))
    ce = clip_events(record(make_shot(), vis), EventParams(min_hidden_frames=11))
    assert ce.n_pairs == 1 and not ce.passed
    assert clip_events(record(make_shot(), vis), EventParams(min_hidden_frames=10)).passed


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"min_frames": 0}, "min-frames"),
        ({"visible_frac": 1.5}, "visible-frac"),
        ({"box_fill": 0}, "box-fill"),
        ({"min_hidden_frames": 0}, "min-hidden-frames"),
    ],
)
def test_bad_params_are_user_errors(kw, msg):
    with pytest.raises(UserError, match=msg):
        EventParams(**kw)


@pytest.mark.parametrize(
    ("vis", "sil", "msg"),
    [
        (
            np.full((1, 149), 5),
            None,
            r"clip c0000: visible_pixels has shape \(1, 149\), expected \(1, 150\)",
        ),
        (np.full((1, 150), -3), None, "clip c0000: visible_pixels at subject 0, frame 0 is -3"),
        (np.full((1, 150), 5), np.full((1, 150), 4), "visible_pixels exceed silhouette_pixels"),
        (np.full((1, 150), W * H + 1), None, "allowed 0..3072"),
    ],
)
def test_inconsistent_counts_name_the_clip(vis, sil, msg):
    with pytest.raises(UserError, match=msg):
        clip_events(record(make_shot(), vis, sil))


def test_clip_events_round_trip_through_a_dict():
    ce = clip_events(record(make_shot(), steps(150, (0, 40, 30), (90, 150, 30))))
    back = ClipEvents.from_dict(ce.to_dict())
    assert back.events == ce.events and back.pairs == ce.pairs and back.passed == ce.passed
    assert (
        back.params == ce.params
        and np.array_equal(back.states, ce.states)
        and back.states.dtype == np.int8
    )
    assert (
        isinstance(back.events[0], Event) and back.scene == "meadow" and back.camera == "pan_left"
    )


def test_box_projection_matches_the_projected_centre():
    """The box test agrees with geometry.project: the centre's pixel lies inside the box's rectangle."""
    pos = np.zeros((1, 20, 3))
    pos[0, :, 0] = np.linspace(3, 9, 20)
    pos[0, :, 1] = np.linspace(-2, 2, 20)
    shot = make_shot(pos=pos, frames=20)
    proj = project(shot.subject_centers()[0][:, None, :], shot.c2w, shot.K)
    _, px = box_view(shot)
    assert (px > 0).all() and proj.in_front.all()
    assert ((proj.uv[:, 0, 0] > 0) & (proj.uv[:, 0, 0] < W)).all()


# --------------------------------------------------------------------------- the rules against a plain oracle


def oracle(
    seq: list[int], k: int
) -> tuple[list[int], list[tuple[str, int]], list[tuple[int, int]]]:
    """The documented rules written as a plain loop: stable states, events, pairs."""
    runs = []  # [value, start, length]
    for i, v in enumerate(seq):
        if runs and runs[-1][0] == v:
            runs[-1][2] += 1
        else:
            runs.append([v, i, 1])
    stable_vals = [r[0] for r in runs if r[2] >= k and r[0] >= 0]
    out, cur = [], None
    for v, _, n in runs:
        if n >= k and v >= 0:
            cur = v
        out += [
            v if v < 0 else (cur if cur is not None else (stable_vals[0] if stable_vals else v))
        ] * n
    events, pairs = [], []
    if not stable_vals:  # pure flicker: nothing ever holds, nothing happens
        return out, events, pairs
    last_non_occ, last_vis, exits_since_vis = None, None, []
    for t, v in enumerate(out):
        if t and v >= 0 and out[t - 1] >= 0 and v != out[t - 1]:
            if v == OUT_OF_FRAME:
                events.append(("exit", t))
                exits_since_vis.append(t)
            elif v == OCCLUDED:
                events.append(("occluded", t))
            elif last_non_occ == OUT_OF_FRAME:
                events.append(("entry", t))
                if exits_since_vis:
                    pairs.append((exits_since_vis[0], t))
            else:
                events.append(("revealed", t))
        if v == VISIBLE:
            last_vis, exits_since_vis = t, []
        if v >= 0 and v != OCCLUDED:
            last_non_occ = v
    del last_vis
    return out, events, pairs


state_seq = st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=40).flatmap(
    lambda s: st.tuples(st.just(s), st.integers(0, 5))
)


@settings(max_examples=300, deadline=None)
@given(st.lists(state_seq, min_size=1, max_size=6), st.integers(1, 5))
def test_vectorised_rules_match_the_oracle_on_random_sequences(rows, k):
    """Many clips in one call (padded, different lengths) give what the per-clip oracle gives."""
    t = max(len(s) + pad for s, pad in rows)
    states = np.full((len(rows), 2, t), -1, np.int8)
    for c, (s, _) in enumerate(rows):
        states[c, 0, : len(s)] = s
        states[c, 1, : len(s)] = s[::-1]
    a = detect_events(states, 10.0, EventParams(min_frames=k))
    eo, po = a.event_offsets(), a.pair_offsets()
    for c, (s, _) in enumerate(rows):
        for subj, seq in enumerate((s, s[::-1])):
            want_states, want_events, want_pairs = oracle(list(seq), k)
            assert a.states[c, subj, : len(s)].tolist() == want_states
            assert (a.states[c, subj, len(s) :] == -1).all()
            sel = slice(eo[c], eo[c + 1])
            mine = a.event_subject[sel] == subj
            got = [
                (EVENT_KINDS[kk], int(f))
                for kk, f in zip(a.event_kind[sel][mine], a.event_frame[sel][mine], strict=True)
            ]
            assert got == want_events
            psel = slice(po[c], po[c + 1])
            pm = a.pair_subject[psel] == subj
            assert (
                list(
                    zip(
                        a.pair_exit[psel][pm].tolist(), a.pair_entry[psel][pm].tolist(), strict=True
                    )
                )
                == want_pairs
            )
        assert bool(a.passed[c]) == (a.n_pairs[c] > 0)
        frames = a.event_frame[eo[c] : eo[c + 1]]
        assert (np.diff(frames) >= 0).all()
        assert np.allclose(a.event_time[eo[c] : eo[c + 1]], frames / 10.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=60), st.integers(1, 6))
def test_stable_runs_hold_k_frames_between_events(seq, k):
    out = stable_states(np.array([seq], np.int8), k)[0]
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(out)) + 1, [len(out)]])
    raw_runs = np.diff(np.concatenate([[0], np.flatnonzero(np.diff(seq)) + 1, [len(seq)]]))
    if (raw_runs >= k).any():  # every state that shows holds k frames
        assert (np.diff(bounds) >= k).all()
    else:  # nothing ever holds: the raw states stay, and make no event
        assert out.tolist() == seq
        assert (
            detect_events(
                np.array([[seq]], np.int8), 15, EventParams(min_frames=k)
            ).event_frame.size
            == 0
        )
