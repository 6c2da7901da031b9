"""The numbers a dataset paper reports about exit/entry events, from the events table.

Input is the table `hmworld.dataset.event_tables.results_table` builds (meta/events.parquet):
one row per clip with scene, camera, fps, n_subjects, events, pairs, n_pairs, passed.
All counting is vectorised over the flattened event and pair columns. The result
is an `EventStats` record; `EventStats.to_dict()` is the JSON that
`hmworld event-stats --json` and `filter-events --json` print.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hmworld.events.detect import EVENT_KINDS


def _flat(table: pa.Table, column: str, field: str) -> tuple[np.ndarray, np.ndarray]:
    """(parent row [X], values [X]) of one struct field of a list<struct> column."""
    col = table[column].combine_chunks()
    parents = pc.list_parent_indices(col).to_numpy()
    values = pc.struct_field(col.flatten(), field)
    if field == "kind":  # kind names → index in EVENT_KINDS
        values = pc.fill_null(
            pc.index_in(values, value_set=pa.array(EVENT_KINDS)), len(EVENT_KINDS)
        )
    return parents, values.to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class GroupStats:
    """Rates of one group of clips (a scene or a camera trajectory); seconds for mean_hidden_s."""

    clips: int
    kept_fraction: float
    events_per_clip: float
    pairs_per_clip: float
    mean_hidden_s: float | None  # None: the group has no exit–entry pair

    def __post_init__(self) -> None:
        if self.clips <= 0:
            raise ValueError(f"a group holds at least one clip, got clips={self.clips}")
        if not 0.0 <= self.kept_fraction <= 1.0:
            raise ValueError(f"kept_fraction must be in [0, 1], got {self.kept_fraction}")
        if self.events_per_clip < 0 or self.pairs_per_clip < 0:
            raise ValueError("events_per_clip and pairs_per_clip must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {
            "clips": self.clips,
            "kept_fraction": self.kept_fraction,
            "events_per_clip": self.events_per_clip,
            "pairs_per_clip": self.pairs_per_clip,
            "mean_hidden_s": self.mean_hidden_s,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GroupStats:
        return cls(**{k: d[k] for k in ("clips", "kept_fraction", "events_per_clip", "pairs_per_clip", "mean_hidden_s")})


PAIR_COUNT_BINS = ("0", "1", "2", "3+")  # clips with 0, 1, 2, 3 or more exit–entry pairs
HIDDEN_SUMMARY = ("min", "median", "mean", "max")


@dataclass(frozen=True)
class EventStats:
    """The event statistics of a set of clips (what `compute_stats` returns).

    events / events_per_clip: per kind in EVENT_KINDS order. pairs_per_clip_histogram:
    clips per PAIR_COUNT_BINS. hidden_s: HIDDEN_SUMMARY of the exit→entry intervals
    in seconds. hidden_edges_s [B+1] and hidden_counts [B]: their histogram.
    Rates are None where there is nothing to divide by (no clips, no pairs).
    Raises ValueError for counts that cannot belong together.
    """

    clips: int
    kept: int
    kept_fraction: float | None
    subjects: int
    subjects_with_pair: int
    events: Mapping[str, int]
    events_per_clip: Mapping[str, float | None]
    pairs: int
    pairs_per_clip: float | None
    pairs_per_clip_histogram: Mapping[str, int]
    hidden_s: Mapping[str, float | None]
    hidden_edges_s: tuple[float, ...]
    hidden_counts: tuple[int, ...]
    by_scene: Mapping[str, GroupStats]
    by_camera: Mapping[str, GroupStats]

    def __post_init__(self) -> None:
        if min(self.clips, self.kept, self.subjects, self.subjects_with_pair, self.pairs) < 0:
            raise ValueError("clip, subject and pair counts must be >= 0")
        if self.kept > self.clips:
            raise ValueError(f"kept ({self.kept}) exceeds clips ({self.clips})")
        if self.subjects_with_pair > self.subjects:
            raise ValueError(
                f"subjects_with_pair ({self.subjects_with_pair}) exceeds subjects ({self.subjects})"
            )
        for name, d in (("events", self.events), ("events_per_clip", self.events_per_clip)):
            if tuple(d) != EVENT_KINDS:
                raise ValueError(f"{name} keys must be {list(EVENT_KINDS)}, got {list(d)}")
        if tuple(self.pairs_per_clip_histogram) != PAIR_COUNT_BINS:
            raise ValueError(f"pairs_per_clip_histogram keys must be {list(PAIR_COUNT_BINS)}")
        if sum(self.pairs_per_clip_histogram.values()) != self.clips:
            raise ValueError("pairs_per_clip_histogram must count every clip once")
        if tuple(self.hidden_s) != HIDDEN_SUMMARY:
            raise ValueError(f"hidden_s keys must be {list(HIDDEN_SUMMARY)}")
        if len(self.hidden_edges_s) != len(self.hidden_counts) + 1:
            raise ValueError(
                f"{len(self.hidden_edges_s)} histogram edges for {len(self.hidden_counts)} bins; need bins + 1"
            )
        if sum(self.hidden_counts) != self.pairs:
            raise ValueError(f"hidden histogram counts {sum(self.hidden_counts)} pairs, not {self.pairs}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (keys and order as printed by `hmworld event-stats --json`)."""
        return {
            "clips": self.clips,
            "kept": self.kept,
            "kept_fraction": self.kept_fraction,
            "subjects": self.subjects,
            "subjects_with_pair": self.subjects_with_pair,
            "events": dict(self.events),
            "events_per_clip": dict(self.events_per_clip),
            "pairs": self.pairs,
            "pairs_per_clip": self.pairs_per_clip,
            "pairs_per_clip_histogram": dict(self.pairs_per_clip_histogram),
            "hidden_s": dict(self.hidden_s),
            "hidden_histogram": {
                "edges_s": list(self.hidden_edges_s),
                "counts": list(self.hidden_counts),
            },
            "by_scene": {k: g.to_dict() for k, g in self.by_scene.items()},
            "by_camera": {k: g.to_dict() for k, g in self.by_camera.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EventStats:
        """Inverse of to_dict; KeyError / ValueError for a dict that is not one."""
        h = d["hidden_histogram"]
        return cls(
            clips=int(d["clips"]),
            kept=int(d["kept"]),
            kept_fraction=d["kept_fraction"],
            subjects=int(d["subjects"]),
            subjects_with_pair=int(d["subjects_with_pair"]),
            events=dict(d["events"]),
            events_per_clip=dict(d["events_per_clip"]),
            pairs=int(d["pairs"]),
            pairs_per_clip=d["pairs_per_clip"],
            pairs_per_clip_histogram=dict(d["pairs_per_clip_histogram"]),
            hidden_s=dict(d["hidden_s"]),
            hidden_edges_s=tuple(h["edges_s"]),
            hidden_counts=tuple(h["counts"]),
            by_scene={k: GroupStats.from_dict(g) for k, g in d["by_scene"].items()},
            by_camera={k: GroupStats.from_dict(g) for k, g in d["by_camera"].items()},
        )


def _group(
    keys: list[str],
    n_clips: np.ndarray,
    events: np.ndarray,
    pairs: np.ndarray,
    kept: np.ndarray,
    hidden_sum: np.ndarray,
) -> dict[str, GroupStats]:
    """Per-group rates from per-clip counts."""
    names, inv = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)
    out = {}
    clips = np.bincount(inv, weights=n_clips, minlength=len(names))
    ev = np.bincount(inv, weights=events, minlength=len(names))
    pr = np.bincount(inv, weights=pairs, minlength=len(names))
    kp = np.bincount(inv, weights=kept, minlength=len(names))
    hs = np.bincount(inv, weights=hidden_sum, minlength=len(names))
    for i, name in enumerate(names):
        out[str(name)] = GroupStats(
            clips=int(clips[i]),
            kept_fraction=round(float(kp[i] / clips[i]), 4),
            events_per_clip=round(float(ev[i] / clips[i]), 4),
            pairs_per_clip=round(float(pr[i] / clips[i]), 4),
            mean_hidden_s=round(float(hs[i] / pr[i]), 4) if pr[i] else None,
        )
    return out


def compute_stats(table: pa.Table, bin_s: float = 1.0) -> EventStats:
    """Kept fraction, events and pairs per clip, hidden-interval histogram, per scene and camera."""
    c = len(table)
    passed = table["passed"].to_numpy(zero_copy_only=False).astype(bool) if c else np.zeros(0, bool)
    fps = table["fps"].to_numpy().astype(np.float64) if c else np.zeros(0)
    n_sub = table["n_subjects"].to_numpy().astype(np.int64) if c else np.zeros(0, np.int64)
    ev_parent, kind_idx = (
        _flat(table, "events", "kind") if c else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    )
    per_kind = np.bincount(kind_idx, minlength=len(EVENT_KINDS) + 1)
    pr_parent, hidden = (
        _flat(table, "pairs", "hidden_frames") if c else (np.zeros(0, np.int64), np.zeros(0))
    )
    _, pr_subject = _flat(table, "pairs", "subject") if c else (None, np.zeros(0))
    hidden_s = hidden / fps[pr_parent] if hidden.size else np.zeros(0)
    n_pairs = np.bincount(pr_parent, minlength=c)
    n_events = np.bincount(ev_parent, minlength=c)
    hidden_sum = np.bincount(pr_parent, weights=hidden_s, minlength=c) if c else np.zeros(0)
    clip_len_s = table["frames"].to_numpy() / fps if c else np.zeros(0)
    top = max(
        float(clip_len_s.max()) if c else 0.0,
        float(hidden_s.max()) if hidden_s.size else 0.0,
        bin_s,
    )
    edges = np.arange(0.0, math.ceil(top / bin_s) * bin_s + bin_s / 2, bin_s)
    hist, _ = np.histogram(hidden_s, bins=edges)
    pair_hist = np.bincount(np.minimum(n_pairs, 3), minlength=4) if c else np.zeros(4, np.int64)
    subj_with_pair = (
        len(np.unique(pr_parent.astype(np.int64) * 64 + pr_subject.astype(np.int64)))
        if hidden.size
        else 0
    )

    def mean(x: np.ndarray) -> float | None:
        return round(float(x.mean()), 4) if x.size else None

    return EventStats(
        clips=c,
        kept=int(passed.sum()),
        kept_fraction=round(float(passed.mean()), 4) if c else None,
        subjects=int(n_sub.sum()),
        subjects_with_pair=int(subj_with_pair),
        events={k: int(per_kind[i]) for i, k in enumerate(EVENT_KINDS)},
        events_per_clip={
            k: round(float(per_kind[i] / c), 4) if c else None for i, k in enumerate(EVENT_KINDS)
        },
        pairs=int(hidden.size),
        pairs_per_clip=mean(n_pairs.astype(np.float64)),
        pairs_per_clip_histogram={
            k: int(pair_hist[i]) for i, k in enumerate(PAIR_COUNT_BINS)
        },
        hidden_s={
            "min": round(float(hidden_s.min()), 4) if hidden_s.size else None,
            "median": round(float(np.median(hidden_s)), 4) if hidden_s.size else None,
            "mean": mean(hidden_s),
            "max": round(float(hidden_s.max()), 4) if hidden_s.size else None,
        },
        hidden_edges_s=tuple(round(float(e), 4) for e in edges),
        hidden_counts=tuple(int(h) for h in hist),
        by_scene=_group(
            table["scene"].to_pylist(), np.ones(c), n_events, n_pairs, passed, hidden_sum
        )
        if c
        else {},
        by_camera=_group(
            table["camera"].to_pylist(), np.ones(c), n_events, n_pairs, passed, hidden_sum
        )
        if c
        else {},
    )


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def _table(title: str, header: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [header] + [[_fmt(x) for x in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            x.ljust(w) if i == 0 else x.rjust(w)
            for i, (x, w) in enumerate(zip(r, widths, strict=True))
        )

    return [title, "  " + line(cells[0]), "  " + "  ".join("-" * w for w in widths)] + [
        "  " + line(r) for r in cells[1:]
    ]


def format_stats(stats: EventStats) -> str:
    """The stats as readable text tables."""
    s = stats
    out = [
        f"clips {s.clips}, kept {s.kept} ({_fmt(s.kept_fraction and 100 * s.kept_fraction)}%), "
        f"subjects {s.subjects} ({s.subjects_with_pair} with an exit–entry pair)",
        "events per clip: " + ", ".join(f"{k} {_fmt(v)}" for k, v in s.events_per_clip.items()),
        f"exit–entry pairs: {s.pairs} ({_fmt(s.pairs_per_clip)} per clip; clips with 0/1/2/3+ pairs: "
        + "/".join(str(v) for v in s.pairs_per_clip_histogram.values())
        + ")",
        "out of view (exit→entry), seconds: "
        + ", ".join(f"{k} {_fmt(v)}" for k, v in s.hidden_s.items()),
    ]
    if s.pairs:
        peak = max(s.hidden_counts) or 1
        rows = []
        for lo, hi, n in zip(s.hidden_edges_s[:-1], s.hidden_edges_s[1:], s.hidden_counts, strict=True):
            rows.append([f"{lo:g}–{hi:g} s", n, "#" * round(30 * n / peak)])
        out += _table("hidden interval histogram", ["interval", "pairs", ""], rows)
    for groups, key, title in (
        (s.by_scene, "scene", "per scene"),
        (s.by_camera, "camera", "per camera trajectory"),
    ):
        if groups:
            rows = [
                [k, g.clips, g.kept_fraction, g.events_per_clip, g.pairs_per_clip, g.mean_hidden_s]
                for k, g in groups.items()
            ]
            out += _table(
                title,
                [key, "clips", "kept frac", "events/clip", "pairs/clip", "hidden s"],
                rows,
            )
    return "\n".join(out)
