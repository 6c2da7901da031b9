"""Generate every test clip's target frames from its context and cameras, and score runs side by side.

One row per run: overall quality (PSNR, SSIM, LPIPS) over all target frames,
and dynamic-subject consistency over the target frames after each subject
re-enters (PSNR/SSIM in its mask, re-appearance error, CLIP similarity).
Every run sees the same noise per clip, so rows differ only by the model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Subset
from torch.utils.data._utils.collate import default_collate

from hmworld.atomic import atomic_path, write_json, write_text
from hmworld.errors import UserError
from hmworld.hydra import data as hydra_data
from hmworld.hydra import metrics
from hmworld.hydra.checkpoint import load_run
from hmworld.hydra.dsc import BOX_MODES, DSCScorer
from hmworld.hydra.pipeline import generate, prepare_batch
from hmworld.hydra.text import TransformersTextEncoder
from hmworld.hydra.train import resolve_device, step_seed
from hmworld.hydra.yolo import YoloDetector

EVAL_JSON = "eval.json"
EVAL_MD = "eval.md"


@dataclass(frozen=True)
class EvalOptions:
    split: str = "test"
    steps: int | None = None  # Euler steps; None: the run's config
    max_clips: int | None = None
    batch_size: int = 1
    seed: int = 0
    device: str = "auto"
    lpips: Path | None = None  # folder with AlexNet + lpips linear weights
    clip: Path | None = None  # local transformers CLIP folder
    out: Path | None = None  # folder for eval.json, eval.md and samples/
    samples: int = 0  # clips per run saved as PNG (ground truth over generated)
    min_subject_pixels: int = 4
    dsc_clip: Path | None = None  # local transformers CLIP folder (ViT-B/16 for the paper's DSC)
    dsc_boxes: str = "release"  # release (the centre-crop quirk) | corrected
    dsc_detector: Path | None = None  # local YOLO ONNX export for generated-frame boxes (default: template tracker)
    text_encoder: Path | None = None  # runs trained on cached text embeddings: the encoder the cache used

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise UserError(f"--steps must be at least 1, got {self.steps}")
        if self.max_clips is not None and self.max_clips < 1:
            raise UserError(f"--max-clips must be at least 1, got {self.max_clips}")
        if self.batch_size < 1 or self.samples < 0:
            raise UserError("--batch-size must be at least 1 and --samples not negative")
        if self.dsc_boxes not in BOX_MODES:
            raise UserError(f"unknown --dsc-boxes {self.dsc_boxes!r}; use one of {', '.join(BOX_MODES)}")
        if self.dsc_detector is not None and self.dsc_clip is None:
            raise UserError("--dsc-detector boxes the subject for DSC; give --dsc-clip CLIP_DIR with it")


@dataclass(frozen=True)
class RunScores:
    """One row of the table. Subject metrics are None when no subject re-entered in a target frame."""

    run: str
    model: str
    config: str
    step: int
    clips: int
    frames: int
    psnr: float
    ssim: float
    lpips: float | None
    subject_frames: int
    subject_psnr: float | None
    subject_ssim: float | None
    reentry_error: float | None
    clip_subject: float | None
    dsc_con: float | None = None  # the paper's DSC (eval_dsc.py): generated vs context
    dsc_tgt: float | None = None  # generated vs ground-truth target

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tally:
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    lpips: list[float] = field(default_factory=list)
    s_psnr: list[torch.Tensor] = field(default_factory=list)
    s_ssim: list[torch.Tensor] = field(default_factory=list)
    s_err: list[torch.Tensor] = field(default_factory=list)
    s_clip: list[torch.Tensor] = field(default_factory=list)
    dsc_con: list[float] = field(default_factory=list)
    dsc_tgt: list[float] = field(default_factory=list)
    frames: int = 0

    @staticmethod
    def mean(values: list[torch.Tensor]) -> float | None:
        if not values:
            return None
        v = torch.cat(values)
        v = v[~torch.isnan(v)]
        return float(v.mean()) if v.numel() else None


def score_dsc(tally: _Tally, dsc: DSCScorer, context: torch.Tensor, ctx_masks: torch.Tensor, pred: torch.Tensor,
              gt: torch.Tensor, gt_masks: torch.Tensor) -> None:  # fmt: skip
    """Add one clip's DSC_con / DSC_tgt (frames [T,3,H,W], masks [T,H,W]); a clip with no boxes adds nothing."""
    scores = dsc.score(context, ctx_masks, pred, gt, gt_masks)
    if scores.con is not None:
        tally.dsc_con.append(scores.con)
    if scores.tgt is not None:
        tally.dsc_tgt.append(scores.tgt)


def score_clip(
    tally: _Tally,
    pred: torch.Tensor,
    gt: torch.Tensor,
    masks: torch.Tensor,
    frame_index: torch.Tensor,
    reentry: torch.Tensor,
    valid: torch.Tensor,
    min_pixels: int,
    lpips: metrics.LPIPS | None,
    clip: metrics.ClipScorer | None,
) -> None:
    """Add one clip's target frames (pred, gt [T,3,H,W], masks [T,H,W] instance ids) to the tally."""
    tally.psnr.append(float(metrics.psnr(pred, gt).mean()))
    tally.ssim.append(float(metrics.ssim(pred, gt).mean()))
    tally.frames += pred.shape[0]
    if lpips is not None:
        dev = lpips.shift.device
        tally.lpips.append(float(lpips(pred.to(dev), gt.to(dev)).mean()))
    for k in range(valid.shape[0]):  # ≤ 3 subjects; frames are vectorised
        if not valid[k] or reentry[k] < 0:
            continue
        mask = masks == k + 1
        sel = (frame_index >= reentry[k]) & (mask.sum(dim=(1, 2)) >= min_pixels)
        if not sel.any():
            continue
        p, g, m = pred[sel], gt[sel], mask[sel]
        tally.s_psnr.append(metrics.psnr(p, g, m))
        tally.s_ssim.append(metrics.ssim(p, g, m))
        tally.s_err.append(metrics.reappearance_error(p, g, m))
        if clip is not None:
            tally.s_clip.append(clip.subject_similarity(p, g, m))


def _label(run: Path, runs: Sequence[Path]) -> str:
    return run.name if sum(r.name == run.name for r in runs) == 1 else str(run)


def _strip(gt: torch.Tensor, pred: torch.Tensor) -> np.ndarray:
    """Ground truth above generated, frames side by side: uint8 [2H, T·W, 3]."""
    rows = [torch.cat(list(x.permute(0, 2, 3, 1)), dim=1) for x in (gt, pred)]
    return (torch.cat(rows, dim=0).clamp(0, 1) * 255).round().byte().numpy()


def _save_png(path: Path, image: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def evaluate_run(
    run_dir: Path, data: Any, opts: EvalOptions, device: torch.device, label: str,
    lpips: metrics.LPIPS | None, clip: metrics.ClipScorer | None, dsc: DSCScorer | None = None,
) -> RunScores:  # fmt: skip
    loaded = load_run(run_dir, device)
    dataset = hydra_data.open_dataset(data, opts.split, loaded.cfg)
    n = len(dataset) if opts.max_clips is None else min(opts.max_clips, len(dataset))
    loader = DataLoader(Subset(dataset, range(n)), batch_size=opts.batch_size, collate_fn=default_collate)
    steps = opts.steps or loaded.cfg.sample_steps
    encoder = None
    if loaded.cfg.text == "cache":
        if opts.text_encoder is None:
            raise UserError(f"run {str(run_dir)!r} was trained on cached text embeddings; give --text-encoder DIR (the encoder the cache used)")
        encoder = TransformersTextEncoder(opts.text_encoder, loaded.cfg.text_len).to(device)
    tally = _Tally()
    saved = 0
    for bi, batch in enumerate(loader):
        prep = prepare_batch(batch, loaded.codec, loaded.cfg, device)
        if encoder is not None:
            neg = encoder([loaded.cfg.negative_prompt] * len(prep.captions))
            prep = dataclasses.replace(prep, text=encoder(prep.captions), negative_text=neg)
        generator = torch.Generator().manual_seed(step_seed(opts.seed, bi))
        pred = generate(loaded.model, loaded.codec, prep, steps, loaded.cfg, generator).float().cpu()
        T = batch["video"].shape[1]
        gt = batch["video"][:, T // 2 :].float()
        for b in range(pred.shape[0]):
            score_clip(
                tally, pred[b], gt[b], batch["masks"][b, T // 2 :], batch["frame_index"][b, T // 2 :],
                batch["reentry_frame"][b], batch["subject_valid"][b], opts.min_subject_pixels, lpips, clip,
            )  # fmt: skip
            if dsc is not None:
                masks = batch["masks"][b]
                score_dsc(tally, dsc, batch["video"][b, : T // 2].float(), masks[: T // 2], pred[b], gt[b], masks[T // 2 :])
            if opts.out is not None and saved < opts.samples:
                _save_png(opts.out / "samples" / label / f"{batch['clip_id'][b]}.png", _strip(gt[b], pred[b]))
                saved += 1
    return RunScores(
        run=label,
        model=loaded.cfg.mode,
        config=loaded.cfg.size,
        step=loaded.step,
        clips=n,
        frames=tally.frames,
        psnr=float(np.mean(tally.psnr)),
        ssim=float(np.mean(tally.ssim)),
        lpips=float(np.mean(tally.lpips)) if tally.lpips else None,
        subject_frames=int(sum(v.numel() for v in tally.s_psnr)),
        subject_psnr=tally.mean(tally.s_psnr),
        subject_ssim=tally.mean(tally.s_ssim),
        reentry_error=tally.mean(tally.s_err),
        clip_subject=tally.mean(tally.s_clip),
        dsc_con=float(np.mean(tally.dsc_con)) if tally.dsc_con else None,
        dsc_tgt=float(np.mean(tally.dsc_tgt)) if tally.dsc_tgt else None,
    )


COLUMNS = (
    ("run", "run", None),
    ("model", "model", None),
    ("config", "config", None),
    ("step", "step", None),
    ("clips", "clips", None),
    ("psnr", "PSNR ↑", 2),
    ("ssim", "SSIM ↑", 4),
    ("lpips", "LPIPS ↓", 4),
    ("subject_frames", "subject frames", None),
    ("subject_psnr", "subject PSNR ↑", 2),
    ("subject_ssim", "subject SSIM ↑", 4),
    ("reentry_error", "re-entry error ↓", 4),
    ("clip_subject", "CLIP subject ↑", 4),
    ("dsc_con", "DSC_con ↑", 4),
    ("dsc_tgt", "DSC_tgt ↑", 4),
)


def markdown_table(rows: Sequence[RunScores]) -> str:
    """The paper-style table: one row per run; '–' where a metric could not be computed."""

    def cell(value: Any, digits: int | None) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return f"{value:.{digits}f}" if digits is not None else str(value)

    head = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" if digits is None else "---:" for _, _, digits in COLUMNS) + "|"
    body = ["| " + " | ".join(cell(getattr(r, key), d) for key, _, d in COLUMNS) + " |" for r in rows]
    return "\n".join([head, rule, *body]) + "\n"


def evaluate(
    runs: Sequence[str | Path], data: Any, opts: EvalOptions, log: Callable[[str], None] | None = print
) -> list[RunScores]:
    """Score each run on `data` (a dataset folder or Dataset); writes eval.json/eval.md when opts.out is set."""
    if not runs:
        raise UserError("give at least one --run RUN_DIR")
    say = log or (lambda _msg: None)
    run_dirs = [Path(r) for r in runs]
    device = resolve_device(opts.device)
    lpips = metrics.LPIPS.from_folder(opts.lpips).to(device) if opts.lpips else None
    clip = metrics.ClipScorer(opts.clip, device) if opts.clip else None
    detector = YoloDetector(opts.dsc_detector) if opts.dsc_detector else None
    dsc = DSCScorer(opts.dsc_clip, device, opts.dsc_boxes, detector=detector) if opts.dsc_clip else None
    rows = []
    for run_dir in run_dirs:
        label = _label(run_dir, run_dirs)
        say(f"evaluating {label} …")
        rows.append(evaluate_run(run_dir, data, opts, device, label, lpips, clip, dsc))
    table = markdown_table(rows)
    if opts.out is not None:
        report = {
            "split": opts.split,
            "data": str(data) if isinstance(data, (str, Path)) else f"<{type(data).__name__}>",
            "steps": opts.steps,
            "seed": opts.seed,
            "dsc_boxes": opts.dsc_boxes if opts.dsc_clip else None,
            "dsc_tracker": (f"yolo-onnx:{opts.dsc_detector}" if opts.dsc_detector else "template") if opts.dsc_clip else None,
            "rows": [r.to_dict() for r in rows],
        }
        write_json(opts.out / EVAL_JSON, report)
        write_text(opts.out / EVAL_MD, table)
    say(table)
    return rows
