"""Training: a tiny model overfits, resume is exact, DDP runs (1 rank in-process, 2 ranks under torchrun)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch.utils.data._utils.collate import default_collate

from hmworld.errors import UserError
from hmworld.hydra.checkpoint import list_checkpoints, load_checkpoint, load_run
from hmworld.hydra.config import model_config
from hmworld.hydra.pipeline import prepare_batch, training_loss
from hmworld.hydra.train import TrainOptions, batch_indices, train

REPO = Path(__file__).resolve().parents[2]


def _log(run: Path) -> list[dict[str, str]]:
    with (run / "log.csv").open() as f:
        return list(csv.DictReader(f))


def _fixed_loss(run_dir: Path, batch: dict) -> float:
    """Flow loss of a run's newest checkpoint on fixed clips, noise and timesteps."""
    run = load_run(run_dir)
    prep = prepare_batch(batch, run.codec, run.cfg, torch.device("cpu"))
    with torch.no_grad():
        losses = [training_loss(run.model, prep, torch.Generator().manual_seed(s), run.cfg) for s in range(8)]
    return float(torch.stack(losses).mean())


def test_tiny_model_overfits_a_handful_of_clips(squares, tmp_path):
    data = squares(n_clips=4)
    batch = default_collate([data[i] for i in range(4)])
    cfg = model_config("tiny", "hydra")
    train(data, cfg, TrainOptions(out=tmp_path, steps=1, save_every=1, log_every=1), log=None)
    start = _fixed_loss(tmp_path, batch)
    train(data, cfg, TrainOptions(out=tmp_path, steps=160, save_every=160, log_every=20), log=None)
    end = _fixed_loss(tmp_path, batch)
    assert start > 0.9  # ≈ 1 + E[x0²] for an untrained model
    assert end < 0.5 * start, (start, end)
    assert [int(r["step"]) for r in _log(tmp_path)] == [1, *range(20, 161, 20)]


@pytest.mark.parametrize("mode", ["hydra", "fov-retrieval"])
def test_resume_from_a_checkpoint_gives_the_same_next_losses(squares, tmp_path, mode):
    data = squares(n_clips=4)
    cfg = model_config("tiny", mode)
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(data, cfg, TrainOptions(out=straight, steps=4, save_every=2, log_every=1), log=None)
    train(data, cfg, TrainOptions(out=split, steps=2, save_every=2, log_every=1), log=None)
    messages = []
    train(data, cfg, TrainOptions(out=split, steps=4, save_every=2, log_every=1), log=messages.append)
    assert any("resuming" in m and "step 2" in m for m in messages)
    a, b = _log(straight), _log(split)
    assert [r["step"] for r in b] == ["1", "2", "3", "4"]
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    wa = load_checkpoint(list_checkpoints(straight)[-1])["model"]
    wb = load_checkpoint(list_checkpoints(split)[-1])["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resuming_with_another_config_is_refused(squares, tmp_path):
    data = squares(n_clips=2)
    train(data, model_config("tiny"), TrainOptions(out=tmp_path, steps=1, save_every=1), log=None)
    with pytest.raises(UserError, match="top_k: 10 there, 2 now"):
        train(data, model_config("tiny", top_k=2), TrainOptions(out=tmp_path, steps=2), log=None)
    with pytest.raises(UserError, match="already holds checkpoints"):
        train(data, model_config("tiny"), TrainOptions(out=tmp_path, steps=2, resume=False), log=None)


def test_a_dataset_smaller_than_a_batch_is_a_user_error(squares, tmp_path):
    with pytest.raises(UserError, match="needs at least 4"):
        train(squares(n_clips=3), model_config("tiny"), TrainOptions(out=tmp_path, steps=1, batch_size=4), log=None)


def test_data_order_is_a_seeded_permutation_per_epoch_split_across_ranks():
    epoch0 = [batch_indices(8, 2, 0, 0, 1, s) for s in range(4)]
    assert sorted(i for b in epoch0 for i in b) == list(range(8))
    assert [batch_indices(8, 2, 0, 0, 1, s) for s in range(4)] == epoch0
    assert [batch_indices(8, 2, 0, 0, 1, s) for s in range(4, 8)] != epoch0  # a new shuffle next epoch
    ranks = [batch_indices(8, 2, 0, r, 2, s) for r in range(2) for s in range(2)]
    assert sorted(i for b in ranks for i in b) == list(range(8))


def test_run_folder_has_config_csv_log_and_tensorboard_events(squares, tmp_path):
    pytest.importorskip("tensorboard")
    train(squares(n_clips=2), model_config("tiny", "full-context"), TrainOptions(out=tmp_path, steps=2, log_every=1), log=None)
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["model"]["mode"] == "full-context" and info["world_size"] == 1 and info["params"] > 0
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert list(_log(tmp_path)[0]) == ["step", "loss", "lr", "grad_norm", "samples_per_s"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_code_path_with_one_gloo_rank_matches_a_plain_run(squares, tmp_path, monkeypatch):
    data = squares(n_clips=4)
    cfg = model_config("tiny")
    train(data, cfg, TrainOptions(out=tmp_path / "plain", steps=3, log_every=1), log=None)
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(key, value)
    train(data, cfg, TrainOptions(out=tmp_path / "ddp", steps=3, log_every=1), log=None)
    assert not torch.distributed.is_initialized()  # the group is torn down afterwards
    assert [r["loss"] for r in _log(tmp_path / "plain")] == [r["loss"] for r in _log(tmp_path / "ddp")]


def test_two_ranks_under_torchrun_train_one_synchronised_model(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys, torch
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from conftest import MovingSquares
            from pathlib import Path
            from hmworld.hydra.config import model_config
            from hmworld.hydra import train as T

            torch.set_num_threads(1)
            out = Path({str(tmp_path / "run")!r})
            r = T.train(MovingSquares(n_clips=4), model_config("tiny"), T.TrainOptions(out=out, steps=3, batch_size=1, log_every=1), log=None)
            rank = int(os.environ["RANK"])
            params = torch.cat([p.detach().flatten() for p in r.model.parameters()])
            torch.save(params, out / f"params_rank{{rank}}.pt")
            """
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()), str(script)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    assert json.loads((run / "run.json").read_text())["world_size"] == 2
    assert [r["step"] for r in _log(run)] == ["1", "2", "3"]
    p0, p1 = torch.load(run / "params_rank0.pt"), torch.load(run / "params_rank1.pt")
    assert torch.equal(p0, p1)
