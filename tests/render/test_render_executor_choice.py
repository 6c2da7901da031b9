"""Choosing an executor: bad values are one line and exit 2; the default install needs no Ray."""

from __future__ import annotations

import os
import sys

import pytest
from fault_support import REPO, render_args, run

from hmworld.errors import UserError
from hmworld.ray_cluster import RaySettings


def without_ray(tmp_path) -> dict[str, str]:
    """An environment where `import ray` fails as it does when the extra is not installed."""
    fake = tmp_path / "no-ray" / "ray"
    fake.mkdir(parents=True, exist_ok=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'ray'\", name='ray')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake.parent), str(REPO)])}


def test_the_default_executor_renders_without_ray(tmp_path):
    r = run(render_args(tmp_path / "ds", 1, "--frames", "2"), without_ray(tmp_path))
    assert r.returncode == 0 and "1 clip(s) rendered" in r.stdout, r.stderr


@pytest.mark.parametrize("command", ["render", "caption"])
def test_executor_ray_without_ray_installed_says_how_to_install_it(tmp_path, command):
    ds = tmp_path / "ds"
    (ds / "clips").mkdir(parents=True)
    args = render_args(ds, 1, "--executor", "ray") if command == "render" else \
        ["python", "-m", "hmworld", "caption", str(ds), "--executor", "ray"]
    args[0] = sys.executable
    if command == "caption":  # needs a clip to caption before it reaches for Ray
        assert run(render_args(ds, 1, "--frames", "2"), without_ray(tmp_path)).returncode == 0
    r = run(args, without_ray(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "error: --executor ray needs Ray (ray is missing); install it with: pip install 'hmworld[ray]'")


@pytest.mark.parametrize(("extra", "message"), [
    (["--executor", "dask"], "error: unknown executor 'dask'"),
    (["--executor", "ray", "--ray-address", "nowhere"], "error: ray-address 'nowhere' is not allowed"),
    (["--executor", "ray", "--ray-cpus", "0"], "error: ray-cpus must be a finite number more than 0, got 0.0"),
    (["--executor", "ray", "--ray-cpus", "inf"], "error: ray-cpus must be a finite number more than 0, got inf"),
    (["--executor", "ray", "--ray-actors", "0"], "error: ray-actors must be at least 1, got 0"),
])
def test_bad_executor_options_are_one_line_and_exit_2(tmp_path, extra, message):
    r = run(render_args(tmp_path / "ds", 1, "--frames", "2", *extra), dict(os.environ))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().startswith(message) and len(r.stderr.strip().splitlines()) == 1


def test_ray_settings_are_checked():
    with pytest.raises(UserError, match="ray-gpus must be a finite number, 0 or more"):
        RaySettings(gpus_per_actor=-1)
