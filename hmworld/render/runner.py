"""Render many plan rows with any backend: resume, worker processes, progress.

Resuming is by the clip-folder contract (hmworld.clip): a folder with
clip.json is complete and skipped; any other folder of a planned clip is a
leftover of a killed run and is deleted and rendered again. Because a
backend writes clip.json last and atomically, an interrupt at any moment
leaves nothing that looks complete but is not.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hmworld.clip import CLIP_JSON, CLIPS_DIR, clip_dir, is_complete
from hmworld.errors import UserError
from hmworld.render.base import ShotResult

_SIZE_KEYS = ("width", "height", "frames", "fps")


@dataclass(frozen=True)
class RunSummary:
    out: Path
    planned: int
    rendered: int
    skipped: int
    redone: int
    frames: int
    seconds: float
    clip_ids: tuple[str, ...] = field(default=())
    failed: tuple[tuple[str, str], ...] = field(default=())  # (clip_id, last line of its error)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def format(self) -> str:
        parts = [f"{self.rendered} clip(s) rendered", f"{self.skipped} already complete"]
        if self.redone:
            parts.append(f"{self.redone} partial redone")
        if self.failed:
            parts.append(f"{len(self.failed)} FAILED")
        rate = f" ({self.frames} frames, {self.fps:.1f} frames/s)" if self.rendered else ""
        lines = [f"{', '.join(parts)} of {self.planned} planned{rate} in {self.out / CLIPS_DIR}"]
        lines += [f"failed: {clip_id}: {error}" for clip_id, error in self.failed]
        if self.failed:
            lines.append(f"full tracebacks in {self.out / FAILURE_LOG}; re-run the same command to retry them")
        return "\n".join(lines)


def check_output_dir(out: str | Path) -> Path:
    """Create OUT/clips and prove we can write there; a one-line UserError if not."""
    out = Path(out)
    try:
        (out / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out / CLIPS_DIR, prefix=".write-test-"):
            pass
    except OSError as e:
        raise UserError(f"cannot write to output folder {str(out)!r}: {e.strerror or e}") from None
    return out


def _check_complete_matches(path: Path, row: dict[str, Any]) -> None:
    """A complete clip rendered with other settings must not be silently taken as this one."""
    with open(path / CLIP_JSON, encoding="utf-8") as f:
        shot = json.load(f)["shot"]
    diff = [k for k in _SIZE_KEYS if int(shot[k]) != int(row[k])]
    if diff:
        had = "x".join(str(shot[k]) for k in _SIZE_KEYS[:2]) + f", {shot['frames']} frames at {shot['fps']} fps"
        want = "x".join(str(row[k]) for k in _SIZE_KEYS[:2]) + f", {row['frames']} frames at {row['fps']} fps"
        raise UserError(
            f"clip {row['clip_id']!r} in {str(path.parent)!r} was rendered as {had}, but {want} was asked; "
            "use another --out folder or delete that clip"
        )


def sort_out(rows: Sequence[dict[str, Any]], out: Path) -> tuple[list[dict[str, Any]], int, int]:
    """Rows still to render, how many are already complete, and how many partial folders were cleared."""
    todo: list[dict[str, Any]] = []
    seen: set[str] = set()
    skipped = redone = 0
    for row in rows:
        cid = str(row["clip_id"])
        if cid in seen:
            continue
        seen.add(cid)
        path = clip_dir(out, cid)
        if is_complete(path):
            _check_complete_matches(path, row)
            skipped += 1
            continue
        if path.exists():
            shutil.rmtree(path)
            redone += 1
        todo.append(row)
    return todo, skipped, redone


# --------------------------------------------------------------------------- workers

_STATE: dict[str, Any] = {}


def _init_worker(backend_name: str, options: dict[str, Any], out: str, threads: int | None) -> None:
    """Per process: ignore Ctrl-C (the parent stops us), share the cores, make the backend once."""
    if threads is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    from hmworld.render import get_backend

    _STATE["backend"] = get_backend(backend_name, **options)
    _STATE["out"] = Path(out)


def _render_unit(rows: list[dict[str, Any]]) -> list[ShotResult]:
    """Render one work unit (up to the backend's batch_size rows) in this worker's backend.

    A failure of one clip comes back as its ShotResult's traceback; a
    UserError (bad setup: a missing asset, say) still stops the whole run.
    """
    from hmworld.plan import materialise

    items = [(shot, clip_dir(_STATE["out"], shot.clip_id)) for shot in map(materialise, rows)]
    return list(_STATE["backend"].render_batch(items))


def work_units(todo: Sequence[dict[str, Any]], batch_size: int, workers: int) -> list[list[dict[str, Any]]]:
    """Rows grouped into units of at most `batch_size`, smaller when that keeps every worker busy.

    With 10 rows, batch 8 and 2 workers the units are 5 + 5, not 8 + 2.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    size = max(1, min(batch_size, -(-len(todo) // max(1, workers))))
    return [list(todo[i:i + size]) for i in range(0, len(todo), size)]


def _run(todo: list[dict[str, Any]], backend: str, options: dict[str, Any], out: Path, workers: int) -> Iterator[ShotResult]:
    if workers <= 1 or len(todo) <= 1:
        from hmworld.plan import materialise

        _init_worker(backend, options, str(out), None)
        for unit in work_units(todo, _STATE["backend"].batch_size, 1):
            items = [(shot, clip_dir(out, shot.clip_id)) for shot in map(materialise, unit)]
            yield from _STATE["backend"].render_batch(items)  # each clip as soon as it is done
        return
    from hmworld.render import get_backend

    units = work_units(todo, get_backend(backend, **options).batch_size, workers)
    n = min(workers, len(units))
    threads = max(1, (os.cpu_count() or 1) // n)
    pool = mp.get_context("spawn").Pool(n, initializer=_init_worker, initargs=(backend, options, str(out), threads))
    try:
        for results in pool.imap_unordered(_render_unit, units, chunksize=1):
            yield from results
        pool.close()
        pool.join()
    finally:
        pool.terminate()  # on error or Ctrl-C: stop clips in flight; their folders lack clip.json


def render_rows(
    rows: Sequence[dict[str, Any]],
    out: str | Path,
    backend: str = "builtin",
    workers: int = 1,
    progress: bool = True,
    backend_options: dict[str, Any] | None = None,
) -> RunSummary:
    """Render plan rows (hmworld.plan) into OUT/clips/<clip_id>/, skipping complete clips."""
    from hmworld.plan import validate_row
    from hmworld.render import backend_names

    if workers < 1:
        raise UserError(f"workers must be at least 1, got {workers}")
    from hmworld.errors import check_choice

    check_choice("backend", backend, backend_names())
    for row in rows:
        validate_row(row)
    out = check_output_dir(out)
    todo, skipped, redone = sort_out(rows, out)
    start = time.perf_counter()
    frames = 0
    done: list[str] = []
    bar = _progress(progress, len(todo))
    failed: list[tuple[str, str]] = []
    with bar as p:
        task = p.add_task("rendering", total=len(todo), fps="-")
        for result in _run(todo, backend, dict(backend_options or {}), out, workers):
            clip_id, n, error = result.clip_id, result.frames, result.error
            if error is None:
                frames += n
                done.append(clip_id)
            else:
                failed.append((clip_id, error.strip().splitlines()[-1]))
                _log_failure(out, clip_id, error)
            rate = frames / max(time.perf_counter() - start, 1e-9)
            p.update(task, advance=1, fps=f"{rate:.1f}")
    return RunSummary(out, len({str(r["clip_id"]) for r in rows}), len(done), skipped, redone, frames,
                      time.perf_counter() - start, tuple(done), tuple(failed))


FAILURE_LOG = "render_errors.log"


def _log_failure(out: Path, clip_id: str, error: str) -> None:
    """Keep the whole traceback for whoever debugs it; the user sees one line per clip."""
    with open(out / FAILURE_LOG, "a", encoding="utf-8") as f:
        f.write(f"=== {clip_id} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n{error}\n")


def _progress(enabled: bool, total: int):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("clips · {task.fields[fps]} frames/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled or total == 0,
    )


def select_rows(
    scene: str | None = None,
    plan_file: str | Path | None = None,
    clips: int | None = None,
    seed: int = 0,
    frames: int | None = None,
    fps: int | None = None,
    size: tuple[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The plan rows `hmworld render` works on: a fresh plan for one scene, or rows of a manifest.

    With --plan, --scene keeps only that scene's rows, --clips the first N, and
    --frames/--fps/--resolution replace what the rows say.
    """
    from hmworld import plan

    if clips is not None and clips < 1:
        raise UserError(f"clips must be at least 1, got {clips}")
    if plan_file is None:
        if scene is None:
            raise UserError("nothing to render: give --scene NAME (a fresh plan) or --plan FILE (a manifest)")
        width, height = size or (plan.PlanSettings.width, plan.PlanSettings.height)
        settings = plan.PlanSettings(
            frames=frames or plan.PlanSettings.frames, fps=fps or plan.PlanSettings.fps, width=width, height=height
        )
        return plan.plan_rows(plan.make_plan(scenes=[scene], clips=clips or 8, seed=seed, settings=settings))
    rows = plan.plan_rows(plan.read_plan(plan_file))
    if scene is not None:
        from hmworld.catalog import SCENES
        from hmworld.errors import check_choice

        check_choice("scene", scene, list(SCENES))
        rows = [r for r in rows if r["scene"] == scene]
        if not rows:
            raise UserError(f"plan file {str(plan_file)!r} has no rows for scene {scene!r}")
    rows = rows[:clips] if clips else rows
    over: dict[str, int] = {}
    if frames is not None:
        over["frames"] = frames
    if fps is not None:
        over["fps"] = fps
    if size is not None:
        over["width"], over["height"] = size
    if over:
        plan.PlanSettings(**{k: over.get(k, getattr(plan.PlanSettings, k)) for k in _SIZE_KEYS})  # validates
        rows = [{**r, **over} for r in rows]
    return rows
