"""meta/info.json and the dataset card (README.md), both derived from the tables.

They are rebuilt from the parquet files whenever the tables change (package,
update_columns, drop_clips), so the counts they state are always the table's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmworld import __version__
from hmworld.atomic import write_text
from hmworld.catalog import catalog_json
from hmworld.dataset.info import DatasetInfo, Feature, write_info
from hmworld.dataset.layout import (
    CARD,
    CLIP_FILES_TEMPLATE,
    DATA_DIR,
    PIXEL_COUNTS_PATH,
    shard_glob,
)
from hmworld.dataset.schema import DATASET_FORMAT, MAX_SUBJECTS, columns
from hmworld.dataset.splits import SPLITS, SplitRule

SUMMARY_COLUMNS = (
    "clip_id", "split", "scene", "subjects", "subject_kinds", "backend", "n_pairs", "passed", "caption",
    "fps", "frames", "width", "height",
)

CONVENTIONS: dict[str, Any] = {
    "world": "right-handed, Z up, metres",
    "camera_pose": "camera_c2w: 4x4 camera-to-world; camera axes as OpenCV (x right, y down, z forward)",
    "intrinsics": "K in pixels at width x height; square pixels; principal point at the image centre",
    "pixels": "pixel (col i, row j) covers [i, i+1) x [j, j+1); its centre is (i + 0.5, j + 0.5)",
    "time": "frame t in [0, T); seconds t / fps",
    "subjects": "subject index 0..N-1 (N <= 3); instance id k is subject k-1, 0 is no subject",
    "angles": "radians; heading counter-clockwise about +Z from +X",
    "states": {"-1": "padding", "0": "out_of_frame", "1": "occluded", "2": "visible"},
    "unreal_engine": "a UE point (x, y, z) in cm, left-handed, is ours at (x, -y, z) / 100",
    "hydra_camera": (
        "hydra_cond_cam / hydra_tgt_cam: the clip split 75 + 75, each stream padded to 77 frames by "
        "repeating its first and last frame; poses relative to the first target frame; frames 0, 4, ..., 76; "
        "top 3x4 flattened row-major"
    ),
}


def summarize(table: pa.Table) -> dict[str, Any]:
    """Counts a user checks: clips per split, scenes, subjects, events, captions."""
    d = table.select(list(SUMMARY_COLUMNS)).to_pydict()
    n = table.num_rows
    subjects = Counter(s for row in d["subjects"] for s in row)
    kinds = Counter(k for row in d["subject_kinds"] for k in row)
    group = Counter(len(row) for row in d["subjects"])
    return {
        "clips": n,
        "splits": {s: int(sum(1 for x in d["split"] if x == s)) for s in SPLITS},
        "scenes": dict(sorted(Counter(d["scene"]).items())),
        "subjects": dict(sorted(subjects.items())),
        "subject_kinds": dict(sorted(kinds.items())),
        "subjects_per_clip": {str(k): int(group.get(k, 0)) for k in range(MAX_SUBJECTS + 1) if group.get(k, 0)},
        "backends": dict(sorted(Counter(d["backend"]).items())),
        "passed": int(sum(d["passed"])),
        "exit_entry_pairs": int(np.sum(d["n_pairs"], dtype=np.int64)) if n else 0,
        "captioned": int(sum(1 for c in d["caption"] if c)),
    }


def _uniform(table: pa.Table, name: str) -> int | None:
    values = set(table.column(name).to_pylist())
    return int(values.pop()) if len(values) == 1 else None


def info_json(
    table: pa.Table, shards: dict[str, list[str]], version: str | None, rule: SplitRule, license: str, name: str
) -> DatasetInfo:
    """meta/info.json of the tables `shards` (split → paths relative to the dataset) hold."""
    frames = _uniform(table, "frames") or 0
    return DatasetInfo(
        format_version=DATASET_FORMAT,
        hmworld_version=__version__,
        tables_version=version,
        name=name,
        license=license,
        fps=_uniform(table, "fps"),
        frames=frames,
        width=_uniform(table, "width"),
        height=_uniform(table, "height"),
        max_subjects=MAX_SUBJECTS,
        conventions=CONVENTIONS,
        split_rule=rule,
        counts=summarize(table),
        tables={s: tuple(shards.get(s, [])) for s in SPLITS},
        pixel_counts=PIXEL_COUNTS_PATH,
        clips=CLIP_FILES_TEMPLATE,
        features={c.name: Feature(str(c.type), c.shape, c.unit, c.description) for c in columns(frames or 1)},
        catalog=catalog_json(),
    )


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def card_text(info: DatasetInfo) -> str:
    """README.md: YAML front matter that points `datasets` at the parquet files, then the card."""
    c = info.counts
    name = info.name
    where = DATA_DIR if info.tables_version is None else f"{DATA_DIR}/{info.tables_version}"
    splits = "\n".join(
        f"  - split: {s}\n    path: {where}/{shard_glob(s)}" for s in SPLITS if info.tables[s]
    )
    yaml = (
        "---\n"
        f"license: {info.license}\n"
        f"pretty_name: {name}\n"
        "task_categories:\n- text-to-video\n- image-to-video\n"
        "tags:\n- world-model\n- video\n- synthetic\n- hybrid-memory\n- hmworld\n"
        f"size_categories:\n- {_size_category(c['clips'])}\n"
        "configs:\n- config_name: default\n  data_files:\n"
        f"{splits}\n"
        "---\n"
    )
    cols = "\n".join(
        f"| `{k}` | {v.shape or 'scalar'} | {v.unit or '-'} | {v.description} |"
        for k, v in info.features.items()
    )
    conv = "\n".join(
        f"- **{k}**: {v if isinstance(v, str) else ', '.join(f'{a} = {b}' for a, b in v.items())}"
        for k, v in info.conventions.items()
    )
    rule = info.split_rule
    res = f"{info.width}x{info.height}" if info.width else "mixed"
    scenes = ", ".join(f"{k} ({v})" for k, v in c["scenes"].items())
    return (
        f"{yaml}\n# {name}\n\n"
        "Synthetic videos for *hybrid memory* in video world models, made with "
        "the hmworld toolkit in the style of HM-World: a camera sweeps away from moving "
        "people and animals and back, so they leave the frame, keep moving unseen, and re-enter.\n\n"
        f"- clips: **{c['clips']}** (train {c['splits']['train']}, test {c['splits']['test']}); "
        f"{info.frames} frames at {info.fps} fps, {res}\n"
        f"- clips passing the exit-entry filter: {c['passed']}; exit-entry pairs: {c['exit_entry_pairs']}; "
        f"captioned: {c['captioned']}\n"
        f"- subjects per clip: {', '.join(f'{k}: {v}' for k, v in c['subjects_per_clip'].items())}; "
        f"kinds: {', '.join(f'{k}: {v}' for k, v in c['subject_kinds'].items())}\n"
        f"- scenes: {scenes}\n"
        f"- render backends: {', '.join(f'{k} ({v})' for k, v in c['backends'].items())}\n\n"
        "## Load it\n\n"
        "```python\n"
        "from datasets import load_dataset\n"
        "ds = load_dataset(\"path/to/this/folder\")      # train / test, one row per clip\n"
        "row = ds[\"train\"][0]; row[\"camera_c2w\"], row[\"events\"], row[\"video_path\"]\n\n"
        "from hmworld.dataset import ClipDataset          # PyTorch: decoded frames, masks, poses\n"
        "item = ClipDataset(\"path/to/this/folder\", \"train\", frames=16, size=(240, 416))[0]\n"
        "```\n\n"
        "`hmworld export --format hmworld` writes the official HM-World folder layout "
        "(sampleN/cond.mp4, tgt.mp4, masks, camera.json, ...) for the released HyDRA code.\n\n"
        "## Layout\n\n"
        "- `data/{train,test}-NNNNN-of-MMMMM.parquet`: the tables, one row per clip\n"
        "- `clips/<clip_id>/rgb.mp4`: H.264 video; `instances.npz`: ids uint8 [H,W] per frame, members "
        "`ids_00000` … (older clips: one `ids` [T,H,W]); "
        "`clip.json`: the shot (every-frame truth); `events.json`, `caption.json`\n"
        "- `meta/info.json`: format, conventions, units, counts, column descriptions, catalog snapshot\n"
        "- `meta/pixel_counts.parquet`: measured pixels of every clip (3 subject slots, 0-padded)\n\n"
        "Video paths in the table are relative to this folder; no video bytes are stored in the parquet files.\n\n"
        "## Conventions\n\n"
        f"{conv}\n\n"
        "## Columns\n\n"
        "T = frames per clip, N = subjects in the clip (1-3), E = events, P = exit-entry pairs.\n\n"
        "| column | shape | unit | meaning |\n| --- | --- | --- | --- |\n"
        f"{cols}\n\n"
        "## Splits\n\n"
        f"A clip is in **test** if its scene is held out ({', '.join(rule.test_scenes) or 'none'}), "
        f"if any of its subjects is held out ({', '.join(rule.test_subjects) or 'none'}), or if a hash of "
        f"its clip id with seed {rule.seed} falls below {rule.test_fraction}; otherwise in **train**. "
        "The rule depends on nothing but the clip, so it is deterministic.\n\n"
        "## Licence\n\n"
        f"Released under `{info.license}`. Scenes and subjects are procedural (hmworld catalog); "
        "check the licences of any third-party assets used by the render backend before redistributing.\n"
    )


def write_meta(
    root: str | Path,
    shards: dict[str, list[str]],
    version: str | None,
    rule: SplitRule,
    license: str,
    name: str | None = None,
) -> DatasetInfo:
    """Rebuild README.md and meta/info.json from the tables `shards` lists, each flushed to disk.

    info.json is written last: its rename is what switches hmworld's readers
    to these tables (see hmworld.dataset.versions).
    """
    root = Path(root)
    paths = [root / p for s in SPLITS for p in shards.get(s, [])]
    table = pa.concat_tables([pq.read_table(p, columns=list(SUMMARY_COLUMNS)) for p in paths])
    info = info_json(table, shards, version, rule, license, name or root.resolve().name)
    write_text(root / CARD, card_text(info), durable=True)
    write_info(root, info)
    return info
