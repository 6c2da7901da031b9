"""Per-subject state timeline of one clip, with its events marked (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from hmworld.events import Event
from hmworld.report.style import EVENT_STYLE, STATE_STYLE, UNKNOWN_COLOR


def state_runs(states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal values in a [T] state row: (start frames, lengths, values)."""
    s = np.asarray(states)
    if s.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    change = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [s.size]]))
    return starts, lengths, s[starts]


def timeline_figure(states: np.ndarray, events: Sequence[Event], fps: int, subjects: Sequence[str]) -> Figure:
    """One row per subject: its state over the clip's frames (seconds on x), exits and entries marked.

    states: [N,T] state codes after hysteresis; events: subject 0-based, frame of the event.
    """
    n, t = states.shape
    fig = Figure(figsize=(9.6, 0.55 * n + 1.5))
    ax = fig.add_subplot()
    for k in range(n):
        starts, lengths, values = state_runs(states[k])
        colors = [STATE_STYLE.get(int(v), ("", UNKNOWN_COLOR))[1] for v in values]
        ax.broken_barh(list(zip(starts / fps, lengths / fps, strict=True)), (k - 0.35, 0.7), facecolors=colors)
    for e in events:
        marker, color = EVENT_STYLE[e.kind]
        ax.plot(e.frame / fps, e.subject, marker, color=color, mec="black", mew=0.6, ms=8, zorder=3)
        if e.kind in ("exit", "entry"):
            ax.vlines(e.frame / fps, e.subject - 0.45, e.subject + 0.45, color="black", lw=0.8, zorder=2)
    ax.set_yticks(np.arange(n), [f"S{k + 1} {name}" for k, name in enumerate(subjects)], fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, t / fps)
    ax.set_xlabel(f"time (s; {t} frames at {fps} fps)")
    ax.set_title("Subject states over the clip, with exit / entry events")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(facecolor=c, label=name) for name, c in STATE_STYLE.values()]
    handles += [Line2D([], [], marker=m, color=c, mec="black", lw=0, label=k) for k, (m, c) in EVENT_STYLE.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig
