"""Colours and names shared by every report figure, page and the preview video."""

from __future__ import annotations

from hmworld.events import OCCLUDED, OUT_OF_FRAME, VISIBLE
from hmworld.render.preview import SUBJECT_COLORS

# state -> (label, colour); the order of hmworld.events' state codes
STATE_STYLE: dict[int, tuple[str, str]] = {
    VISIBLE: ("visible", "#2ca02c"),
    OCCLUDED: ("occluded", "#ff7f0e"),
    OUT_OF_FRAME: ("out of frame", "#d62728"),
}
UNKNOWN_COLOR = "#bbbbbb"
EVENT_STYLE: dict[str, tuple[str, str]] = {  # kind -> (matplotlib marker, colour)
    "exit": ("v", "#d62728"),
    "entry": ("^", "#2ca02c"),
    "occluded": ("x", "#ff7f0e"),
    "revealed": ("o", "#1f77b4"),
}
CAMERA_COLOR = "#333333"
DPI = 100


def subject_rgb(k: int) -> tuple[int, int, int]:
    """Subject k's colour (0-based), the one its mask outline has in contact sheets."""
    c = SUBJECT_COLORS[k % len(SUBJECT_COLORS)]
    return int(c[0]), int(c[1]), int(c[2])


def subject_hex(k: int) -> str:
    return "#{:02x}{:02x}{:02x}".format(*subject_rgb(k))


def subject_edge_hex(k: int) -> str:
    """A darker shade of subject k's colour, readable on a white page."""
    r, g, b = subject_rgb(k)
    return f"#{int(r * 0.7):02x}{int(g * 0.7):02x}{int(b * 0.7):02x}"
