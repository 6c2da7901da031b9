"""Two runs on one folder: the second refuses in one line naming the holder; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hmworld.cli import main
from hmworld.errors import UserError
from hmworld.lock import LOCK_FILE, folder_lock, read_holder

ROOT = Path(__file__).resolve().parents[2]
HOLD = "import sys, time; from hmworld.lock import folder_lock\nwith folder_lock(sys.argv[1], sys.argv[2]):\n" \
       "    print('held', flush=True); time.sleep(600)\n"


def _cli(capsys, *args) -> tuple[int, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def _hold(folder: Path, stage: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), stage], stdout=subprocess.PIPE, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.stdout.readline().strip() == "held"
    return p


def test_every_writing_stage_refuses_a_folder_another_run_holds(tmp_path, capsys, fresh):
    holder = _hold(fresh, "render")
    try:
        commands = [
            ("render", "--scene", "park", "--clips", "1", "--frames", "4", "--out", fresh, "--no-progress"),
            ("package", fresh),
            ("caption", fresh, "--overwrite", "--no-progress"),
            ("export", fresh, "--out", tmp_path / "exp", "--size", "64x48"),
            ("filter-events", fresh),
        ]
        before = sorted(p.name for p in (fresh / "clips").iterdir())
        for args in commands:
            code, err = _cli(capsys, *args)
            assert code == 2 and len(err.strip().splitlines()) == 1, err
            assert f"is in use by render (pid {holder.pid} on {socket.gethostname()}" in err, err
        assert sorted(p.name for p in (fresh / "clips").iterdir()) == before
        assert not (tmp_path / "exp").exists()
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_run_is_taken_over(capsys, fresh):
    holder = _hold(fresh, "package")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_holder(fresh).pid == holder.pid  # the dead run's record is still there
    code, err = _cli(capsys, "package", fresh)
    assert code == 0, err
    assert not (fresh / LOCK_FILE).exists()


def test_a_stale_record_without_a_live_holder_is_overwritten(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps({"stage": "render", "pid": 999999, "host": "elsewhere",
                                                  "since": "2020-01-01T00:00:00"}))
    with folder_lock(tmp_path, "caption"):
        h = read_holder(tmp_path)
        assert (h.stage, h.pid, h.host) == ("caption", os.getpid(), socket.gethostname())
        with folder_lock(tmp_path, "caption"):  # re-entrant in one process
            pass
        assert (tmp_path / LOCK_FILE).exists()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_live_holder_in_this_process_tree_blocks(tmp_path):
    holder = _hold(tmp_path, "export")
    try:
        with pytest.raises(UserError, match=f"in use by export \\(pid {holder.pid} "), folder_lock(tmp_path, "package"):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_two_renders_into_one_folder_render_each_clip_once(tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "hmworld", "render", "--scene", "park", "--clips", "2", "--frames", "30",
            "--resolution", "64x48", "--out", str(out), "--no-progress"]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 120
    while read_holder(out) is None and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert read_holder(out) is not None, "the first render never took the lock"
    # Freeze the first render while the second tries: it holds the lock by construction,
    # however fast it would otherwise finish (no race with the second's start-up time).
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=300)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert second.returncode == 2 and f"in use by render (pid {first.pid} " in second.stderr, second.stderr
    out_text, err_text = first.communicate(timeout=300)
    assert first.returncode == 0, err_text
    assert "2 clip(s) rendered" in out_text
    assert len([p for p in (out / "clips").iterdir() if (p / "clip.json").is_file()]) == 2
