"""A render backend plugin for fault tests: the builtin renderer, plus faults on chosen clips.

Installed only for the tests' subprocesses (PYTHONPATH holds this folder and
its .dist-info, which declares the `hmworld.backends` entry point "faulty"),
so worker processes, local or Ray, load it exactly as they load a real
third-party backend. HMWORLD_FAULTS names a JSON file:

    {"marks": DIR, "kill_once": [clip ids], "kill_always": [...], "raise": [...], "sleep": {clip id: seconds}}

Every clip start is appended to DIR/starts.log as "clip_id pid". A killed
clip first leaves a half-written rgb.mp4 behind, as a worker killed mid-clip
would. The clips it renders are the builtin backend's, bit for bit.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from hmworld.render import register_backend
from hmworld.render.builtin.backend import BuiltinBackend


def _config() -> dict:
    with open(os.environ["HMWORLD_FAULTS"], encoding="utf-8") as f:
        return json.load(f)


def _half_clip(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "rgb.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(4096))


@register_backend("faulty")
class FaultyBackend(BuiltinBackend):
    def render_clip(self, shot, out_dir):
        config, cid = _config(), shot.clip_id
        marks = Path(config["marks"])
        with open(marks / "starts.log", "a", encoding="utf-8") as f:
            f.write(f"{cid} {os.getpid()}\n")
        if cid in config.get("kill_once", []) and not (marks / f"{cid}.killed").exists():
            (marks / f"{cid}.killed").touch()
            _half_clip(Path(out_dir))
            os.kill(os.getpid(), signal.SIGKILL)
        if cid in config.get("kill_always", []):
            _half_clip(Path(out_dir))
            os.kill(os.getpid(), signal.SIGKILL)
        if cid in config.get("raise", []):
            _half_clip(Path(out_dir))
            raise RuntimeError(f"deterministic failure of {cid}")
        time.sleep(float(config.get("sleep", {}).get(cid, 0)))
        return super().render_clip(shot, out_dir)
