"""Every path in a packaged dataset folder, named once (as LeRobot names its path templates).

    DATASET_DIR/README.md                    CARD: dataset card (YAML `configs` for `datasets`)
    DATASET_DIR/meta/info.json               INFO_PATH: hmworld.dataset.info.DatasetInfo
    DATASET_DIR/meta/pixel_counts.parquet    PIXEL_COUNTS_PATH: measured pixels of every clip
    DATASET_DIR/meta/events.parquet          EVENTS_TABLE_PATH: filter-events' results, one row per clip
    DATASET_DIR/data/<version>/{split}-NNNNN-of-MMMMM.parquet     SHARD_TEMPLATE, VERSIONED_SHARD_GLOB
    DATASET_DIR/clips/<clip_id>/...          CLIP_FILES_TEMPLATE (file names: hmworld.clip)

Everything else imports these names; tests/test_layout_names.py checks that no
other module spells them out.
"""

from __future__ import annotations

from hmworld.clip import (
    CAPTION_JSON,
    CLIP_JSON,
    CLIPS_DIR,
    DEPTH_FILE,
    EVENTS_JSON,
    INSTANCES_FILE,
    VIDEO_FILE,
)

DATA_DIR = "data"
META_DIR = "meta"
INFO_JSON = "info.json"
PIXEL_COUNTS = "pixel_counts.parquet"
EVENTS_TABLE = "events.parquet"
CARD = "README.md"

INFO_PATH = f"{META_DIR}/{INFO_JSON}"
PIXEL_COUNTS_PATH = f"{META_DIR}/{PIXEL_COUNTS}"
EVENTS_TABLE_PATH = f"{META_DIR}/{EVENTS_TABLE}"
SHARD_TEMPLATE = "{split}-{index:05d}-of-{count:05d}.parquet"
CLIP_FILES_TEMPLATE = (
    f"{CLIPS_DIR}/<clip_id>/{{{VIDEO_FILE}, {INSTANCES_FILE}, {DEPTH_FILE}, {CLIP_JSON}, {EVENTS_JSON}, {CAPTION_JSON}}}"
)


def shard_name(split: str, index: int, count: int) -> str:
    """File name of shard `index` (from 0) of `count` of one split."""
    return SHARD_TEMPLATE.format(split=split, index=index, count=count)


def shard_glob(split: str) -> str:
    """Glob of one split's shards inside a tables folder."""
    return f"{split}-*.parquet"


__all__ = [
    "CARD",
    "CLIPS_DIR",
    "CLIP_FILES_TEMPLATE",
    "DATA_DIR",
    "EVENTS_TABLE",
    "EVENTS_TABLE_PATH",
    "INFO_JSON",
    "INFO_PATH",
    "META_DIR",
    "PIXEL_COUNTS",
    "PIXEL_COUNTS_PATH",
    "SHARD_TEMPLATE",
    "shard_glob",
    "shard_name",
]
