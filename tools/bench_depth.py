"""Depth as ground truth: its error, its size per clip, and what writing it adds to a render.

    .venv/bin/python tools/bench_depth.py [--scenes park,city_street] [--frames 150] [--size 416x240]

(a) error: the ground plane alone (the reference scene's lighting) filmed from
    three camera heights and tilts; every stored depth (depth.npz, float16) against
    the exact ray-plane intersection (hmworld.geometry.plane_depth): the worst and
    median relative error, the worst absolute error within 10 m and overall,
    against the stated bound 2^-11;
(b) per catalog scene, a whole clip through the builtin backend (3 subjects):
    the size of depth.npz beside rgb.mp4 and instances.npz, and the seconds
    depth adds to the clip (per-frame encoding to float16 plus deflating and
    writing depth.npz, timed on the clip's own depth in the same run) against the
    clip's whole render_clip time. Reading: the time to read all frames and a
    16-frame window (hmworld.depth.read_depth).

The last line is one JSON object of the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hmworld import plan
from hmworld.clip import DEPTH_FILE, INSTANCES_FILE, VIDEO_FILE
from hmworld.depth import DEPTH_RELATIVE_ERROR, encode_depth, read_depth, write_depth
from hmworld.geometry import look_at, plane_depth
from hmworld.render.builtin.backend import BuiltinBackend
from hmworld.render.builtin.primitives import Material, PrimitiveBuilder
from hmworld.render.builtin.reference import reference_scene, reference_shot


def ground_error(width: int, height: int) -> dict[str, float]:
    """Render the ground plane alone and compare the stored depth with the analytic one."""
    shot = reference_shot(frames=3, width=width, height=height, n_subjects=0)
    eyes = np.array([[0.0, 0.0, 1.7], [2.0, 1.0, 3.0], [-1.0, 4.0, 0.8]])
    c2w = np.stack([look_at(e, e + np.array([4.0, 1.0 + k, -1.2])) for k, e in enumerate(eyes)])
    shot = type(shot)(**{**shot.__dict__, "c2w": c2w})
    ref = reference_scene()
    b = PrimitiveBuilder()
    b.plane(Material((0.4, 0.55, 0.3)))
    scene = type(ref)(b.build(), ref.sun_dir, ref.sun_color, ref.ambient, ref.sky_top, ref.sky_horizon, ref.fog)
    backend = BuiltinBackend(scene_fn=lambda s, seed: scene, pose_fn=lambda s, t: PrimitiveBuilder().build())
    with tempfile.TemporaryDirectory() as tmp:
        depth = backend.render_clip(shot, Path(tmp) / "ground").load_depth()
    want = np.stack([plane_depth(c2w[t], shot.K, width, height) for t in range(3)])
    hit = np.isfinite(want)
    assert np.array_equal(hit, np.isfinite(depth)), "sky and ground disagree"
    err = np.abs(depth[hit] - want[hit])
    rel = err / want[hit]
    near = want[hit] <= 10.0
    return {
        "pixels": int(hit.sum()),
        "max_rel": float(rel.max()),
        "median_rel": float(np.median(rel)),
        "max_abs_within_10m_mm": float(err[near].max() * 1000),
        "max_abs_m": float(err.max()),
        "max_depth_m": float(want[hit].max()),
    }


def catalog_shot(scene: str, width: int, height: int, frames: int):
    settings = plan.PlanSettings(frames=frames, fps=15, width=width, height=height)
    rows = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=0, settings=settings, group_sizes=(3,)))
    return plan.materialise(rows[0])


def clip_figures(scene: str, width: int, height: int, frames: int) -> dict[str, float]:
    shot = catalog_shot(scene, width, height, frames)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip"
        start = time.perf_counter()
        rec = BuiltinBackend().render_clip(shot, out)
        total = time.perf_counter() - start
        depth = read_depth(rec.depth_path)  # float32 metres, as the renderer gave them (to float16)
        start = time.perf_counter()
        for t in range(frames):
            encode_depth(depth[t])
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        write_depth(Path(tmp) / "again.npz", depth)
        write_s = time.perf_counter() - start
        start = time.perf_counter()
        read_depth(rec.depth_path)
        read_all_s = time.perf_counter() - start
        start = time.perf_counter()
        read_depth(rec.depth_path, np.arange(frames // 2, frames // 2 + 16))
        read_window_s = time.perf_counter() - start
        sizes = {name: (out / name).stat().st_size for name in (VIDEO_FILE, INSTANCES_FILE, DEPTH_FILE)}
    finite = np.isfinite(depth)
    return {
        "scene": scene,
        "render_clip_s": total,
        "depth_s": encode_s + write_s,
        "depth_share": (encode_s + write_s) / total,
        "depth_mib": sizes[DEPTH_FILE] / 2**20,
        "video_mib": sizes[VIDEO_FILE] / 2**20,
        "instances_mib": sizes[INSTANCES_FILE] / 2**20,
        "depth_bytes_per_pixel": sizes[DEPTH_FILE] / depth.size,
        "no_surface_share": float(1 - finite.mean()),
        "max_depth_m": float(depth[finite].max()) if finite.any() else float("nan"),
        "read_all_ms": read_all_s * 1000,
        "read_window16_ms": read_window_s * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default="park,city_street")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--size", default="416x240")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    print(f"load average {os.getloadavg()[0]:.2f}; {args.frames} frames at {width}x{height}", file=sys.stderr)
    err = ground_error(width, height)
    print(f"ground plane ({err['pixels']} pixels, up to {err['max_depth_m']:.0f} m): relative error max "
          f"{err['max_rel']:.3e} (bound 2^-11 = {DEPTH_RELATIVE_ERROR:.3e}), median {err['median_rel']:.2e}; "
          f"absolute max {err['max_abs_within_10m_mm']:.2f} mm within 10 m, {err['max_abs_m'] * 100:.1f} cm overall")
    clips = []
    for scene in args.scenes.split(","):
        c = clip_figures(scene, width, height, args.frames)
        clips.append(c)
        print(f"{scene}: depth.npz {c['depth_mib']:.2f} MiB ({c['depth_bytes_per_pixel']:.2f} B/pixel; "
              f"rgb.mp4 {c['video_mib']:.2f} MiB, instances.npz {c['instances_mib']:.3f} MiB); writing depth "
              f"{c['depth_s']:.2f} s of {c['render_clip_s']:.1f} s per clip ({100 * c['depth_share']:.1f} %); "
              f"read all {c['read_all_ms']:.0f} ms, a 16-frame window {c['read_window16_ms']:.0f} ms; "
              f"no surface {100 * c['no_surface_share']:.1f} % of pixels, farthest {c['max_depth_m']:.0f} m")
    print(json.dumps({
        "frames": args.frames, "size": [width, height],
        "ground_max_rel_error": err["max_rel"], "stated_bound": DEPTH_RELATIVE_ERROR,
        "ground_max_abs_mm_within_10m": err["max_abs_within_10m_mm"],
        "clips": {c["scene"]: {k: round(v, 4) for k, v in c.items() if k != "scene"} for c in clips},
    }))


if __name__ == "__main__":
    main()
