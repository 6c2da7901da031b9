"""Contact sheets: frames across the clip, each subject's mask outlined in its colour."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hmworld.clip import read_clip
from hmworld.errors import UserError
from hmworld.render.builtin.backend import BuiltinBackend
from hmworld.render.builtin.reference import reference_pose, reference_scene, reference_shot
from hmworld.render.preview import LABEL_H, SUBJECT_COLORS, contact_sheet, outline, pick_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("preview") / "clip"
    backend = BuiltinBackend(scene_fn=lambda s, seed: reference_scene(seed), pose_fn=reference_pose)
    backend.render_clip(reference_shot(frames=24, width=128, height=96), out)
    return out


def test_outline_is_the_rim_of_the_mask() -> None:
    mask = np.zeros((7, 7), bool)
    mask[2:5, 1:6] = True
    rim = outline(mask)
    assert rim.sum() == mask.sum() - 3 and not rim[3, 2:5].any() and rim[2].sum() == 5


def test_frames_are_spread_from_first_to_last() -> None:
    assert pick_frames(150, 4).tolist() == [0, 50, 99, 149]
    assert pick_frames(3, 12).tolist() == [0, 1, 2]


def test_sheet_has_a_labelled_tile_per_frame_with_subjects_outlined(clip: Path) -> None:
    rec = read_clip(clip)
    sheet = np.asarray(contact_sheet(clip, frames=8, columns=4))
    assert sheet.shape == (2 * (96 + LABEL_H), 4 * 128, 3)
    idx = pick_frames(24, 8)
    for j, t in enumerate(idx):
        tile = sheet[(j // 4) * (96 + LABEL_H) + LABEL_H :][:96, (j % 4) * 128 :][:, :128]
        for k in range(2):
            drawn = np.all(tile == SUBJECT_COLORS[k], axis=-1).sum()
            if rec.measured.visible_pixels[k, t] > 20:
                assert drawn > 8, (t, k)
            elif rec.measured.visible_pixels[k, t] == 0:
                assert drawn == 0, (t, k)


def test_cli_writes_a_png_and_refuses_a_folder_that_is_not_a_clip(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    r = subprocess.run([sys.executable, "-m", "hmworld", "preview", str(clip), "--out", str(out), "--frames", "6"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (4 * 128, 2 * (96 + LABEL_H))
    r = subprocess.run([sys.executable, "-m", "hmworld", "preview", str(tmp_path), "--out", str(tmp_path / "x.png")],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "not a complete clip folder" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_bad_sheet_settings_are_user_errors(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="columns"):
        contact_sheet(clip, frames=4, columns=0)
    from hmworld.render.preview import write_contact_sheet

    with pytest.raises(UserError, match=r"\.png"):
        write_contact_sheet(clip, tmp_path / "sheet.jpg")


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_a_scale_that_is_not_a_positive_finite_number_is_a_user_error(clip: Path, scale: float) -> None:
    # inf used to pass the check and end in an OverflowError traceback
    with pytest.raises(UserError, match="scale a positive finite number"):
        contact_sheet(clip, frames=2, scale=scale)
