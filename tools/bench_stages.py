"""Per-clip cost of every stage on this machine, and what it means for a 59,500-clip run.

Renders CLIPS clips (default 8 park clips, 150 frames) at each --sizes entry
with one worker process per core, then times `filter-events`, `caption`
(template) and `package` on the first size's dataset, each run as the CLI a
user runs (a process's start-up, measured with `hmworld catalog scenes`, is
taken off). From the per-clip seconds it projects one process over the full
59,500-clip design, which says whether a stage that stays single-process
(filter-events, package) limits a cluster run.

    .venv/bin/python tools/bench_stages.py [--clips 8] [--frames 150] [--sizes 416x240,832x480]

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_DESIGN = 59_500


def hmworld(*args: str) -> float:
    """Seconds one `hmworld ARGS` run takes (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hmworld", *args], check=True, capture_output=True, text=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--sizes", default="416x240,832x480")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-stages-"))
    out: dict[str, float | int | str] = {"clips": args.clips, "frames": args.frames, "cores": cores}
    try:
        startup = min(hmworld("catalog", "scenes") for _ in range(3))
        first = None
        for size in args.sizes.split(","):
            ds = tmp / size
            first = first or ds
            wall = hmworld("render", "--scene", "park", "--clips", str(args.clips), "--frames", str(args.frames),
                           "--resolution", size, "--out", str(ds), "--workers", str(cores), "--no-progress")
            stats = [json.loads((d / "clip.json").read_text())["stats"] for d in sorted((ds / "clips").iterdir())]
            clip_s = sum(s["total_s"] for s in stats) / len(stats)  # one clip on `threads` cores
            threads = stats[0]["threads"]
            out[f"render_{size}_clip_s"] = round(clip_s, 3)
            out[f"render_{size}_core_s"] = round(clip_s * threads, 3)
            out[f"render_{size}_wall_s"] = round(wall, 3)
            print(f"render {size}: {clip_s:7.2f} s per clip on {threads} thread(s) = {clip_s * threads:7.2f} "
                  f"core-s per clip; {args.clips} clips in {wall:.1f} s wall with {cores} worker(s)")
        assert first is not None
        for stage, extra in (("filter-events", []), ("caption", ["--no-progress"]), ("package", [])):
            per_clip = max(0.0, hmworld(stage, str(first), *extra) - startup) / args.clips
            hours = per_clip * FULL_DESIGN / 3600
            out[f"{stage}_clip_s"] = round(per_clip, 5)
            out[f"{stage}_59500_hours"] = round(hours, 3)
            print(f"{stage:13s}: {1000 * per_clip:8.1f} ms per clip -> {hours:6.2f} h for {FULL_DESIGN} clips "
                  "in one process")
        out["process_startup_s"] = round(startup, 3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
