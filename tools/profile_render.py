"""Where the builtin ray caster spends its time: CPU-ms per frame for each stage.

    .venv/bin/python tools/profile_render.py [--frames 24] [--scene ID] [--size 416x240]

Stages, on the heaviest catalog scene with 3 subjects (or --scene) and on the
standard scene (hmworld.render.builtin.reference):

- posing: posing the subjects, packing them and appending them to the scenery;
- binning: bounds, screen tiles and the sun's grid (raycast.prepare);
- primary rays: the centre ray of every pixel against its tile's primitives
  (a probe kernel that only calls kernels._primary);
- shading: the centre pass without shadows, less the primary rays;
- shadow rays: the centre pass with shadows, less the one without;
- anti-aliasing: the anti-aliasing pass alone, after a centre pass.

CPU time is the process's user + system time, all threads together, so other
work on a shared machine changes it little (wall time would follow the load).
Each figure is the best of --repeats. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numba
import numpy as np
from numba import njit, prange

from hmworld import plan
from hmworld.render.builtin import kernels as kn
from hmworld.render.builtin.backend import concat_packed
from hmworld.render.builtin.raycast import (
    RenderOptions,
    SunSky,
    _batch,
    _images,
    pack,
    prepare,
    run_jobs,
)
from hmworld.render.builtin.reference import reference_pose, reference_scene, reference_shot
from hmworld.render.builtin.scenes import build_scene
from hmworld.render.builtin.subjects import pose_subjects

HEAVY_SCENE = "city_street"  # the heaviest in bench_render.py's probe on a 2-core machine (2026-12)


@njit(parallel=True, cache=False, error_model="numpy")
def _primary_only(width, height, cams, tile_starts, tile_items, pidx, geom, tile, out):
    """Centre rays only, one frame per thread: the primary-ray cost without any shading."""
    ntx = (width + tile - 1) // tile
    for b in prange(cams.shape[0]):
        cam = cams[b]
        starts = tile_starts[b]
        for j in range(height):
            for i in range(width):
                ti = (j // tile) * ntx + i // tile
                hit = kn._primary(cam, i + 0.5, j + 0.5, starts[ti], starts[ti + 1],
                                  tile_items, pidx, geom)  # fmt: skip
                out[b, j, i] = hit[0]


def catalog_shot(scene: str, width: int, height: int, frames: int, seed: int = 0):
    """The 3-subject plan row bench_render.py times, materialised at the given size."""
    settings = plan.PlanSettings(frames=frames, fps=15, width=width, height=height)
    rows = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=seed, settings=settings, group_sizes=(3,)))
    return plan.materialise(rows[0])


def _cpu() -> float:
    return time.process_time()


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = _cpu()
        fn()
        best = min(best, _cpu() - start)
    return best


def profile(shot, static, light: SunSky, pose, repeats: int) -> dict[str, float]:
    """CPU-ms per frame of each stage over all frames of `shot`."""
    n = shot.frames
    options = RenderOptions()
    vec = light.vector()
    static_p = pack(static)
    framed: list = []

    def posing() -> None:
        framed.clear()
        for t in range(n):
            framed.append(concat_packed(static_p, pack(pose(shot, t))))

    prepared: list = []

    def binning() -> None:
        prepared.clear()
        for t in range(n):
            prepared.append(prepare(framed[t], shot.c2w[t], shot.K, shot.width, shot.height, vec[:3], options))

    out: dict[str, float] = {"posing": _best(posing, repeats), "binning": _best(binning, repeats)}
    w, h = shot.width, shot.height
    batch = _batch(prepared, w, h, vec, options)
    flat = batch._replace(shadows=False)
    tiles = np.arange(batch.tile_starts.shape[1] - 1, dtype=np.int64)
    jobs = [(b, tiles) for b in range(n)]
    images = _images(n, w, h)
    tbuf = np.empty((n, h, w))
    sc = batch.scene

    def primary() -> None:
        _primary_only(w, h, batch.cams, batch.tile_starts, batch.tile_items, sc.pidx, sc.geom, batch.tile, tbuf)

    def centre_flat() -> None:
        run_jobs(flat, images, jobs, kn.PASS_CENTRE)

    def centre() -> None:
        run_jobs(batch, images, jobs, kn.PASS_CENTRE)

    def antialias() -> None:
        run_jobs(batch, images, jobs, kn.PASS_ANTIALIAS)

    for fn in (primary, centre_flat, centre):  # compile, not timed
        fn()
    antialias()
    p = _best(primary, repeats)
    cf = _best(centre_flat, repeats)
    c = _best(centre, repeats)
    aa_best = float("inf")
    for _ in range(repeats):
        centre()
        aa_best = min(aa_best, _best(antialias, 1))
    out.update({"primary rays": p, "shading": cf - p, "shadow rays": c - cf, "anti-aliasing": aa_best})
    return {k: 1000.0 * v / n for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scene", default=HEAVY_SCENE, help="catalog scene for the heavy profile")
    ap.add_argument("--size", default="416x240", help="W×H of the heavy profile")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.lower().split("x"))
    print(f"machine: {os.cpu_count()} cores, numba {numba.__version__} with {numba.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.2f}")
    result = {}
    std_shot = reference_shot(args.frames, 256, 256)
    std = reference_scene()
    shot = catalog_shot(args.scene, w, h, args.frames)
    built = build_scene(args.scene, int(shot.extra.get("scene_seed", 0)))
    for name, (s, scene, pose) in {
        "standard_256": (std_shot, std, reference_pose),
        f"{args.scene}_{w}x{h}": (shot, built, pose_subjects),
    }.items():
        stages = profile(s, scene.prims, SunSky.of(scene), pose, args.repeats)
        total = sum(stages.values())
        print(f"{name}: " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()) + f"; total {total:.2f} CPU-ms/frame")
        result[name] = {k.replace(" ", "_"): round(v, 3) for k, v in stages.items()} | {"total": round(total, 3)}
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
