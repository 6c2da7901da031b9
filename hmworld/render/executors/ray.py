"""The Ray executor: render a plan's clips on a Ray cluster (or a local Ray started here).

- builtin clips run as Ray *tasks*, one clip a task, each declaring the CPUs
  it uses (`cpus_per_clip`, which also sets its numba threads). A task whose
  worker process dies (node lost, OOM killer, kill -9) is retried by Ray
  (`max_retries`); the retry removes the half-written folder and renders the
  clip again. A clip that fails by itself (an exception) is not an error of
  the task: it comes back as a ShotResult with its traceback and is never
  retried, so a deterministic failure is reported once.
- session backends (`session = True`, as ue5's editor) run on a pool of
  long-lived *actors*, each holding one backend (one editor session) with
  `gpus_per_actor` GPUs, taking a unit of `batch_size` shots per call through
  the backend's `render_batch`. When a session breaks mid-batch the actor
  makes a fresh backend (a new editor) and continues with the shots not yet
  done; Ray restarts an actor whose process died (`max_restarts`) and
  retries its call (`max_task_retries`).

Output must be a folder every node can reach (a shared filesystem); the
clip folder contract (clip.json written last, atomically) is the only truth
of what is done, so a re-run after any crash renders only what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from hmworld.errors import UserError
from hmworld.plan_row import PlanRow
from hmworld.ray_cluster import RaySettings, connect
from hmworld.render.base import Backend, ShotResult
from hmworld.render.executors.unit import RenderJob, render_unit, set_threads

SESSION_ATTEMPTS = 2  # a unit's shots get one fresh session after the first one broke


def unwrap(error: RayError) -> None:
    """A UserError raised in a task or actor is the user's to see as one line: raise it here."""
    cause = getattr(error, "cause", None)
    if isinstance(error, RayTaskError) and isinstance(cause, UserError):
        raise UserError(str(cause)) from None


def failed(rows: Sequence[PlanRow], why: str) -> list[ShotResult]:
    return [ShotResult(r.clip_id, 0, 0.0, f"{why}\n") for r in rows]


# --------------------------------------------------------------------------- builtin: one task per clip

_CACHE: list[tuple[RenderJob, Backend]] = []  # the last job's backend, kept by the worker process


def _render_task(job: RenderJob, rows: Sequence[PlanRow], threads: int) -> list[ShotResult]:
    """One unit as a Ray task; the backend is made once per worker process and kept."""
    set_threads(threads)
    if not _CACHE or _CACHE[0][0] != job:
        _CACHE[:] = [(job, job.make_backend())]
    return list(render_unit(_CACHE[0][1], rows, job.out))


def _run_tasks(units: Sequence[Sequence[PlanRow]], job: RenderJob, settings: RaySettings) -> Iterator[ShotResult]:
    task = ray.remote(_render_task).options(num_cpus=settings.cpus_per_clip, max_retries=settings.max_retries,
                                            retry_exceptions=False)
    threads = max(1, math.floor(settings.cpus_per_clip))
    window = max(4, 2 * int(ray.cluster_resources().get("CPU", 1) / settings.cpus_per_clip))
    todo = list(units)[::-1]
    inflight: dict[Any, Sequence[PlanRow]] = {}
    while todo or inflight:
        while todo and len(inflight) < window:  # bounded: a 59K-clip plan is not 59K pending objects
            rows = todo.pop()
            inflight[task.remote(job, rows, threads)] = rows
        (ref,), _ = ray.wait(list(inflight), num_returns=1)
        rows = inflight.pop(ref)
        try:
            yield from ray.get(ref)
        except RayError as e:
            unwrap(e)
            yield from failed(rows, f"{type(e).__name__}: the Ray worker rendering this clip died "
                                    f"{settings.max_retries + 1} time(s); not retried again ({_first_line(e)})")


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


# --------------------------------------------------------------------------- session backends: an actor pool


class RenderSession:
    """A Ray actor holding one backend (an editor session) and rendering a unit of shots per call."""

    def __init__(self, job: RenderJob, threads: int) -> None:
        set_threads(threads)
        self.job = job
        self.backend = job.make_backend()
        self.sessions = 1

    def _restart(self) -> None:
        close = getattr(self.backend, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # the old session is already broken; a fresh one is what matters
                pass
        self.backend = self.job.make_backend()
        self.sessions += 1

    def render(self, rows: Sequence[PlanRow]) -> list[ShotResult]:
        """Render the unit; shots a broken session did not finish get one fresh session."""
        done: dict[str, ShotResult] = {}
        last: dict[str, ShotResult] = {}
        todo = list(rows)
        for attempt in range(SESSION_ATTEMPTS):
            if attempt:
                self._restart()
            try:
                for result in render_unit(self.backend, todo, self.job.out):
                    (done if result.error is None else last)[result.clip_id] = result
            except UserError:
                raise
            except Exception as e:  # the session itself broke mid-batch
                for r in todo:
                    last.setdefault(r.clip_id, failed([r], f"{type(e).__name__}: {e}")[0])
            todo = [r for r in todo if r.clip_id not in done]
            if not todo:
                break
        return [done.get(r.clip_id) or last[r.clip_id] for r in rows]

    def restarts(self) -> int:
        """How many fresh sessions this actor has made (for tests and logs)."""
        return self.sessions - 1


def _run_actors(units: Sequence[Sequence[PlanRow]], job: RenderJob, settings: RaySettings) -> Iterator[ShotResult]:
    gpus = ray.cluster_resources().get("GPU", 0)
    size = settings.actors or (int(gpus // settings.gpus_per_actor) if settings.gpus_per_actor else 1)
    if size < 1:
        raise UserError(f"the Ray cluster has {gpus:g} GPU(s), but each {job.backend} actor needs "
                        f"{settings.gpus_per_actor:g}; add GPU nodes or lower --ray-gpus")
    size = min(size, len(units))
    actor_cls = ray.remote(RenderSession).options(num_gpus=settings.gpus_per_actor, num_cpus=settings.cpus_per_clip,
                                                  max_restarts=2, max_task_retries=1)
    threads = max(1, math.floor(settings.cpus_per_clip))
    idle = [actor_cls.remote(job, threads) for _ in range(size)]
    todo = list(units)[::-1]
    inflight: dict[Any, tuple[Any, Sequence[PlanRow]]] = {}
    try:
        while todo or inflight:
            while todo and idle:
                actor, rows = idle.pop(), todo.pop()
                inflight[actor.render.remote(rows)] = (actor, rows)
            if not inflight:
                raise RuntimeError(f"every {job.backend} actor died; {len(todo)} unit(s) left unrendered")
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            actor, rows = inflight.pop(ref)
            try:
                yield from ray.get(ref)
                idle.append(actor)
            except RayActorError as e:  # restarted max_restarts times and died again: drop it
                yield from failed(rows, f"{type(e).__name__}: the {job.backend} actor died ({_first_line(e)})")
            except RayError as e:
                unwrap(e)
                yield from failed(rows, f"{type(e).__name__}: {_first_line(e)}")
                idle.append(actor)
    finally:
        for actor in idle + [a for a, _ in inflight.values()]:
            ray.kill(actor)


def run_ray(units: Sequence[Sequence[PlanRow]], job: RenderJob, settings: RaySettings,
            session: bool = False) -> Iterator[ShotResult]:
    """Render `units` on Ray, a ShotResult per clip: tasks, or a pool of actors for a `session` backend."""
    connect(settings.address)
    yield from (_run_actors if session else _run_tasks)(units, job, settings)
