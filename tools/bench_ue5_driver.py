"""Host overhead per UE5 clip, and how editor start-up amortises with the batch size (--ue-batch).

No Unreal Editor here, so the editor is the test suite's stand-in (tests/ue5):
a real subprocess that runs the real ue_scripts/render_batch.py on a
recording `unreal` module and writes real PNG frames of both passes. Its
render time is NOT a UE figure. What this measures:

- host overhead per clip: what hmworld does once a shot's status says done
  (read the status, check every frame exists, compare Sequencer's read-back
  with the shot, decode 2 × (warm-up + T) PNGs, decode masks, encode
  rgb.mp4, write instances.npz and clip.json), timed around the host's own
  function, plus the same steps one by one;
- amortisation: the same clips rendered with batch sizes N, the stand-in
  given a start-up delay (--startup-s) like a real editor's; the wall time
  per clip and the share of it spent in start-ups, measured; and the share
  a real start-up (--real-startup-s, e.g. 60 s) would take for clips of
  --real-clip-s GPU seconds each, computed from those two numbers.

    python tools/bench_ue5_driver.py [--frames 60] [--resolution 416x240] [--clips 8] [--batches 1,2,8]

Prints figures; the last line is one JSON object with the headline numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from ue5.support import fake_editor_executable, full_asset_map_toml, full_world_file, project_file  # noqa: E402

from hmworld.plan import PlanSettings, make_plan, materialise, plan_rows  # noqa: E402
from hmworld.render import ue5  # noqa: E402
from hmworld.render.ue5_editor import read_status  # noqa: E402
from hmworld.video import write_video  # noqa: E402


def timed_assemble(log: list[float]):
    inner = ue5._assemble

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            log.append(time.perf_counter() - t0)

    return wrapper


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--resolution", default="416x240")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--batches", default="1,2,8", help="batch sizes to compare")
    ap.add_argument("--startup-s", type=float, default=3.0, help="start-up delay given to the stand-in editor")
    ap.add_argument("--real-startup-s", type=float, default=60.0, help="a real editor's start-up, for the model")
    ap.add_argument("--real-clip-s", type=float, default=120.0, help="a real clip's render time, for the model")
    args = ap.parse_args()
    width, height = (int(v) for v in args.resolution.lower().split("x"))
    batches = [int(b) for b in args.batches.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench_ue5_"))
    os.environ.update(HMWORLD_FAKE_UE_WORLD=str(full_world_file(tmp)), HMWORLD_FAKE_UE_MODE="ok",
                      HMWORLD_FAKE_UE_VERSION="5.5", HMWORLD_FAKE_UE_STARTUP_S=str(args.startup_s),
                      HMWORLD_FAKE_UE_ARGV=str(tmp / "argv.log"))
    assets = full_asset_map_toml(tmp, warmup=8)
    rows = plan_rows(make_plan(scenes=["city_street"], clips=args.clips, seed=3,
                               settings=PlanSettings(frames=args.frames, width=width, height=height)))
    shots = [materialise(r) for r in rows]
    assemble_s: list[float] = []
    ue5._assemble = timed_assemble(assemble_s)

    runs = {}
    for n in batches:
        out = tmp / f"batch{n}"
        config = ue5.make_config(project_file(tmp), assets, fake_editor_executable(tmp), ue_timeout=600,
                                 ue_retries=0, ue_batch=n, keep_frames=True, work_dir=out / "work")
        before = len((tmp / "argv.log").read_text().splitlines()) if (tmp / "argv.log").is_file() else 0
        t0 = time.perf_counter()
        for i in range(0, len(shots), n):
            unit = [(s, out / "clips" / s.clip_id) for s in shots[i:i + n]]
            for r in ue5.render_batch(unit, config):
                assert r.error is None, r.error
        wall = time.perf_counter() - t0
        sessions = len((tmp / "argv.log").read_text().splitlines()) - before
        runs[n] = {"sessions": sessions, "wall_s": wall, "per_clip_s": wall / len(shots),
                   "startup_share": sessions * args.startup_s / wall}

    # the host's post-editor steps one by one, on the last clip's kept frames
    s = shots[-1]
    attempt = tmp / f"batch{batches[-1]}" / "work" / s.clip_id / "try-1"
    status = read_status(attempt / "status.json")
    job = next(j for j in json.loads(next((tmp / f"batch{batches[-1]}" / "work" / "sessions").iterdir())
                                     .joinpath("batch.json").read_text())["shots"] if j["clip_id"] == s.clip_id)
    warm, n_all = job["warmup_frames"], job["warmup_frames"] + s.frames
    paths = {k: [attempt / "frames" / name / f"{i:04d}.png" for i in range(warm, n_all)]
             for k, name in status["passes"].items()}
    steps = {}
    t0 = time.perf_counter()
    ue5.compare_readback(s, job, config.assets, status["readback"])
    steps["check_transforms"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rgb = ue5.load_frames(paths["rgb"], s.width, s.height)
    masks = ue5.load_frames(paths["mask"], s.width, s.height)
    steps["decode_pngs"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ue5.decode_masks(masks, s.n_subjects)
    steps["decode_masks"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_video(tmp / "bench.mp4", rgb, s.fps)
    steps["encode_video"] = time.perf_counter() - t0

    host = sum(assemble_s) / len(assemble_s)
    per_clip_editor = (runs[batches[-1]]["wall_s"] - runs[batches[-1]]["sessions"] * args.startup_s) / len(shots)
    print(f"clips: {len(shots)} × {s.frames} frames at {s.width}x{s.height} (+{warm} warm-up), 2 passes; "
          f"stand-in start-up {args.startup_s:g} s")
    print(f"host overhead per clip (status → clip.json): {host * 1000:8.1f} ms "
          f"({s.frames / host:.0f} frames/s), of which:")
    for k, v in steps.items():
        print(f"  {k.replace('_', ' '):28} {v * 1000:8.1f} ms")
    print("batch size N   sessions   wall s   s/clip   start-up share (measured)")
    for n, r in runs.items():
        print(f"{n:12d} {r['sessions']:10d} {r['wall_s']:8.1f} {r['per_clip_s']:8.2f}   {r['startup_share']:6.1%}")
    model = {n: args.real_startup_s / (args.real_startup_s + n * args.real_clip_s) for n in (1, 4, 16, 64)}
    print(f"model, {args.real_startup_s:g} s start-up and {args.real_clip_s:g} s per clip: start-up share "
          + ", ".join(f"N={n}: {v:.1%}" for n, v in model.items()))
    print(json.dumps({
        "frames": s.frames, "width": s.width, "height": s.height, "warmup": warm, "clips": len(shots),
        "host_ms_per_clip": round(host * 1000, 1), **{f"{k}_ms": round(v * 1000, 1) for k, v in steps.items()},
        "standin_startup_s": args.startup_s, "standin_render_s_per_clip": round(per_clip_editor, 3),
        "per_clip_s_by_batch": {str(n): round(r["per_clip_s"], 3) for n, r in runs.items()},
        "sessions_by_batch": {str(n): r["sessions"] for n, r in runs.items()},
        "startup_share_by_batch": {str(n): round(r["startup_share"], 4) for n, r in runs.items()},
        "model_startup_share": {str(n): round(v, 4) for n, v in model.items()},
    }))


if __name__ == "__main__":
    main()
