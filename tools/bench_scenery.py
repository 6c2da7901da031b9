"""Benchmark of the builtin renderer's content: scene recipes and posed subjects.

    .venv/bin/python tools/bench_scenery.py [--frames 24] [--repeats 2]

For each of the 17 catalog scenes: primitives, build time, the time to pose a
3-subject group per frame, and the cost of rendering it at 416×240 with three
subjects, over frames spread across a real planned shot (camera sweeping away
and back). Render cost is reported two ways: wall-clock frames per second (best
of --repeats, disturbed by whatever else the machine runs) and CPU-milliseconds
per frame over all threads (the work itself, steady under load); the estimate
for an idle machine divides the CPU time by the number of cores. The last line
is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from dataclasses import replace

import numba
import numpy as np

from hmworld import plan
from hmworld.catalog import SCENES, SUBJECTS
from hmworld.render.builtin.primitives import concat
from hmworld.render.builtin.raycast import SunSky, pack, render_frame
from hmworld.render.builtin.scenes import build_scene
from hmworld.render.builtin.subjects import pose_subjects, subject_primitives

W, H = 416, 240


def planned_shot(scene: str, frames: int):
    """A 3-subject shot of `scene` from the planner, cut to `frames` frames spread over its 150."""
    settings = plan.PlanSettings(frames=150, fps=15, width=W, height=H)
    row = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=0, settings=settings, group_sizes=(3,)))[0]
    shot = plan.materialise(row)
    idx = np.linspace(0, shot.frames - 1, frames).round().astype(int)
    return replace(shot, frames=len(idx), c2w=shot.c2w[idx], subject_pos=shot.subject_pos[:, idx],
                   subject_heading=shot.subject_heading[:, idx], subject_phase=shot.subject_phase[:, idx],
                   subject_speed=shot.subject_speed[:, idx])


def best(fn, repeats: int) -> float:
    out = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - start)
    return out


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {cores} cores, numba {numba.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}")

    sub_counts = {sid: len(subject_primitives(sid, 1, (0, 0, 0), 0.0, 0.3, SUBJECTS[sid].gaits[0].speed_max))
                  for sid in SUBJECTS}
    print(f"subjects: {len(SUBJECTS)}, primitives each {min(sub_counts.values())}..{max(sub_counts.values())}")

    rows = []
    for sid in SCENES:
        build_s = best(lambda sid=sid: build_scene(sid, 0), 3)
        shot = planned_shot(sid, args.frames)
        built = build_scene(sid, int(shot.extra.get("scene_seed", 0)))
        static = pack(built.prims)
        light = SunSky.of(built)
        pose_s = best(lambda shot=shot: [pose_subjects(shot, t) for t in range(shot.frames)], 3) / shot.frames
        dynamic = [pose_subjects(shot, t) for t in range(shot.frames)]

        def render(shot=shot, built=built, light=light, dynamic=dynamic) -> None:
            for t in range(shot.frames):
                render_frame(concat(built.prims, dynamic[t]), shot.c2w[t], shot.K, W, H, light)

        render_frame(concat(built.prims, dynamic[0]), shot.c2w[0], shot.K, W, H, light)  # warm the kernels
        wall = best(render, args.repeats) / shot.frames
        c0 = cpu_seconds()
        render()
        cpu_ms = 1000.0 * (cpu_seconds() - c0) / shot.frames
        rows.append((sid, len(static), build_s * 1000, pose_s * 1000, 1.0 / wall, cpu_ms))
        print(f"{sid:16s} {len(static):4d} prims  build {build_s * 1000:5.1f} ms  pose {pose_s * 1000:5.2f} ms/frame  "
              f"render {1.0 / wall:6.1f} fps wall, {cpu_ms:6.1f} CPU-ms/frame (~{1000.0 * cores / cpu_ms:5.1f} fps idle)")

    slow = max(rows, key=lambda r: r[5])
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    print(json.dumps({
        "scenes": len(rows),
        "max_static_primitives": max(r[1] for r in rows),
        "max_subject_primitives": max(sub_counts.values()),
        "build_ms_max": round(max(r[2] for r in rows), 1),
        "pose_ms_per_frame_3_subjects": round(float(np.median([r[3] for r in rows])), 2),
        "slowest_scene": slow[0],
        "slowest_cpu_ms_per_frame": round(slow[5], 1),
        "slowest_est_fps_idle": round(1000.0 * cores / slow[5], 1),
        "median_wall_fps": round(float(np.median([r[4] for r in rows])), 1),
    }))


if __name__ == "__main__":
    main()
