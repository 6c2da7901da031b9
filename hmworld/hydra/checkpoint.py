"""A run folder: run.json (configs), checkpoints/step_NNNNNNN.pt, log.csv, tb/.

Checkpoints are written atomically, so the newest file is always complete;
they hold the model and optimizer state and the step, which is all an exact
resume needs (data order and noise are pure functions of seed and step).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hmworld.atomic import atomic_path, write_json
from hmworld.errors import UserError
from hmworld.hydra.config import ModelConfig
from hmworld.hydra.latent import LatentCodec, make_codec
from hmworld.hydra.model import HydraDiT

RUN_FORMAT = 1
RUN_JSON = "run.json"
CHECKPOINTS = "checkpoints"
LOG_CSV = "log.csv"


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return run_dir / CHECKPOINTS / f"step_{step:07d}.pt"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary files from a killed write are skipped)."""
    folder = run_dir / CHECKPOINTS
    return sorted(folder.glob("step_*.pt")) if folder.is_dir() else []


def save_checkpoint(run_dir: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, keep: int) -> Path:
    path = checkpoint_path(run_dir, step)
    state = {"format": RUN_FORMAT, "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    for old in list_checkpoints(run_dir)[:-keep]:
        old.unlink()
    return path


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    return torch.load(path, map_location=device, weights_only=True)


def write_run_json(run_dir: Path, info: dict[str, Any]) -> None:
    write_json(run_dir / RUN_JSON, {"format": RUN_FORMAT, **info})


def read_run_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_JSON
    if not path.is_file():
        raise UserError(f"{str(run_dir)!r} is not a training run (no {RUN_JSON}); make one with `hmworld train`")
    return json.loads(path.read_text())


@dataclass(frozen=True, eq=False)
class LoadedRun:
    """A trained model ready to generate."""

    run_dir: Path
    cfg: ModelConfig
    model: HydraDiT
    codec: LatentCodec
    step: int


def load_run(run_dir: str | Path, device: torch.device | str = "cpu") -> LoadedRun:
    """The newest checkpoint of a run, in eval mode on `device`."""
    run_dir = Path(run_dir)
    info = read_run_json(run_dir)
    cfg = ModelConfig.from_dict(info["model"])
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise UserError(f"run {str(run_dir)!r} has no checkpoint yet")
    state = load_checkpoint(checkpoints[-1], device)
    codec = make_codec(cfg, device)
    model = HydraDiT(cfg)
    model.load_state_dict(state["model"])
    return LoadedRun(run_dir, cfg, model.to(device).eval(), codec, int(state["step"]))
