"""`hmworld filter-events`: events for a whole dataset, written back, failing clips marked or dropped.

Counts come from meta/pixel_counts.parquet when the packager wrote one (fast
at any size), and from clips/<id>/clip.json for clips it lacks or that were
rendered after it. All clips are computed at once as [clips, subjects, frames]
arrays. Results: clips/<id>/events.json (per clip folder), meta/events.parquet
(every clip), and the event columns of a packaged dataset's tables. A clip with
bad data is named in a one-line error; with keep_going the others still run
and the bad clip's files are left exactly as they were.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hmworld.clip import CLIP_JSON, CLIPS_DIR, ClipRecord, read_clip
from hmworld.dataset.event_tables import (
    events_table_path,
    read_events_table,
    results_table,
    update_tables,
    write_events_table,
)
from hmworld.dataset.layout import DATA_DIR, META_DIR, PIXEL_COUNTS
from hmworld.dataset.pixel_counts import pixel_counts_path, read_pixel_counts, with_table_info
from hmworld.dataset.versions import sweep_dataset_temporaries
from hmworld.errors import UserError
from hmworld.events.counts import CountsBatch, batch_from_records, concat_batches
from hmworld.events.detect import EventParams, check_measured, write_events
from hmworld.events.run import batch_events, clip_results
from hmworld.events.stats import EventStats, compute_stats
from hmworld.options import check_flags, check_path


@dataclass(frozen=True)
class FilterSummary:
    """What a filter-events run did; `stats` is `events.stats.compute_stats` of this run's clips."""

    dataset: str
    clips: int
    from_folders: int
    from_table: int
    kept: tuple[str, ...]
    failed: tuple[str, ...]  # clips without a qualifying exit–entry pair
    dropped: bool
    errors: tuple[tuple[str, str], ...]  # (clip_id, one-line problem) of skipped clips
    written: tuple[str, ...]  # files and tables written, relative to the dataset
    stats: EventStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "clips": self.clips,
            "from_folders": self.from_folders,
            "from_table": self.from_table,
            "kept": len(self.kept),
            "failed": list(self.failed),
            "dropped": list(self.failed) if self.dropped else [],
            "errors": [{"clip_id": c, "error": e} for c, e in self.errors],
            "written": list(self.written),
            "stats": self.stats.to_dict(),
        }

    def format(self) -> str:
        s = self.stats
        verb = "dropped" if self.dropped else "marked (passed=false)"
        source = f"{self.from_folders} from clip folders, {self.from_table} from meta/pixel_counts.parquet"
        lines = [
            f"{self.clips} clips ({source})",
            f"kept {len(self.kept)}, {verb} {len(self.failed)} without an exit–entry pair",
        ]
        if self.clips:
            lines += [
                "events per clip: "
                + ", ".join(f"{k} {v:.2f}" for k, v in s.events_per_clip.items()),
                f"exit–entry pairs per clip: {s.pairs_per_clip:.2f} ({s.pairs} in all)",
            ]
            h = s.hidden_s
            if s.pairs:
                lines.append(
                    f"out of view (exit→entry): min {h['min']:.2f} s, median {h['median']:.2f} s, "
                    f"mean {h['mean']:.2f} s, max {h['max']:.2f} s"
                )
        if self.errors:
            lines.append(f"skipped {len(self.errors)} clip(s) with bad data, left untouched")
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading clips


def load_clip(path: str | Path) -> ClipRecord:
    """clip.json of one clip folder (`hmworld.clip.read_clip`), checked for the event stage:
    the folder is named for its clip and the counts are possible. Any problem is a UserError naming the clip."""
    path = Path(path)
    record = read_clip(path)
    if record.shot.clip_id != path.name:
        raise UserError(
            f"clip {path.name}: its clip.json is for clip {record.shot.clip_id!r}; folder and clip ids must match"
        )
    check_measured(record)
    return record


def _clip_folders(root: Path) -> dict[str, tuple[Path, float]]:
    """Complete clip folders: id → (path, clip.json mtime). Hidden (temporary) folders are skipped."""
    base = root / CLIPS_DIR
    out: dict[str, tuple[Path, float]] = {}
    if not base.is_dir():
        return out
    with os.scandir(base) as it:
        for entry in it:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                out[entry.name] = (
                    Path(entry.path),
                    os.stat(os.path.join(entry.path, CLIP_JSON)).st_mtime,
                )
    return out


def load_counts(root: Path) -> tuple[CountsBatch, set[str], int, list[tuple[str, str]]]:
    """All clips' counts → (batch, ids with a clip folder, clips taken from the table, [(clip_id, problem)])."""
    folders = _clip_folders(root)
    errors: dict[str, str] = {}
    table = None
    to_read = set(folders)
    counts_path = pixel_counts_path(root)
    if counts_path.is_file():
        table, bad = read_pixel_counts(counts_path)
        errors.update(bad)
        table, no_geometry = with_table_info(table, root)
        mtime = counts_path.stat().st_mtime
        # clip folders newer than the table, missing from it, or whose shot only
        # the folder holds are read from clip.json
        to_read = {cid for cid, (_, mt) in folders.items() if mt > mtime}
        to_read |= set(folders) - set(table.clip_ids) - set(errors)
        to_read |= {
            cid for cid, m in zip(table.clip_ids, no_geometry, strict=True) if m and cid in folders
        }
        for cid, m in zip(table.clip_ids, no_geometry, strict=True):
            if m and cid not in folders:
                errors[cid] = (
                    f"clip {cid}: no silhouette counts, and its shot is neither in {DATA_DIR}/ nor in "
                    f"{CLIPS_DIR}/{cid}/{CLIP_JSON}, so in frame cannot be told from occluded"
                )
        for cid in to_read:
            errors.pop(cid, None)
        table = table.subset(
            np.array([c not in to_read and c not in errors for c in table.clip_ids], bool)
        )
    if not folders and table is None:
        raise UserError(
            f"{root} is not a dataset: it has no {CLIPS_DIR}/<clip_id>/{CLIP_JSON} and no "
            f"{META_DIR}/{PIXEL_COUNTS}"
        )
    records = []
    for cid in sorted(to_read):
        try:
            records.append(load_clip(folders[cid][0]))
        except UserError as e:
            errors[cid] = str(e)
    batch = concat_batches([b for b in (table, batch_from_records(records)) if b is not None])
    return batch, set(folders), 0 if table is None else len(table), sorted(errors.items())


# --------------------------------------------------------------------------- the command


def _remove_dirs(root: Path, dirs: list[Path]) -> None:
    """Move folders out of clips/ in one rename each, then delete them: no half clip stays listed."""
    if not dirs:
        return
    trash = Path(tempfile.mkdtemp(prefix=".dropped-", dir=root))
    try:
        for d in dirs:
            os.replace(d, trash / d.name)
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def filter_events(
    dataset_dir: str | Path,
    params: EventParams = EventParams(),
    drop: bool = False,
    keep_going: bool = False,
) -> FilterSummary:
    """`hmworld filter-events`: events for every clip, results written back, failing clips marked or dropped.

    A packaged dataset's tables, pixel counts, info.json and card switch to the
    new results at once (hmworld.dataset.versions).
    """
    check_flags(drop=drop, keep_going=keep_going)
    root = check_path("dataset_dir", dataset_dir)
    if not root.is_dir():
        raise UserError(
            f"{root}: no such folder; expected a dataset folder holding {CLIPS_DIR}/<clip_id>/{CLIP_JSON}"
        )
    sweep_dataset_temporaries(root)
    batch, with_folder, from_table, errors = load_counts(root)
    if errors and not keep_going:
        more = f" (and {len(errors) - 1} more clips with problems)" if len(errors) > 1 else ""
        raise UserError(
            f"{errors[0][1]}{more}; nothing was written; --keep-going processes the other clips"
        )
    arrays = batch_events(batch, params)
    results = results_table(arrays, batch)

    failed = [cid for cid, ok in zip(batch.clip_ids, arrays.passed, strict=True) if not ok]
    drop_ids = failed if drop else []
    dropping = set(drop_ids)
    written: list[str] = []
    folder_idx = [
        i for i, cid in enumerate(batch.clip_ids) if cid in with_folder and cid not in dropping
    ]
    for ce in clip_results(arrays, batch, params, indices=folder_idx):
        write_events(root / CLIPS_DIR / ce.clip_id, ce)
    if folder_idx:
        written.append(f"{len(folder_idx)} × {CLIPS_DIR}/<clip_id>/events.json")
    written.append(str(write_events_table(root, results, drop_ids).relative_to(root)))
    tables = update_tables(root, results, drop_ids)
    written += [str(p.relative_to(root)) for p in tables]
    if tables and drop_ids:
        written.append(str(pixel_counts_path(root).relative_to(root)))
    _remove_dirs(root, [root / CLIPS_DIR / cid for cid in drop_ids if cid in with_folder])

    return FilterSummary(
        dataset=str(root),
        clips=len(batch),
        from_folders=len(batch) - from_table,
        from_table=from_table,
        kept=tuple(cid for cid, ok in zip(batch.clip_ids, arrays.passed, strict=True) if ok),
        failed=tuple(failed),
        dropped=drop,
        errors=tuple(errors),
        written=tuple(written),
        stats=compute_stats(results),
    )


def dataset_stats(dataset_dir: str | Path) -> EventStats:
    """Stats of the last filter-events run (meta/events.parquet), without recomputing anything."""
    path = events_table_path(dataset_dir)
    if not path.is_file():
        raise UserError(
            f"{dataset_dir}: no {path.relative_to(dataset_dir)}; run `hmworld filter-events {dataset_dir}` first"
        )
    return compute_stats(read_events_table(path))
