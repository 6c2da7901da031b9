"""Posing the subjects, before and after: CPU-ms per frame of this tree's posing and a base revision's.

    .venv/bin/python tools/bench_pose.py [--base main] [--frames 48] [--repeats 7]

The base revision's posing modules (primitives.py, subjects.py, bodies/) are read with
`git show` into a temporary package and timed in the same process, alternating with this
tree's, so both see the same machine load. Cases: a heavy catalog shot (rooftop, 3
subjects, posed as profile_render.py poses its shot) and 1, 2, 3 subjects of each body plan moving as
that shot's subjects do. Figures:

- pose: `subjects.pose_subjects` alone;
- posing: pose, `raycast.pack` and `backend.concat_packed` onto the packed scenery, as
  profile_render.py's "posing" stage (pack and concat are this tree's in both columns).

CPU time is the process's user + system time; each frame's figure is its best of --repeats
(a shared machine interrupts some runs, rarely the same frame in all), and a case's figure
the mean over its frames. Both versions' primitives are compared array by array on every
timed frame. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hmworld import plan
from hmworld.catalog.subjects import SUBJECT_LIST
from hmworld.render.builtin import subjects as this_subjects
from hmworld.render.builtin.backend import concat_packed
from hmworld.render.builtin.raycast import pack
from hmworld.render.builtin.scenes import build_scene

REPO = Path(__file__).resolve().parents[1]
HEAVY_SCENE = "rooftop"  # a heavy 3-subject catalog shot (the one posing was first timed on)
PREFIX = "hmworld/render/builtin/"
BASE_PACKAGE = "pose_base"
SET_FIELDS = ("kind", "instance", "material", "a", "b", "radius", "half", "rot", "mat_color", "mat_color2",
              "mat_pattern", "mat_scale", "mat_gloss")


def base_subjects(rev: str, into: Path):
    """The `subjects` module of revision `rev`, with its own primitives and bodies (catalog and shot: this tree's)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-tree", "-r", "--name-only", rev, PREFIX + "bodies"],
                            check=True, capture_output=True, text=True).stdout.split()
    files = [PREFIX + "primitives.py", PREFIX + "subjects.py", *(f for f in listed if f.endswith(".py"))]
    dotted = PREFIX.rstrip("/").replace("/", ".") + "."
    for f in files:
        text = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{f}"], check=True, capture_output=True,
                              text=True).stdout
        for g in files:  # point the copies at each other
            name = g[len(PREFIX):-3].replace("/", ".")
            text = text.replace(dotted + name, f"{BASE_PACKAGE}.{name}")
        out = into / BASE_PACKAGE / f[len(PREFIX):]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        (out.parent / "__init__.py").touch()
    sys.path.insert(0, str(into))
    return importlib.import_module(f"{BASE_PACKAGE}.subjects")


def catalog_shot(scene: str, frames: int):
    """The 3-subject plan row (seed 0) that profile_render.py's `catalog_shot` times, at 416x240."""
    settings = plan.PlanSettings(frames=frames, fps=15, width=416, height=240)
    rows = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=0, settings=settings, group_sizes=(3,)))
    return plan.materialise(rows[0])


def plan_shots(shot) -> dict[str, object]:
    """The heavy shot, and 1-3 subjects of each body plan moving as its subjects do."""
    cases = {f"{HEAVY_SCENE} 3 subjects": shot}
    for body in ("biped", "quadruped", "bird"):
        ids = [s.id for s in SUBJECT_LIST if s.body == body][:3]
        for n in (1, 2, 3):
            cases[f"{body} x{n}"] = dataclasses.replace(
                shot, subjects=tuple(ids[:n]), gaits=(), subject_pos=shot.subject_pos[:n],
                subject_heading=shot.subject_heading[:n], subject_phase=shot.subject_phase[:n],
                subject_speed=shot.subject_speed[:n], subject_size=shot.subject_size[:n])
    return cases


def frame_cpu_s(pose: Callable, shot, static=None) -> np.ndarray:
    """CPU seconds [T] to pose each frame of `shot` (and, given the packed scenery, pack and append it)."""
    out = np.empty(shot.frames)
    for t in range(shot.frames):
        start = time.process_time()
        if static is None:
            pose(shot, t)
        else:
            concat_packed(static, pack(pose(shot, t)))
        out[t] = time.process_time() - start
    return out


def check_identical(base: Callable, this: Callable, shot, name: str) -> None:
    for t in range(shot.frames):
        old, new = base(shot, t), this(shot, t)
        for f in SET_FIELDS:
            a, b = getattr(old, f), getattr(new, f)
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                raise SystemExit(f"error: {name} frame {t}: {f} differs from the base revision's")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="main", help="git revision to compare with (default: main)")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"base {args.base} vs this tree (HEAD {head}, with any uncommitted changes)")
    shot = catalog_shot(HEAVY_SCENE, args.frames)
    static = pack(build_scene(HEAVY_SCENE, int(shot.extra.get("scene_seed", 0))).prims)
    with tempfile.TemporaryDirectory(prefix="bench-pose-") as tmp:
        base = base_subjects(args.base, Path(tmp))
        versions = {"base": base.pose_subjects, "this": this_subjects.pose_subjects}
        result: dict[str, dict[str, float]] = {}
        for name, case in plan_shots(shot).items():
            check_identical(versions["base"], versions["this"], case, name)
            fastest = {f"{v} {stage}": np.full(case.frames, np.inf) for v in versions for stage in ("pose", "posing")}
            for _ in range(args.repeats):
                for v, pose in versions.items():
                    np.minimum(fastest[f"{v} pose"], frame_cpu_s(pose, case), out=fastest[f"{v} pose"])
                    np.minimum(fastest[f"{v} posing"], frame_cpu_s(pose, case, static), out=fastest[f"{v} posing"])
            best = {k: 1000.0 * float(x.mean()) for k, x in fastest.items()}
            row = {k.replace(" ", "_"): round(x, 4) for k, x in best.items()}
            row["pose_speedup"] = round(best["base pose"] / best["this pose"], 2)
            row["posing_speedup"] = round(best["base posing"] / best["this posing"], 2)
            result[name] = row
            print(f"{name:22s} pose {best['base pose']:.3f} -> {best['this pose']:.3f} CPU-ms/frame "
                  f"({row['pose_speedup']:.2f}x); posing {best['base posing']:.3f} -> {best['this posing']:.3f} "
                  f"({row['posing_speedup']:.2f}x)")
    print(f"identical primitives on every frame of every case; load average at end {os.getloadavg()[0]:.2f}")
    print(json.dumps({"base": args.base, "frames": args.frames, "cases": result}))


if __name__ == "__main__":
    main()
