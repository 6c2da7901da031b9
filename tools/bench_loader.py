"""Benchmark the dataset stage: packaging, and how fast ClipDataset feeds a trainer, before and after.

Clips are real: rendered by the builtin backend (416x240, 150 frames, 15 fps,
the plan's defaults) into a work folder that is reused on the next run, or
taken from --dataset. From the same decoded frames two datasets are written
and packaged, so only the storage differs:

  before   each clip as written before windows: x264's default keyframe interval (250, one
           keyframe per clip) and instances.npz as one `ids` stack; read the previous way
           (read_video(seek=False): decode from the clip's start; the whole mask stack inflated)
  after    each clip as written now: a keyframe every --gop frames (hmworld.video.DEFAULT_GOP)
           and one mask member per frame; read by seeking and inflating only the frames asked for

Timed in this one process (wall clock, after a warm-up item), before and after
interleaved over --rounds rounds (the median is printed):

  package   clip folders → parquet tables + card (clips/s, after only)
  full      ClipDataset(frames=None, masks=False): every frame of every clip, native size, frames/s
  window    ClipDataset(frames=F, window="contiguous", seed=0, size): F-frame windows with masks, frames/s
  spread    ClipDataset(frames=F, size): F frames spread over each clip with masks, frames/s
  loader    DataLoader(batch_size=B, num_workers=W, random sampling) over the window dataset, frames/s
  breakdown per window item: video decode and mask load, ms

The target (issue 17): a window costs at least 80% of the full-decode rate per
frame, i.e. window / full >= 0.8 ("window_share_of_full").

    .venv/bin/python tools/bench_loader.py [--dataset DIR] [--clips 4] [--frames 16]
        [--size 416x240] [--workers 2] [--batch 4] [--epochs 10] [--rounds 3] [--gop 16]
        [--work /tmp/hmworld-bench-loader]

Last line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

import hmworld.dataset.loader as loader_module
from hmworld.clip import (
    CLIPS_DIR,
    INSTANCES_FILE,
    VIDEO_FILE,
    clip_dir,
    is_complete,
    list_clip_dirs,
    read_clip,
)
from hmworld.dataset import ClipDataset, SplitRule, package
from hmworld.dataset.tables import read_split
from hmworld.plan import PlanSettings, make_plan, materialise, plan_rows
from hmworld.render import get_backend
from hmworld.render.base import write_instances
from hmworld.video import DEFAULT_GOP, read_video, write_video

X264_DEFAULT_GOP = 250  # what clips had before hmworld.video chose a keyframe interval


def _render(work: Path, clips: int) -> None:
    rows = plan_rows(make_plan(scenes=["park", "city_street", "beach", "warehouse"], clips=clips, seed=11,
                               settings=PlanSettings()))
    todo = [r for r in rows if not is_complete(clip_dir(work, r.clip_id))]
    if not todo:
        return
    backend = get_backend("builtin")
    t0 = time.perf_counter()
    for r in todo:
        shot = materialise(r)
        backend.render_clip(shot, clip_dir(work, shot.clip_id))
    print(f"setup: rendered {len(todo)} clips with the builtin backend in {time.perf_counter() - t0:.0f} s (not timed)")


def _write_variant(source: Path, out: Path, gop: int, per_frame_masks: bool) -> None:
    """Copy every clip of `source` to `out`, re-encoding its video with `gop` and storing its masks
    per frame or as one stack (not timed; skipped when `out` already holds them for this gop)."""
    stamp = out / ".variant.json"
    want = {"gop": gop, "per_frame_masks": per_frame_masks, "clips": [p.name for p in list_clip_dirs(source)]}
    if stamp.is_file() and json.loads(stamp.read_text()) == want:
        return
    shutil.rmtree(out, ignore_errors=True)
    for folder in list_clip_dirs(source):
        dst = out / CLIPS_DIR / folder.name
        shutil.copytree(folder, dst, ignore=shutil.ignore_patterns(VIDEO_FILE, INSTANCES_FILE))
        rec = read_clip(folder)
        write_video(dst / VIDEO_FILE, read_video(rec.video_path), rec.shot.fps, gop=gop)
        ids = rec.load_instances()
        if per_frame_masks:
            write_instances(dst, ids)
        else:
            np.savez_compressed(dst / INSTANCES_FILE, ids=ids)
    stamp.write_text(json.dumps(want))


@contextlib.contextmanager
def _previous_reads(before: bool) -> Iterator[None]:
    """With before: ClipDataset decodes from each clip's start, as it did (masks of the old layout
    are inflated whole by read_instances, as they were)."""
    saved = loader_module.read_video
    if before:
        loader_module.read_video = functools.partial(read_video, seek=False)
    try:
        yield
    finally:
        loader_module.read_video = saved


def _rate(n: float, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def _frames_per_s(ds: ClipDataset, epochs: int) -> float:
    ds[0]  # warm-up: first row group, imports
    t0 = time.perf_counter()
    frames = sum(int(ds[i]["video"].shape[0]) for _ in range(epochs) for i in range(len(ds)))
    return _rate(frames, time.perf_counter() - t0)


def _loader_frames_per_s(ds: ClipDataset, batch: int, workers: int, draws: int) -> float:
    sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=draws,
                                             generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=workers, sampler=sampler)
    it = iter(loader)
    next(it)  # start the workers
    t0 = time.perf_counter()
    delivered = sum(int(b["video"].shape[0] * b["video"].shape[1]) for b in it)
    return _rate(delivered, time.perf_counter() - t0)


def _breakdown(root: Path, frames: int, before: bool) -> tuple[float, float]:
    """Mean ms per window item: (video decode, mask load), windows as the window dataset draws them."""
    rows = read_split(root, "train", ["clip_id", "video_path", "instances_path", "frames"]).to_pylist()
    ds = ClipDataset(root, "train", frames=frames, window="contiguous", seed=0, masks=False)
    t_video = t_mask = 0.0
    for i, r in enumerate(rows):
        idx = ds[i]["frame_index"].numpy()
        t0 = time.perf_counter()
        read_video(root / r["video_path"], idx, seek=not before)
        t_video += time.perf_counter() - t0
        t0 = time.perf_counter()
        loader_module.read_instances(root / r["instances_path"], idx)
        t_mask += time.perf_counter() - t0
    return round(t_video / len(rows) * 1e3, 1), round(t_mask / len(rows) * 1e3, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, help="an existing dataset folder (clips/ inside) instead of rendering")
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", default="416x240", help="WIDTHxHEIGHT of the training frames")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=10, help="passes over the clips for each timed window run")
    ap.add_argument("--rounds", type=int, default=3, help="before/after rounds; the median is reported")
    ap.add_argument("--gop", type=int, default=DEFAULT_GOP, help="keyframe interval of the 'after' videos")
    ap.add_argument("--work", type=Path, default=Path("/tmp/hmworld-bench-loader"))
    args = ap.parse_args()

    source = args.dataset or args.work / "rendered"
    if args.dataset is None:
        _render(source, args.clips)
    roots = {"before": args.work / "before", "after": args.work / f"after-gop{args.gop}"}
    _write_variant(source, roots["before"], X264_DEFAULT_GOP, per_frame_masks=False)
    _write_variant(source, roots["after"], args.gop, per_frame_masks=True)
    w, h = (int(v) for v in args.size.lower().split("x"))
    figures: dict[str, float | int | str] = {}

    package(roots["before"], SplitRule((), (), 0.0))
    t0 = time.perf_counter()
    report = package(roots["after"], SplitRule((), (), 0.0))
    dt = time.perf_counter() - t0
    n = report.total
    print(f"package: {n} clips in {dt:.2f} s ({_rate(n, dt)} clips/s)")
    figures["package_clips_per_s"] = _rate(n, dt)

    full_epochs = max(1, args.epochs // 5)
    runs: dict[str, Callable[[Path], float]] = {
        "full": lambda root: _frames_per_s(ClipDataset(root, "train", masks=False), full_epochs),
        "window": lambda root: _frames_per_s(
            ClipDataset(root, "train", frames=args.frames, size=(h, w), window="contiguous", seed=0), args.epochs),
        "spread": lambda root: _frames_per_s(ClipDataset(root, "train", frames=args.frames, size=(h, w)), args.epochs),
    }
    got: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, run in runs.items():
            for variant in ("before", "after"):
                with _previous_reads(variant == "before"):
                    got.setdefault((name, variant), []).append(run(roots[variant]))
    labels = {"full": "full clips (native size, no masks)",
              "window": f"{args.frames}-frame windows ({h}x{w}, masks)",
              "spread": f"{args.frames} spread frames ({h}x{w}, masks)"}
    for name in runs:
        for variant in ("before", "after"):
            figures[f"{name}_frames_per_s_{variant}"] = statistics.median(got[(name, variant)])
        print(f"{labels[name]}: before {figures[f'{name}_frames_per_s_before']} frames/s, "
              f"after {figures[f'{name}_frames_per_s_after']} frames/s (median of {args.rounds})")
    for variant in ("before", "after"):
        share = figures[f"window_frames_per_s_{variant}"] / figures[f"full_frames_per_s_{variant}"]
        figures[f"window_share_of_full_{variant}"] = round(share, 3)
    print(f"window per-frame rate as a share of full decode: before {figures['window_share_of_full_before']:.0%}, "
          f"after {figures['window_share_of_full_after']:.0%} (target >= 80%)")

    for variant in ("before", "after"):
        ds = ClipDataset(roots[variant], "train", frames=args.frames, size=(h, w), window="contiguous")
        draws = max(len(ds) * args.epochs, 8 * args.batch * max(args.workers, 1))  # keep the workers busy
        with _previous_reads(variant == "before"):
            figures[f"loader_frames_per_s_{variant}"] = _loader_frames_per_s(ds, args.batch, args.workers, draws)
    print(f"DataLoader windows (batch {args.batch}, {args.workers} workers): before "
          f"{figures['loader_frames_per_s_before']} frames/s, after {figures['loader_frames_per_s_after']} frames/s")

    for variant in ("before", "after"):
        tv, tm = _breakdown(roots[variant], args.frames, variant == "before")
        figures[f"window_video_decode_ms_{variant}"], figures[f"window_mask_load_ms_{variant}"] = tv, tm
        print(f"per window item, {variant}: video decode {tv} ms, masks {tm} ms")
    figures.update({"clips": n, "frames": args.frames, "size": f"{w}x{h}", "workers": args.workers,
                    "gop_before": X264_DEFAULT_GOP, "gop_after": args.gop, "rounds": args.rounds})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
