"""Depth on the report's clip pages and on `hmworld preview --depth` sheets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from hmworld.clip import clip_dir, read_clip
from hmworld.dataset import package
from hmworld.dataset.tables import read_all
from hmworld.depth import write_depth
from hmworld.render.preview import (
    LABEL_H,
    NO_SURFACE_RGB,
    SCALE_BAR_H,
    contact_sheet,
    depth_range,
    depth_rgb,
    depth_scale_bar,
    pick_frames,
    scale_labels,
    tile_labels,
)
from hmworld.report import build_report
from tests.dataset.dataset_support import RULE, make_dataset


def test_clip_pages_show_the_depth_sheet(report: Path, dataset: Path) -> None:
    cid = read_all(dataset, columns=["clip_id"]).column("clip_id")[0].as_py()
    folder = report / "clips" / cid
    html = (folder / "index.html").read_text()
    assert '<h2 id="depth">Depth</h2>' in html and 'src="depth.jpg"' in html
    sheet = np.asarray(Image.open(folder / "depth.jpg"))
    colour = np.asarray(Image.open(folder / "sheet.jpg"))
    assert sheet.shape[1] == colour.shape[1] and sheet.shape[0] > colour.shape[0]  # a depth row under each row


def test_a_clip_without_depth_has_no_depth_section(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    make_dataset(root, n=1, frames=20, width=64, height=48, depth=False, group_sizes=(1,))
    package(root, RULE)
    build_report(root, tmp_path / "site")
    page = next((tmp_path / "site" / "clips").glob("*/index.html"))
    assert 'id="depth"' not in page.read_text() and not (page.parent / "depth.jpg").exists()
    assert "none (rendered with --no-depth or by a backend that writes none)" in page.read_text()


def test_depth_colours_run_from_near_red_to_far_blue_and_no_surface_is_black() -> None:
    rgb = depth_rgb(np.array([1.0, 2.0, 10.0, np.inf]), near=1.0, far=10.0).astype(int)
    assert rgb[0, 0] > rgb[0, 2] and rgb[2, 2] > rgb[2, 0]  # near reddish, far bluish
    assert rgb[3].tolist() == [0, 0, 0]
    assert depth_range(np.full((2, 3), np.inf)) is None  # all sky: no scale to show (was a made-up 1-2 m)


def test_preview_sheet_puts_each_frames_depth_under_it(dataset: Path) -> None:
    cid = read_all(dataset, columns=["clip_id"]).column("clip_id")[0].as_py()
    rec = read_clip(clip_dir(dataset, cid))
    w, h = rec.shot.width, rec.shot.height
    sheet = np.asarray(contact_sheet(rec.path, frames=4, columns=4, depth=True))
    assert sheet.shape == (2 * h + LABEL_H + SCALE_BAR_H, 4 * w, 3)
    idx = pick_frames(rec.shot.frames, 4)
    depth = rec.load_depth(idx)
    near, far = depth_range(depth)  # the test clips have surfaces: a span
    for j in range(4):
        tile = sheet[LABEL_H + h : LABEL_H + 2 * h, j * w : (j + 1) * w]
        np.testing.assert_array_equal(tile, depth_rgb(depth[j], near, far))


def test_cli_preview_depth_writes_the_sheet_and_refuses_a_clip_without_depth(dataset: Path, tmp_path: Path) -> None:
    cid = read_all(dataset, columns=["clip_id"]).column("clip_id")[0].as_py()
    cmd = [sys.executable, "-m", "hmworld", "preview"]
    r = subprocess.run([*cmd, str(clip_dir(dataset, cid)), "--out", str(tmp_path / "s.png"), "--depth"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and (tmp_path / "s.png").is_file(), r.stderr
    r = subprocess.run([*cmd, str(clip_dir(dataset, cid)), "--video", str(tmp_path / "v.mp4"), "--depth"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip() == "error: --depth draws depth on the contact sheet; give --out " \
                                                      "SHEET.png too"
    root = tmp_path / "nodepth"
    shot = make_dataset(root, n=1, frames=10, width=32, height=24, depth=False, group_sizes=(1,))[0]
    r = subprocess.run([*cmd, str(clip_dir(root, shot.clip_id)), "--out", str(tmp_path / "n.png"), "--depth"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"error: clip {shot.clip_id}: has no depth (its clip.json lists no depth.npz: rendered with --no-depth or by a backend that writes none)")
    assert not (tmp_path / "n.png").exists()


BACKGROUND = (24, 24, 24)


def _text_runs(row_band: np.ndarray) -> list[tuple[int, int]]:
    """Column runs [start, end) holding text (any pixel brighter than the background) in a label band."""
    ink = (row_band.astype(int) - np.array(BACKGROUND)).max(axis=2).max(axis=0) > 40
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ink.astype(int), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


@pytest.mark.parametrize("width", [40, 48, 64, 96, 128, 160, 200, 256, 300, 400])
def test_scale_bar_labels_never_run_into_each_other(width: int) -> None:
    draw, font = ImageDraw.Draw(Image.new("RGB", (width, SCALE_BAR_H))), ImageFont.load_default()
    labels = scale_labels(draw, font, width, 1.234, 87.6)
    boxes = [(x, x + draw.textlength(t, font=font)) for x, t in labels]
    assert all(0 <= a and b <= width for a, b in boxes)
    if len(boxes) == 2:
        assert boxes[1][0] - boxes[0][1] >= 3, labels  # a clear gap between far (left) and near (right)
    if width >= 300:
        assert [t for _, t in labels] == ["depth: far 87.6 m", "near 1.2 m; black: no surface"]  # full where they fit
    if width >= 64:
        assert "87.6" in labels[0][1] and "1.2" in labels[1][1]  # shortened, but the numbers kept down to 64 px
    bar = np.asarray(depth_scale_bar(width, (1.234, 87.6)))
    assert _text_runs(bar[LABEL_H:])[-1][1] <= width if labels else True


@pytest.mark.parametrize("width", [24, 40, 48, 64, 96, 128])
def test_tile_labels_stay_inside_their_tile(width: int) -> None:
    img = Image.new("RGB", (width + 200, LABEL_H), BACKGROUND)
    tile_labels(ImageDraw.Draw(img), ImageFont.load_default(), 0, 0, width, 148, ["vis", "hid", "out"])
    runs = _text_runs(np.asarray(img))
    assert runs and runs[-1][1] <= width  # nothing drawn into the next tile


def test_an_all_sky_clip_says_no_surface_instead_of_a_scale(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shot = make_dataset(root, n=1, frames=8, width=64, height=48, group_sizes=(1,))[0]
    write_depth(clip_dir(root, shot.clip_id) / "depth.npz", np.full((8, 48, 64), np.inf, np.float32))
    sheet = np.asarray(contact_sheet(clip_dir(root, shot.clip_id), frames=2, columns=2, depth=True))
    bar = sheet[-SCALE_BAR_H:]
    inside = bar[4 : LABEL_H - 4, 8:-8]
    assert (inside == NO_SURFACE_RGB).all()  # black, the colour of no surface: no turbo scale
    assert (sheet[LABEL_H + 48 : LABEL_H + 96] == NO_SURFACE_RGB).all()  # every depth tile black
    wide = np.asarray(depth_scale_bar(400, None))
    narrow = np.asarray(depth_scale_bar(60, None))
    assert _text_runs(wide[LABEL_H:])[-1][1] > _text_runs(narrow[LABEL_H:])[-1][1]  # a longer line where it fits
    assert _text_runs(narrow[LABEL_H:])[-1][1] <= 60
