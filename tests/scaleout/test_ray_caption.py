"""`hmworld caption --executor ray`: Ray Data map_batches over captioner actors (issue 14)."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("ray")  # the extra hmworld[ray]; `make test` installs it

from fault_support import REPO, render_args, run

from hmworld.clip import CAPTION_JSON

sys.path.insert(0, str(REPO / "tests" / "caption"))
from caption_support import build_tiny_minicpmv46


def captions(ds) -> dict[str, bytes]:
    return {p.parent.name: p.read_bytes() for p in sorted((ds / "clips").glob(f"*/{CAPTION_JSON}"))}


def hm(env, *args):
    return run([sys.executable, "-m", "hmworld", *args], env)


def test_ray_captions_resume_and_equal_the_local_ones_on_a_local_ray_started_here(cluster, tmp_path):
    env = {**cluster.env, "RAY_ADDRESS": ""}
    for name in ("local", "ray"):
        assert run(render_args(tmp_path / name, 3), env).returncode == 0
        assert hm(env, "filter-events", str(tmp_path / name)).returncode == 0
    assert hm(env, "caption", str(tmp_path / "local"), "--no-progress").returncode == 0
    first = sorted(captions(tmp_path / "local"))[0]
    kept = tmp_path / "ray" / "clips" / first / CAPTION_JSON
    kept.write_bytes((tmp_path / "local" / "clips" / first / CAPTION_JSON).read_bytes())
    before = kept.stat().st_mtime_ns
    # no --ray-address: the command starts its own local Ray
    r = hm(env, "caption", str(tmp_path / "ray"), "--executor", "ray", "--batch-size", "1", "--ray-actors", "2",
           "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "captioned 2 of 3 clip(s) with template, kept 1" in r.stdout
    assert kept.stat().st_mtime_ns == before  # resumed: the existing caption was not redone
    assert captions(tmp_path / "ray") == captions(tmp_path / "local")
    again = hm(env, "caption", str(tmp_path / "ray"), "--executor", "ray", "--no-progress")
    assert "all 3 clip(s) already have a caption" in again.stdout


def test_minicpm_v46_captions_on_a_gpu_actor_pool(cluster, tmp_path):
    model = build_tiny_minicpmv46(tmp_path / "tiny-minicpm")
    ds = tmp_path / "ds"
    assert run(render_args(ds, 2), cluster.env).returncode == 0
    r = hm(cluster.env, "caption", str(ds), "--captioner", "minicpm-v", "--model", str(model), "--device", "cpu",
           "--max-frames", "3", "--max-new-tokens", "8", "--batch-size", "1", "--executor", "ray",
           "--ray-address", cluster.address, "--ray-gpus", "1", "--no-progress")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "captioned 2 of 2 clip(s) with minicpm-v" in r.stdout
    for raw in captions(ds).values():
        doc = json.loads(raw)
        assert doc["captioner"] == "minicpm-v" and doc["model"] == str(model)
