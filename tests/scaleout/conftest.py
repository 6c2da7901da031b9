"""A real local Ray cluster with 2 CPUs (and one logical GPU for the editor actor), shared by these tests.

Started with `ray start --head --block` in its own process group, whose
environment lets every Ray worker load the `faulty` test backend and the fake
Unreal editor; stopped by signalling that group only.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "render"))

from fault_support import fault_env  # noqa: E402
from ue5.support import full_world_file  # noqa: E402


@dataclass(frozen=True)
class Cluster:
    address: str
    env: dict[str, str]  # for drivers: reaches the same plugin and config as the workers
    config: Path  # the faulty backend's settings (rewritten by each test)
    root: Path

    def faults(self, tmp: Path, **faults) -> Path:
        """Point the faulty backend at fresh marks under `tmp` with these faults; returns tmp."""
        marks = tmp / "marks"
        marks.mkdir(parents=True, exist_ok=True)
        self.config.write_text(json.dumps({"marks": str(marks), **faults}))
        return tmp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> Cluster:
    root = tmp_path_factory.mktemp("ray-cluster")
    env = fault_env(root)
    env.update(RAY_AUTH_MODE="disabled", RAY_ADDRESS="", HMWORLD_FAKE_UE_MODE="crash_once",
               HMWORLD_FAKE_UE_STATE=str(root / "ue_crashed"), HMWORLD_FAKE_UE_WORLD=str(full_world_file(root)),
               HMWORLD_FAKE_UE_ARGV=str(root / "ue_argv.log"))
    port, temp = _free_port(), tempfile.mkdtemp(prefix="hmray-")  # short: Ray's socket paths must fit 107 bytes
    cmd = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--num-cpus", "2",
           "--num-gpus", "1", "--port", str(port), "--include-dashboard", "false", "--disable-usage-stats",
           "--temp-dir", temp]
    head = subprocess.Popen(cmd, env=env, stdout=open(root / "head.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in (root / "head.log").read_text():
            assert head.poll() is None and time.monotonic() < deadline, (root / "head.log").read_text()
            time.sleep(0.5)
        yield Cluster(address, env, Path(env["HMWORLD_FAULTS"]), root)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(head.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(3)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)
