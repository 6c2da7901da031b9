"""One Unreal Editor session rendering a batch of shots, watched by a progress-based watchdog.

The editor runs ue_scripts/render_batch.py, which renders the shots one
after another and writes one status file per shot plus one for the batch.
`EditorSession.finished()` yields each shot's status as soon as it says
done, while the editor goes on with the next shot; the host finishes that
clip in between. After the generator ends, `lost` says which shot the
session lost (the one in flight when the editor crashed, hung or exited
early) and why, and `fatal` holds an error that no restart can fix (a job
file the script could not read, an engine that is too old).

The watchdog ends the editor when nothing moves for `stall_s` seconds:
no new frame in the shot in flight and no status file rewritten. A batch of
any length is therefore watched the same way as a single shot, and a
finished batch whose editor does not exit within `quit_grace_s` is ended
too (its frames are kept).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL_S = 0.05


@dataclass(frozen=True)
class SessionShot:
    """Where one shot of the batch writes: its status file and its frames folder."""

    clip_id: str
    status_path: Path
    frames_dir: Path


def read_status(path: Path) -> dict[str, Any] | None:
    """A status file, or None if absent or unreadable (a crash mid-write leaves only the .tmp)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """End the editor we started and its children (shader workers), by process group id."""
    if proc.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True, check=False)
    proc.wait()


def _count_files(folder: Path) -> int:
    """Files in `folder` and its pass sub-folders (frames appear there one by one)."""
    n = 0
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.is_dir():
                    with os.scandir(entry.path) as sub:
                        n += sum(1 for _ in sub)
                else:
                    n += 1
    except OSError:
        return 0
    return n


class EditorSession:
    """Run the editor on a batch; yield shot statuses as they finish; record what was lost."""

    def __init__(
        self, cmd: list[str], env: dict[str, str], log_path: Path, batch_status: Path,
        shots: Sequence[SessionShot], stall_s: float, quit_grace_s: float,
    ) -> None:
        self.cmd, self.env, self.log_path, self.batch_status = cmd, env, log_path, batch_status
        self.shots = list(shots)
        self.stall_s, self.quit_grace_s = stall_s, quit_grace_s
        self.reported = 0  # shots [0, reported) have been yielded, in batch order
        self.lost: str | None = None  # why the shot at index `reported` was lost, if it was
        self.fatal: str | None = None
        self.returncode: int | None = None
        self.killed_after_done = False
        self.started = time.monotonic()
        self.wall_s = 0.0
        self._proc: subprocess.Popen[bytes] | None = None

    # ---- progress

    def _signature(self) -> tuple[Any, ...]:
        """Changes whenever the editor does something: a status rewritten or a new frame."""
        sig: list[Any] = []
        batch = read_status(self.batch_status)
        sig.append(batch.get("updated") if batch else None)
        if self.reported < len(self.shots):
            shot = self.shots[self.reported]
            status = read_status(shot.status_path)
            sig += [status.get("updated") if status else None, _count_files(shot.frames_dir)]
        return tuple(sig)

    def _shot_done(self) -> dict[str, Any] | None:
        if self.reported >= len(self.shots):
            return None
        status = read_status(self.shots[self.reported].status_path)
        return status if status is not None and status.get("done") else None

    def _stage(self) -> str:
        if self.reported < len(self.shots):
            status = read_status(self.shots[self.reported].status_path)
            if status is not None:
                return f"stage {status.get('stage', '?')!r} of shot {self.shots[self.reported].clip_id}"
        batch = read_status(self.batch_status)
        return f"batch stage {batch.get('stage', '?')!r}" if batch else "editor start-up"

    # ---- the run

    def finished(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(index in the batch, done status) of each shot, in batch order, as soon as it is done."""
        kwargs: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {
            "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.cmd)}\n".encode())
            log.flush()
            self._proc = proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL, env=self.env, **kwargs)
            try:
                yield from self._watch(proc)
            finally:
                kill_tree(proc)
                self.returncode = proc.returncode
                self.wall_s = time.monotonic() - self.started

    def _watch(self, proc: subprocess.Popen[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
        last_sig, last_move = self._signature(), time.monotonic()
        done_at: float | None = None
        while True:
            status = self._shot_done()
            if status is not None:
                self.reported += 1
                yield self.reported - 1, status
                last_sig, last_move = self._signature(), time.monotonic()  # host time is not a stall
                continue
            exited = proc.poll() is not None
            batch = read_status(self.batch_status)
            if exited:
                if self._shot_done() is not None:  # it finished just before the editor went
                    continue
                self._on_exit(proc.returncode, batch)
                return
            if batch is not None and batch.get("done") and batch.get("error"):
                done_at = done_at or time.monotonic()
            if self.reported >= len(self.shots) and batch is not None and batch.get("done"):
                done_at = done_at or time.monotonic()
            now = time.monotonic()
            if done_at is not None and now - done_at > self.quit_grace_s:
                self.killed_after_done = True
                kill_tree(proc)
                self._on_exit(proc.returncode, batch)
                return
            sig = self._signature()
            if sig != last_sig:
                last_sig, last_move = sig, now
            elif now - last_move > self.stall_s and done_at is None:
                where = self._stage()
                kill_tree(proc)
                self.lost = (f"editor hung: nothing new for {self.stall_s:g} s (no frame, no status) "
                             f"in {where} (log: {self.log_path})")
                return
            time.sleep(POLL_S)

    def _on_exit(self, code: int | None, batch: dict[str, Any] | None) -> None:
        """The editor is gone: report shots that finished just before, then name what was lost."""
        batch = read_status(self.batch_status) or batch
        if batch is not None and batch.get("done") and batch.get("error"):
            self.fatal = f"{batch['error']} (log: {self.log_path})"
            return
        if self.reported >= len(self.shots):
            return
        if batch is None:
            self.lost = (f"editor exited with code {code} without writing a status file; is the Python "
                         f"Editor Script Plugin enabled in the project? (log: {self.log_path})")
        else:
            self.lost = f"editor exited with code {code} in {self._stage()} (crash?) (log: {self.log_path})"
