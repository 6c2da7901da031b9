"""Top-down map of one clip: why a subject left the frame, drawn from the shot's own poses.

Everything on the map comes from the shot (subject roots and headings, camera
poses and intrinsics) and hmworld.geometry (the camera's view footprint), so
it agrees with the pixels: a subject whose root lies inside the footprint
drawn at a frame is in the image at that frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon, Rectangle

from hmworld.events import Event
from hmworld.geometry import frustum_footprint
from hmworld.report.style import (
    CAMERA_COLOR,
    EVENT_STYLE,
    STATE_STYLE,
    UNKNOWN_COLOR,
    subject_edge_hex,
)
from hmworld.shot import Shot

MAP_EVENTS = ("exit", "entry")


def view_height(shot: Shot) -> float:
    """Height (m) of the plane the footprints are drawn at: the subjects' mean body-box centre."""
    return float(np.mean(shot.subject_centers()[..., 2])) if shot.n_subjects else 0.0


def map_reach(shot: Shot, walk_half: tuple[float, float] | None) -> float:
    """How far (m, horizontally) a footprint is drawn: past the farthest subject or walk-area corner."""
    cam = shot.c2w[:, :2, 3]
    pts = [shot.subject_pos[..., :2].reshape(-1, 2)]
    if walk_half is not None:
        hx, hy = walk_half
        pts.append(np.array([[hx, hy], [hx, -hy], [-hx, hy], [-hx, -hy]]))
    p = np.concatenate(pts)
    d = np.linalg.norm(p[None, :, :] - cam[:, None, :], axis=-1)
    return float(d.max()) + 2.0 if d.size else 10.0


def footprints(shot: Shot, frames: Sequence[int], plane_z: float, reach: float) -> np.ndarray:
    """The camera's view footprint at `frames`: polygons [F, P, 2] (x, y metres) at height plane_z."""
    idx = np.asarray(frames, dtype=np.int64)
    return frustum_footprint(shot.c2w[idx], shot.K, shot.width, shot.height, plane_z, reach)


def _state_colors(states: np.ndarray) -> list[str]:
    return [STATE_STYLE.get(int(s), ("", UNKNOWN_COLOR))[1] for s in states]


def topdown_figure(
    shot: Shot,
    states: np.ndarray,
    events: Sequence[Event],
    walk_half: tuple[float, float] | None,
    size_in: float = 6.4,
) -> Figure:
    """The map: walkable area, each subject's path coloured by its state per frame with heading
    arrows, the camera's path, and its view footprint at every exit and entry frame.

    states: [N,T] state codes (hmworld.events); events: the clip's events (subject 0-based).
    """
    fig = Figure(figsize=(size_in, size_in))
    ax = fig.add_subplot()
    draw_topdown(ax, shot, states, events, walk_half, legend=True)
    ax.set_title(f"Top-down map of {shot.clip_id} (view footprints at {view_height(shot):.1f} m height)", fontsize=9)
    return fig


def draw_topdown(ax, shot: Shot, states: np.ndarray, events: Sequence[Event],
                 walk_half: tuple[float, float] | None, legend: bool = True, labels: bool = True) -> None:
    """Draw the map into matplotlib axes `ax` (see topdown_figure)."""
    cam = shot.c2w[:, :2, 3]
    xs = [cam[:, 0]]
    ys = [cam[:, 1]]
    if walk_half is not None:
        hx, hy = walk_half
        ax.add_patch(Rectangle((-hx, -hy), 2 * hx, 2 * hy, facecolor="#e9f2e4", edgecolor="#9dbf8a", lw=1.0, zorder=0))
        xs.append(np.array([-hx, hx]))
        ys.append(np.array([-hy, hy]))
    step = max(1, shot.fps)
    for k in range(shot.n_subjects):
        p = shot.subject_pos[k, :, :2]
        xs.append(p[:, 0])
        ys.append(p[:, 1])
        seg = np.stack([p[:-1], p[1:]], axis=1)
        ax.add_collection(LineCollection(seg, colors=_state_colors(states[k, :-1]), linewidths=3.0, zorder=3))
        h = shot.subject_heading[k, ::step]
        ax.quiver(p[::step, 0], p[::step, 1], np.cos(h), np.sin(h), angles="xy", scale_units="xy", scale=1.0,
                  width=0.004, color=subject_edge_hex(k), zorder=4)
        ax.plot(*p[0], "o", color=subject_edge_hex(k), ms=6, zorder=5)
        if labels:
            ax.annotate(f"S{k + 1} start", p[0], textcoords="offset points", xytext=(4, 4), fontsize=7,
                        color=subject_edge_hex(k))
    ax.plot(cam[:, 0], cam[:, 1], "-", color=CAMERA_COLOR, lw=1.2, zorder=2)
    ax.plot(*cam[0], "s", color=CAMERA_COLOR, ms=5, zorder=5)
    fwd = shot.c2w[0, :2, 2]
    ax.annotate("", cam[0] + fwd / max(np.linalg.norm(fwd), 1e-9) * 1.5, cam[0],
                arrowprops={"arrowstyle": "->", "color": CAMERA_COLOR}, zorder=5)
    marked = [e for e in events if e.kind in MAP_EVENTS]
    if marked:
        z = view_height(shot)
        polys = footprints(shot, [e.frame for e in marked], z, map_reach(shot, walk_half))
        for e, poly in zip(marked, polys, strict=True):
            color = EVENT_STYLE[e.kind][1]
            ax.add_patch(Polygon(poly, closed=True, facecolor=color, alpha=0.07, edgecolor=color, lw=0.8, zorder=1))
            ax.plot(*shot.subject_pos[e.subject, e.frame, :2], EVENT_STYLE[e.kind][0], color=color, ms=9,
                    mec="black", mew=0.6, zorder=6)
            ax.plot(*cam[e.frame], EVENT_STYLE[e.kind][0], color=color, ms=6, zorder=6)
            if labels:
                ax.annotate(f"S{e.subject + 1} {e.kind} {e.time_s:.1f}s", shot.subject_pos[e.subject, e.frame, :2],
                            textcoords="offset points", xytext=(5, -10), fontsize=7)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    pad = 1.5
    ax.set_xlim(x.min() - pad, x.max() + pad)
    ax.set_ylim(y.min() - pad, y.max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.grid(alpha=0.25)
    if legend:
        handles = [Line2D([], [], color=c, lw=3, label=f"subject {name}") for name, c in STATE_STYLE.values()]
        handles += [
            Line2D([], [], color=CAMERA_COLOR, lw=1.2, marker="s", ms=4, label="camera path (start ■)"),
            Patch(facecolor=EVENT_STYLE["exit"][1], alpha=0.3, label="camera view at an exit ▼"),
            Patch(facecolor=EVENT_STYLE["entry"][1], alpha=0.3, label="camera view at an entry ▲"),
            Line2D([], [], color="#555555", marker=r"$\rightarrow$", lw=0, ms=10, label="heading, every second"),
        ]
        if walk_half is not None:
            handles.append(Patch(facecolor="#e9f2e4", edgecolor="#9dbf8a", label="walkable area"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
