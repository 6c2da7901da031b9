"""Reading a packaged dataset's tables back (paths: hmworld.dataset.layout).

<version> is the content digest of the shards (see hmworld.dataset.versions);
datasets written before versions keep their shards directly in data/ and are
still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.dataset.info import read_info_or_none
from hmworld.dataset.layout import DATA_DIR, shard_glob
from hmworld.dataset.splits import SPLITS
from hmworld.errors import UserError
from hmworld.options import check_type


def tables_version(root: str | Path) -> str | None:
    """The current tables version meta/info.json names (None: not packaged, or the flat older layout)."""
    info = read_info_or_none(root)
    return None if info is None else info.tables_version


def shard_paths(root: str | Path, split: str | None = None) -> list[Path]:
    """Parquet shards of one split (or all splits, train first), in order.

    The shards meta/info.json lists for its tables version; for a dataset of
    the flat older layout, data/{split}-*.parquet.
    """
    root = Path(root)
    splits = SPLITS if split is None else (split,)
    info = read_info_or_none(root)
    versioned = info is not None and info.tables_version is not None
    out: list[Path] = []
    for s in splits:
        if versioned:
            out += [root / p for p in info.shard_paths(s)]
        else:
            out += sorted((root / DATA_DIR).glob(shard_glob(s)))
    return out


def require_dataset(root: str | Path) -> Path:
    """The dataset folder, or a UserError saying what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"dataset folder {str(root)!r} does not exist")
    if not shard_paths(root):
        raise UserError(f"{str(root)!r} has no parquet tables under {DATA_DIR}/; run `hmworld package {root}` first")
    return root


def check_split(split: object) -> str:
    """`split` when it is train or test: BadArgumentType for a non-string, UserError for another name."""
    check_type("split", split, str, "train or test")
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    return split


def read_split(root: str | Path, split: str, columns: Sequence[str] | None = None) -> pa.Table:
    """One split's rows (all shards), optionally only some columns."""
    check_split(split)
    paths = shard_paths(require_dataset(root), split)
    tables = [pq.read_table(p, columns=list(columns) if columns else None) for p in paths]
    return pa.concat_tables(tables) if tables else pa.table({})


def read_all(root: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Every split's rows, train first."""
    paths = shard_paths(require_dataset(root))
    return pa.concat_tables([pq.read_table(p, columns=list(columns) if columns else None) for p in paths])


def require_depth_column(root: str | Path, paths: Sequence[Path], then: str) -> None:
    """UserError when the shards `paths` predate the depth_path column (packaged before depth);
    `then` ends the advice to re-package ("to load depth, or use depth=False")."""
    if paths and "depth_path" not in pq.read_schema(paths[0]).names:
        raise UserError(f"{root}: packaged without depth (no depth_path column); re-package it {then}")


def clips_with_depth(root: str | Path, split: str) -> list[str]:
    """Ids of the `split` clips whose depth_path is set (their backend wrote depth.npz), in table order.

    For `ClipDataset(root, split, depth=True, clips=clips_with_depth(root, split))` on a dataset that
    also holds clips without depth (rendered with --no-depth, or by ue5). UserError for a dataset
    packaged before depth_path existed.
    """
    paths = shard_paths(require_dataset(root), check_split(split))
    require_depth_column(root, paths, "to select clips with depth")
    table = read_split(root, split, ["clip_id", "depth_path"])
    if not table.num_rows:
        return []
    ids, depth = table.column("clip_id").to_pylist(), table.column("depth_path").to_pylist()
    return [c for c, d in zip(ids, depth, strict=True) if d is not None]
