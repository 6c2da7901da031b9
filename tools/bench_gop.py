"""What the keyframe interval (GOP) costs in file size and buys in window reads.

Renders real clips with the builtin backend (the plan's defaults: 150 frames at
15 fps; near-lossless, CRF 0, so the source is the renderer's pixels), once per
size into a work folder reused on the next run. Then, for each GOP, encodes the
same frames the way every clip is encoded (`hmworld.video.write_video`, CRF 18)
and measures, in this one run:

  bytes       the file's size, and its ratio to x264's default keyframe interval (250)
  full        read_video(path): every frame, frames/s
  window      read_video(path, 16 consecutive frames from a random start): frames/s, and as a
              share of the full-decode rate

    .venv/bin/python tools/bench_gop.py [--sizes 416x240,832x480] [--gops 8,16,32,250]
        [--clips 2] [--window 16] [--reads 40] [--work /tmp/hmworld-bench-gop]

Last line: one JSON object with the figures per size and GOP.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from hmworld.clip import clip_dir, is_complete, read_clip
from hmworld.plan import PlanSettings, make_plan, materialise, plan_rows
from hmworld.render import get_backend
from hmworld.video import read_video, write_video

X264_DEFAULT_GOP = 250


def _clips(work: Path, width: int, height: int, clips: int) -> list[Path]:
    """Rendered clip folders at this size (rendered now when missing; not timed)."""
    root = work / f"{width}x{height}"
    rows = plan_rows(make_plan(scenes=["park", "city_street", "beach", "warehouse"], clips=clips, seed=11,
                               settings=PlanSettings(width=width, height=height)))
    backend = get_backend("builtin", crf=0)
    out = []
    for r in rows:
        folder = clip_dir(root, r["clip_id"])
        if not is_complete(folder):
            t0 = time.perf_counter()
            backend.render_clip(materialise(r), folder)
            print(f"setup: rendered {folder.name} at {width}x{height} in {time.perf_counter() - t0:.0f} s (not timed)")
        out.append(folder)
    return out


def _rate(n: float, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="416x240,832x480", help="comma-separated WIDTHxHEIGHT")
    ap.add_argument("--gops", default="8,16,32,250", help="comma-separated keyframe intervals in frames")
    ap.add_argument("--clips", type=int, default=2)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--reads", type=int, default=40, help="windows read per clip and GOP")
    ap.add_argument("--work", type=Path, default=Path("/tmp/hmworld-bench-gop"))
    args = ap.parse_args()
    gops = [int(g) for g in args.gops.split(",")]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    rng = np.random.default_rng(0)
    for size in args.sizes.split(","):
        width, height = (int(v) for v in size.lower().split("x"))
        sources = [read_video(read_clip(f).video_path) for f in _clips(args.work, width, height, args.clips)]
        figures[size] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for gop in gops:
                total_bytes = full_frames = window_frames = 0
                full_s = window_s = 0.0
                for k, frames in enumerate(sources):
                    path = Path(tmp) / f"{k}-{gop}.mp4"
                    write_video(path, frames, PlanSettings().fps, gop=gop)
                    total_bytes += path.stat().st_size
                    t0 = time.perf_counter()
                    full_frames += len(read_video(path))
                    full_s += time.perf_counter() - t0
                    starts = rng.integers(0, len(frames) - args.window + 1, size=args.reads)
                    t0 = time.perf_counter()
                    for s in starts:
                        window_frames += len(read_video(path, np.arange(s, s + args.window)))
                    window_s += time.perf_counter() - t0
                figures[size][str(gop)] = {
                    "bytes_per_clip": total_bytes // len(sources),
                    "full_frames_per_s": _rate(full_frames, full_s),
                    "window_frames_per_s": _rate(window_frames, window_s),
                }
        base = figures[size].get(str(X264_DEFAULT_GOP), next(iter(figures[size].values())))["bytes_per_clip"]
        for gop, f in figures[size].items():
            f["size_vs_x264_default"] = round(f["bytes_per_clip"] / base, 3)
            f["window_share_of_full"] = round(f["window_frames_per_s"] / f["full_frames_per_s"], 3)
            print(f"{size} GOP {gop:>3}: {f['bytes_per_clip'] / 1e3:7.1f} kB per clip "
                  f"({f['size_vs_x264_default']:.2f}x of GOP {X264_DEFAULT_GOP}), full decode "
                  f"{f['full_frames_per_s']} frames/s, {args.window}-frame windows {f['window_frames_per_s']} "
                  f"frames/s ({f['window_share_of_full']:.0%} of full)")
    print(json.dumps({"clips": args.clips, "window": args.window, "by_size_and_gop": figures}))


if __name__ == "__main__":
    main()
