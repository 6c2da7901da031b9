"""What the report reads: a packaged dataset's table and info.json, and each clip's folder.

The overview and the clip index come from the parquet table (one row per
clip); a clip page adds the clip folder's shot (poses, sizes), the events
found by `hmworld filter-events` and the caption from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hmworld.clip import ClipRecord, clip_dir, is_complete, read_clip
from hmworld.dataset.info import DatasetInfo, read_info
from hmworld.dataset.tables import read_all, require_dataset
from hmworld.errors import DamagedClip, UserError
from hmworld.events import ClipEvents, EventParams, clip_events, read_events

# table columns the report reads (never the per-frame arrays: those come from clip folders, one at a time)
INDEX_COLUMNS = (
    "clip_id", "split", "scene", "subjects", "subject_kinds", "subject_paths", "camera_trajectory",
    "backend", "backend_version", "fps", "frames", "width", "height", "hfov_deg", "caption", "captioner",
    "n_pairs", "passed", "pairs", "events",
)


@dataclass(frozen=True, eq=False)
class DatasetView:
    """A packaged dataset as the report sees it.

    rows: the table's INDEX_COLUMNS as Python lists, one entry per clip, train
    first (table order); info: meta/info.json as written by `hmworld package`.
    """

    root: Path
    info: DatasetInfo
    rows: dict[str, list[Any]]

    @property
    def n_clips(self) -> int:
        return len(self.rows["clip_id"])

    def row(self, i: int) -> dict[str, Any]:
        return {k: v[i] for k, v in self.rows.items()}


@dataclass(frozen=True, eq=False)
class ClipView:
    """One clip page's inputs.

    events: from events.json; when filter-events has not run on the clip they
    are computed here with the default thresholds and `events_computed` is True.
    """

    row: dict[str, Any]
    record: ClipRecord
    events: ClipEvents
    events_computed: bool


def load_dataset(root: str | Path) -> DatasetView:
    """Read a packaged dataset's table and info; UserError when it is not one."""
    root = require_dataset(root)
    info = read_info(root)
    table: pa.Table = read_all(root, columns=INDEX_COLUMNS)
    rows = table.to_pydict()
    if len(set(rows["clip_id"])) != len(rows["clip_id"]):
        raise UserError(f"{str(root)!r}: the tables list a clip id twice; run `hmworld package {root}` again")
    return DatasetView(root, info, rows)


def load_clip(root: Path, row: dict[str, Any]) -> ClipView:
    """A table row's clip with its folder's shot and events; UserError when the folder is missing."""
    path = clip_dir(root, row["clip_id"])
    if not is_complete(path):
        raise DamagedClip(f"clip folder {str(path)!r} is missing or incomplete (no clip.json); the table lists it")
    record = read_clip(path)
    events, computed = clip_states(record)
    return ClipView(row, record, events, computed)


def clip_states(record: ClipRecord) -> tuple[ClipEvents, bool]:
    """The clip's events.json, or (when filter-events has not run) events computed with the
    default thresholds; the flag says they were computed here."""
    events = read_events(record.path)
    if events is None:
        return clip_events(record, EventParams()), True
    return events, False


def hidden_seconds(view: DatasetView) -> np.ndarray:
    """Every exit–entry pair's out-of-view duration [P] in seconds (hidden_frames / fps)."""
    out = [p["hidden_frames"] / fps for pairs, fps in zip(view.rows["pairs"], view.rows["fps"], strict=True) for p in pairs or ()]
    return np.asarray(out, dtype=np.float64)


def exit_entry_counts(view: DatasetView) -> np.ndarray:
    """Exit plus entry events per clip [C]."""
    return np.asarray(
        [sum(1 for e in ev or () if e["kind"] in ("exit", "entry")) for ev in view.rows["events"]], dtype=np.int64
    )
