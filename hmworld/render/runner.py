"""Render many plan rows with any backend: resume, worker processes, progress.

Resuming is by the clip-folder contract (hmworld.clip): a folder with
clip.json is complete and skipped; any other folder of a planned clip is a
leftover of a killed run and is deleted and rendered again. Because a
backend writes clip.json last and atomically, an interrupt at any moment
leaves nothing that looks complete but is not.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from hmworld.catalog import SCENES
from hmworld.clip import (
    CLIP_JSON,
    CLIPS_DIR,
    DEPTH_FILE,
    INSTANCES_FILE,
    VIDEO_FILE,
    clip_dir,
    is_complete,
    read_clip,
)
from hmworld.errors import DamagedClip, UserError, check_choice
from hmworld.outputs import check_dir, with_path
from hmworld.plan import PlanSettings, make_plan, plan_rows, read_plan
from hmworld.plan_checks import check_rows
from hmworld.plan_row import PlanRow
from hmworld.ray_cluster import RaySettings, require_ray
from hmworld.render import backend_names
from hmworld.render.base import ShotResult, keeps_session
from hmworld.render.executors import DEFAULT_EXECUTOR, EXECUTORS
from hmworld.render.executors.local import run_local
from hmworld.render.executors.unit import RenderJob

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
    busy_s: float = 0.0  # seconds the workers spent inside the backend on the rendered clips, summed

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
    check_dir(out)
    check_dir(out / CLIPS_DIR)
    return out


def _complete_problem(path: Path, row: PlanRow) -> str | None:
    """Why a folder with clip.json is not a usable complete clip (damaged files), or None when it is.

    A complete clip rendered with other settings must not be silently taken as
    this one: that is a UserError, not a damaged clip.
    """
    try:
        record = read_clip(path)
    except DamagedClip as e:
        return str(e)
    shot = record.shot
    missing = [n for n in (VIDEO_FILE, INSTANCES_FILE, *[DEPTH_FILE] * record.has_depth) if not (path / n).is_file()]
    if missing:
        return f"clip {path.name}: {', '.join(missing)} missing beside {CLIP_JSON}"
    had_size = (shot.width, shot.height, shot.frames, shot.fps)
    if had_size != (row.width, row.height, row.frames, row.fps):
        had = f"{shot.width}x{shot.height}, {shot.frames} frames at {shot.fps} fps"
        want = f"{row.width}x{row.height}, {row.frames} frames at {row.fps} fps"
        raise UserError(
            f"clip {row.clip_id!r} in {str(path.parent)!r} was rendered as {had}, but {want} was asked; "
            "use another --out folder or delete that clip"
        )
    return None


def sort_out(rows: Sequence[PlanRow], out: Path) -> tuple[list[PlanRow], int, int]:
    """Rows still to render, how many are already complete, and how many partial folders were cleared."""
    todo: list[PlanRow] = []
    seen: set[str] = set()
    skipped = redone = 0
    for row in rows:
        cid = row.clip_id
        if cid in seen:
            continue
        seen.add(cid)
        path = clip_dir(out, cid)
        if is_complete(path):
            problem = _complete_problem(path, row)
            if problem is None:
                skipped += 1
                continue
            print(f"redoing {problem}", file=sys.stderr)  # a damaged "complete" clip is rendered again
        if path.exists():
            shutil.rmtree(path)
            redone += 1
        todo.append(row)
    return todo, skipped, redone


def _execute(executor: str, units: list[list[PlanRow]], job: RenderJob, workers: int,
             ray_settings: RaySettings | None, session: bool) -> Iterator[ShotResult]:
    if executor == "local":
        return run_local(units, job, workers)
    require_ray()  # before importing the Ray executor, whose module needs it
    from hmworld.render.executors.ray import run_ray

    return run_ray(units, job, ray_settings or RaySettings(), session)


def work_units(todo: Sequence[PlanRow], batch_size: int, workers: int) -> list[list[PlanRow]]:
    """Rows grouped into units of at most `batch_size`, smaller when that keeps every worker busy.

    With 10 rows, batch 8 and 2 workers the units are 5 + 5, not 8 + 2.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    size = max(1, min(batch_size, -(-len(todo) // max(1, workers))))
    return [list(todo[i:i + size]) for i in range(0, len(todo), size)]


def render_rows(
    rows: Sequence[PlanRow],
    out: str | Path,
    backend: str = "builtin",
    workers: int = 1,
    progress: bool = True,
    backend_options: dict[str, Any] | None = None,
    executor: str = DEFAULT_EXECUTOR,
    ray_settings: RaySettings | None = None,
) -> RunSummary:
    """Render plan rows (PlanRow, e.g. from `select_rows`) into OUT/clips/<clip_id>/, skipping complete clips.

    `executor` "local" renders with `workers` processes here; "ray" on a Ray
    cluster (`ray_settings`: hmworld.render.executors.ray.RaySettings, None for
    a local Ray with defaults). Either way the rows are grouped into units of
    the backend's `batch_size` and every clip is reported as it finishes.
    """
    if workers < 1:
        raise UserError(f"workers must be at least 1, got {workers}")
    check_choice("backend", backend, backend_names())
    check_choice("executor", executor, EXECUTORS)
    if not rows:
        raise UserError("nothing to render: the plan has no rows")
    strays = sorted({type(r).__name__ for r in rows if not isinstance(r, PlanRow)})
    if strays:
        raise TypeError(f"render_rows takes PlanRow rows, not {', '.join(strays)}; use PlanRow.from_dict")
    check_rows([r.to_dict() for r in rows], each=False)  # each PlanRow was checked when made; clip ids across rows
    out = check_output_dir(out)
    todo, skipped, redone = sort_out(rows, out)
    start = time.perf_counter()
    frames = 0
    done: list[str] = []
    bar = _progress(progress, len(todo))
    failed: list[tuple[str, str]] = []
    busy = 0.0
    with bar as p:
        task = p.add_task("rendering", total=len(todo), fps="-")
        job = RenderJob(backend, str(out), dict(backend_options or {}))
        probe = job.make_backend()  # cheap: backends start sessions and compile kernels on first use
        slots = workers if executor == "local" else (ray_settings.actors if ray_settings and ray_settings.actors else 1)
        units = work_units(todo, probe.batch_size, slots) if todo else []
        results = _execute(executor, units, job, workers, ray_settings, keeps_session(probe))
        for clip_id, n, took, error in (astuple(r) for r in results):
            if error is None:
                frames += n
                busy += took
                done.append(clip_id)
            else:
                failed.append((clip_id, error.strip().splitlines()[-1]))
                _log_failure(out, clip_id, error)
            rate = frames / max(time.perf_counter() - start, 1e-9)
            p.update(task, advance=1, fps=f"{rate:.1f}")
    return RunSummary(out, len({r.clip_id for r in rows}), len(done), skipped, redone, frames,
                      time.perf_counter() - start, tuple(done), tuple(failed), busy)


FAILURE_LOG = "render_errors.log"


def _log_failure(out: Path, clip_id: str, error: str) -> None:
    """Keep the whole traceback for whoever debugs it; the user sees one line per clip."""
    try:
        with open(out / FAILURE_LOG, "a", encoding="utf-8") as f:
            f.write(f"=== {clip_id} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n{error}\n")
    except OSError as e:  # a full disk fails the write or the close without naming the file
        raise with_path(e, out / FAILURE_LOG) from None


def _progress(enabled: bool, total: int) -> Progress:
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
) -> list[PlanRow]:
    """The plan rows `hmworld render` works on: a fresh plan for one scene, or rows of a manifest.

    With --plan, --scene keeps only that scene's rows, --clips the first N, and
    --frames/--fps/--resolution replace what the rows say. The kept rows of a
    manifest are checked as a whole first: one UserError names every bad row.
    """
    if clips is not None and clips < 1:
        raise UserError(f"clips must be at least 1, got {clips}")
    if plan_file is None:
        if scene is None:
            raise UserError("nothing to render: give --scene NAME (a fresh plan) or --plan FILE (a manifest)")
        width, height = size or (PlanSettings.width, PlanSettings.height)
        settings = PlanSettings(
            frames=PlanSettings.frames if frames is None else frames,
            fps=PlanSettings.fps if fps is None else fps,
            width=width, height=height,
        )
        return plan_rows(make_plan(scenes=[scene], clips=8 if clips is None else clips, seed=seed, settings=settings))
    rows = read_plan(plan_file).to_pylist()
    if not rows:
        raise UserError(f"plan file {str(plan_file)!r} has no rows; nothing to render")
    if scene is not None:
        check_choice("scene", scene, list(SCENES))
        rows = [r for r in rows if r["scene"] == scene]
        if not rows:
            raise UserError(f"plan file {str(plan_file)!r} has no rows for scene {scene!r}")
    rows = rows[:clips] if clips is not None else rows
    check_rows(rows, f"plan file {str(plan_file)!r}")
    typed = [PlanRow.from_dict(r) for r in rows]
    over: dict[str, int] = {}
    if frames is not None:
        over["frames"] = frames
    if fps is not None:
        over["fps"] = fps
    if size is not None:
        over["width"], over["height"] = size
    if not over:
        return typed
    PlanSettings(**{k: over.get(k, getattr(PlanSettings, k)) for k in _SIZE_KEYS})  # one line naming the option
    return [replace(r, **over) for r in typed]
