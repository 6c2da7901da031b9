"""Worker pools must not share the parent's open files (see hmworld.processes)."""

from __future__ import annotations

import os
from pathlib import Path

from hmworld.processes import process_pool


def _fd_is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_workers_do_not_inherit_the_parents_open_files(tmp_path: Path) -> None:
    # A forked worker would hold this descriptor, and with it the parent's file offset:
    # the way matplotlib's cached fonts were read from the wrong place by report workers.
    path = tmp_path / "font.bin"
    path.write_bytes(b"x" * 1024)
    with path.open("rb") as f:
        fd = os.dup(f.fileno())  # a fresh number that the worker's own start-up cannot have taken
        try:
            with process_pool(2) as pool:
                inherited = list(pool.map(_fd_is_open, [fd, fd]))
        finally:
            os.close(fd)
    assert inherited == [False, False]


def test_report_validate_and_package_use_the_spawned_pool() -> None:
    # Every process pool in the package goes through process_pool: a new one that forks fails here.
    root = Path(__file__).resolve().parents[1] / "hmworld"
    forking = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "processes.py" and "ProcessPoolExecutor(" in p.read_text(encoding="utf-8")
    ]
    assert forking == []
