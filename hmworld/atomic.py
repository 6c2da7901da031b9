"""Atomic writes: a killed run never leaves a half file that looks complete.

Write-then-rename survives a killed process. To survive a power cut as well,
a write that marks something complete (clip.json, a dataset's shards, its
meta/info.json) passes ``durable=True``: the file's bytes are flushed to disk
before the rename, and the folder (which holds the new name) after it.
Temporary names start with a dot and end in ``.tmp`` and carry the writer's
host and pid, so `sweep_temporaries` can remove the leftovers of dead runs
without touching a live run's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hmworld.outputs import with_path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"
# .<name>.<host>.<pid>.<random>.tmp — what temp_prefix/mkstemp make
_TEMP_RE = re.compile(r"^\..*\.(?P<host>[A-Za-z0-9-]+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def temp_prefix(name: str) -> str:
    """Prefix of a temporary sibling of `name`: hidden, naming this host and process."""
    return f".{name}.{_HOST}.{os.getpid()}."


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file's (or a folder's entries') bytes to disk."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if Path(path).is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: str | os.PathLike[str]) -> None:
    """Flush every file under a folder, then the folders themselves (deepest first)."""
    dirs = []
    for top, _, files in os.walk(path):
        dirs.append(top)
        for f in files:
            fsync_path(os.path.join(top, f))
    for d in reversed(dirs):
        fsync_path(d)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries a dead run of this host left in `folder` (not recursive).

    A temporary is named by `temp_prefix`; one whose process is alive, or
    that another host wrote, is left alone. Returns what was removed.
    """
    base = Path(folder)
    if not base.is_dir():
        return []
    removed = []
    for entry in base.iterdir():
        m = _TEMP_RE.match(entry.name)
        if m is None or m["host"] != _HOST or _pid_alive(int(m["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
        removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], durable: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto `path` only if the block succeeds.

    durable: flush the file before the rename and the folder after it (see the module docstring).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes 0600; give the file the permissions a plain open() would
            os.chmod(tmp_path, 0o666 & ~_umask())
            if durable:
                fsync_path(tmp_path)
        os.replace(tmp_path, target)
        if durable:
            fsync_path(target.parent)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(e, OSError):  # a full disk often fails a write without naming the file
            raise with_path(e, target) from e.__cause__
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes, durable: bool = False) -> None:
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str, durable: bool = False) -> None:
    write_bytes(path, text.encode("utf-8"), durable)


def write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 1, durable: bool = False) -> None:
    write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n", durable)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling directory; it replaces `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise with_path(e, target) from e.__cause__
        raise


@contextlib.contextmanager
def staging_dir(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """A hidden temporary folder inside `folder` (made if missing) for a run's new files, removed when
    the block ends however it ends; the caller moves what it made into `folder` with `move_into`
    once everything is written, so a refused, failed or interrupted run changes nothing there.

    A `folder` this call made is removed again if it is left empty; temporaries of dead runs
    are swept first (`sweep_temporaries`).
    """
    base = Path(folder)
    created = not base.exists()
    base.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(base)
    stage = Path(tempfile.mkdtemp(prefix=temp_prefix("stage"), suffix=".tmp", dir=base))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):
                base.rmdir()  # only if empty: nothing was moved in


def move_into(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Put file or folder `src` at `dst` by a rename (same file system), replacing what is there.

    A folder already at `dst` is first renamed aside and removed after the new one is in place,
    so `dst` never holds a mix of the two.
    """
    src, dst = Path(src), Path(dst)
    if dst.is_dir() and not dst.is_symlink():
        old = dst.parent / f"{temp_prefix(dst.name)}old.tmp"
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
