"""The whole flow through the real console script, as the README's main job runs it:
plan → render (builtin) → filter-events → caption → package → validate → load_dataset →
ClipDataset → train (tiny) → evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import list_clip_dirs, read_clip


def hm(*args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "hmworld", *map(str, args)], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode in ok, f"hmworld {' '.join(map(str, args))} → {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    plan = root / "plan.parquet"
    hm("plan", "--out", plan, "--scenes", "park,village_square", "--clips", "4", "--seed", "1",
       "--frames", "48", "--resolution", "128x96")
    hm("render", "--plan", plan, "--out", root, "--workers", "2")
    hm("filter-events", root)
    hm("caption", root)
    hm("package", root, "--test-scenes", "village_square", "--test-subjects", "none", "--test-fraction", "0")
    return root


def test_every_planned_clip_is_rendered_annotated_and_captioned(dataset):
    clips = list_clip_dirs(dataset)
    assert len(clips) == 4
    for c in clips:
        rec = read_clip(c)
        assert rec.shot.frames == 48 and (rec.shot.width, rec.shot.height) == (128, 96)
        assert (c / "events.json").is_file()
        caption = json.loads((c / "caption.json").read_text())["caption"]
        assert rec.shot.scene.replace("_", " ") in caption.lower()
    hm("validate", dataset)  # exit 0: every video decodes with the stated size and frame count


def test_load_dataset_sees_both_splits_with_the_clip_folders_values(dataset):
    import datasets

    ds = datasets.load_dataset(str(dataset))
    assert set(ds) == {"train", "test"}
    assert {r["scene"] for r in ds["test"]} == {"village_square"}
    assert {r["scene"] for r in ds["train"]} == {"park"}
    row = ds["train"][0]
    rec = read_clip(dataset / "clips" / row["clip_id"])
    assert np.allclose(np.asarray(row["camera_c2w"]), rec.shot.c2w, atol=1e-6)
    assert row["caption"]


def test_clip_dataset_and_a_tiny_train_and_evaluate_run(dataset, tmp_path):
    from hmworld.dataset import ClipDataset

    item = ClipDataset(dataset, split="train", frames=8, size=(48, 64))[0]
    assert item["video"].shape == (8, 3, 48, 64) and item["hydra_tgt_cam"].shape == (20, 12)
    run = tmp_path / "run"
    hm("train", "--data", dataset, "--model", "hydra", "--config", "tiny", "--steps", "3", "--out", run,
       "--device", "cpu")
    assert any(run.rglob("*.pt")) or any(run.rglob("*.ckpt")) or any(run.rglob("checkpoint*"))
    out = tmp_path / "eval"
    hm("evaluate", "--run", run, "--data", dataset, "--split", "test", "--out", out, "--steps", "2",
       "--device", "cpu")
    scores = json.loads((out / "eval.json").read_text())
    text = json.dumps(scores)
    assert "psnr" in text.lower() and "ssim" in text.lower()
