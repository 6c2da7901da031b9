"""Benchmark of the builtin ray caster: frames per second and peak memory.

    .venv/bin/python tools/bench_render.py [--frames 48] [--repeats 3] [--heavy-scene ID]

(a) standard scene: ground plane, 5 boxes, 2 walkers of 10 primitives, sun with
    shadows, 48 frames at 256×256 (hmworld.render.builtin.reference), beside the
    plain numpy caster (hmworld.render.builtin.numpy_caster: every ray against
    every primitive, vectorised over pixels, shadows, no textures or
    anti-aliasing) on the same frames in the same run;
(b) the heaviest catalog scene (the slowest to render in a short probe of all
    17, or --heavy-scene) with 3 subjects at 416×240, and (c) the same shot at 832×480.

Frames per second count the whole per-frame path (posing subjects, packing,
binning, both casting passes) on numba's thread count of casting threads (both
cores here, as a user renders), but not video encoding, which is reported apart as the clip figure:
frames divided by wall-clock seconds, the best of --repeats runs, so that other
work on a shared machine disturbs it as little as possible; the load average
is printed with it. Beside it, CPU-ms per frame (user + system time of all
threads over the same runs, the best) and the rate that CPU cost allows on
all threads with nothing else running (threads × 1000 / CPU-ms: an upper
bound for a quiet machine, reached only if the threads never wait). The first
call's compile time (numba, empty cache, in a fresh process) and the warm
start (cache hit) are reported separately and never counted in the frame
rates. Each headline is printed beside its target (issue 17: standard ≥ 4×
the numpy caster; heavy scene ≥ 40 fps at 416×240 and ≥ 12 fps at 832×480).
The last line is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from hmworld import plan
from hmworld.render.builtin.backend import BuiltinBackend, render_shot
from hmworld.render.builtin.numpy_caster import numpy_cast
from hmworld.render.builtin.primitives import concat
from hmworld.render.builtin.raycast import RenderOptions, SunSky
from hmworld.render.builtin.reference import reference_pose, reference_scene, reference_shot

COLD_START = """
import time, numpy as np
t = time.perf_counter()
from hmworld.render.builtin.raycast import render_frame, RenderOptions
from hmworld.render.builtin.reference import reference_scene, reference_shot, reference_pose
from hmworld.render.builtin.primitives import concat
shot = reference_shot(2, 64, 64)
sc = reference_scene()
render_frame(concat(sc.prims, reference_pose(shot, 0)), shot.c2w[0], shot.K, 64, 64)
print(time.perf_counter() - t)
"""


def first_call_seconds(cache_dir: str | None) -> float:
    """Import + first frame in a fresh interpreter; with an empty cache dir that is the compile time."""
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", COLD_START], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def catalog_shot(scene: str, width: int, height: int, frames: int, seed: int = 0):
    """A 3-subject plan row of `scene` materialised at the given size."""
    settings = plan.PlanSettings(frames=frames, fps=15, width=width, height=height)
    rows = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=seed, settings=settings, group_sizes=(3,)))
    return plan.materialise(rows[0])


TARGETS = {"standard_vs_numpy": 4.0, "heavy_416x240_fps": 40.0, "heavy_832x480_fps": 12.0}


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def time_shot(shot, built, pose, repeats: int, options: RenderOptions | None = None) -> tuple[float, float]:
    """Best wall-clock frames per second and best CPU-ms per frame (all threads) over `repeats`
    renders of the whole shot."""
    light = SunSky.of(built)
    best = cpu = float("inf")
    for _ in range(repeats):
        c0, start = _cpu_s(), time.perf_counter()
        for _frame in render_shot(shot, built.prims, light, pose, options):
            pass
        best = min(best, time.perf_counter() - start)
        cpu = min(cpu, _cpu_s() - c0)
    return shot.frames / best, 1000.0 * cpu / shot.frames


def against(value: float, target: float, unit: str) -> str:
    """'value unit (target ≥ target: met|missed)'."""
    return f"{value:.2f}{unit} (target >= {target:g}{unit}: {'met' if value >= target else 'missed'})"


def numpy_fps(shot, built, pose, repeats: int) -> float:
    """Best wall-clock frames per second of the plain numpy caster over the whole shot."""
    light = SunSky.of(built)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for t in range(shot.frames):
            numpy_cast(concat(built.prims, pose(shot, t)), shot.c2w[t], shot.K, shot.width, shot.height, light)
        best = min(best, time.perf_counter() - start)
    return shot.frames / best


def heaviest_scene(probe_frames: int = 4) -> tuple[str, dict[str, float]]:
    """The catalog scene that takes longest per frame at 416×240 with 3 subjects (a short probe)."""
    from hmworld.catalog import SCENES
    from hmworld.render.builtin.scenes import build_scene
    from hmworld.render.builtin.subjects import pose_subjects

    cost: dict[str, float] = {}
    for sid in SCENES:
        shot = catalog_shot(sid, 416, 240, 150)
        pick = np.linspace(0, shot.frames - 1, probe_frames).round().astype(int)
        sub = _subshot(shot, pick)
        built = build_scene(sid, int(shot.extra.get("scene_seed", 0)))
        start = time.perf_counter()
        for _frame in render_shot(sub, built.prims, SunSky.of(built), pose_subjects):
            pass
        cost[sid] = (time.perf_counter() - start) / probe_frames
    return max(cost, key=cost.get), cost


def _subshot(shot, idx: np.ndarray):
    from dataclasses import replace

    return replace(
        shot,
        frames=len(idx),
        c2w=shot.c2w[idx],
        subject_pos=shot.subject_pos[:, idx],
        subject_heading=shot.subject_heading[:, idx],
        subject_phase=shot.subject_phase[:, idx],
        subject_speed=shot.subject_speed[:, idx],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--heavy-scene", default=None, help="skip the probe and use this catalog scene")
    ap.add_argument("--no-cold", action="store_true", help="skip the compile-from-empty-cache measurement")
    args = ap.parse_args()

    print(f"machine: {os.cpu_count()} cores, numba {numba.__version__}, {numba.get_num_threads()} casting threads, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    if not args.no_cold:
        with tempfile.TemporaryDirectory() as empty:
            cold = first_call_seconds(empty)
        warm = first_call_seconds(None)
        print(f"first call, empty numba cache (compile): {cold:.1f} s; with the cache (warm start): {warm:.2f} s")

    # (a) standard scene
    threads = numba.get_num_threads()
    std_shot = reference_shot(args.frames, 256, 256)
    std = reference_scene()
    time_shot(reference_shot(2, 256, 256), std, reference_pose, 1)  # load kernels, not timed
    std_fps, std_cpu = time_shot(std_shot, std, reference_pose, args.repeats)
    std_noaa, _ = time_shot(std_shot, std, reference_pose, args.repeats, RenderOptions(antialias=False))
    np_fps = numpy_fps(std_shot, std, reference_pose, args.repeats)
    print(f"(a) standard 256x256, {args.frames} frames: {std_fps:.1f} fps "
          f"({std_noaa:.1f} fps without anti-aliasing; {std_cpu:.2f} CPU-ms/frame); "
          f"plain numpy caster {np_fps:.1f} fps: {against(std_fps / np_fps, TARGETS['standard_vs_numpy'], 'x')}")

    # (b), (c) heaviest catalog scene with 3 subjects
    from hmworld.render.builtin.scenes import build_scene
    from hmworld.render.builtin.subjects import pose_subjects

    if args.heavy_scene:
        heavy = args.heavy_scene
    else:
        heavy, cost = heaviest_scene()
        ranked = sorted(cost.items(), key=lambda kv: -kv[1])[:5]
        print("probe (ms/frame at 416x240): " + ", ".join(f"{k} {1000 * v:.0f}" for k, v in ranked))
    figures = {}
    for w, h in ((416, 240), (832, 480)):
        shot = catalog_shot(heavy, w, h, args.frames)
        built = build_scene(heavy, int(shot.extra.get("scene_seed", 0)))
        fps, cpu = time_shot(shot, built, pose_subjects, args.repeats)
        figures[(w, h)] = (fps, cpu)
        print(f"({'b' if w == 416 else 'c'}) {heavy} {w}x{h}, 3 subjects ({', '.join(shot.subjects)}), "
              f"{len(built.prims)} static primitives: {against(fps, TARGETS[f'heavy_{w}x{h}_fps'], ' fps')}; "
              f"{cpu:.1f} CPU-ms/frame, so {threads * 1000.0 / cpu:.1f} fps on {threads} idle cores")

    # whole clip through the backend (render + H.264 + ids + clip.json)
    shot = catalog_shot(heavy, 416, 240, args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        rec = BuiltinBackend().render_clip(shot, Path(tmp) / "clip")
        clip_s = time.perf_counter() - start
    render_ms = 1000.0 * rec.stats["render_cpu_s"] / args.frames
    print(f"clip {heavy} 416x240 through the backend (render + encode + write): {args.frames / clip_s:.1f} fps; "
          f"rendering {render_ms:.1f} CPU-ms/frame of it (clip.json render_cpu_s)")

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"peak memory (max RSS of this process): {peak_mb:.0f} MB; load average at end {os.getloadavg()[0]:.2f}")
    print(json.dumps({
        "standard_256_fps": round(std_fps, 1),
        "numpy_caster_256_fps": round(np_fps, 1),
        "standard_vs_numpy": round(std_fps / np_fps, 2),
        "heavy_scene": heavy,
        "heavy_416x240_fps": round(figures[(416, 240)][0], 1),
        "heavy_832x480_fps": round(figures[(832, 480)][0], 1),
        "heavy_416x240_cpu_ms": round(figures[(416, 240)][1], 2),
        "heavy_832x480_cpu_ms": round(figures[(832, 480)][1], 2),
        "heavy_416x240_idle_fps": round(threads * 1000.0 / figures[(416, 240)][1], 1),
        "heavy_832x480_idle_fps": round(threads * 1000.0 / figures[(832, 480)][1], 1),
        "threads": threads,
        "load_average_end": round(os.getloadavg()[0], 2),
        "targets": TARGETS,
        "peak_mb": round(peak_mb, 1),
    }))


if __name__ == "__main__":
    main()
