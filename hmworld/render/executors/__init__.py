"""Executors decide only *where* clips render: local processes or a Ray cluster.

Both take work units (lists of `PlanRow`, `batch_size` of them, see
`runner.py`) and yield one `ShotResult` per clip as clips finish; the clip
folder contract (hmworld.clip) stays the single truth of what is done.
"""

from __future__ import annotations

EXECUTORS = ("local", "ray")
DEFAULT_EXECUTOR = "local"
