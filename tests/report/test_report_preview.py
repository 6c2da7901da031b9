"""`hmworld preview --video`: the clip with masks outlined, state labels and a moving top-down inset."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import read_clip
from hmworld.report.preview import INSET_FRACTION, PAD, write_preview_video
from hmworld.report.style import subject_rgb
from hmworld.video import read_video, video_info


@pytest.fixture(scope="module")
def clip(dataset: Path) -> Path:
    return sorted((dataset / "clips").iterdir())[0]


@pytest.fixture(scope="module")
def preview(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_preview_video(clip, tmp_path_factory.mktemp("pv") / "p.mp4")


def test_preview_has_every_frame_at_the_clips_size(clip: Path, preview: Path) -> None:
    shot = read_clip(clip).shot
    info = video_info(preview)
    assert (info.frames, info.width, info.height, info.codec) == (shot.frames, shot.width, shot.height, "h264")


def test_masks_are_outlined_in_the_subjects_colour(clip: Path, preview: Path) -> None:
    rec = read_clip(clip)
    t = int(np.argmax(rec.measured.visible_pixels[0]))
    frame = read_video(preview, [t])[0].astype(int)
    mask = rec.load_instances()[t] == 1
    side = min(rec.shot.height - 2 * PAD, max(72, round(rec.shot.width * INSET_FRACTION)))
    mask[rec.shot.height - side - PAD - 1:, rec.shot.width - side - PAD - 1:] = False  # under the inset
    mask[:12 * (rec.shot.n_subjects + 1) + PAD] = False  # under the labels
    near = np.abs(frame - np.array(subject_rgb(0))).max(axis=-1) < 60
    assert mask.any() and near[mask].mean() > 0.2


def test_inset_moves_with_the_clip(clip: Path, preview: Path) -> None:
    shot = read_clip(clip).shot
    frames = read_video(preview, [0, shot.frames - 1]).astype(int)
    side = min(shot.height - 2 * PAD, max(72, round(shot.width * INSET_FRACTION)))
    inset = frames[:, shot.height - side - PAD:shot.height - PAD, shot.width - side - PAD:shot.width - PAD]
    assert inset.std() > 10  # a drawn map, not a blank square
    assert np.abs(inset[0] - inset[1]).max(axis=-1).astype(bool).mean() > 0.002  # markers and view moved


def test_cli_writes_sheet_and_video_and_rejects_bad_names(clip: Path, tmp_path: Path) -> None:
    def hm(*a: object) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hmworld", "preview", *map(str, a)], capture_output=True,
                              text=True, timeout=300)

    r = hm(clip, "--out", tmp_path / "s.png", "--video", tmp_path / "v.mp4")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "s.png").is_file() and (tmp_path / "v.mp4").is_file()
    r = hm(clip, "--out", tmp_path / "s2.png", "--video", tmp_path / "v.avi")
    assert r.returncode == 2 and r.stderr.strip().endswith("must be an .mp4 file") and r.stderr.count("\n") == 1
    assert not (tmp_path / "s2.png").exists()
    r = hm(clip)
    assert r.returncode == 2 and "--video OUT.mp4" in r.stderr and r.stderr.count("\n") == 1


def test_a_damaged_clip_is_one_line(clip: Path, tmp_path: Path) -> None:
    bad = tmp_path / "clip"
    shutil.copytree(clip, bad)
    (bad / "instances.npz").write_bytes(b"broken")
    r = subprocess.run([sys.executable, "-m", "hmworld", "preview", str(bad), "--video", str(tmp_path / "v.mp4")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "cannot read the clip" in r.stderr
    assert not (tmp_path / "v.mp4").exists()
