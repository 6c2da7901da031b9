"""`hmworld package`: clip folders → sharded parquet tables, pixel counts, info.json and card.

Every write goes through hmworld.dataset.versions: the shards of a new
version are staged, then switched in with meta/ at once, so a refused or
killed run leaves readers the old tables or the new ones, never a mix.
`update_columns`, `drop_clips` and `sync_captions` change a packaged dataset
in place the same way (`versions.rewrite_tables`, the one way to rewrite).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hmworld.clip import CLIP_JSON, CLIPS_DIR, is_complete, read_caption, read_clip
from hmworld.dataset.arrays import to_arrow
from hmworld.dataset.checks import check_clip_files
from hmworld.dataset.info import DatasetInfo
from hmworld.dataset.layout import DATA_DIR, shard_name
from hmworld.dataset.rows import clip_row, pixel_counts_table, rows_table
from hmworld.dataset.schema import DIGEST_COLUMNS, table_schema
from hmworld.dataset.splits import SPLITS, SplitRule, assign_split
from hmworld.dataset.tables import read_all, require_dataset, shard_paths
from hmworld.dataset.versions import (
    DEFAULT_LICENSE,
    new_stage,
    publish,
    refresh_stale_meta,
    rewrite_tables,
    stage_pixel_counts,
    sweep_dataset_temporaries,
    write_parquet,
)
from hmworld.errors import UserError
from hmworld.events import clip_events, read_events
from hmworld.options import check_flags, check_path, check_whole_type
from hmworld.processes import process_pool

DEFAULT_SHARD_ROWS = 1000
PROTECTED = ("clip_id", "split", "depth_path", *DIGEST_COLUMNS)  # keys, depth and digests: re-package to change


@dataclass(frozen=True)
class Problem:
    clip: str
    message: str


@dataclass(frozen=True)
class PackageReport:
    dataset_dir: Path
    clips: dict[str, int]
    shards: dict[str, list[str]]
    skipped: tuple[Problem, ...] = ()
    filtered_out: int = 0
    info: DatasetInfo | None = None  # meta/info.json as written

    @property
    def total(self) -> int:
        return sum(self.clips.values())

    def format(self) -> str:
        """What `hmworld package` prints: counts, skipped clips, and how to load the result."""
        root = self.dataset_dir
        n_shards = sum(len(v) for v in self.shards.values())
        lines = [
            f"packaged {self.total} clips into {root}/{DATA_DIR} ({n_shards} shards): "
            + ", ".join(f"{s} {n}" for s, n in self.clips.items())
        ]
        if self.filtered_out:
            lines.append(f"left out {self.filtered_out} clip(s) that fail the exit-entry filter")
        for p in self.skipped:
            lines.append(f"skipped {p.clip}: {p.message}")
        lines += [f"warning: the {s} split is empty" for s, n in self.clips.items() if n == 0]
        lines += [
            "load it with:",
            f"  python -c \"from datasets import load_dataset; print(load_dataset('{root}'))\"",
            f"  python -c \"from hmworld.dataset import ClipDataset; print(ClipDataset('{root}', 'train', frames=16)[0].keys())\"",
        ]
        return "\n".join(lines)


def _load_clip(clip_dir: Path, rule: SplitRule) -> tuple[dict[str, Any] | None, list[str]]:
    """A clip folder → (row, []) or (None, problems)."""
    try:
        record = read_clip(clip_dir)
    except UserError as e:
        return None, [f"{clip_dir / CLIP_JSON}: cannot be parsed ({e})"]
    problems = check_clip_files(record)
    if problems:
        return None, problems
    try:
        events = read_events(clip_dir) or clip_events(record)
        caption = read_caption(clip_dir)
        split = assign_split(record.shot.clip_id, record.shot.scene, record.shot.subjects, rule)
        return clip_row(record, events, caption, split), []
    except (UserError, OSError, ValueError, KeyError, TypeError) as e:
        return None, [f"{clip_dir}: {e}"]


def _load_many(dirs: Sequence[Path], rule: SplitRule, workers: int) -> Iterator[tuple[dict[str, Any] | None, list[str]]]:
    if workers <= 1 or len(dirs) < 2:
        for d in dirs:
            yield _load_clip(d, rule)
        return
    with process_pool(workers) as pool:
        yield from pool.map(_load_clip, dirs, [rule] * len(dirs), chunksize=8)


class _ShardSink:
    """Buffers one split's rows and writes full shards into a temporary folder."""

    def __init__(self, folder: Path, split: str, frames: int, shard_rows: int) -> None:
        self.folder, self.split, self.frames, self.shard_rows = folder, split, frames, shard_rows
        self.rows: list[dict[str, Any]] = []
        self.parts: list[Path] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        part = self.folder / f".{self.split}-{len(self.parts):05d}.part"
        write_parquet(rows_table(self.rows, self.frames), part)
        self.parts.append(part)
        self.rows = []

    def finish(self) -> list[str]:
        """Name the shards `split-i-of-n.parquet`; a split with no clips gets none (`datasets`
        cannot load an empty split, so the card leaves it out)."""
        if self.rows:
            self.flush()
        names = [shard_name(self.split, i, len(self.parts)) for i in range(len(self.parts))]
        for part, name in zip(self.parts, names, strict=True):
            os.replace(part, self.folder / name)
        return names


def _format_of(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return (int(row["fps"]), int(row["frames"]), int(row["width"]), int(row["height"]))


def _refuse(problems: list[Problem]) -> UserError:
    shown = "; ".join(f"{p.message}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return UserError(
        f"{len(problems)} clip(s) cannot be packaged: {shown}{more}. Nothing was written; "
        "fix or remove them, or pass --keep-going to skip them"
    )


def package(
    dataset_dir: str | Path,
    rule: SplitRule = SplitRule(),
    *,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    keep_going: bool = False,
    passed_only: bool = False,
    license: str = DEFAULT_LICENSE,
    name: str | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> PackageReport:
    """Turn DATASET_DIR/clips/* into a dataset `datasets.load_dataset(DATASET_DIR)` opens.

    A clip that is incomplete, unreadable or inconsistent refuses the whole run
    (nothing is written) unless `keep_going`, which skips and reports it.
    `passed_only` leaves out clips that fail the exit-entry filter.
    """
    check_whole_type("shard_rows", shard_rows)
    check_whole_type("workers", workers)
    check_flags(keep_going=keep_going, passed_only=passed_only)
    root = check_path("dataset_dir", dataset_dir)
    if shard_rows < 1:
        raise UserError(f"shard size must be at least 1 row, got {shard_rows}")
    clips_root = root / CLIPS_DIR
    if not clips_root.is_dir():
        raise UserError(f"{str(clips_root)!r} does not exist; render clips into {root} first (hmworld render)")
    folders = sorted(p for p in clips_root.iterdir() if p.is_dir() and not p.name.startswith("."))
    problems = [
        Problem(p.name, f"{p}: no {CLIP_JSON} (an incomplete render; resume `hmworld render` or delete it)")
        for p in folders
        if not is_complete(p)
    ]
    complete = [p for p in folders if is_complete(p)]
    if not complete and not problems:
        raise UserError(f"no clip folders under {str(clips_root)!r}; render clips first (hmworld render)")
    if problems and not keep_going:
        raise _refuse(problems)

    fmt: tuple[int, int, int, int] | None = None
    pixel_rows: list[dict[str, Any]] = []
    filtered = 0
    sweep_dataset_temporaries(root)
    tmp = new_stage(root)
    try:
        sinks: dict[str, _ShardSink] = {}
        for i, (row, errs) in enumerate(_load_many(complete, rule, workers)):
            if progress is not None:
                progress(i + 1, len(complete))
            name_i = complete[i].name
            if row is not None and fmt is not None and _format_of(row) != fmt:
                errs = [
                    f"{complete[i]}: {row['fps']} fps, {row['frames']} frames, {row['width']}x{row['height']} "
                    f"differs from the dataset's {fmt[0]} fps, {fmt[1]} frames, {fmt[2]}x{fmt[3]} "
                    "(one dataset holds one format; package the others in their own folder)"
                ]
                row = None
            if row is None:
                problems += [Problem(name_i, m) for m in errs]
                if not keep_going:
                    raise _refuse(problems)
                continue
            if passed_only and not row["passed"]:
                filtered += 1
                continue
            if fmt is None:
                fmt = _format_of(row)
                sinks = {s: _ShardSink(tmp, s, fmt[1], shard_rows) for s in SPLITS}
            sinks[row["split"]].add(row)
            pixel_rows.append({k: row[k] for k in ("clip_id", "subjects", "fps", "frames", "width", "height",
                                                   "visible_pixels", "silhouette_pixels")})
        if fmt is None:
            raise UserError(f"no clip under {str(clips_root)!r} could be packaged" + (
                f" ({len(problems)} skipped, {filtered} failed the filter)" if problems or filtered else ""))
        shards = {s: sink.finish() for s, sink in sinks.items()}
        counts = {s: sink.count for s, sink in sinks.items()}
        info = publish(root, tmp, shards, rule, license, name, pixel_counts_table(pixel_rows, fmt[1]))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PackageReport(root, counts, shards, tuple(problems), filtered, info)


# --------------------------------------------------------------------------- changing a packaged dataset


def _normalise(value: Any) -> Any:
    """Event/Pair dataclasses (and lists of them) → plain dicts, for struct columns."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)) and value and dataclasses.is_dataclass(value[0]):
        return [dataclasses.asdict(v) for v in value]
    return value


def _frames_of(table: pa.Table, fallback: int) -> int:
    frames = set(table.column("frames").to_pylist())
    return int(frames.pop()) if len(frames) == 1 else fallback


def refresh_meta(dataset_dir: str | Path) -> list[str]:
    """Rebuild what disagrees with the tables in meta/ and the card; returns what was rebuilt.

    Every table write already switches meta/ with the shards; this repairs a
    dataset a killed run of an older hmworld (or a hand edit) left stale.
    """
    return refresh_stale_meta(dataset_dir)


def sync_captions(dataset_dir: str | Path) -> int:
    """Bring a packaged dataset's caption columns in line with the clips' caption.json.

    The shards holding changed captions are rewritten, and switched in with
    meta/ at once; clips rendered after packaging join at the next `hmworld
    package`. Returns how many rows changed (0 when not packaged yet).
    """
    root = Path(dataset_dir)
    if not shard_paths(root):
        return 0
    refresh_stale_meta(root)
    table = read_all(root, columns=["clip_id", "caption", "captioner"]).to_pydict()
    ids, texts, who = [], [], []
    for cid, text, by in zip(table["clip_id"], table["caption"], table["captioner"], strict=True):
        cap = read_caption(root / CLIPS_DIR / cid)
        if cap is not None and (cap.caption, cap.captioner) != (text, by):
            ids.append(cid)
            texts.append(cap.caption)
            who.append(cap.captioner)
    if ids:
        update_columns(root, ids, {"caption": texts, "captioner": who})
    return len(ids)


def update_columns(dataset_dir: str | Path, clip_ids: Sequence[str], updates: Mapping[str, Sequence[Any]]) -> list[Path]:
    """Set `updates[column][i]` for clip `clip_ids[i]`, rewriting only the shards that hold them.

    Values take the column's form (numpy arrays or lists for array columns; dicts
    or Event/Pair dataclasses for `events`/`pairs`). Every other column is kept.
    The new shards, info.json and the card switch in at once
    (`versions.rewrite_tables`). Returns the shards that changed (old paths).
    """
    root = require_dataset(dataset_dir)
    ids = [str(c) for c in clip_ids]
    known = table_schema(1).names
    for col, values in updates.items():
        if col not in known:
            raise UserError(f"unknown column {col!r}; allowed: {', '.join(n for n in known if n not in PROTECTED)}")
        if col in PROTECTED:
            raise UserError(f"column {col!r} cannot be updated in place; re-package the dataset instead")
        if len(values) != len(ids):
            raise UserError(f"{len(values)} values for column {col!r} but {len(ids)} clip ids")
    if len(set(ids)) != len(ids):
        raise UserError("clip ids to update must be unique")
    where = {c: i for i, c in enumerate(ids)}
    present = set(read_all(root, columns=["clip_id"]).column("clip_id").to_pylist())
    missing = [c for c in ids if c not in present]
    if missing:
        raise UserError(f"{len(missing)} clip id(s) are not in the dataset, e.g. {missing[0]!r}")

    def change(table: pa.Table, _path: Path) -> pa.Table:
        shard_ids = table.column("clip_id").to_pylist()
        rows = np.array([j for j, c in enumerate(shard_ids) if c in where], dtype=np.int64)
        if not rows.size:
            return table
        src = [where[shard_ids[j]] for j in rows]
        schema = table_schema(_frames_of(table, 1), table.column_names)
        arrays = []
        for f in schema:
            old = table.column(f.name).combine_chunks() if table.num_rows else pa.array([], f.type)
            if f.name in updates:
                new = to_arrow([_normalise(updates[f.name][k]) for k in src], f.type)
                take = np.arange(table.num_rows, dtype=np.int64)
                take[rows] = table.num_rows + np.arange(rows.size)
                old = pa.concat_arrays([old.cast(f.type), new]).take(pa.array(take))
            arrays.append(old.cast(f.type))
        return pa.Table.from_arrays(arrays, schema=schema)

    pixels = bool({"visible_pixels", "silhouette_pixels"} & set(updates))
    return rewrite_tables(root, change, stage_pixel_counts if pixels else None)


def drop_clips(dataset_dir: str | Path, clip_ids: Iterable[str]) -> int:
    """Remove clips' rows from the tables (their folders stay); returns how many rows went."""
    root = require_dataset(dataset_dir)
    drop = pa.array(sorted({str(c) for c in clip_ids}), pa.string())
    removed = 0

    def change(table: pa.Table, _path: Path) -> pa.Table:
        nonlocal removed
        keep = pc.invert(pc.is_in(table["clip_id"], value_set=drop))
        n = table.num_rows - pc.sum(keep.cast(pa.int64())).as_py() if table.num_rows else 0
        if not n:
            return table
        removed += n
        return table.filter(keep)

    rewrite_tables(root, change, stage_pixel_counts)
    return removed
