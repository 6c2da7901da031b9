"""The training loop: AdamW, bf16 autocast on GPU, checkpoints with exact resume, CSV (+TensorBoard), DDP.

Exact resume by construction: the clips of step s and the noise and
timesteps of step s are pure functions of (seed, rank, s), so a checkpoint
needs only the model, the optimizer and the step. Multi-GPU: launch with
`torchrun --nproc_per_node N -m hmworld train …`; each rank takes its own
share of every epoch and DDP averages the gradients.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler
from torch.utils.data._utils.collate import default_collate

from hmworld.atomic import write_text
from hmworld.errors import UserError, check_choice
from hmworld.hydra import data as hydra_data
from hmworld.hydra.cache import CacheDataset, is_cache, prepare_cached
from hmworld.hydra.checkpoint import (
    LOG_CSV,
    list_checkpoints,
    load_checkpoint,
    read_run_json,
    save_checkpoint,
    write_run_json,
)
from hmworld.hydra.config import DEFAULT_LR, FINETUNE_LR, ModelConfig
from hmworld.hydra.latent import make_codec
from hmworld.hydra.model import HydraDiT
from hmworld.hydra.pipeline import prepare_batch, training_loss
from hmworld.hydra.wan import (
    BACKBONES,
    config_from_wan,
    from_wan,
    load_wan_transformer,
    released_trainable,
)

LOG_FIELDS = ("step", "loss", "lr", "grad_norm", "samples_per_s")


@dataclass(frozen=True)
class TrainOptions:
    out: Path
    steps: int
    batch_size: int = 2
    lr: float | None = None  # None: the size's default (DEFAULT_LR)
    weight_decay: float = 0.0
    warmup: int = 0
    seed: int = 0
    save_every: int = 500
    log_every: int = 10
    keep: int = 3
    grad_checkpoint: bool = False
    grad_clip: float = 1.0
    workers: int = 0
    device: str = "auto"
    split: str = "train"
    resume: bool = True
    backbone: str = "none"  # none | wan2.1-t2v-1.3b (a local diffusers folder in `weights`)
    weights: Path | None = None
    trainable: str = "auto"  # auto (released with a backbone, else all) | released | all

    def __post_init__(self) -> None:
        check_choice("backbone", self.backbone, BACKBONES)
        check_choice("trainable", self.trainable, ("auto", "released", "all"))
        if (self.backbone == "none") != (self.weights is None):
            raise UserError("--backbone and --weights go together: --backbone wan2.1-t2v-1.3b --weights DIR")
        for name in ("steps", "batch_size", "save_every", "log_every", "keep"):
            if getattr(self, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.lr is not None and self.lr <= 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        if self.warmup < 0 or self.workers < 0:
            raise UserError("--warmup and --workers must not be negative")


@dataclass(frozen=True, eq=False)
class TrainResult:
    run_dir: Path
    step: int
    last_loss: float | None
    checkpoint: Path | None
    model: HydraDiT  # the trained model (unwrapped from DDP), still on its device


@dataclass(frozen=True)
class Distributed:
    rank: int
    world: int
    local_rank: int
    device: torch.device
    initialised: bool


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    if spec == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as e:
        raise UserError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {spec!r} asked for but CUDA is not available here")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def setup_distributed(device_spec: str) -> Distributed:
    """Join the process group torchrun describes in the environment (RANK, WORLD_SIZE, MASTER_*)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return Distributed(0, 1, 0, resolve_device(device_spec), False)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_spec, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Distributed(rank, world, local_rank, device, True)


def step_seed(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def batch_indices(n: int, batch_size: int, seed: int, rank: int, world: int, step: int) -> list[int]:
    """The clips rank `rank` trains on at `step`: a seeded permutation per epoch, split across ranks."""
    per_rank = n // world
    per_epoch = per_rank // batch_size
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(step_seed(seed, epoch)))
    shard = perm[rank * per_rank : (rank + 1) * per_rank]
    return shard[pos * batch_size : (pos + 1) * batch_size].tolist()


class StepBatchSampler(Sampler[list[int]]):
    """Batches for steps [start, stop); restarting at any step gives the same batches."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int, world: int, start: int, stop: int) -> None:
        if n // world < batch_size:
            raise UserError(
                f"the dataset has {n} clips; batch size {batch_size} on {world} process(es) needs at least {batch_size * world}"
            )
        self.args = (n, batch_size, seed, rank, world)
        self.start, self.stop = start, stop

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            yield batch_indices(*self.args, step)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def _read_log(path: Path, upto: int) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [row for row in csv.DictReader(f) if int(row["step"]) <= upto]


def _write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def _tensorboard(run_dir: Path, start: int) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: the CSV log is the record
        return None
    return SummaryWriter(str(run_dir / "tb"), purge_step=start + 1)


def read_wan_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise UserError(f"--weights {str(folder)!r} is not a diffusers WanTransformer3DModel folder (no config.json)")
    return json.loads(path.read_text())


def _check_same_run(run_dir: Path, cfg: ModelConfig) -> None:
    stored = ModelConfig.from_dict(read_run_json(run_dir)["model"]).to_dict()
    wanted = cfg.to_dict()
    diff = [f"{k}: {stored[k]!r} there, {wanted[k]!r} now" for k in wanted if stored.get(k) != wanted[k]]
    if diff:
        raise UserError(f"{str(run_dir)!r} holds a run with another model config ({'; '.join(diff)}); use a new --out")


def train(
    data: Any,
    cfg: ModelConfig,
    opts: TrainOptions,
    log: Callable[[str], None] | None = print,
) -> TrainResult:
    """Train `cfg` on `data` (a dataset folder or a Dataset with the sample contract) into opts.out."""
    run_dir = Path(opts.out)
    env = setup_distributed(opts.device)
    say = log if (log is not None and env.rank == 0) else (lambda _msg: None)
    try:
        return _train(data, cfg, opts, run_dir, env, say)
    finally:
        if env.initialised and dist.is_initialized():
            dist.destroy_process_group()


def _train(data: Any, cfg: ModelConfig, opts: TrainOptions, run_dir: Path, env: Distributed, say: Callable[[str], None]) -> TrainResult:
    device = env.device
    cached = isinstance(data, (str, Path)) and is_cache(data)
    dataset = CacheDataset(data, opts.split) if cached else hydra_data.open_dataset(data, opts.split, cfg, masks=False)
    if cached and len(dataset) == 0:
        raise UserError(f"cache {str(data)!r} has no {opts.split!r} clips; encode them with `hmworld encode --split {opts.split}`")
    negative = dataset.negative() if cached else None
    if cfg.text == "cache" and not cached:
        raise UserError("this model reads precomputed text embeddings: train it with --cache CACHE (see `hmworld encode`)")
    checkpoints = list_checkpoints(run_dir) if opts.resume else []
    if checkpoints and opts.backbone == "none":
        _check_same_run(run_dir, cfg)
    elif not checkpoints and list_checkpoints(run_dir):  # --no-resume must not overwrite a run
        raise UserError(f"{str(run_dir)!r} already holds checkpoints; resume it or choose a new --out")

    torch.manual_seed(opts.seed)
    codec = None if cached else make_codec(cfg, device)  # a cached run never runs the VAE
    if opts.backbone != "none" and not checkpoints:
        cfg, model = from_wan(load_wan_transformer(opts.weights or ""), cfg)
    else:
        if opts.backbone != "none":  # resuming: the shape from the folder's config, the weights from the checkpoint
            cfg = config_from_wan(read_wan_config(opts.weights or Path()), cfg)
            _check_same_run(run_dir, cfg)
        model = HydraDiT(cfg)
    model = model.to(device)
    model.grad_checkpoint = opts.grad_checkpoint
    released = opts.trainable == "released" or (opts.trainable == "auto" and opts.backbone != "none")
    for name, p in model.named_parameters():
        p.requires_grad_(released_trainable(name) or not released)
    default_lr = FINETUNE_LR if opts.backbone != "none" else DEFAULT_LR[cfg.size]
    lr = opts.lr if opts.lr is not None else default_lr
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), weight_decay=opts.weight_decay)
    step = 0
    if checkpoints:
        state = load_checkpoint(checkpoints[-1], device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        say(f"resuming {run_dir} at step {step}")
    if env.rank == 0 and not checkpoints:
        write_run_json(
            run_dir,
            {
                "model": cfg.to_dict(),
                "train": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
                "data": str(data) if isinstance(data, (str, Path)) else f"<{type(data).__name__}>",
                "world_size": env.world,
                "params": model.num_params(),
            },
        )
    train_model: torch.nn.Module = model
    if env.world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if step >= opts.steps:
        say(f"{run_dir} is already at step {step} ≥ {opts.steps}; nothing to do")
        last = list_checkpoints(run_dir)
        return TrainResult(run_dir, step, None, last[-1] if last else None, model)

    sampler = StepBatchSampler(len(dataset), opts.batch_size, opts.seed, env.rank, env.world, step, opts.steps)
    loader = DataLoader(dataset, batch_sampler=sampler, num_workers=opts.workers, collate_fn=default_collate)
    log_path = run_dir / LOG_CSV
    rows = _read_log(log_path, step) if env.rank == 0 else []
    board = _tensorboard(run_dir, step) if env.rank == 0 else None
    say(f"training {cfg.mode} ({cfg.size}, {model.num_params() / 1e6:.2f}M params) on {device} × {env.world}")
    amp = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    last_loss: float | None = None
    saved = None
    tick = time.perf_counter()
    for batch in loader:
        step += 1
        lr_now = lr * min(1.0, step / opts.warmup) if opts.warmup else lr
        for group in optimizer.param_groups:
            group["lr"] = lr_now
        prep = prepare_cached(batch, cfg, device, negative) if codec is None else prepare_batch(batch, codec, cfg, device)
        generator = torch.Generator().manual_seed(step_seed(opts.seed, env.rank, step))
        with amp:
            loss = training_loss(train_model, prep, generator, cfg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(params, opts.grad_clip)
        optimizer.step()
        if step % opts.log_every == 0 or step == opts.steps:
            mean_loss = loss.detach().float()
            if env.world > 1:
                dist.all_reduce(mean_loss)
                mean_loss /= env.world
            last_loss = float(mean_loss)
            now = time.perf_counter()
            rows_done = opts.log_every if step % opts.log_every == 0 else step % opts.log_every
            row = {
                "step": step,
                "loss": repr(last_loss),
                "lr": repr(lr_now),
                "grad_norm": repr(float(grad_norm)),
                "samples_per_s": f"{rows_done * opts.batch_size * env.world / max(now - tick, 1e-9):.3f}",
            }
            tick = now
            if env.rank == 0:
                rows.append(row)
                _write_log(log_path, rows)
                if board is not None:
                    board.add_scalar("loss", last_loss, step)
                    board.add_scalar("lr", lr_now, step)
                say(f"step {step:>7d}  loss {last_loss:.5f}  lr {lr_now:.2e}  {row['samples_per_s']} samples/s")
        if step % opts.save_every == 0 or step == opts.steps:
            if env.rank == 0:
                saved = save_checkpoint(run_dir, step, model, optimizer, opts.keep)
            if env.world > 1:
                dist.barrier()
    if board is not None:
        board.close()
    say(f"done: {run_dir} at step {step}")
    return TrainResult(run_dir, step, last_loss, saved, model)
