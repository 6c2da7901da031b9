"""Host-side cost of a UE5 clip: everything hmworld does around the editor, per clip.

No Unreal Editor here, so the editor is the test suite's fake (tests/ue5):
it runs the real ue_scripts on a recording stand-in and writes real PNG
frames. The editor's own time is therefore NOT a UE figure; what this
measures is the host's share: writing the job, the subprocess/watchdog
round trip, reading and checking the status, decoding 2 × (warm-up + T)
PNGs, decoding masks, checking transforms, encoding rgb.mp4 and writing
the clip folder.

    python tools/bench_ue5_driver.py [--frames 150] [--resolution 416x240] [--clips 2]

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
from hmworld.render.ue5 import (  # noqa: E402
    build_job,
    compare_readback,
    decode_masks,
    load_frames,
    make_config,
    read_status,
    render_clip,
)
from hmworld.video import write_video  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--resolution", default="416x240")
    ap.add_argument("--clips", type=int, default=2)
    args = ap.parse_args()
    width, height = (int(v) for v in args.resolution.lower().split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench_ue5_"))
    os.environ.update(HMWORLD_FAKE_UE_WORLD=str(full_world_file(tmp)), HMWORLD_FAKE_UE_MODE="ok",
                      HMWORLD_FAKE_UE_VERSION="5.4")
    config = make_config(project_file(tmp), full_asset_map_toml(tmp, warmup=8), fake_editor_executable(tmp),
                         ue_timeout=600, ue_retries=0, keep_frames=True)
    rows = plan_rows(make_plan(scenes=["city_street"], clips=args.clips, seed=3,
                               settings=PlanSettings(frames=args.frames, width=width, height=height)))
    shots = [materialise(r) for r in rows]

    t0 = time.perf_counter()
    for s in shots:
        build_job(s, config.assets, tmp / "f", tmp / "s.json")
    job_s = (time.perf_counter() - t0) / len(shots)

    totals, editor = [], []
    for s in shots:
        t0 = time.perf_counter()
        rec = render_clip(s, tmp / "data" / "clips" / s.clip_id, config)
        totals.append(time.perf_counter() - t0)
        editor.append(rec.stats["editor_s"])

    # the host's post-editor steps again, one by one, on the last clip's kept frames
    s = shots[-1]
    attempt = tmp / "data" / "clips" / ".ue5-work" / s.clip_id / "attempt-1"
    job = json.loads((attempt / "job.json").read_text())
    status = read_status(attempt / "status.json")
    warm, n = job["warmup_frames"], job["warmup_frames"] + s.frames
    paths = {k: [attempt / "frames" / name / f"{i:04d}.png" for i in range(warm, n)] for k, name in status["passes"].items()}
    steps = {}
    t0 = time.perf_counter()
    compare_readback(s, job, config.assets, status["readback"])
    steps["check_transforms_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rgb = load_frames(paths["rgb"], s.width, s.height)
    masks = load_frames(paths["mask"], s.width, s.height)
    steps["decode_pngs_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    decode_masks(masks, s.n_subjects)
    steps["decode_masks_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_video(tmp / "bench.mp4", rgb, s.fps)
    steps["encode_video_s"] = time.perf_counter() - t0

    host = sum(totals) / len(totals) - sum(editor) / len(editor)
    print(f"clips: {len(shots)} × {s.frames} frames at {s.width}x{s.height} (+{warm} warm-up), 2 passes")
    print(f"build job (pure math):          {job_s * 1000:8.1f} ms/clip")
    for k, v in steps.items():
        print(f"{k.removesuffix('_s').replace('_', ' '):31} {v * 1000:8.1f} ms/clip")
    print(f"fake editor process (not UE):   {sum(editor) / len(editor):8.2f} s/clip")
    print(f"host share of render_clip:      {host:8.2f} s/clip "
          f"({s.frames / host:.0f} frames/s host throughput)")
    print(json.dumps({
        "frames": s.frames, "width": s.width, "height": s.height, "warmup": warm,
        "build_job_ms": round(job_s * 1000, 2),
        **{k.replace("_s", "_ms"): round(v * 1000, 1) for k, v in steps.items()},
        "host_s_per_clip": round(host, 3), "fake_editor_s_per_clip": round(sum(editor) / len(editor), 3),
    }))


if __name__ == "__main__":
    main()
