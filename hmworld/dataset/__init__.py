"""The dataset stage: parquet tables + card + info.json, readers for `datasets`, PyTorch
and the official HM-World folder layout (both ways), and a validator.

`ClipDataset` needs torch and is imported on first use, so packaging works without it.
"""

from __future__ import annotations

from typing import Any

from hmworld.dataset.official_hmworld.exporter import export_hmworld
from hmworld.dataset.official_hmworld.importer import import_hmworld
from hmworld.dataset.splits import SplitRule, assign_split
from hmworld.dataset.tables import clips_with_depth
from hmworld.dataset.validate import validate
from hmworld.dataset.writer import PackageReport, drop_clips, package, refresh_meta, update_columns

__all__ = [
    "ClipDataset", "PackageReport", "SplitRule", "assign_split", "clips_with_depth", "drop_clips", "export_hmworld", "import_hmworld",
    "package", "refresh_meta", "update_columns", "validate",
]


def __getattr__(name: str) -> Any:
    if name == "ClipDataset":  # lazy: the loader needs torch (an optional extra), packaging does not
        from hmworld.dataset.loader import ClipDataset

        return ClipDataset
    raise AttributeError(f"module 'hmworld.dataset' has no attribute {name!r}")
