"""Benchmark the dataset stage: packaging, and how fast ClipDataset feeds a trainer.

Clips are real: rendered by the builtin backend (416x240, 150 frames, 15 fps,
the plan's defaults) into a work folder that is reused on the next run, or
taken from --dataset. Timed (wall clock, after one warm-up item):

  package        clip folders → parquet tables + card (clips/s)
  sampled        ClipDataset(frames=F, size) in this process: items/s, frames/s
                 (uniform sampling over a clip still decodes the stream up to its last frame)
  full           ClipDataset(frames=None): every frame of every clip, frames/s
  loader         DataLoader(batch_size=B, num_workers=W, random sampling with replacement)
                 over the sampled dataset: frames/s delivered to the training loop
  breakdown      per item: video decode, mask load, the rest

    .venv/bin/python tools/bench_loader.py [--dataset DIR] [--clips 4] [--frames 16]
        [--size 416x240] [--workers 2] [--batch 4] [--work /tmp/hmworld-bench-loader]

Last line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _render(work: Path, clips: int) -> None:
    from hmworld.clip import clip_dir, is_complete
    from hmworld.plan import PlanSettings, make_plan, materialise, plan_rows
    from hmworld.render import get_backend

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


def _rate(n: float, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, help="an existing dataset folder (clips/ inside) instead of rendering")
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", default="416x240", help="WIDTHxHEIGHT of the training frames")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=3, help="passes over the clips for the timed runs")
    ap.add_argument("--work", type=Path, default=Path("/tmp/hmworld-bench-loader"))
    args = ap.parse_args()

    import torch

    from hmworld.dataset import ClipDataset, SplitRule, package
    from hmworld.dataset.loader import sample_indices
    from hmworld.video import read_video

    root = args.dataset or args.work
    if args.dataset is None:
        _render(root, args.clips)
    w, h = (int(v) for v in args.size.lower().split("x"))
    figures: dict[str, float | int | str] = {}

    t0 = time.perf_counter()
    report = package(root, SplitRule((), (), 0.0))
    dt = time.perf_counter() - t0
    n = report.total
    print(f"package: {n} clips in {dt:.2f} s ({_rate(n, dt)} clips/s)")
    figures["package_clips_per_s"] = _rate(n, dt)

    ds = ClipDataset(root, "train", frames=args.frames, size=(h, w))
    ds[0]  # warm-up: imports, first row group
    t0 = time.perf_counter()
    items = 0
    for _ in range(args.epochs):
        for i in range(len(ds)):
            ds[i]
            items += 1
    dt = time.perf_counter() - t0
    print(f"sampled ({args.frames} frames at {h}x{w}, one process): {_rate(items, dt)} items/s, "
          f"{_rate(items * args.frames, dt)} frames/s")
    figures["sampled_items_per_s"] = _rate(items, dt)
    figures["sampled_frames_per_s"] = _rate(items * args.frames, dt)

    full = ClipDataset(root, "train", masks=False)
    t0 = time.perf_counter()
    frames = sum(int(full[i]["video"].shape[0]) for i in range(len(full)))
    dt = time.perf_counter() - t0
    print(f"full clips (native size, no masks, one process): {_rate(frames, dt)} frames/s")
    figures["full_frames_per_s"] = _rate(frames, dt)

    draws = max(len(ds) * args.epochs, 8 * args.batch * max(args.workers, 1))  # enough batches to keep workers busy
    sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=draws)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, num_workers=args.workers, sampler=sampler,
                                         persistent_workers=args.workers > 0)
    next(iter(loader))  # start the workers
    t0 = time.perf_counter()
    delivered = 0
    for batch in loader:
        delivered += int(batch["video"].shape[0] * batch["video"].shape[1])
    dt = time.perf_counter() - t0
    print(f"DataLoader (batch {args.batch}, {args.workers} workers): {_rate(delivered, dt)} frames/s, "
          f"{_rate(delivered / args.frames / args.batch, dt)} batches/s")
    figures["loader_frames_per_s"] = _rate(delivered, dt)
    figures["loader_batches_per_s"] = _rate(delivered / args.frames / args.batch, dt)

    # where an item's time goes
    from hmworld.dataset.tables import read_split

    rows = read_split(root, "train", ["video_path", "instances_path", "frames"]).to_pylist()
    t_video = t_mask = 0.0
    for r in rows:
        idx = sample_indices(r["frames"], args.frames)
        t0 = time.perf_counter()
        read_video(root / r["video_path"], idx)
        t_video += time.perf_counter() - t0
        t0 = time.perf_counter()
        with np.load(root / r["instances_path"]) as z:
            z["ids"][idx]
        t_mask += time.perf_counter() - t0
    per_item = 1.0 / figures["sampled_items_per_s"]
    tv, tm = t_video / len(rows), t_mask / len(rows)
    print(f"per item: {per_item * 1e3:.0f} ms = video decode {tv * 1e3:.0f} ms + masks {tm * 1e3:.0f} ms "
          f"+ the rest (to float, resize, annotations) {max(per_item - tv - tm, 0) * 1e3:.0f} ms")
    figures["item_ms"] = round(per_item * 1e3, 1)
    figures["video_decode_ms"] = round(tv * 1e3, 1)
    figures["mask_load_ms"] = round(tm * 1e3, 1)
    figures.update({"clips": n, "frames": args.frames, "size": f"{w}x{h}", "workers": args.workers})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
