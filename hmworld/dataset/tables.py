"""Where a packaged dataset keeps its tables, and reading them back.

    DATASET_DIR/README.md                    dataset card (YAML `configs` for `datasets`)
    DATASET_DIR/meta/info.json               format, conventions, counts, catalog snapshot;
                                             names the current tables version and its shards
    DATASET_DIR/meta/pixel_counts.parquet    measured pixels of every clip, for hmworld.events
    DATASET_DIR/meta/events.parquet          filter-events' results, one row per clip
    DATASET_DIR/data/<version>/{split}-NNNNN-of-MMMMM.parquet
    DATASET_DIR/clips/<clip_id>/...          the clip folders (hmworld.clip)

<version> is the content digest of the shards (see hmworld.dataset.versions);
datasets written before versions keep their shards directly in data/ and are
still read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.clip import CLIPS_DIR
from hmworld.dataset.splits import SPLITS
from hmworld.errors import UserError

__all__ = ["CLIPS_DIR"]  # re-exported: the dataset's path names in one place

DATA_DIR = "data"
META_DIR = "meta"
INFO_JSON = "info.json"
PIXEL_COUNTS = "pixel_counts.parquet"
CARD = "README.md"
EVENTS_TABLE = "events.parquet"


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def _info_or_none(root: Path) -> dict[str, Any] | None:
    try:
        with open(root / META_DIR / INFO_JSON, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def tables_version(root: str | Path) -> str | None:
    """The current tables version meta/info.json names (None: not packaged, or the flat older layout)."""
    info = _info_or_none(Path(root))
    version = None if info is None else info.get("tables_version")
    return version if isinstance(version, str) else None


def shard_paths(root: str | Path, split: str | None = None) -> list[Path]:
    """Parquet shards of one split (or all splits, train first), in order.

    The shards meta/info.json lists for its tables version; for a dataset of
    the flat older layout, data/{split}-*.parquet.
    """
    root = Path(root)
    splits = SPLITS if split is None else (split,)
    info = _info_or_none(root)
    listed = None
    if info is not None and isinstance(info.get("tables_version"), str):
        files = info.get("files")
        listed = files.get("tables") if isinstance(files, dict) else None
    out: list[Path] = []
    for s in splits:
        if isinstance(listed, dict):
            out += [root / p for p in listed.get(s, [])]
        else:
            out += sorted((root / DATA_DIR).glob(f"{s}-*.parquet"))
    return out


def require_dataset(root: str | Path) -> Path:
    """The dataset folder, or a UserError saying what is missing."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"dataset folder {str(root)!r} does not exist")
    if not shard_paths(root):
        raise UserError(f"{str(root)!r} has no parquet tables under {DATA_DIR}/; run `hmworld package {root}` first")
    return root


def check_split(split: str) -> str:
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


def read_info(root: str | Path) -> dict[str, Any]:
    path = Path(root) / META_DIR / INFO_JSON
    if not path.is_file():
        raise UserError(f"{path} is missing; run `hmworld package {root}`")
    with open(path, encoding="utf-8") as f:
        return json.load(f)
