"""The dataset table: one row per clip, every column named, typed and explained once.

The column list here is the single source for the parquet schema, the
`datasets` features embedded in it, meta/info.json and the dataset card.
Per-frame values are fixed-size lists of length T (the dataset's frame count);
per-subject values are lists over the clip's N subjects (1..3).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

DATASET_FORMAT = 1
MAX_SUBJECTS = 3
HYDRA_SAMPLES = 20  # rows of HyDRA's [20, 12] camera tensor
HF_METADATA_KEY = b"huggingface"
# Content digests recorded by `package` (video, instances, depth); tables packaged before they existed lack them.
DIGEST_COLUMNS = ("video_sha256", "instances_sha256", "depth_sha256")
# Columns a format-1 table may lack (packaged before they existed): the digests and depth_path.
OPTIONAL_COLUMNS = (*DIGEST_COLUMNS, "depth_path")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    shape: str  # human-readable shape, e.g. "[T,4,4]" or "[N][T]"
    unit: str
    description: str


def _fsl(t: pa.DataType, *dims: int) -> pa.DataType:
    """Nested fixed-size lists, outermost dimension first: _fsl(f64, T, 4, 4)."""
    for d in reversed(dims):
        t = pa.list_(t, d)
    return t


def _per_subject(t: pa.DataType) -> pa.DataType:
    return pa.list_(t)


EVENT_TYPE = pa.struct(
    [("subject", pa.int32()), ("kind", pa.string()), ("frame", pa.int32()), ("time_s", pa.float64())]
)
PAIR_TYPE = pa.struct(
    [("subject", pa.int32()), ("exit_frame", pa.int32()), ("entry_frame", pa.int32()), ("hidden_frames", pa.int32())]
)


def columns(frames: int) -> tuple[Column, ...]:
    """Every column of a dataset whose clips have `frames` frames each."""
    T = frames
    f32, f64, i32 = pa.float32(), pa.float64(), pa.int32()
    s = pa.string()
    return (
        Column("clip_id", s, "", "", "unique clip id (the folder name under clips/)"),
        Column("split", s, "", "", "train or test (see meta/info.json 'split_rule')"),
        Column("scene", s, "", "", "scene id from the catalog"),
        Column("subjects", pa.list_(s), "[N]", "", "subject ids from the catalog, subject k is instance id k+1"),
        Column("subject_kinds", pa.list_(s), "[N]", "", "human, animal (or unknown for imported clips)"),
        Column("subject_paths", pa.list_(s), "[N]", "", "path id each subject walks"),
        Column("subject_gaits", pa.list_(s), "[N]", "", "gait each subject uses (walk, trot, run)"),
        Column("camera_trajectory", s, "", "", "camera trajectory id from the catalog"),
        Column("placement", i32, "", "", "initial camera position (catalog placement id)"),
        Column("seed", pa.int64(), "", "", "plan seed the clip was drawn with"),
        Column("backend", s, "", "", "render backend name (builtin, ue5, hmworld-import, ...)"),
        Column("backend_version", s, "", "", "render backend version"),
        Column("fps", i32, "", "1/s", "frames per second"),
        Column("frames", i32, "", "", "frames in the clip (T)"),
        Column("width", i32, "", "px", "video width"),
        Column("height", i32, "", "px", "video height"),
        Column("hfov_deg", f64, "", "deg", "horizontal field of view"),
        Column("video_path", s, "", "", "H.264 video, relative to the dataset folder"),
        Column("instances_path", s, "", "", "instances.npz (uint8 [H,W] subject ids, one member per frame `ids_00000`...; 0 none, k subject k-1), relative"),
        Column("depth_path", s, "", "", "depth.npz (float16 metres along the optical axis, one member per frame; +inf no surface), relative; null when the backend wrote no depth"),
        Column("video_sha256", s, "", "", "SHA-256 (hex) of the video file's bytes when the clip was packaged"),
        Column("instances_sha256", s, "", "", "SHA-256 (hex) of instances.npz's bytes when the clip was packaged"),
        Column("depth_sha256", s, "", "", "SHA-256 (hex) of depth.npz's bytes when the clip was packaged; null without depth"),
        Column("caption", s, "", "", "text caption ('' when the clip has none yet)"),
        Column("captioner", s, "", "", "what wrote the caption (template, minicpm-v, hmworld-import, '')"),
        Column("camera_c2w", _fsl(f64, T, 4, 4), "[T,4,4]", "m", "camera-to-world per frame: world right-handed Z up, camera axes OpenCV (x right, y down, z forward)"),
        Column("K", _fsl(f64, 3, 3), "[3,3]", "px", "pinhole intrinsics at width x height"),
        Column("hydra_cond_cam", _fsl(f32, HYDRA_SAMPLES, 12), "[20,12]", "m", "HyDRA context-stream camera: poses relative to the first target frame, every 4th of 77 frames, 3x4 row-major; null if T > 154"),
        Column("hydra_tgt_cam", _fsl(f32, HYDRA_SAMPLES, 12), "[20,12]", "m", "HyDRA target-stream camera, as hydra_cond_cam"),
        Column("subject_size", _per_subject(_fsl(f32, 3)), "[N][3]", "m", "body box length, width, height"),
        Column("subject_pos", _per_subject(_fsl(f32, T, 3)), "[N][T][3]", "m", "world position of the subject's root (on the ground)"),
        Column("subject_heading", _per_subject(_fsl(f32, T)), "[N][T]", "rad", "heading, counter-clockwise about +Z from +X"),
        Column("subject_speed", _per_subject(_fsl(f32, T)), "[N][T]", "m/s", "ground speed"),
        Column("subject_phase", _per_subject(_fsl(f32, T)), "[N][T]", "cycles", "gait phase, unwrapped (fractional part = point in the cycle)"),
        Column("subject_xy", _per_subject(_fsl(f32, T, 2)), "[N][T][2]", "px", "image position (col, row) of the body-box centre; NaN when behind the camera"),
        Column("subject_depth", _per_subject(_fsl(f32, T)), "[N][T]", "m", "depth of the body-box centre along the optical axis (negative: behind)"),
        Column("states", _per_subject(_fsl(pa.int8(), T)), "[N][T]", "", "0 out of frame, 1 occluded, 2 visible (after hysteresis, hmworld.events)"),
        Column("visible_pixels", _per_subject(_fsl(i32, T)), "[N][T]", "px", "pixels where the subject is the nearest surface (measured by the backend)"),
        Column("silhouette_pixels", _per_subject(_fsl(i32, T)), "[N][T]", "px", "pixels the subject covers when rendered alone; null when the backend cannot know"),
        Column("events", pa.list_(EVENT_TYPE), "[E]", "", "exit / entry / occluded / revealed events: subject, kind, frame, time_s"),
        Column("pairs", pa.list_(PAIR_TYPE), "[P]", "", "exit-entry pairs: subject, exit_frame, entry_frame, hidden_frames"),
        Column("n_pairs", i32, "", "", "number of exit-entry pairs"),
        Column("passed", pa.bool_(), "", "", "the clip passes the event filter (an exit followed by an entry)"),
    )


def column_names() -> tuple[str, ...]:
    return tuple(c.name for c in columns(1))


# --------------------------------------------------------------------------- `datasets` features


_VALUE_DTYPES = {
    pa.string(): "string",
    pa.bool_(): "bool",
    pa.int8(): "int8",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.binary(): "binary",
}


def hf_feature(t: pa.DataType) -> Any:
    """The `datasets` feature JSON for an arrow type.

    Written in the long-standing form (`Sequence` for lists of values, a JSON
    list for lists of structs) that `datasets` 2.x and every later version read,
    the newer ones as `List`.
    """
    if t in _VALUE_DTYPES:
        return {"dtype": _VALUE_DTYPES[t], "_type": "Value"}
    if pa.types.is_struct(t):
        return {t.field(i).name: hf_feature(t.field(i).type) for i in range(t.num_fields)}
    if pa.types.is_list(t) or pa.types.is_fixed_size_list(t):
        inner = t.value_type
        if pa.types.is_struct(inner):
            if pa.types.is_fixed_size_list(t):
                raise ValueError("fixed-size lists of structs have no `datasets` feature form")
            return [hf_feature(inner)]
        length = t.list_size if pa.types.is_fixed_size_list(t) else -1
        return {"feature": hf_feature(inner), "length": length, "_type": "Sequence"}
    raise ValueError(f"no `datasets` feature for arrow type {t}")


def table_schema(frames: int, present: Collection[str] | None = None) -> pa.Schema:
    """The parquet schema, with the `datasets` features embedded so types round-trip.

    present: the column names of an existing table; the OPTIONAL_COLUMNS it lacks
    (packaged before they existed) are left out, so such a table still matches.
    """
    cols = tuple(c for c in columns(frames)
                 if present is None or c.name in present or c.name not in OPTIONAL_COLUMNS)
    features = {c.name: hf_feature(c.type) for c in cols}
    meta = {
        HF_METADATA_KEY: json.dumps({"info": {"features": features}}).encode(),
        b"hmworld_dataset_format": str(DATASET_FORMAT).encode(),
    }
    return pa.schema([pa.field(c.name, c.type) for c in cols], metadata=meta)


def pixel_counts_schema(frames: int) -> pa.Schema:
    """meta/pixel_counts.parquet: measured pixels for every clip, 3 subject slots, 0-padded.

    silhouette is -1 throughout for a clip whose backend cannot measure it.
    """
    grid = _fsl(pa.int32(), MAX_SUBJECTS, frames)
    fields = [
        pa.field("clip_id", pa.string()),
        pa.field("n_subjects", pa.int8()),
        pa.field("fps", pa.int32()),
        pa.field("frames", pa.int32()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("visible", grid),
        pa.field("silhouette", grid),
    ]
    features = {f.name: hf_feature(f.type) for f in fields}
    meta = {HF_METADATA_KEY: json.dumps({"info": {"features": features}}).encode()}
    return pa.schema(fields, metadata=meta)
