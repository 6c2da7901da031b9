"""The local executor survives its workers dying, and its workers do not survive it (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from fault_support import fault_env, folder_bytes, render_args, run, starts

from hmworld.clip import is_complete, list_clip_dirs
from hmworld.render.runner import select_rows

CLIPS = tuple(r.clip_id for r in select_rows(scene="park", clips=3, frames=6, size=(64, 48)))


def test_a_worker_killed_mid_clip_is_replaced_and_its_clip_retried(tmp_path):
    env = fault_env(tmp_path, kill_once=[CLIPS[1]])
    r = run(render_args(tmp_path / "ds", 3, "--backend", "faulty", "--workers", "2"), env)
    assert r.returncode == 0, r.stderr
    assert "3 clip(s) rendered" in r.stdout
    assert [c for c, _ in starts(tmp_path)].count(CLIPS[1]) == 2  # killed once, retried once
    clean = run(render_args(tmp_path / "clean", 3), env)
    assert clean.returncode == 0, clean.stderr
    assert folder_bytes(tmp_path / "ds" / "clips") == folder_bytes(tmp_path / "clean" / "clips")


def test_a_clip_that_kills_its_worker_every_time_is_logged_and_the_run_finishes(tmp_path):
    env = fault_env(tmp_path, kill_always=[CLIPS[0]])
    r = run(render_args(tmp_path / "ds", 3, "--backend", "faulty", "--workers", "2"), env, timeout=300)
    assert r.returncode == 1
    assert "2 clip(s) rendered" in r.stdout and "1 FAILED" in r.stdout
    assert f"failed: {CLIPS[0]}: RuntimeError: the worker process rendering this clip killed by SIGKILL" in r.stdout
    assert [c for c, _ in starts(tmp_path)].count(CLIPS[0]) == 2  # tried, retried once, then given up
    log = (tmp_path / "ds" / "render_errors.log").read_text()
    assert log.count(f"=== {CLIPS[0]}") == 1
    assert sorted(p.name for p in list_clip_dirs(tmp_path / "ds")) == list(CLIPS[1:])
    assert not is_complete(tmp_path / "ds" / "clips" / CLIPS[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead, only not yet reaped
        return f.read().split(")")[-1].split()[0] != "Z"


def test_workers_die_with_their_parent(tmp_path):
    env = fault_env(tmp_path, sleep={c: 120 for c in CLIPS})
    parent = subprocess.Popen(render_args(tmp_path / "ds", 3, "--backend", "faulty", "--workers", "2"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(starts(tmp_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = {pid for _, pid in starts(tmp_path)}
        assert len(workers) == 2 and parent.pid not in workers
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers)
    finally:
        if parent.poll() is None:
            parent.kill()
