"""The overview's figures, drawn with matplotlib from the dataset table.

Each function takes plain arrays or lists and returns a matplotlib Figure
(object API, no pyplot state); `save_png` writes one atomically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hmworld.atomic import atomic_path
from hmworld.report.style import DPI

KIND_COLORS = {"human": "#4e79a7", "animal": "#59a14f", "unknown": "#9c9c9c"}
SPLIT_COLORS = {"train": "#4e79a7", "test": "#f28e2b"}


def save_png(fig: Figure, path: Path) -> Path:
    """Write `fig` as PNG (atomically) and return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return path


def _height(n: int) -> float:
    return max(2.2, 0.22 * n + 1.0)


def count_bars(
    title: str, values: Sequence[str], ylabel: str, colors: dict[str, str] | None = None, kinds: dict[str, str] | None = None
) -> Figure:
    """Horizontal bars: how many clips (or subject slots) have each value, most frequent on top.

    kinds maps a value to a group (e.g. subject → human/animal) coloured by `colors`.
    """
    counts = Counter(values)
    labels = sorted(counts, key=lambda k: (-counts[k], k))
    fig = Figure(figsize=(6.4, _height(len(labels))))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    if kinds and colors:
        bar_colors = [colors.get(kinds.get(v, "unknown"), "#9c9c9c") for v in labels]
    else:
        bar_colors = ["#4e79a7"] * len(labels)
    ax.barh(y, [counts[v] for v in labels], color=bar_colors)
    ax.set_yticks(y, labels, fontsize=8 if len(labels) > 20 else 9)
    ax.invert_yaxis()
    ax.set_xlabel("clips")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    if kinds and colors:
        present = sorted({kinds.get(v, "unknown") for v in labels})
        handles = [Patch(color=colors.get(k, "#9c9c9c"), label=k) for k in present]
        ax.legend(handles=handles, loc="lower right", title="kind", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def int_hist(title: str, values: Sequence[int], xlabel: str, ylabel: str = "clips") -> Figure:
    """Bar per integer value (0 up to the largest), so empty values show as gaps."""
    v = np.asarray(values, dtype=np.int64)
    top = int(v.max()) if v.size else 0
    counts = np.bincount(v, minlength=top + 1) if v.size else np.zeros(1, dtype=np.int64)
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    ax.bar(np.arange(top + 1), counts, color="#4e79a7")
    ax.set_xticks(np.arange(top + 1))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    return fig


def kept_fraction(splits: Sequence[str], passed: Sequence[bool]) -> Figure:
    """Stacked bars per split: clips kept (an exit–entry pair) and not kept, with the kept share."""
    names = [s for s in ("train", "test") if s in set(splits)] or ["train"]
    s = np.asarray(splits)
    p = np.asarray(passed, dtype=bool)
    kept = np.array([np.sum(p & (s == n)) for n in names])
    total = np.array([np.sum(s == n) for n in names])
    fig = Figure(figsize=(6.4, 2.4))
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y, kept, color="#2ca02c", label="kept (exit–entry pair)")
    ax.barh(y, total - kept, left=kept, color="#d62728", label="not kept")
    for i, (k, t) in enumerate(zip(kept, total, strict=True)):
        ax.text(t, i, f"  {k}/{t} = {100.0 * k / max(t, 1):.0f}%", va="center", fontsize=9)
    ax.set_yticks(y, names)
    ax.set_xlabel("clips")
    ax.set_ylabel("split")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max(int(total.max()), 1) * 1.35)
    share = 100.0 * p.sum() / max(p.size, 1)
    ax.set_title(f"Kept fraction: {share:.0f}% of {p.size} clips pass the event filter")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def hidden_hist(seconds: np.ndarray, bin_s: float = 0.5) -> Figure:
    """Histogram of exit–entry out-of-view durations (seconds)."""
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    top = float(seconds.max()) if seconds.size else 1.0
    bins = np.arange(0.0, top + bin_s, bin_s)
    if bins.size < 2:
        bins = np.array([0.0, bin_s])
    ax.hist(seconds, bins=bins, color="#4e79a7", edgecolor="white")
    ax.set_xlabel(f"time out of view, exit to entry (s; {bin_s:g} s bins)")
    ax.set_ylabel("exit–entry pairs")
    median = f", median {np.median(seconds):.1f} s" if seconds.size else ""
    ax.set_title(f"Out-of-view durations ({seconds.size} pairs{median})")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.grid(axis="y", alpha=0.3)
    return fig


def event_heatmap(scenes: Sequence[str], cameras: Sequence[str], events: np.ndarray) -> Figure:
    """Scene × camera trajectory: mean exit + entry events per clip (cells with clips are annotated with n)."""
    rows = sorted(set(scenes))
    cols = sorted(set(cameras))
    ri = {s: i for i, s in enumerate(rows)}
    ci = {c: i for i, c in enumerate(cols)}
    r = np.array([ri[s] for s in scenes], dtype=np.int64)
    c = np.array([ci[x] for x in cameras], dtype=np.int64)
    n = np.zeros((len(rows), len(cols)))
    total = np.zeros_like(n)
    np.add.at(n, (r, c), 1.0)
    np.add.at(total, (r, c), np.asarray(events, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
    fig = Figure(figsize=(max(6.4, 0.42 * len(cols) + 2.5), max(2.6, 0.4 * len(rows) + 1.8)))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(mean), cmap="viridis", aspect="auto", vmin=0)
    ax.set_xticks(np.arange(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(rows)), rows, fontsize=8)
    ax.set_xlabel("camera trajectory")
    ax.set_ylabel("scene")
    ax.set_title("Event density: exit + entry events per clip (n = clips; blank: no clips)")
    if len(rows) * len(cols) <= 400:
        top = np.nanmax(mean) if np.any(n) else 1.0
        for (i, j), v in np.ndenumerate(n):
            if v:  # dark text on the bright (yellow) end of viridis, light text elsewhere
                color = "black" if mean[i, j] > 0.6 * top else "white"
                ax.text(j, i, f"{mean[i, j]:.1f}\nn={int(v)}", ha="center", va="center", fontsize=6, color=color)
    fig.colorbar(im, ax=ax, label="events per clip")
    return fig


def split_composition(splits: Sequence[str], scenes: Sequence[str], kinds: Sequence[Sequence[str]]) -> Figure:
    """Two panels: clips per scene in each split, and subject kinds in each split."""
    fig = Figure(figsize=(9.6, max(3.0, 0.25 * len(set(scenes)) + 1.5)))
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(2, 1))
    names = [s for s in ("train", "test") if s in set(splits)]
    all_scenes = sorted(set(scenes))
    y = np.arange(len(all_scenes))
    left = np.zeros(len(all_scenes))
    for n in names:
        cnt = Counter(sc for sp, sc in zip(splits, scenes, strict=True) if sp == n)
        vals = np.array([cnt.get(s, 0) for s in all_scenes], dtype=float)
        ax1.barh(y, vals, left=left, color=SPLIT_COLORS.get(n), label=n)
        left += vals
    ax1.set_yticks(y, all_scenes, fontsize=8)
    ax1.invert_yaxis()
    ax1.set_xlabel("clips")
    ax1.set_ylabel("scene")
    ax1.set_title("Clips per scene and split")
    ax1.legend(fontsize=8)
    ax1.xaxis.get_major_locator().set_params(integer=True)
    all_kinds = sorted({k for ks in kinds for k in ks})
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for k in all_kinds:
        vals = np.array([sum(ks.count(k) for sp, ks in zip(splits, kinds, strict=True) if sp == n) for n in names], dtype=float)
        ax2.bar(x, vals, bottom=bottom, color=KIND_COLORS.get(k, "#9c9c9c"), label=k)
        bottom += vals
    ax2.set_xticks(x, names)
    ax2.set_xlabel("split")
    ax2.set_ylabel("subjects (all slots)")
    ax2.set_title("Subject kinds per split")
    ax2.legend(fontsize=8)
    return fig
