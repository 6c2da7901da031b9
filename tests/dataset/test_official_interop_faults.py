"""The official HM-World layouts as the HyDRA release reads them: odd lengths, missing masks, bent cameras,
caption numbering, resumed exports with other settings, and the release's examples layout."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from dataset_support import RULE, make_shots, write_clip
from test_dataset_official_hmworld import official_relative

from hmworld.cli import main
from hmworld.dataset import package
from hmworld.dataset.official_hmworld.exporter import export_hmworld
from hmworld.dataset.tables import read_all
from hmworld.video import video_info


def _cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code
    got = capsys.readouterr()
    return code, got.out, got.err


def _dataset(root: Path, frames: int, n: int = 1) -> Path:
    for i, shot in enumerate(make_shots(n, frames=frames, width=32, height=24, scenes=["park"], group_sizes=(1,))):
        write_clip(root, shot, caption=f"caption of clip {i}")
    package(root, RULE)
    return root


@pytest.mark.parametrize("frames", [33, 77, 149])
def test_export_refuses_an_odd_frame_count(tmp_path, capsys, frames):
    root = _dataset(tmp_path / "ds", frames)
    code, _, err = _cli(capsys, "export", root, "--out", tmp_path / "hmw", "--size", "32x24")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"has {frames} frames; the HM-World layout splits a clip into two equal streams" in err
    assert not list((tmp_path / "hmw").glob("sample*"))


def test_import_refuses_a_sample_without_its_mask_video(tmp_path, capsys, packaged):
    export_hmworld(packaged, tmp_path / "hmw", width=64, height=48, limit=2)
    (tmp_path / "hmw" / "sample2" / "cond_mask.mp4").unlink()
    code, _, err = _cli(capsys, "import-hmworld", tmp_path / "hmw", "--out", tmp_path / "back")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "sample2: cond_mask.mp4 missing" in err


def test_import_refuses_a_camera_that_is_not_rigid(tmp_path, capsys, packaged):
    export_hmworld(packaged, tmp_path / "hmw", width=64, height=48, limit=1)
    path = tmp_path / "hmw" / "sample1" / "camera.json"
    cam = json.loads(path.read_text())
    for stream in cam.values():
        for key, m in stream.items():
            m = np.array(m)
            m[:3, :3] *= 1.5
            stream[key] = m.tolist()
    path.write_text(json.dumps(cam))
    code, _, err = _cli(capsys, "import-hmworld", tmp_path / "hmw", "--out", tmp_path / "back")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "sample1/camera.json: frame 0 is not a rigid camera pose: its rotation is off a rotation by 2.3" in err
    assert not (tmp_path / "back" / "clips").exists() or not list((tmp_path / "back" / "clips").iterdir())


def test_captions_go_to_the_sample_of_their_number(tmp_path, packaged):
    export_hmworld(packaged, tmp_path / "hmw", width=64, height=48, limit=3)
    lines = (tmp_path / "hmw" / "caption.txt").read_text().splitlines()
    shutil.rmtree(tmp_path / "hmw" / "sample2")  # a gap in the numbering
    main(["import-hmworld", str(tmp_path / "hmw"), "--out", str(tmp_path / "back"), "--no-package"])
    checks = {n: json.loads((tmp_path / "hmw" / f"sample{n}" / "check.json").read_text())["clip_id"] for n in (1, 3)}
    for n, cid in checks.items():
        got = json.loads((tmp_path / "back" / "clips" / cid / "caption.json").read_text())["caption"]
        assert got == lines[n - 1]
    assert lines[0] != lines[2]


def test_a_resumed_export_with_another_size_or_caption_writes_again(tmp_path, packaged):
    out = tmp_path / "hmw"
    assert export_hmworld(packaged, out, width=64, height=48, limit=2).written == 2
    again = export_hmworld(packaged, out, width=32, height=24, limit=2)
    assert (again.written, again.kept) == (2, 0)
    assert video_info(out / "sample1" / "cond.mp4").width == 32
    assert json.loads((out / "sample1" / "check.json").read_text())["width"] == 32
    # a caption changed in the tables (re-captioned) → that sample is written again, the other kept
    clip = packaged.parent / "copy"
    shutil.copytree(packaged, clip)
    first = json.loads((out / "sample1" / "check.json").read_text())["clip_id"]
    cap = clip / "clips" / first / "caption.json"
    cap.write_text(json.dumps(json.loads(cap.read_text()) | {"caption": "a new caption"}))
    package(clip, RULE, shard_rows=2)
    third = export_hmworld(clip, out, width=32, height=24, limit=2)
    assert (third.written, third.kept) == (1, 1)
    assert json.loads((out / "sample1" / "check.json").read_text())["caption"] == "a new caption"
    assert (out / "caption.txt").read_text().splitlines()[0] == "a new caption"


def _release_examples_reading(folder: Path) -> list[tuple[int, str, np.ndarray, np.ndarray]]:
    """infer_hydra.py main() over --examples_dir, re-done: N.mp4 sorted by number, caption line N-1, camN.json
    through load_condition_json's stream branch (77 4×4 per stream, relative [20,12])."""
    captions = [line.rstrip("\n") for line in (folder / "caption.txt").read_text().splitlines(keepends=True)]
    out = []
    for name in sorted((f for f in os.listdir(folder) if f.lower().endswith(".mp4")), key=lambda f: int(f[:-4])):
        number = int(name[:-4])
        prompt = captions[number - 1].strip()
        assert prompt, f"empty caption for {name}"
        d = json.loads((folder / f"cam{number}.json").read_text())
        ctx, tgt = (np.array([d[k][str(i)] for i in range(77)], dtype=np.float32) for k in ("cond_cam", "tgt_cam"))
        assert ctx.shape == (77, 4, 4) and tgt.shape == (77, 4, 4)
        c, t = official_relative(ctx.astype(float), tgt.astype(float))
        out.append((number, prompt, c, t))
    return out


@pytest.mark.parametrize("frames", [30, 150])
def test_the_release_runs_on_our_hydra_examples_export(tmp_path, capsys, frames):
    root = _dataset(tmp_path / "ds", frames, n=3)
    code, out, err = _cli(capsys, "export", root, "--out", tmp_path / "ex", "--format", "hydra-examples",
                          "--size", "32x24")
    assert code == 0, err
    assert "1..3.mp4, cam1..3.json" in out
    rows = {r["clip_id"]: r for r in read_all(root).to_pylist()}
    index = json.loads((tmp_path / "ex" / ".hmworld-examples.json").read_text())["keys"]
    assert len(index) == 3
    order = sorted(rows, key=lambda c: (rows[c]["split"] != "train", c))
    read = _release_examples_reading(tmp_path / "ex")
    assert [r[0] for r in read] == [1, 2, 3]
    for (number, prompt, cond, tgt), cid in zip(read, order, strict=True):
        assert prompt == rows[cid]["caption"]
        np.testing.assert_allclose(cond, np.array(rows[cid]["hydra_cond_cam"]), atol=1e-5)
        np.testing.assert_allclose(tgt, np.array(rows[cid]["hydra_tgt_cam"]), atol=1e-5)
        info = video_info(tmp_path / "ex" / f"{number}.mp4")
        assert (info.frames, info.width, info.height, info.fps) == (77, 32, 24, 15)
    # fewer clips the next time: the numbers past the end go
    code, _, err = _cli(capsys, "export", root, "--out", tmp_path / "ex", "--format", "hydra-examples",
                        "--size", "32x24", "--limit", "2")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "ex").iterdir() if not p.name.startswith(".")) == \
        ["1.mp4", "2.mp4", "cam1.json", "cam2.json", "caption.txt"]
