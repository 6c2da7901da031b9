"""How fast captioning goes: the template captioner, the resumable runner, and batched generation.

- template: captions per second from shots in memory (no I/O);
- runner: a dataset of clip folders captioned end to end (read clip.json and
  events.json, caption, write caption.json atomically), and a no-op re-run;
- frames: uniform 16-frame sampling decoded from 416x240, 150-frame H.264 clips;
- batching: the native transformers path on a tiny random vision-language
  model on CPU, clips per second at batch size 1 and 8 (the real model runs on
  a GPU; this shows what batching buys the same code path).

Last line: one JSON object of the headline figures.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "caption"))  # tiny-model and clip-folder builders

import caption_support as cs  # noqa: E402

from hmworld import plan  # noqa: E402
from hmworld.caption import CaptionSettings, caption_dataset, get_captioner  # noqa: E402
from hmworld.caption.protocol import ClipInput  # noqa: E402
from hmworld.caption.runner import load_clip_input  # noqa: E402
from hmworld.caption.template import template_caption  # noqa: E402
from hmworld.clip import clip_dir  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    figures: dict[str, float] = {}
    shots = cs.shots(2000, seed=1, settings=plan.PlanSettings())
    clips = [ClipInput(s.clip_id, Path("."), s) for s in shots]
    _, t = timed(lambda: [template_caption(c) for c in clips])
    figures["template_captions_per_s"] = round(len(clips) / t, 1)
    print(f"template: {len(clips)} captions in {t:.2f} s ({len(clips) / t:.0f}/s)")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        for s in shots[:300]:
            cs.write_clip_folder(root, s, video=False)
        summary, t = timed(lambda: caption_dataset(root, "template", batch_size=32))
        figures["runner_clips_per_s"] = round(summary.captioned / t, 1)
        print(f"runner: {summary.captioned} clip folders captioned and written in {t:.2f} s ({summary.captioned / t:.0f}/s)")
        _, t = timed(lambda: caption_dataset(root, "template"))
        figures["rerun_noop_seconds"] = round(t, 3)
        print(f"runner: re-run with every caption present: {t:.2f} s")

        full = cs.shots(4, seed=2, settings=plan.PlanSettings())
        for s in full:
            cs.write_clip_folder(root, s)
        _, t = timed(lambda: [load_clip_input(clip_dir(root, s.clip_id), 16) for s in full])
        figures["frames16_decode_ms_per_clip"] = round(1000 * t / len(full), 1)
        print(f"frames: 16 of 150 frames at 416x240 decoded in {1000 * t / len(full):.0f} ms per clip")

        model = cs.build_tiny_llava(Path(tmp) / "tiny")
        cap = get_captioner("minicpm-v", CaptionSettings(model=str(model), device="cpu", max_frames=8, max_new_tokens=32))
        batch = [load_clip_input(clip_dir(root, s.clip_id), 8) for s in full] * 4  # 16 clips
        cap.caption_batch(batch[:2])  # warm-up
        for size in (1, 8):
            _, t = timed(lambda size=size: [cap.caption_batch(batch[i : i + size]) for i in range(0, len(batch), size)])
            figures[f"tiny_model_clips_per_s_batch{size}"] = round(len(batch) / t, 2)
            print(f"tiny model, CPU, batch {size}: {len(batch)} clips in {t:.2f} s ({len(batch) / t:.1f} clips/s)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
