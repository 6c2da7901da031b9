"""Ray's overhead per clip: the same clips rendered with --executor local and --executor ray, in one run.

Both executors get the same plan (default: 8 park clips at 416x240, 150
frames) and the same number of parallel slots (default 2: two local worker
processes; a local Ray with 2 CPUs, one CPU per clip task), each into its own
fresh output folder. Ray's start-up (starting the local cluster once) is
timed apart: on a cluster it is paid once per job, not per clip.

    overhead per clip = (wall x slots - seconds inside the backend, summed) / clips   (slot-seconds)
    fraction          = overhead per clip / mean seconds of one clip inside the backend

i.e. the slot time an executor spends on anything but rendering: starting
workers, scheduling, moving rows and results, idle slots at the end.

The numba kernels come from the on-disk cache (warmed first), so neither
executor pays compilation. Last line: one JSON object.

    .venv/bin/python tools/bench_ray.py [--clips 8] [--frames 150] [--size 416x240] [--slots 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import ray

from hmworld.ray_cluster import RaySettings
from hmworld.render.runner import render_rows, select_rows


def run(rows, out: Path, slots: int, **kw) -> tuple[float, float, float]:
    """(wall seconds, mean seconds of one clip inside its worker, executor overhead per clip in slot-seconds)."""
    t0 = time.perf_counter()
    summary = render_rows(rows, out, progress=False, workers=slots, **kw)
    wall = time.perf_counter() - t0
    assert summary.rendered == len(rows) and not summary.failed, summary.format()
    return wall, summary.busy_s / len(rows), (wall * slots - summary.busy_s) / len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", default="416x240")
    ap.add_argument("--slots", type=int, default=2)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    rows = select_rows(scene="park", clips=args.clips, frames=args.frames, size=(w, h))
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        render_rows(select_rows(scene="park", clips=1, frames=2, size=(w, h)), tmp / "warm", progress=False)
        local_wall, local_clip, local_over = run(rows, tmp / "local", args.slots)
        t0 = time.perf_counter()  # a local Ray with `slots` CPUs; render_rows then finds it started
        ray.init(num_cpus=args.slots, include_dashboard=False, log_to_driver=False, configure_logging=False)
        start_s = time.perf_counter() - t0
        ray_wall, ray_clip, ray_over = run(rows, tmp / "ray", args.slots, executor="ray",
                                           ray_settings=RaySettings(cpus_per_clip=1.0))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    frac = ray_over / ray_clip
    print(f"{args.clips} clips of {args.frames} frames at {w}x{h}, {args.slots} slots each")
    print(f"local : wall {local_wall:8.2f} s   mean clip {local_clip:6.2f} s   overhead/clip {local_over:+.3f} slot-s")
    print(f"ray   : wall {ray_wall:8.2f} s   mean clip {ray_clip:6.2f} s   overhead/clip {ray_over:+.3f} slot-s"
          f"   (+ {start_s:.2f} s once to start a local Ray)")
    print(f"Ray overhead per clip: {100 * frac:+.2f}% of a clip (target < 5%); local processes: "
          f"{100 * local_over / local_clip:+.2f}%")
    print(json.dumps({"clips": args.clips, "frames": args.frames, "size": f"{w}x{h}", "slots": args.slots,
                      "local_wall_s": round(local_wall, 3), "ray_wall_s": round(ray_wall, 3),
                      "ray_start_s": round(start_s, 3), "local_clip_s": round(local_clip, 3),
                      "ray_clip_s": round(ray_clip, 3), "local_overhead_per_clip_s": round(local_over, 4),
                      "overhead_per_clip_s": round(ray_over, 4),
                      "overhead_fraction": round(frac, 4), "under_5_percent": bool(frac < 0.05)}))


if __name__ == "__main__":
    main()
