"""Publishing a packaged dataset's tables: every shard and meta/ switch at once.

A dataset's shards live in a *version folder* named by the SHA-256 of their
contents (first 16 hex digits):

    data/<version>/{split}-NNNNN-of-MMMMM.parquet
    README.md        the card; its `configs` point `datasets` at data/<version>/
    meta/info.json   names the version and lists its shards: written LAST

Writing a new version: shards go into a hidden staging folder under data/,
are flushed to disk, and the folder is renamed to data/<version>; then the
pixel counts, the card and, last, meta/info.json are replaced (each flushed
before its rename). Readers (`tables.shard_paths`) follow meta/info.json, so
a run killed at any moment leaves them the old tables or the new ones, never
a mix; older version folders are removed only after the switch.

Why a new folder name per content: `datasets.load_dataset(DIR)` caches a
local dataset under a key made of the folder's *name* and the card's
`data_files` *patterns* (`LocalDatasetModuleFactory.get_module` hashes the
builder configs, whose data files stay unresolved patterns; true of
datasets 2.18 and 5.x alike). The files' contents and mtimes are not part of
the key, so with fixed patterns a changed dataset — or another dataset in a
folder of the same name — is served from the stale cache. A pattern that
names the content digest changes exactly when the rows do.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.atomic import (
    atomic_path,
    fsync_path,
    fsync_tree,
    sweep_temporaries,
    temp_prefix,
    write_text,
)
from hmworld.dataset.arrays import ragged_rows
from hmworld.dataset.card import SUMMARY_COLUMNS, card_text, summarize, write_meta
from hmworld.dataset.digests import update_from_file
from hmworld.dataset.info import DatasetInfo, read_info
from hmworld.dataset.layout import (
    CARD,
    CLIPS_DIR,
    DATA_DIR,
    INFO_PATH,
    META_DIR,
    PIXEL_COUNTS_PATH,
    shard_glob,
    shard_name,
)
from hmworld.dataset.rows import pixel_counts_table
from hmworld.dataset.splits import SPLITS, SplitRule
from hmworld.dataset.tables import shard_paths, tables_version
from hmworld.errors import UserError

VERSION_RE = re.compile(r"^[0-9a-f]{16}$")
LEGACY_SHARD_RE = re.compile(r"^(train|test)(-\d{5}-of-\d{5})?\.parquet$")
DEFAULT_LICENSE = "apache-2.0"
ROW_GROUP_ROWS = 32  # small row groups: the PyTorch loader decodes one group per item
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "row_group_size": ROW_GROUP_ROWS}

Shards = Mapping[str, Sequence[str]]  # split → shard file names inside one version folder


def new_stage(root: str | Path) -> Path:
    """A fresh hidden staging folder under DATASET/data/ for one version's shards."""
    data = Path(root) / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=temp_prefix("stage"), suffix=".tmp", dir=data))


def write_parquet(table: pa.Table, path: str | Path, like: str | Path | None = None) -> None:
    """One shard. `like`: an earlier shard whose compression and row-group size to keep.

    A table with no rows gets no row group (`datasets` cannot read an empty one).
    """
    options = dict(PARQUET_OPTIONS)
    if like is not None:
        md = pq.ParquetFile(like).metadata
        if md.num_row_groups and md.num_columns:
            name = md.row_group(0).column(0).compression.lower()
            options = {
                "compression": "none" if name == "uncompressed" else name,
                "row_group_size": max(1, md.row_group(0).num_rows),
            }
    if table.num_rows:
        pq.write_table(table, path, **options)
    else:
        pq.ParquetWriter(path, table.schema, compression=options["compression"]).close()


def _digest(stage: Path, shards: Shards) -> str:
    h = hashlib.sha256()
    for split in SPLITS:
        for name in shards.get(split, ()):
            h.update(f"{split}/{name}\0".encode())
            update_from_file(h, stage / name)
    return h.hexdigest()[:16]


def write_table(table: pa.Table, path: str | Path) -> None:
    """One parquet file outside the version folders (meta/), atomically and durably."""
    with atomic_path(path, durable=True) as tmp:
        write_parquet(table, tmp)


def publish(
    root: str | Path,
    stage: Path,
    shards: Shards,
    rule: SplitRule,
    license: str,
    name: str | None,
    pixel_counts: pa.Table | None = None,
) -> DatasetInfo:
    """Make the shards in `stage` the dataset's tables (see the module docstring); returns info.json.

    pixel_counts: a new meta/pixel_counts.parquet, written before the switch
    (`refresh_stale_meta` rebuilds it if a kill left it disagreeing with the tables).
    """
    root = Path(root)
    data = root / DATA_DIR
    fsync_tree(stage)
    version = _digest(stage, shards)
    target = data / version
    if target.is_dir():  # the same content is already there (an unchanged re-run, or a killed one)
        shutil.rmtree(stage)
    else:
        os.replace(stage, target)
        fsync_path(data)
    if pixel_counts is not None:
        write_table(pixel_counts, root / PIXEL_COUNTS_PATH)
    listed = {s: [f"{DATA_DIR}/{version}/{n}" for n in shards.get(s, ())] for s in SPLITS}
    info = write_meta(root, listed, version, rule, license, name)
    remove_stale(root)
    return info


def remove_stale(root: str | Path) -> list[Path]:
    """After a switch: older version folders, shards of the flat pre-version layout, and
    temporaries dead runs left in the dataset's folders (a live run's are kept)."""
    root = Path(root)
    keep = tables_version(root)
    data = root / DATA_DIR
    removed: list[Path] = []
    if data.is_dir() and keep is not None:
        for entry in data.iterdir():
            if entry.is_dir() and VERSION_RE.match(entry.name) and entry.name != keep:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
            elif entry.is_file() and LEGACY_SHARD_RE.match(entry.name):
                entry.unlink()
                removed.append(entry)
    removed += sweep_dataset_temporaries(root)
    return removed


def sweep_dataset_temporaries(root: str | Path) -> list[Path]:
    """Temporaries of dead runs in DATASET/, data/, meta/, clips/ and each clip folder."""
    root = Path(root)
    removed = []
    for folder in (root, root / DATA_DIR, root / META_DIR, root / CLIPS_DIR):
        removed += sweep_temporaries(folder)
    clips = root / CLIPS_DIR
    if clips.is_dir():
        for entry in clips.iterdir():
            if entry.is_dir() and not entry.name.startswith("."):
                removed += sweep_temporaries(entry)
    return removed


def _meta_of(root: Path) -> tuple[SplitRule, str, str | None]:
    info = read_info(root)
    return info.split_rule, info.license, info.name


def _read(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise UserError(f"{path}: not a readable parquet table ({e})") from None


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def rewrite_tables(
    root: str | Path,
    change: Callable[[pa.Table, Path], pa.Table],
    pixel_counts: Callable[[Path], pa.Table] | None = None,
) -> list[Path]:
    """The one way to change a packaged dataset's tables: all shards and meta/ switch at once.

    change(table, shard_path) → the shard's new table (the same object or an
    equal table when nothing changes; no rows drops the shard). Unchanged
    shards are carried into the new version by hard link. pixel_counts(stage)
    → a new meta/pixel_counts.parquet built from the new shards in `stage`
    (when rows or pixel columns changed). Returns the new paths of the
    shards that changed; nothing is written when none did.
    """
    root = Path(root)
    refresh_stale_meta(root)
    current = {s: shard_paths(root, s) for s in SPLITS}
    rule, license, name = _meta_of(root)
    stage = new_stage(root)
    try:
        changed: list[Path] = []
        kept: dict[str, list[tuple[Path, pa.Table | None]]] = {s: [] for s in SPLITS}
        for split, paths in current.items():
            for path in paths:
                old = _read(path)
                new = change(old, path)
                if new is old or new.equals(old, check_metadata=True):
                    kept[split].append((path, None))
                    continue
                changed.append(path)
                if new.num_rows:  # `datasets` reads no empty shards; the card lists the splits that remain
                    kept[split].append((path, new))
        if not changed:
            shutil.rmtree(stage)
            return []
        shards: dict[str, list[str]] = {}
        written: list[str] = []
        for split, items in kept.items():
            names = [shard_name(split, i, len(items)) for i in range(len(items))]
            for (path, table), fname in zip(items, names, strict=True):
                if table is None:
                    _link_or_copy(path, stage / fname)
                else:
                    write_parquet(table, stage / fname, like=path)
                    written.append(fname)
            shards[split] = names
        if not any(shards.values()):
            raise UserError(f"{root}: this change would leave the dataset without rows; nothing was written")
        counts = None if pixel_counts is None else pixel_counts(stage)
        info = publish(root, stage, shards, rule, license, name, counts)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return [root / DATA_DIR / str(info.tables_version) / n for n in written]


def refresh_stale_meta(root: str | Path) -> list[str]:
    """Rebuild what a killed run left disagreeing with the tables; returns what was rebuilt.

    Checks meta/info.json's counts and shard list against the shards it names,
    the card against info.json, and meta/pixel_counts.parquet's clips against
    the tables'. A folder that is not packaged yet is left alone.
    """
    root = Path(root)
    if not (root / INFO_PATH).is_file() or not shard_paths(root):
        return []
    info = read_info(root)
    paths = {s: shard_paths(root, s) for s in SPLITS}
    listed = {s: tuple(p.relative_to(root).as_posix() for p in ps) for s, ps in paths.items()}
    all_paths = [p for s in SPLITS for p in paths[s]]
    table = pa.concat_tables([pq.read_table(p, columns=list(SUMMARY_COLUMNS)) for p in all_paths])
    rebuilt: list[str] = []
    if info.counts != summarize(table) or dict(info.tables) != listed:
        rule, license, name = _meta_of(root)
        info = write_meta(root, listed, tables_version(root), rule, license, name)
        rebuilt += [INFO_PATH, CARD]
    else:
        card = root / CARD
        want = card_text(info)
        if not card.is_file() or card.read_text(encoding="utf-8") != want:
            write_text(card, want, durable=True)
            rebuilt.append(CARD)
    counts_path = root / PIXEL_COUNTS_PATH
    ids = table.column("clip_id").to_pylist()
    try:
        have = pq.read_table(counts_path, columns=["clip_id"]).column("clip_id").to_pylist()
    except (OSError, pa.ArrowException, KeyError):
        have = None
    if have is None or sorted(have) != sorted(ids):
        write_table(pixel_counts_from_tables(all_paths), counts_path)
        rebuilt.append(PIXEL_COUNTS_PATH)
    return rebuilt


PIXEL_COLUMNS = ("clip_id", "subjects", "fps", "frames", "width", "height", "visible_pixels", "silhouette_pixels")


def pixel_counts_from_tables(paths: Sequence[Path]) -> pa.Table:
    """meta/pixel_counts.parquet's table, built from shards (after rows or pixel columns changed)."""
    cols = list(PIXEL_COLUMNS)
    table = pa.concat_tables([pq.read_table(p, columns=cols) for p in paths])
    d = table.select(cols[:6]).to_pydict()
    vis = ragged_rows(table.column("visible_pixels"))
    sil_col = table.column("silhouette_pixels")
    sil = ragged_rows(sil_col)
    sil_ok = sil_col.is_valid().to_numpy(zero_copy_only=False) if table.num_rows else np.zeros(0, bool)
    rows = [
        {**{k: d[k][i] for k in cols[:6]}, "visible_pixels": vis[i], "silhouette_pixels": sil[i] if sil_ok[i] else None}
        for i in range(table.num_rows)
    ]
    frames = int(d["frames"][0]) if rows else 1
    return pixel_counts_table(rows, frames)


def stage_pixel_counts(stage: Path) -> pa.Table:
    """`rewrite_tables`' pixel_counts argument: the counts of every shard in the staging folder."""
    return pixel_counts_from_tables([p for s in SPLITS for p in sorted(stage.glob(shard_glob(s)))])
