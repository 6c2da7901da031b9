"""One writer per folder: a lock file that names its holder and dies with it.

Every stage that writes into a dataset folder (render, filter-events, caption,
package, export, import) holds `FOLDER/.hmworld.lock` while it runs. The file
holds the owner's stage, pid, host and start time, so a second run refuses in
one line naming the holder. The lock itself is an `fcntl.flock` on that file:
the kernel drops it when the owning process dies (killed, out of memory,
crashed), so the lock of a dead process is simply taken over by the next run;
the stale text it left is overwritten. A run that ends removes the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hmworld.errors import UserError
from hmworld.outputs import check_dir, with_path

LOCK_FILE = ".hmworld.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds a folder: read from the lock file."""

    stage: str
    pid: int
    host: str
    since: str

    def describe(self) -> str:
        return f"{self.stage} (pid {self.pid} on {self.host}, since {self.since})"


def read_holder(folder: str | Path) -> Holder | None:
    """The holder recorded in FOLDER's lock file, or None when there is none or it is unreadable."""
    try:
        d = json.loads((Path(folder) / LOCK_FILE).read_text(encoding="utf-8"))
        return Holder(str(d["stage"]), int(d["pid"]), str(d["host"]), str(d["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


_HELD: dict[Path, int] = {}  # folders this process holds → nesting depth (export holds dataset and out)


def _acquire(path: Path) -> int | None:
    """An fd holding the flock on `path`, or None when a live process holds it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the holder we waited on may have removed the file after we opened it: lock the file that is there
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def folder_lock(folder: str | Path, stage: str, create: bool = True) -> Iterator[Path]:
    """Hold FOLDER for `stage` for the duration of the block; UserError naming the holder if another run has it.

    The folder is created if missing (and removed again if the block left
    nothing in it). Locks of dead processes are taken over: the kernel
    released them. Re-entrant within one process. create=False: a folder
    that must already exist (a dataset to read) is not made; when it is
    missing there is nothing to hold and the stage reports it.
    """
    folder = Path(folder)
    if not create and not folder.is_dir():
        yield folder / LOCK_FILE
        return
    created = not folder.exists()
    check_dir(folder)  # creates it; a one-line UserError when it cannot be written
    key = folder.resolve()
    path = folder / LOCK_FILE
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield path
        finally:
            _HELD[key] -= 1
        return
    fd = _acquire(path)
    if fd is None:
        holder = read_holder(folder)
        who = holder.describe() if holder else "another run"
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise UserError(f"{str(folder)!r} is in use by {who}; wait for it to finish (or stop it), then run {stage} again")
    _HELD[key] = 1
    try:
        record = {"stage": stage, "pid": os.getpid(), "host": socket.gethostname(),
                  "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        except OSError as e:  # a full disk: name the file
            raise with_path(e, path) from None
        yield path
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            path.unlink()  # while still locked: a waiter that opened it re-checks the inode (see _acquire)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # a run refused before writing anything leaves no folder behind
        os.close(fd)  # releases the flock
