"""One unit of render work, wherever it runs: plan rows (PlanRow) in, one ShotResult per clip out.

Shared by every executor so that a clip is prepared the same way in a local
worker process, a Ray task and a Ray actor: a folder left half-written by a
killed attempt is removed first, and a clip that an earlier attempt finished
(clip.json written, then the worker died before it could report) is not
rendered again.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hmworld.clip import clip_dir, is_complete
from hmworld.errors import UserError
from hmworld.plan import materialise
from hmworld.plan_row import PlanRow
from hmworld.render import get_backend
from hmworld.render.base import Backend, ShotResult
from hmworld.shot import Shot


@dataclass(frozen=True)
class RenderJob:
    """Everything a worker needs to make its backend: its name, options and the output folder."""

    backend: str
    out: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def make_backend(self) -> Backend:
        return get_backend(self.backend, **dict(self.options))


def set_threads(threads: int | None) -> None:
    """Give this process's numba kernels `threads` cores (None: leave numba's default)."""
    if threads is None:
        return
    import numba  # lazy: ~1 s to import, needed only by backends with numba kernels (builtin), not by ue5 or a driver

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def render_unit(backend: Backend, rows: Sequence[PlanRow], out: str | Path) -> Iterator[ShotResult]:
    """Render a unit's rows into OUT/clips/<clip_id>/, yielding a ShotResult as each clip finishes.

    A row that cannot even become a shot is that clip's failure; a UserError propagates.
    """
    items: list[tuple[Shot, Path]] = []
    for row in rows:
        start = time.perf_counter()
        try:
            shot = materialise(row)
        except UserError:
            raise
        except Exception:
            yield ShotResult(row.clip_id, 0, time.perf_counter() - start, traceback.format_exc())
            continue
        path = clip_dir(out, shot.clip_id)
        if is_complete(path):  # finished by an attempt that died before reporting it
            yield ShotResult(shot.clip_id, shot.frames, 0.0)
            continue
        if path.exists():  # half written by a killed attempt: start over
            shutil.rmtree(path)
        items.append((shot, path))
    if items:
        yield from backend.render_batch(items)
