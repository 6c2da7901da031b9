"""Usage mistakes on every command: one `error: …` line and exit 2, with the newest and the oldest typer.

pyproject allows a range of typer versions; `make venv` installs the oldest of
them into .venv/typer-oldest beside the newest, and each case here runs with
both (typer >= 0.22 vendors click and raises its own exception classes).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OLDEST = Path(sys.prefix) / "typer-oldest"


def _lower_bound() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'"typer>=([0-9.]+)', text).group(1)


def _probe(flavour: str) -> dict:
    env = dict(os.environ)
    paths = [str(ROOT)]
    if flavour == "oldest":
        if not OLDEST.is_dir():
            if os.environ.get("CI"):
                pytest.fail(f"{OLDEST} is missing; `make venv` installs it")
            pytest.skip(f"{OLDEST} is missing; run `make venv`")
        paths.insert(0, str(OLDEST))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "cli_usage_probe.py")], capture_output=True,
                       text=True, env=env, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module", params=["newest", "oldest"])
def probe(request) -> dict:
    return _probe(request.param)


def test_the_oldest_typer_tested_is_the_lower_bound_pyproject_allows():
    got = _probe("oldest")["typer"]
    want = _lower_bound()
    assert got.split(".")[:len(want.split("."))] == want.split(".") and tuple(map(int, got.split("."))) == tuple(
        map(int, (want + ".0.0").split(".")[:3])
    ), (got, want)


def test_every_usage_mistake_is_one_line_and_exit_2(probe):
    assert len(probe["results"]) > 40  # every command, its unknown options, required params and numbers
    bad = [
        r for r in probe["results"]
        if r["code"] != 2 or "Traceback" in r["stderr"] or len(r["stderr"].strip().splitlines()) != 1
        or not r["stderr"].startswith("error: ")
    ]
    assert not bad, bad[:3]


def test_a_word_for_a_number_names_the_option_and_the_value(probe):
    by_args = {tuple(r["args"]): r["stderr"].strip() for r in probe["results"]}
    assert by_args[("plan", "--clips", "abc")] == "error: --clips: 'abc' is not a valid integer"
    assert by_args[("render", "--ue-timeout", "abc")] == "error: --ue-timeout: 'abc' is not a valid float"
    assert by_args[("plan",)] == "error: missing option --out"
    assert by_args[("package",)] == "error: missing argument DATASET_DIR"
    assert "--no-such-option" in by_args[("plan", "--no-such-option")]


@pytest.mark.parametrize("command", [["plan", "--out", "{tmp}/p.parquet"], ["render", "--scene", "park", "--out", "{tmp}/o"]])
def test_a_negative_seed_is_refused_in_one_line(tmp_path, command):
    args = [a.format(tmp=tmp_path) for a in command] + ["--seed", "-1"]
    r = subprocess.run([sys.executable, "-m", "hmworld", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip() == "error: seed must be a non-negative integer, got -1"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flavour", ["newest", "oldest"])
def test_a_negative_training_or_evaluation_seed_is_a_usage_error(tmp_path, flavour):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(([str(OLDEST)] if flavour == "oldest" else []) + [str(ROOT)]))
    if flavour == "oldest" and not OLDEST.is_dir():
        pytest.skip(f"{OLDEST} is missing; run `make venv`")
    for args in (["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")],
                 ["evaluate", "--run", str(tmp_path), "--data", str(tmp_path)]):
        r = subprocess.run([sys.executable, "-m", "hmworld", *args, "--seed", "-1"], capture_output=True, text=True,
                           env=env, timeout=120, cwd=ROOT)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith("error: --seed: ") and "-1" in r.stderr, r.stderr
