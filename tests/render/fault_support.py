"""Helpers for the fault tests: the `faulty` backend plugin, its settings, and the CLI as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGINS = Path(__file__).resolve().parent / "plugins"


def fault_env(tmp: Path, **faults) -> dict[str, str]:
    """Environment for a subprocess that can load the `faulty` backend with these faults (see its module)."""
    marks = tmp / "marks"
    marks.mkdir(parents=True, exist_ok=True)
    config = tmp / "faults.json"
    config.write_text(json.dumps({"marks": str(marks), **faults}))
    path = os.pathsep.join([str(PLUGINS), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "HMWORLD_FAULTS": str(config)}


def starts(tmp: Path) -> list[tuple[str, int]]:
    """(clip id, pid) of every clip start the plugin saw, in order."""
    log = tmp / "marks" / "starts.log"
    if not log.exists():
        return []
    return [(c, int(p)) for c, p in (line.split() for line in log.read_text().splitlines())]


def render_args(out: Path, clips: int = 3, *extra: str) -> list[str]:
    return [sys.executable, "-m", "hmworld", "render", "--scene", "park", "--clips", str(clips), "--frames", "6",
            "--resolution", "64x48", "--out", str(out), "--no-progress", *extra]


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout, check=False)


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path; clip.json without its `stats` block (render timings)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "render_errors.log":
            data = p.read_bytes()
            if p.name == "clip.json":
                doc = json.loads(data)
                doc.pop("stats", None)
                data = json.dumps(doc, sort_keys=True).encode()
            out[str(p.relative_to(root))] = data
    return out
