"""`hmworld preview CLIP_DIR --video out.mp4`: one clip to share, annotated.

Every frame shows each subject's visible mask outlined in its colour, a label
per subject with its state at that frame (from events.json, or computed with
the default thresholds when filter-events has not run), and a small top-down
inset: the map of hmworld.report.topdown with the subjects' and the camera's
positions and the camera's view at that frame. The inset is drawn once by
matplotlib and only its moving parts are redrawn per frame (blitting).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from hmworld.catalog import SCENES
from hmworld.clip import ClipRecord, is_complete, read_clip
from hmworld.errors import UserError
from hmworld.events import ClipEvents
from hmworld.render.preview import draw_outlines
from hmworld.report.data import clip_states
from hmworld.report.style import CAMERA_COLOR, STATE_STYLE, subject_hex, subject_rgb
from hmworld.report.topdown import draw_topdown, footprints, map_reach, view_height
from hmworld.video import open_video, read_video

INSET_FRACTION = 0.34  # inset side as a share of the video's width
MIN_INSET_PX = 72
PAD = 4


class _Inset:
    """The top-down inset, [S,S,3] uint8 per frame: static map once, moving markers by blitting."""

    def __init__(self, record: ClipRecord, events: ClipEvents, side: int) -> None:
        shot = record.shot
        self.shot = shot
        dpi = 100
        self.fig = Figure(figsize=(side / dpi, side / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0, 0, 1, 1))
        scene = SCENES.get(shot.scene)
        walk = scene.walk_half if scene else None
        draw_topdown(ax, shot, events.states, (), walk, legend=False, labels=False)
        ax.set_axis_off()
        self.polys = footprints(shot, range(shot.frames), view_height(shot), map_reach(shot, walk))
        self.view = ax.fill(*self.polys[0].T, color=CAMERA_COLOR, alpha=0.18, animated=True)[0]
        self.camera = ax.plot([], [], "s", color=CAMERA_COLOR, ms=4, animated=True)[0]
        self.subjects = [ax.plot([], [], "o", color=subject_hex(k), mec="black", mew=0.8, ms=6, animated=True)[0]
                         for k in range(shot.n_subjects)]
        self.ax = ax
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def frame(self, t: int) -> np.ndarray:
        shot = self.shot
        self.canvas.restore_region(self.background)
        self.view.set_xy(self.polys[t])
        self.camera.set_data([shot.c2w[t, 0, 3]], [shot.c2w[t, 1, 3]])
        for k, m in enumerate(self.subjects):
            m.set_data([shot.subject_pos[k, t, 0]], [shot.subject_pos[k, t, 1]])
        for artist in (self.view, self.camera, *self.subjects):
            self.ax.draw_artist(artist)
        self.canvas.blit(self.fig.bbox)
        return np.asarray(self.canvas.buffer_rgba())[..., :3].copy()


def _labels(draw: ImageDraw.ImageDraw, record: ClipRecord, states: np.ndarray, t: int, font) -> None:
    shot = record.shot
    y = PAD
    draw.text((PAD, y), f"{shot.clip_id}  t={t} ({t / shot.fps:.1f} s)", fill=(255, 255, 255), font=font,
              stroke_width=1, stroke_fill=(0, 0, 0))
    for k, name in enumerate(shot.subjects):
        y += 12
        state = STATE_STYLE.get(int(states[k, t]), ("unknown", ""))[0]
        draw.text((PAD, y), f"S{k + 1} {name}: {state}", fill=subject_rgb(k), font=font, stroke_width=1,
                  stroke_fill=(0, 0, 0))


def check_video_path(out: str | Path) -> Path:
    """The preview video's path; UserError unless it ends in .mp4."""
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise UserError(f"preview video {str(out)!r} must be an .mp4 file")
    return out


def write_preview_video(clip_path: str | Path, out: str | Path, crf: int = 20) -> Path:
    """Write the annotated preview of one clip as H.264 mp4 (atomically); returns `out`."""
    clip_path, out = Path(clip_path), check_video_path(out)
    if not is_complete(clip_path):
        raise UserError(f"{str(clip_path)!r} is not a complete clip folder (no clip.json)")
    try:
        record = read_clip(clip_path)
        events, _ = clip_states(record)
        rgb = read_video(record.video_path)
        ids = record.load_instances()
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise UserError(f"{str(clip_path)!r}: cannot read the clip ({type(e).__name__}: {e})") from None
    shot = record.shot
    side = min(shot.height - 2 * PAD, max(MIN_INSET_PX, round(shot.width * INSET_FRACTION)))
    inset = _Inset(record, events, side)
    font = ImageFont.load_default()
    line = max(1, round(min(shot.width, shot.height) / 240))
    x0, y0 = shot.width - side - PAD, shot.height - side - PAD
    try:
        with open_video(out, shot.fps, shot.width, shot.height, crf=crf) as video:
            for t in range(shot.frames):
                frame = draw_outlines(rgb[t], ids[t], shot.n_subjects, line)
                frame[y0 - 1:y0 + side + 1, x0 - 1:x0 + side + 1] = 255
                frame[y0:y0 + side, x0:x0 + side] = inset.frame(t)
                img = Image.fromarray(frame)
                _labels(ImageDraw.Draw(img), record, events.states, t, font)
                video.write(np.asarray(img))
    except OSError as e:
        raise UserError(f"cannot write {str(out)!r}: {e.strerror or e}") from None
    return out
