"""`hmworld render --executor ray` on a real local Ray cluster (2 CPUs): results and faults (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

pytest.importorskip("ray")  # the extra hmworld[ray]; `make test` installs it

from fault_support import REPO, folder_bytes, render_args, run, starts
from ue5.support import fake_editor_executable, full_asset_map_toml, project_file

from hmworld.clip import is_complete, list_clip_dirs
from hmworld.render.runner import select_rows

CLIPS = tuple(r.clip_id for r in select_rows(scene="park", clips=3, frames=6, size=(64, 48)))


def ray_args(cluster, out, clips=3, *extra):
    return render_args(out, clips, "--executor", "ray", "--ray-address", cluster.address, *extra)


def hm(cluster, *args, timeout=600):
    return run([sys.executable, "-m", "hmworld", *args], cluster.env, timeout)


def tables(ds) -> pd.DataFrame:
    df = pd.concat([pd.read_parquet(p) for p in sorted((ds / "data").rglob("*.parquet"))])
    return df.sort_values("clip_id").reset_index(drop=True)


def test_local_and_ray_executors_give_identical_datasets(cluster, tmp_path):
    for name, extra in (("local", ["--workers", "2"]), ("ray", ["--executor", "ray", "--ray-address", cluster.address])):
        ds = tmp_path / name
        r = run(render_args(ds, 3, *extra), cluster.env)
        assert r.returncode == 0 and "3 clip(s) rendered" in r.stdout, r.stderr
        assert hm(cluster, "filter-events", str(ds)).returncode == 0
        cap = hm(cluster, "caption", str(ds), "--batch-size", "2", "--no-progress", *extra[2:])
        assert cap.returncode == 0 and "captioned 3 of 3" in cap.stdout, cap.stderr
        assert hm(cluster, "package", str(ds)).returncode == 0
    local, on_ray = folder_bytes(tmp_path / "local" / "clips"), folder_bytes(tmp_path / "ray" / "clips")
    assert sorted(local) == sorted(on_ray) and len(local) >= 12  # rgb, instances, clip, events, caption per clip
    assert local == on_ray
    a, b = tables(tmp_path / "local"), tables(tmp_path / "ray")
    assert list(a["clip_id"]) == sorted(CLIPS)
    pd.testing.assert_frame_equal(a.drop(columns=[c for c in a if "stats" in c]),
                                  b.drop(columns=[c for c in b if "stats" in c]))


def test_a_worker_killed_mid_clip_is_retried_and_the_folder_equals_an_uninterrupted_run(cluster, tmp_path):
    cluster.faults(tmp_path, kill_once=[CLIPS[1]])
    r = run(ray_args(cluster, tmp_path / "ds", 3, "--backend", "faulty"), cluster.env)
    assert r.returncode == 0 and "3 clip(s) rendered" in r.stdout, r.stdout + r.stderr
    assert [c for c, _ in starts(tmp_path)].count(CLIPS[1]) == 2  # killed mid-clip, retried by Ray
    clean = run(render_args(tmp_path / "clean", 3), cluster.env)
    assert clean.returncode == 0
    assert folder_bytes(tmp_path / "ds" / "clips") == folder_bytes(tmp_path / "clean" / "clips")


def test_a_clip_that_always_fails_is_logged_once_and_not_retried(cluster, tmp_path):
    cluster.faults(tmp_path, **{"raise": [CLIPS[0]]})
    r = run(ray_args(cluster, tmp_path / "ds", 3, "--backend", "faulty"), cluster.env)
    assert r.returncode == 1
    assert "2 clip(s) rendered" in r.stdout and "1 FAILED" in r.stdout
    assert f"failed: {CLIPS[0]}: RuntimeError: deterministic failure of {CLIPS[0]}" in r.stdout
    assert [c for c, _ in starts(tmp_path)].count(CLIPS[0]) == 1
    log = (tmp_path / "ds" / "render_errors.log").read_text()
    assert log.count("=== ") == 1 and f"=== {CLIPS[0]}" in log
    assert sorted(p.name for p in list_clip_dirs(tmp_path / "ds")) == sorted(CLIPS[1:])


def test_a_worker_that_dies_on_every_try_fails_its_clip_after_one_retry(cluster, tmp_path):
    cluster.faults(tmp_path, kill_always=[CLIPS[2]])
    r = run(ray_args(cluster, tmp_path / "ds", 3, "--backend", "faulty"), cluster.env)
    assert r.returncode == 1 and "2 clip(s) rendered" in r.stdout and "1 FAILED" in r.stdout
    assert f"failed: {CLIPS[2]}: " in r.stdout and "died 2 time(s); not retried again" in r.stdout
    assert [c for c, _ in starts(tmp_path)].count(CLIPS[2]) == 2
    assert not is_complete(tmp_path / "ds" / "clips" / CLIPS[2])


def test_a_killed_driver_rerun_renders_only_the_missing_clips(cluster, tmp_path):
    cluster.faults(tmp_path, sleep={CLIPS[1]: 300})
    out = tmp_path / "ds"
    driver = subprocess.Popen(ray_args(cluster, out, 3, "--backend", "faulty"), env=cluster.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while sum(is_complete(out / "clips" / c) for c in CLIPS) < 2:
            assert time.monotonic() < deadline and driver.poll() is None
            time.sleep(0.3)
        assert not is_complete(out / "clips" / CLIPS[1])
    finally:
        driver.kill()
        driver.wait()
    cluster.faults(tmp_path)  # same marks; no more faults
    again = run(ray_args(cluster, out, 3, "--backend", "faulty"), cluster.env)
    assert again.returncode == 0, again.stderr
    assert "1 clip(s) rendered, 2 already complete" in again.stdout
    rendered = [c for c, _ in starts(tmp_path)]
    assert rendered.count(CLIPS[0]) == 1 and rendered.count(CLIPS[2]) == 1 and rendered.count(CLIPS[1]) == 2


def test_a_ue5_actor_restarts_its_crashed_editor_and_finishes_the_batch(cluster, tmp_path):
    exe, project = fake_editor_executable(tmp_path), project_file(tmp_path)
    out = tmp_path / "data"
    args = ["render", "--scene", "city_street", "--clips", "2", "--frames", "6", "--resolution", "64x48",
            "--out", str(out), "--backend", "ue5", "--ue-project", str(project), "--ue-editor", str(exe),
            "--ue-assets", str(full_asset_map_toml(tmp_path)), "--ue-retries", "0", "--no-progress",
            "--executor", "ray", "--ray-address", cluster.address, "--ray-gpus", "1"]
    r = hm(cluster, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 clip(s) rendered" in r.stdout
    assert (cluster.root / "ue_crashed").exists()  # the fake editor did crash once
    editors = {line.split("\t")[0] for line in (cluster.root / "ue_argv.log").read_text().splitlines()}
    assert len(editors) == 3  # the crashed editor, the restarted one, and one more clip
    for c in list_clip_dirs(out):
        assert is_complete(c)


def test_the_documented_cluster_config_is_valid_for_ray_up():
    import os

    import jsonschema
    import ray
    import yaml

    schema_path = os.path.join(os.path.dirname(ray.__file__), "autoscaler", "ray-schema.json")
    with open(schema_path) as f:
        schema = json.load(f)
    config = yaml.safe_load((REPO / "docs" / "ray-cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["provider"]["type"] == "local"
    assert not any(k in json.dumps(config).lower() for k in ("password", "secret", "token", "BEGIN "))


def test_a_second_driver_on_the_same_folder_is_refused_and_no_clip_renders_twice(cluster, tmp_path):
    cluster.faults(tmp_path, sleep={c: 20 for c in CLIPS})
    out = tmp_path / "ds"
    first = subprocess.Popen(ray_args(cluster, out, 3, "--backend", "faulty"), env=cluster.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not starts(tmp_path):  # the first driver's tasks are rendering
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.3)
        second = run(ray_args(cluster, out, 3, "--backend", "faulty"), cluster.env)
        assert second.returncode == 2
        line = second.stderr.strip().splitlines()[-1]
        assert line.startswith("error: ") and "render" in line and str(first.pid) in line
        stdout, _ = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0 and "3 clip(s) rendered" in stdout
    rendered = [c for c, _ in starts(tmp_path)]
    assert sorted(rendered) == sorted(CLIPS)  # each clip rendered once, by the first driver only
