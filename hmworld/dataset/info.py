"""meta/info.json as a typed record: read and written here and nowhere else.

`DatasetInfo` is what a program reads about a packaged dataset: the format,
the clip settings (fps, frames, resolution; None where clips differ), the
conventions, the split rule, the counts, the files (each split's shards, the
pixel-counts table, the clip folder template) and every column's Arrow type,
shape and unit, as LeRobot's meta/info.json names every feature and path.
`to_dict` gives the JSON exactly as written (key order included), so
`from_dict(json.load(f)).to_dict()` writes the same bytes back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hmworld.atomic import write_json
from hmworld.dataset.layout import INFO_JSON, META_DIR
from hmworld.dataset.splits import SPLITS, SplitRule
from hmworld.errors import UserError

INFO_FORMAT = "hmworld-dataset"


@dataclass(frozen=True)
class Feature:
    """One table column: Arrow type (as pyarrow prints it), shape ("[T,4,4]", "[N][T]", "" for a scalar), unit."""

    arrow_type: str
    shape: str
    unit: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return {"arrow_type": self.arrow_type, "shape": self.shape, "unit": self.unit, "description": self.description}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Feature:
        return cls(str(d["arrow_type"]), str(d["shape"]), str(d["unit"]), str(d["description"]))


@dataclass(frozen=True)
class DatasetInfo:
    """meta/info.json of a packaged dataset (see docs/FORMAT.md).

    tables: split → shard paths relative to the dataset folder (every split in
    SPLITS, possibly empty). pixel_counts: the pixel-counts table's path;
    clips: the clip folder template. tables_version: None for the flat layout
    written before versions. Raises ValueError for a record that cannot be one.
    """

    format_version: int
    hmworld_version: str
    tables_version: str | None
    name: str
    license: str
    fps: int | None
    frames: int
    width: int | None
    height: int | None
    max_subjects: int
    conventions: Mapping[str, Any]
    split_rule: SplitRule
    counts: Mapping[str, Any]
    tables: Mapping[str, tuple[str, ...]]
    pixel_counts: str
    clips: str
    features: Mapping[str, Feature]
    catalog: Mapping[str, Any]

    def __post_init__(self) -> None:
        if tuple(self.tables) != SPLITS:
            raise ValueError(f"files.tables must name the splits {list(SPLITS)}, got {list(self.tables)}")
        for key in ("fps", "width", "height"):
            v = getattr(self, key)
            if v is not None and (not isinstance(v, int) or v <= 0):
                raise ValueError(f"{key} must be a positive integer or null, got {v!r}")
        if not isinstance(self.frames, int) or self.frames < 0:
            raise ValueError(f"frames must be an integer >= 0 (0: clips differ), got {self.frames!r}")
        if self.max_subjects <= 0:
            raise ValueError(f"max_subjects must be positive, got {self.max_subjects}")

    def shard_paths(self, split: str) -> tuple[str, ...]:
        """One split's shards, relative to the dataset folder."""
        return self.tables[split]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in the order meta/info.json has them."""
        return {
            "format": INFO_FORMAT,
            "format_version": self.format_version,
            "hmworld_version": self.hmworld_version,
            "tables_version": self.tables_version,
            "name": self.name,
            "license": self.license,
            "fps": self.fps,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "max_subjects": self.max_subjects,
            "conventions": self.conventions,
            "split_rule": self.split_rule.to_dict(),
            "counts": self.counts,
            "files": {
                "tables": {s: list(self.tables[s]) for s in SPLITS},
                "pixel_counts": self.pixel_counts,
                "clips": self.clips,
            },
            "features": {k: f.to_dict() for k, f in self.features.items()},
            "catalog": self.catalog,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetInfo:
        """Inverse of to_dict; KeyError, TypeError or ValueError for an object that is not one."""
        if d.get("format") != INFO_FORMAT:
            raise ValueError(f"format is {d.get('format')!r}, expected {INFO_FORMAT!r}")
        files = d["files"]
        return cls(
            format_version=int(d["format_version"]),
            hmworld_version=str(d["hmworld_version"]),
            tables_version=d.get("tables_version"),  # absent in the flat older layout
            name=str(d["name"]),
            license=str(d["license"]),
            fps=d["fps"],
            frames=d["frames"],
            width=d["width"],
            height=d["height"],
            max_subjects=int(d["max_subjects"]),
            conventions=d["conventions"],
            split_rule=SplitRule.from_dict(d["split_rule"]),
            counts=d["counts"],
            tables={s: tuple(v) for s, v in files["tables"].items()},
            pixel_counts=str(files["pixel_counts"]),
            clips=str(files["clips"]),
            features={k: Feature.from_dict(f) for k, f in d["features"].items()},
            catalog=d["catalog"],
        )


def info_path(root: str | Path) -> Path:
    return Path(root) / META_DIR / INFO_JSON


def read_info_or_none(root: str | Path) -> DatasetInfo | None:
    """meta/info.json, or None when it is missing, unreadable or not an hmworld info file."""
    try:
        with open(info_path(root), encoding="utf-8") as f:
            return DatasetInfo.from_dict(json.load(f))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_info(root: str | Path) -> DatasetInfo:
    """meta/info.json; UserError naming the file when it is missing or not an hmworld info file."""
    path = info_path(root)
    if not path.is_file():
        raise UserError(f"{path} is missing; run `hmworld package {root}`")
    try:
        with open(path, encoding="utf-8") as f:
            return DatasetInfo.from_dict(json.load(f))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserError(
            f"{path}: not an info file written by `hmworld package` ({type(e).__name__}: {e}); "
            f"run `hmworld package {root}` again"
        ) from None


def write_info(root: str | Path, info: DatasetInfo) -> None:
    """Write meta/info.json atomically and durably (its rename switches readers to new tables)."""
    write_json(info_path(root), info.to_dict(), durable=True)
