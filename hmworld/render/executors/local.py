"""The local executor: worker processes on this machine, supervised by the parent.

Each worker is a spawned process that makes its backend once and renders one
unit at a time, reporting every clip as it finishes over a pipe. The parent
watches each worker's pipe *and* its process sentinel, so a worker that dies
(out-of-memory killer, segfault, `kill -9`) is noticed at once instead of
hanging the run: the clip it was rendering is retried once on a fresh worker,
and a second death makes that clip a failure in the log while the run goes
on. Workers die with their parent: on Linux the kernel sends them SIGKILL
when the parent dies (prctl PR_SET_PDEATHSIG), and everywhere a watchdog
thread exits the worker when its parent process is gone.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from hmworld.errors import UserError
from hmworld.plan_row import PlanRow
from hmworld.render.base import ShotResult
from hmworld.render.executors.unit import RenderJob, render_unit, set_threads

ATTEMPTS = 2  # a clip whose worker dies is tried once more, then logged as failed
_PR_SET_PDEATHSIG = 1
_WATCHDOG_S = 1.0


def run_local(units: Sequence[Sequence[PlanRow]], job: RenderJob, workers: int = 1) -> Iterator[ShotResult]:
    """Render `units` with `workers` processes (1: in this process), one ShotResult per clip as it ends."""
    if workers <= 1 or len(units) <= 1:
        backend = job.make_backend()
        for rows in units:
            yield from render_unit(backend, rows, job.out)
        return
    n = min(workers, len(units))
    yield from _Supervisor(job, n, max(1, (os.cpu_count() or 1) // n)).run(units)


# --------------------------------------------------------------------------- worker side


def _die_with_parent(parent: int) -> None:
    """Make sure this worker does not outlive the process that started it."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: the watchdog below still works
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCHDOG_S)
        os._exit(1)

    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=watch, name="hmworld-parent-watchdog", daemon=True).start()


def _worker_main(conn: Connection, job: RenderJob, threads: int, parent: int) -> None:
    """Receive units until told to stop (None); send ("shot", ShotResult) for every clip of a unit."""
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    set_threads(threads)
    try:
        backend = job.make_backend()
        while (rows := conn.recv()) is not None:
            for result in render_unit(backend, rows, job.out):
                conn.send(("shot", result))
    except UserError as e:
        conn.send(("user", str(e)))
    except (EOFError, BrokenPipeError):  # the parent is gone
        pass
    except Exception:
        conn.send(("crash", traceback.format_exc()))


# --------------------------------------------------------------------------- parent side


@dataclass
class _Worker:
    proc: Any  # multiprocessing.Process (spawn context)
    conn: Connection
    rows: list[PlanRow] = field(default_factory=list)  # the unit in flight: its clips not yet reported

    @property
    def busy(self) -> bool:
        return bool(self.rows)


def _death_note(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


class _Supervisor:
    """Hands units to workers, collects their clips, replaces dead workers and retries their clip."""

    def __init__(self, job: RenderJob, n: int, threads: int) -> None:
        self.job, self.n, self.threads = job, n, threads
        self.ctx = mp.get_context("spawn")
        self.attempts: dict[str, int] = {}
        self.workers: list[_Worker] = []

    def _spawn(self) -> _Worker:
        parent_conn, child_conn = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker_main, args=(child_conn, self.job, self.threads, os.getpid()),
                                name="hmworld-render-worker", daemon=True)
        proc.start()
        child_conn.close()
        return _Worker(proc, parent_conn)

    def run(self, units: Sequence[Sequence[PlanRow]]) -> Iterator[ShotResult]:
        queue: deque[list[PlanRow]] = deque(list(u) for u in units)
        try:
            self.workers = [self._spawn() for _ in range(self.n)]
            while queue or any(w.busy for w in self.workers):
                for w in self.workers:
                    if not w.busy and queue:
                        w.rows = queue.popleft()
                        try:
                            w.conn.send(w.rows)
                        except OSError:  # died idle: its sentinel is ready and _collect replaces it
                            pass
                busy = [w for w in self.workers if w.busy]
                ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy]))
                for w in busy:
                    if w.conn in ready or w.proc.sentinel in ready:
                        yield from self._collect(w, queue)
            for w in self.workers:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        finally:
            self._stop()

    def _collect(self, w: _Worker, queue: deque[list[PlanRow]]) -> Iterator[ShotResult]:
        """Read what a worker sent; if it died, retry or fail its clip and put a fresh worker in its place."""
        try:
            while w.conn.poll():
                kind, payload = w.conn.recv()
                if kind == "shot":
                    w.rows = [r for r in w.rows if r.clip_id != payload.clip_id]
                    yield payload
                elif kind == "user":
                    raise UserError(payload)
                else:
                    raise RuntimeError(f"a render worker failed outside any clip:\n{payload}")
        except (EOFError, ConnectionResetError):
            pass
        if w.proc.is_alive():
            return
        # the worker is dead: its first unreported clip was in flight; the rest never started
        note = _death_note(w.proc.exitcode)
        if w.rows:
            first, rest = w.rows[0], w.rows[1:]
            cid = first.clip_id
            self.attempts[cid] = self.attempts.get(cid, 0) + 1
            if self.attempts[cid] >= ATTEMPTS:
                yield ShotResult(cid, 0, 0.0, f"RuntimeError: the worker process rendering this clip {note}, "
                                              f"{ATTEMPTS} times; not retried again\n")
            else:
                rest = [first, *rest]
            if rest:
                queue.appendleft(rest)
        w.conn.close()
        self.workers[self.workers.index(w)] = self._spawn()

    def _stop(self) -> None:
        """Stop every worker (on success, error or Ctrl-C); clips in flight keep no clip.json."""
        for w in self.workers:
            w.proc.join(timeout=0 if w.busy else 5)
        for w in self.workers:
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join()
            w.conn.close()
