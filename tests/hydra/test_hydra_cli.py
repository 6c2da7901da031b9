"""`hmworld train` and `hmworld evaluate` end to end, and the evaluation table itself.

The CLI reads datasets through hmworld.hydra.data.open_dataset; here it is
pointed at the synthetic clips. To run on a packaged hmworld dataset instead,
drop the monkeypatch and pass that folder as --data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from hmworld.cli import app
from hmworld.hydra.evaluate import (
    EvalOptions,
    RunScores,
    _Tally,
    evaluate,
    markdown_table,
    score_clip,
)

REPO = Path(__file__).resolve().parents[2]


def test_train_then_evaluate_two_runs_through_the_cli(synthetic_data, tmp_path):
    runner = CliRunner()
    data = str(tmp_path)  # any existing folder; the synthetic clips stand in for its contents
    for model in ("hydra", "full-context"):
        result = runner.invoke(
            app, ["train", "--data", data, "--out", str(tmp_path / model), "--model", model, "--steps", "3", "--log-every", "1"]
        )
        assert result.exit_code == 0, result.output
        assert "step       3" in result.output
    out = tmp_path / "eval"
    args = ["evaluate", "--run", str(tmp_path / "hydra"), "--run", str(tmp_path / "full-context"), "--data", data]
    import transformers

    clip_cfg = transformers.CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64,
                                             num_hidden_layers=1, num_attention_heads=4)  # fmt: skip
    transformers.CLIPVisionModel(clip_cfg).save_pretrained(tmp_path / "clip")
    dsc = ["--dsc-clip", str(tmp_path / "clip")]
    result = runner.invoke(app, [*args, "--out", str(out), "--steps", "4", "--samples", "1", *dsc])
    assert result.exit_code == 0, result.output
    assert "DSC_con ↑ | DSC_tgt ↑ |" in result.output
    assert "| hydra | hydra | tiny | 3 | 2 |" in result.output
    assert "| full-context | full-context | tiny | 3 | 2 |" in result.output
    report = json.loads((out / "eval.json").read_text())
    rows = report["rows"]
    assert [r["run"] for r in rows] == ["hydra", "full-context"]
    for r in rows:
        assert r["frames"] == 16 and 0 < r["psnr"] < 100 and -1 <= r["ssim"] <= 1
        assert r["subject_frames"] > 0 and r["reentry_error"] is not None and r["lpips"] is None
        # DSC needs the tracker to find the subject in the generated frames; 3 training steps rarely make one
        assert all(r[k] is None or -1 <= r[k] <= 1 for k in ("dsc_con", "dsc_tgt"))
    assert (out / "eval.md").read_text().count("\n") == 4
    png = np.asarray(Image.open(out / "samples" / "hydra" / "squares_test_000.png"))
    assert png.shape == (64, 8 * 32, 3)  # truth over generated, 8 target frames of 32×32
    # the same seed gives the same numbers again
    again = evaluate([tmp_path / "hydra"], data, EvalOptions(steps=4), log=None)
    assert again[0].psnr == rows[0]["psnr"] and again[0].reentry_error == rows[0]["reentry_error"]


def test_user_mistakes_exit_2_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "hmworld", "evaluate", "--run", str(tmp_path / "nope"), "--data", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {str(tmp_path / 'nope')!r} is not a training run (no run.json); make one with `hmworld train`"]


def test_a_perfect_generation_scores_perfectly_on_subjects(squares):
    clip = squares(n_clips=1)[0]
    video, masks, fi = clip["video"][8:], clip["masks"][8:], clip["frame_index"][8:]
    tally = _Tally()
    score_clip(tally, video, video, masks, fi, clip["reentry_frame"], clip["subject_valid"], 4, None, None)
    assert tally.psnr == [100.0] and tally.ssim[0] == pytest.approx(1.0)
    assert tally.mean(tally.s_psnr) == 100.0 and tally.mean(tally.s_err) == 0.0
    # frames before a subject's re-entry are not subject frames
    n_after = sum(
        int(((fi >= clip["reentry_frame"][k]) & ((masks == k + 1).sum((1, 2)) >= 4)).sum())
        for k in range(3) if clip["subject_valid"][k]
    )  # fmt: skip
    assert sum(v.numel() for v in tally.s_psnr) == n_after > 0
    shifted = torch.roll(video, shifts=3, dims=3)
    tally2 = _Tally()
    score_clip(tally2, shifted, video, masks, fi, clip["reentry_frame"], clip["subject_valid"], 4, None, None)
    assert tally2.mean(tally2.s_err) > 0 and tally2.mean(tally2.s_psnr) < 100


def test_markdown_table_marks_missing_metrics():
    row = RunScores("a", "hydra", "tiny", 10, 2, 16, 21.5, 0.61234, None, 0, None, None, None, None)
    table = markdown_table([row])
    assert table.splitlines()[2] == "| a | hydra | tiny | 10 | 2 | 21.50 | 0.6123 | – | 0 | – | – | – | – | – | – |"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--out", "RUN"], "error: give one of --data DATASET or --cache CACHE"),
        (["train", "--out", "RUN", "--data", "RUN", "--ablate", "affinity=bad"], "error: unknown affinity 'bad'; allowed: released, per-head"),
        (["train", "--out", "RUN", "--data", "RUN", "--backbone", "wan2.1-t2v-1.3b"], "error: --backbone and --weights go together: --backbone wan2.1-t2v-1.3b --weights DIR"),
    ],
)
def test_train_option_mistakes_exit_2_with_one_line(tmp_path, args, message):
    argv = [str(tmp_path) if a == "RUN" else a for a in args]
    proc = subprocess.run([sys.executable, "-m", "hmworld", *argv], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [message]
