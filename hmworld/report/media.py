"""Per-clip media for the report: video, poster and thumbnail, contact sheets (colour and depth), mask strips.

Mask strips carry a subject's instance mask for every frame, tiled in a grid
(frame t at column t % cols, row t // cols), as a 1-bit palette PNG whose
"on" colour is the subject's, half transparent; the clip page draws the tile
of the frame on show over the video.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from hmworld.atomic import atomic_path
from hmworld.clip import ClipRecord
from hmworld.render.preview import contact_sheet
from hmworld.report.style import subject_rgb
from hmworld.video import read_video

THUMB_WIDTH = 160
MASK_MAX_WIDTH = 416
MASK_ALPHA = 150  # of 255
SHEET_FRAMES = 12


@dataclass(frozen=True)
class MaskGrid:
    """How frames are tiled in a clip's mask strips: each tile width × height px, cols tiles a row."""

    width: int
    height: int
    cols: int
    rows: int


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link src to dst (no copy on one filesystem), copying when linking is not possible."""
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)


def save_image(img: Image.Image, path: Path, **kw: object) -> Path:
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, **kw)
    return path


def poster_and_thumb(record: ClipRecord, poster: Path, thumb: Path) -> None:
    """First frame as the video's poster (JPEG) and a THUMB_WIDTH-wide thumbnail for the index."""
    frame = Image.fromarray(read_video(record.video_path, [0])[0])
    save_image(frame, poster, quality=85)
    h = max(1, round(frame.height * THUMB_WIDTH / frame.width))
    save_image(frame.resize((THUMB_WIDTH, h), Image.BILINEAR), thumb, quality=80)


def write_sheet(record: ClipRecord, path: Path, depth: bool = False) -> Path:
    """The clip's contact sheet (hmworld.render.preview), half size, as JPEG; with `depth`, each
    frame's colour-mapped depth under it and a scale bar in metres."""
    sheet = contact_sheet(record.path, frames=SHEET_FRAMES, columns=4, scale=0.5, depth=depth)
    return save_image(sheet, path, quality=85)


def mask_grid(frames: int, width: int, height: int) -> tuple[MaskGrid, int]:
    """Tile layout for a clip's masks and the pixel stride that keeps a tile at most MASK_MAX_WIDTH wide."""
    stride = max(1, -(-width // MASK_MAX_WIDTH))
    cols = max(1, int(np.ceil(np.sqrt(frames))))
    return MaskGrid(-(-width // stride), -(-height // stride), cols, -(-frames // cols)), stride


def tile_masks(mask: np.ndarray, grid: MaskGrid, stride: int) -> np.ndarray:
    """[T,H,W] bool → one [rows*h, cols*w] uint8 image with frame t at tile (t // cols, t % cols)."""
    m = mask[:, ::stride, ::stride].astype(np.uint8)
    t = m.shape[0]
    pad = grid.rows * grid.cols - t
    if pad:
        m = np.concatenate([m, np.zeros((pad, *m.shape[1:]), dtype=np.uint8)])
    m = m.reshape(grid.rows, grid.cols, grid.height, grid.width)
    return m.transpose(0, 2, 1, 3).reshape(grid.rows * grid.height, grid.cols * grid.width)


def write_mask_strips(record: ClipRecord, folder: Path) -> tuple[MaskGrid, list[str]]:
    """mask-s<k>.png for each subject; returns the grid and the file names (subject order)."""
    shot = record.shot
    ids = record.load_instances()
    grid, stride = mask_grid(shot.frames, shot.width, shot.height)
    names = []
    for k in range(shot.n_subjects):
        tiles = tile_masks(ids == k + 1, grid, stride)
        img = Image.frombytes("P", (tiles.shape[1], tiles.shape[0]), tiles.tobytes())
        img.putpalette([0, 0, 0, *subject_rgb(k)])
        name = f"mask-s{k + 1}.png"
        save_image(img, folder / name, transparency=bytes([0, MASK_ALPHA]), optimize=True, bits=1)
        names.append(name)
    return grid, names
