"""The `catalog` and `plan` commands through the real console script: output, JSON, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hmworld", *args], capture_output=True, text=True, timeout=120)


def test_catalog_json_counts():
    r = run("catalog", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [len(d[k]) for k in ("scenes", "subjects", "paths", "cameras")] == [17, 49, 10, 28]


def test_catalog_table_lists_a_section():
    r = run("catalog", "subjects")
    assert r.returncode == 0 and "dalmatian" in r.stdout


def test_plan_writes_a_deterministic_manifest(tmp_path):
    out = tmp_path / "plan.parquet"
    r = run("plan", "--out", str(out), "--scenes", "park,desert", "--clips", "7", "--seed", "9")
    assert r.returncode == 0, r.stderr
    assert "7 shots over 2 scenes" in r.stdout
    first = out.read_bytes()
    assert run("plan", "--out", str(out), "--scenes", "park,desert", "--clips", "7", "--seed", "9").returncode == 0
    assert out.read_bytes() == first


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--scenes", "moon"], "unknown scene 'moon'"),
        (["--resolution", "416by240"], "malformed resolution"),
        (["--resolution", "415x240"], "impossible resolution"),
        (["--group-sizes", "0"], "group size '0'"),
        (["--frames", "0"], "frames must be"),
        (["--fps", "-1"], "fps must be positive"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, needle):
    out = tmp_path / "plan.parquet"
    r = run("plan", "--out", str(out), *args)
    assert r.returncode == 2
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []
