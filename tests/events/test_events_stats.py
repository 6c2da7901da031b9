"""The dataset-paper numbers, on a table whose answers are known by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hmworld.dataset.event_tables import results_table
from hmworld.events import EventParams, detect_events
from hmworld.events.counts import CountsBatch
from hmworld.events.stats import EventStats, GroupStats, compute_stats, format_stats


def table_of(rows: list[tuple[str, str, list[list[int]]]], fps: int = 10):
    """Clips from per-subject state rows (already stable: K = 1)."""
    t = max(len(s[0]) for _, _, s in rows)
    n = max(len(s) for _, _, s in rows)
    states = np.full((len(rows), n, t), -1, np.int8)
    for c, (_, _, subj) in enumerate(rows):
        for k, seq in enumerate(subj):
            states[c, k, : len(seq)] = seq
    c = len(rows)
    arrays = detect_events(states, fps, EventParams(min_frames=1))
    batch = CountsBatch(
        [f"c{i}" for i in range(c)],
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.full(c, fps),
        np.array([len(r[2][0]) for r in rows]),
        np.array([len(r[2]) for r in rows]),
        np.full(c, 64),
        np.full(c, 48),
        np.zeros(states.shape, np.int32),
        np.zeros(states.shape, np.int32),
        np.zeros(states.shape, np.float32),
    )
    return results_table(arrays, batch)


VIS, OCC, OUT = 2, 1, 0


def test_known_counts():
    table = table_of(
        [
            (
                "park",
                "pan",
                [[VIS] * 5 + [OUT] * 10 + [VIS] * 5],
            ),  # one pair, hidden 10 frames = 1 s
            (
                "park",
                "orbit",
                [[VIS] * 40, [VIS] * 2 + [OUT] * 3 + [VIS] * 2 + [OUT] * 25 + [VIS] * 8],
            ),  # two pairs: 0.3 s, 2.5 s
            ("beach", "pan", [[VIS] * 5 + [OCC] * 5 + [VIS] * 10]),  # occluded, revealed: no pair
            ("beach", "pan", [[OUT] * 20]),  # never seen
        ]
    )
    s = compute_stats(table)
    assert (s.clips, s.kept, s.kept_fraction) == (4, 2, 0.5)
    assert (s.subjects, s.subjects_with_pair) == (5, 2)
    assert s.events == {"exit": 3, "entry": 3, "occluded": 1, "revealed": 1}
    assert s.events_per_clip["exit"] == 0.75
    assert s.pairs == 3 and s.pairs_per_clip == 0.75
    assert s.pairs_per_clip_histogram == {"0": 2, "1": 1, "2": 1, "3+": 0}
    assert s.hidden_s == {
        "min": 0.3,
        "median": 1.0,
        "mean": pytest.approx((0.3 + 1.0 + 2.5) / 3, abs=1e-4),
        "max": 2.5,
    }
    assert s.hidden_edges_s[:4] == (0.0, 1.0, 2.0, 3.0)
    assert s.hidden_counts[:3] == (1, 1, 1)  # 1.0 s falls in [1, 2)
    assert s.by_scene["park"] == GroupStats(
        clips=2,
        kept_fraction=1.0,
        events_per_clip=3.0,
        pairs_per_clip=1.5,
        mean_hidden_s=pytest.approx(3.8 / 3, abs=1e-4),
    )
    assert s.by_scene["beach"].kept_fraction == 0.0 and s.by_scene["beach"].mean_hidden_s is None
    assert s.by_camera["pan"].clips == 3
    text = format_stats(s)
    assert "kept 2 (50%)" in text and "per camera trajectory" in text and "park" in text
    # the JSON form goes back to the same record, through real JSON text
    d = s.to_dict()
    assert d["hidden_histogram"]["counts"][:3] == [1, 1, 1]
    assert EventStats.from_dict(json.loads(json.dumps(d))) == s


def test_event_stats_refuse_counts_that_cannot_belong_together():
    s = compute_stats(table_of([("park", "pan", [[VIS] * 10 + [OUT] * 10 + [VIS] * 10])]))
    d = s.to_dict()
    with pytest.raises(ValueError, match="exceeds clips"):
        EventStats.from_dict({**d, "kept": 2})
    with pytest.raises(ValueError, match="histogram"):
        EventStats.from_dict({**d, "hidden_histogram": {"edges_s": [0.0, 1.0], "counts": [1, 1]}})
    with pytest.raises(ValueError, match="events keys"):
        EventStats.from_dict({**d, "events": {"exit": 1}})
    with pytest.raises(ValueError, match="kept_fraction"):
        GroupStats(clips=1, kept_fraction=1.5, events_per_clip=0.0, pairs_per_clip=0.0, mean_hidden_s=None)


def test_an_empty_table_has_no_rates():
    s = compute_stats(table_of([("park", "pan", [[OUT] * 4])]).slice(0, 0))
    assert s.clips == 0 and s.kept_fraction is None and s.hidden_s["min"] is None
    assert "clips 0" in format_stats(s)
