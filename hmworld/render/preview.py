"""Contact sheet of a clip: frames across time with each subject's mask outlined.

A person checks at a glance that subjects walk where the masks say, leave the
frame and come back: every tile is labelled with its frame number and, per
subject, whether it is visible, hidden (in frame but covered) or out of frame.
With depth, each tile's depth map sits under it, colour-mapped by inverse
depth (turbo: near red, far blue; black where no surface), and a scale bar in
metres ends the sheet (or, when no frame has a surface, a black strip saying so).
Labels shorten, then drop, where a tile or the sheet is too narrow for them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from hmworld.atomic import atomic_path
from hmworld.clip import is_complete, read_clip
from hmworld.errors import UserError
from hmworld.video import read_video

# outline colours of subjects 1..3 (then cycling): bright and unlike scene colours
SUBJECT_COLORS = np.array([[255, 40, 200], [0, 230, 255], [255, 200, 0], [120, 255, 60]], dtype=np.uint8)
LABEL_H = 14
NO_SURFACE_RGB = (0, 0, 0)  # depth +inf: sky, nothing within range
DEPTH_COLORMAP = "turbo"
DEPTH_PERCENTILES = (2.0, 98.0)  # the colour scale spans these of a clip's finite depths
SCALE_BAR_H = 2 * LABEL_H
LABEL_GAP = 6  # px between two labels on one line


def outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels of `mask` [H,W] that touch a pixel outside it (4-neighbourhood), grown `width` px."""
    m = np.pad(mask, 1, constant_values=False)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    edge = mask & ~inner
    for _ in range(width - 1):
        e = np.pad(edge, 1, constant_values=False)
        edge = e[1:-1, 1:-1] | e[:-2, 1:-1] | e[2:, 1:-1] | e[1:-1, :-2] | e[1:-1, 2:]
    return edge


def draw_outlines(rgb: np.ndarray, ids: np.ndarray, n_subjects: int, width: int = 1) -> np.ndarray:
    """Copy of an RGB frame with each subject's visible mask outlined in its colour."""
    out = rgb.copy()
    for k in range(n_subjects):
        edge = outline(ids == k + 1, width)
        out[edge] = SUBJECT_COLORS[k % len(SUBJECT_COLORS)]
    return out


def depth_range(depth: np.ndarray) -> tuple[float, float] | None:
    """(near, far) metres the colour scale spans: DEPTH_PERCENTILES of the finite depths; None when
    there is none (all +inf: every pixel is sky, and no scale would be true)."""
    finite = depth[np.isfinite(depth)]
    if finite.size == 0:
        return None
    near, far = (float(v) for v in np.percentile(finite, DEPTH_PERCENTILES))
    return near, max(far, near * 1.01)


def depth_rgb(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """Depth [...] (metres, +inf none) → uint8 RGB [...,3]: turbo over inverse depth, near red, far blue.

    Inverse depth spreads the colours where a camera resolves most (near);
    depths outside [near, far] take the end colours; no surface is NO_SURFACE_RGB.
    """
    lut = (colormaps[DEPTH_COLORMAP](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)
    d = np.asarray(depth, dtype=np.float64)
    finite = np.isfinite(d)
    with np.errstate(divide="ignore"):
        x = (1.0 / np.where(finite, d, far) - 1.0 / far) / (1.0 / near - 1.0 / far)
    out = lut[np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.int64)]
    out[~finite] = NO_SURFACE_RGB
    return out


def _metres(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _fitting(draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
             variants: list[list[str]], width: float, gap: int = LABEL_GAP) -> list[str]:
    """The first variant (most to least verbose) whose texts fit side by side in `width` px; none fits: []."""
    for texts in variants:
        if sum(draw.textlength(t, font=font) for t in texts) + gap * max(0, len(texts) - 1) <= width:
            return texts
    return []


def depth_scale_bar(width: int, span: tuple[float, float] | None) -> Image.Image:
    """A `width` × SCALE_BAR_H strip: the colour scale from far (left) to near (right), labelled in metres.

    span: (near, far) metres (`depth_range`), or None when no frame has a surface: the strip is then
    black (the colour of no surface) and says so instead of showing a scale. Labels shorten, then
    drop, where the strip is too narrow for them (never drawn over each other).
    """
    img = Image.new("RGB", (width, SCALE_BAR_H), (24, 24, 24))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    room = width - 8
    grey = (230, 230, 230)
    if span is None:
        draw.rectangle((4, 2, 4 + max(0, room - 1), LABEL_H - 3), fill=NO_SURFACE_RGB, outline=(90, 90, 90))
        texts = _fitting(draw, font, [["depth: no surface in any frame (all black)"], ["no surface"], ["none"]], room)
        for t in texts:
            draw.text((4, LABEL_H), t, fill=grey, font=font)
        return img
    near, far = span
    inv = np.linspace(1.0 / far, 1.0 / near, max(1, room))
    bar = depth_rgb(1.0 / inv, near, far)
    img.paste(Image.fromarray(np.repeat(bar[None], LABEL_H - 4, axis=0)), (4, 2))
    for x, text in scale_labels(draw, font, width, near, far):
        draw.text((x, LABEL_H), text, fill=grey, font=font)
    return img


def scale_labels(draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: int,
                 near: float, far: float) -> list[tuple[int, str]]:
    """(x, text) of the scale bar's labels: far at the left edge, near at the right, at least LABEL_GAP
    px apart; the most verbose of the variants that fits, none when not even bare numbers do."""
    texts = _fitting(draw, font, [
        [f"depth: far {_metres(far)} m", f"near {_metres(near)} m; black: no surface"],
        [f"far {_metres(far)} m", f"near {_metres(near)} m"],
        [f"{_metres(far)} m", f"{_metres(near)} m"],
        [f"{_metres(far)}", f"{_metres(near)}"],
    ], width - 8)
    if not texts:
        return []
    left, right = texts
    return [(4, left), (width - 4 - int(np.ceil(draw.textlength(right, font=font))), right)]


def tile_labels(draw: ImageDraw.ImageDraw, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, x: int, y: int,
                width: int, t: int, states: list[str]) -> None:
    """A tile's label row: frame number and each subject's state in its colour, in `width` px.

    Shortened ("12", "1v") where the full labels ("t=12", "1:vis") do not fit, and trailing
    subjects dropped where not even those do; never drawn into the next tile.
    """
    full = [f"t={t}", *(f"{k + 1}:{s}" for k, s in enumerate(states))]
    short = [f"{t}", *(f"{k + 1}{s[0]}" for k, s in enumerate(states))]
    variants = [full, short] + [short[:n] for n in range(len(short) - 1, 0, -1)]
    texts = _fitting(draw, font, variants, width - 6)
    cx = x + 3
    for k, text in enumerate(texts):
        colour = (230, 230, 230) if k == 0 else tuple(int(c) for c in SUBJECT_COLORS[(k - 1) % len(SUBJECT_COLORS)])
        draw.text((cx, y + 1), text, fill=colour, font=font)
        cx += round(draw.textlength(text, font=font)) + LABEL_GAP


def pick_frames(total: int, count: int) -> np.ndarray:
    """`count` frame indices spread evenly from the first to the last frame."""
    count = max(1, min(count, total))
    return np.unique(np.round(np.linspace(0, total - 1, count)).astype(int))


def _state(visible: int, silhouette: int | None) -> str:
    if visible > 0:
        return "vis"
    if silhouette is not None and silhouette > 0:
        return "hid"
    return "out" if silhouette is not None else "—"


def contact_sheet(
    clip_path: str | Path, frames: int = 12, columns: int = 4, scale: float = 1.0, depth: bool = False
) -> Image.Image:
    """The sheet as an image: `frames` tiles in rows of `columns`, each labelled.

    depth: put each frame's colour-mapped depth under it and a scale bar at the
    bottom; a clip without depth is a UserError (DamagedClip) naming it.
    """
    clip_path = Path(clip_path)
    if not is_complete(clip_path):
        raise UserError(f"{str(clip_path)!r} is not a complete clip folder (no clip.json)")
    if frames < 1 or columns < 1 or not 0 < scale < float("inf"):
        raise UserError(f"frames and columns must be at least 1 and scale a positive finite number; "
                        f"got {frames}, {columns}, {scale}")
    rec = read_clip(clip_path)
    shot = rec.shot
    idx = pick_frames(shot.frames, frames)
    rgb = read_video(rec.video_path, idx)
    ids = rec.load_instances(idx)
    dm = rec.load_depth(idx) if depth else None
    span = depth_range(dm) if dm is not None else None
    near, far = span or (1.0, 2.0)  # no span: every depth pixel is +inf, drawn NO_SURFACE_RGB whatever the range
    vis = rec.measured.visible_pixels
    sil = rec.measured.silhouette_pixels
    tw, th = max(1, round(shot.width * scale)), max(1, round(shot.height * scale))
    cols = min(columns, len(idx))
    rows = -(-len(idx) // cols)
    cell = th * (2 if depth else 1) + LABEL_H
    sheet = Image.new("RGB", (cols * tw, rows * cell + (SCALE_BAR_H if depth else 0)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    line = max(1, round(min(shot.width, shot.height) / 240))
    for j, t in enumerate(idx):
        tile = Image.fromarray(draw_outlines(rgb[j], ids[j], shot.n_subjects, line))
        if (tw, th) != (shot.width, shot.height):
            tile = tile.resize((tw, th), Image.BILINEAR)
        x, y = (j % cols) * tw, (j // cols) * cell
        sheet.paste(tile, (x, y + LABEL_H))
        if dm is not None:  # nearest pixel: depth is never blended across an edge
            sheet.paste(Image.fromarray(depth_rgb(dm[j], near, far)).resize((tw, th), Image.NEAREST),
                        (x, y + LABEL_H + th))
        states = [_state(int(vis[k, t]), None if sil is None else int(sil[k, t])) for k in range(shot.n_subjects)]
        tile_labels(draw, font, x, y, tw, int(t), states)
    if depth:
        sheet.paste(depth_scale_bar(sheet.width, span), (0, rows * cell))
    return sheet


def write_contact_sheet(
    clip_path: str | Path, out: str | Path, frames: int = 12, columns: int = 4, scale: float = 1.0,
    depth: bool = False,
) -> Path:
    """Write the contact sheet as PNG, atomically."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UserError(f"contact sheet {str(out)!r} must be a .png file")
    sheet = contact_sheet(clip_path, frames, columns, scale, depth)
    try:
        with atomic_path(out) as tmp:
            sheet.save(tmp, format="PNG")
    except OSError as e:
        raise UserError(f"cannot write {str(out)!r}: {e.strerror or e}") from None
    return out
