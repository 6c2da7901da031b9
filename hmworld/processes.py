"""Worker process pools that start clean: spawned, never forked.

A forked worker inherits the parent's open file descriptors, and with them
the parent's *file offsets*: two forked workers that read the same inherited
font or video file move one shared offset under each other. matplotlib caches
each font as an open file, so report pages drawn by forked workers read glyph
bytes from the wrong place and fail at random ("FT_Load_Glyph failed ...
too many hints" / "invalid outline"); 2 failures in 200 figures when measured
(4 forked workers after one figure drawn in the parent; 0 of 200 when spawned).
Spawned workers open their own files. The cost is an interpreter start and
the imports per worker (about a second), paid once per pool.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

START_METHOD = "spawn"


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A `ProcessPoolExecutor` of ``workers`` (>= 1) spawned processes.

    Raises ValueError for ``workers < 1`` (as `ProcessPoolExecutor` does).
    The submitted callables and their arguments must be picklable by
    reference (module-level functions), as spawn requires.
    """
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(START_METHOD))
