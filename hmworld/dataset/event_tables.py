"""Event columns out, as parquet: meta/events.parquet and a packaged dataset's tables.

    meta/events.parquet  one row per clip, written by filter-events: clip_id,
                         scene, camera, fps, frames, n_subjects, in_frame_source
                         and the event columns (the source of `hmworld event-stats`)
    data/<version>/*.parquet  a packaged dataset's tables (with meta/info.json):
                         filter-events rewrites their event columns through
                         hmworld.dataset.versions (all shards and meta/ at once)

Event columns (the same names everywhere): states [N][T] int8; events
list<struct<subject, kind, frame, time_s>>; pairs list<struct<subject,
exit_frame, entry_frame, hidden_frames>>; n_pairs int32; passed bool. Written
into an existing table, values take that table's column types.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hmworld.atomic import atomic_path
from hmworld.dataset.layout import EVENTS_TABLE, META_DIR
from hmworld.dataset.pixel_counts import read_parquet
from hmworld.dataset.tables import shard_paths
from hmworld.dataset.versions import rewrite_tables, stage_pixel_counts
from hmworld.errors import UserError
from hmworld.events.counts import CountsBatch
from hmworld.events.detect import EVENT_KINDS, ClipEvents, EventArrays

EVENT_STRUCT = pa.struct(
    [
        ("subject", pa.int32()),
        ("kind", pa.string()),
        ("frame", pa.int32()),
        ("time_s", pa.float64()),
    ]
)
PAIR_STRUCT = pa.struct(
    [
        ("subject", pa.int32()),
        ("exit_frame", pa.int32()),
        ("entry_frame", pa.int32()),
        ("hidden_frames", pa.int32()),
    ]
)
EVENT_FIELDS = pa.schema(
    [
        ("states", pa.list_(pa.list_(pa.int8()))),
        ("events", pa.list_(EVENT_STRUCT)),
        ("pairs", pa.list_(PAIR_STRUCT)),
        ("n_pairs", pa.int32()),
        ("passed", pa.bool_()),
    ]
)
EVENT_COLUMNS = tuple(EVENT_FIELDS.names)
RESULTS_SCHEMA = pa.schema(
    [
        ("clip_id", pa.string()),
        ("scene", pa.string()),
        ("camera", pa.string()),
        ("fps", pa.int32()),
        ("frames", pa.int32()),
        ("n_subjects", pa.int32()),
        ("in_frame_source", pa.string()),
        *EVENT_FIELDS,
    ]
)


def events_table_path(dataset_dir: str | Path) -> Path:
    return Path(dataset_dir) / META_DIR / EVENTS_TABLE


# --------------------------------------------------------------------------- results tables


def _nested(
    values: np.ndarray, n_sub: np.ndarray, frames: np.ndarray, typ: pa.DataType
) -> pa.Array:
    """Padded [C,S,T] → list<list<typ>>: clip c holds n_sub[c] lists of frames[c] values."""
    _, s, t = values.shape
    valid = (np.arange(s)[None, :, None] < n_sub[:, None, None]) & (
        np.arange(t)[None, None, :] < frames[:, None, None]
    )
    inner_len = np.repeat(frames.astype(np.int64), n_sub.astype(np.int64))
    inner = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(inner_len)]), pa.int32()),
        pa.array(values[valid], typ),
    )
    return pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(n_sub.astype(np.int64))]), pa.int32()), inner
    )


def results_table(arrays: EventArrays, batch: CountsBatch) -> pa.Table:
    """One row per clip with the event columns, straight from the arrays (no Python per event)."""
    if arrays.n_clips != len(batch):
        raise ValueError(f"{arrays.n_clips} clips of events for {len(batch)} clips of counts")
    eo, po = arrays.event_offsets(), arrays.pair_offsets()
    kinds = pa.DictionaryArray.from_arrays(
        pa.array(arrays.event_kind.astype(np.int32)), pa.array(EVENT_KINDS)
    ).cast(pa.string())
    ev = pa.StructArray.from_arrays(
        [
            pa.array(arrays.event_subject, pa.int32()),
            kinds,
            pa.array(arrays.event_frame, pa.int32()),
            pa.array(arrays.event_time, pa.float64()),
        ],
        fields=list(EVENT_STRUCT),
    )
    pr = pa.StructArray.from_arrays(
        [
            pa.array(a, pa.int32())
            for a in (arrays.pair_subject, arrays.pair_exit, arrays.pair_entry, arrays.pair_hidden)
        ],
        fields=list(PAIR_STRUCT),
    )
    cols = {
        "clip_id": pa.array(batch.clip_ids, pa.string()),
        "scene": pa.array(batch.scene, pa.string()),
        "camera": pa.array(batch.camera, pa.string()),
        "fps": pa.array(batch.fps, pa.int32()),
        "frames": pa.array(batch.frames, pa.int32()),
        "n_subjects": pa.array(batch.n_subjects, pa.int32()),
        "in_frame_source": pa.array(batch.sources(), pa.string()),
        "states": _nested(arrays.states, batch.n_subjects, batch.frames, pa.int8()),
        "events": pa.ListArray.from_arrays(pa.array(eo, pa.int32()), ev),
        "pairs": pa.ListArray.from_arrays(pa.array(po, pa.int32()), pr),
        "n_pairs": pa.array(arrays.n_pairs, pa.int32()),
        "passed": pa.array(arrays.passed, pa.bool_()),
    }
    return pa.table(cols, schema=RESULTS_SCHEMA)


def table_from_clip_events(results: Sequence[ClipEvents]) -> pa.Table:
    """The same table from ClipEvents objects (for callers holding a few of them)."""
    rows = []
    for r in results:
        d = r.to_dict()
        rows.append({k: d[k] for k in RESULTS_SCHEMA.names})
    return pa.Table.from_pylist(rows, schema=RESULTS_SCHEMA)


def _as_table(results: pa.Table | Sequence[ClipEvents]) -> pa.Table:
    return results if isinstance(results, pa.Table) else table_from_clip_events(list(results))


def _not_in(column: pa.ChunkedArray | pa.Array, ids: Sequence[str] | pa.Array) -> pa.Array:
    value_set = (
        ids if isinstance(ids, (pa.Array, pa.ChunkedArray)) else pa.array(list(ids), pa.string())
    )
    return pc.invert(pc.is_in(column, value_set=value_set))


def merge_event_columns(
    table: pa.Table, results: pa.Table, drop_ids: Sequence[str] = (), where: str = ""
) -> pa.Table:
    """`table` without the rows of `drop_ids`, its event columns set from `results` by clip_id.

    Rows with no result keep their old values (null where the column is new);
    every other column stays as it is. Values take the table's column types
    (e.g. fixed-size frame lists); `where` names the file in errors.
    """
    if drop_ids:
        table = table.filter(_not_in(table["clip_id"], drop_ids))
    idx = pc.index_in(table["clip_id"], value_set=results["clip_id"])
    found = pc.is_valid(idx)
    for name in EVENT_COLUMNS:
        new = results[name].take(idx)
        pos = table.schema.get_field_index(name)
        if pos < 0:
            table = table.append_column(EVENT_FIELDS.field(name), new)
            continue
        old = table[name]
        try:
            cast = new.cast(old.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise UserError(
                f"{where or 'table'}: column {name} is {old.type}; the results do not fit it ({e})"
            ) from None
        table = table.set_column(pos, table.schema.field(name), pc.if_else(found, cast, old))
    return table


def _hf_features(schema: pa.Schema, names: Sequence[str]) -> dict[str, object]:
    """`datasets` feature dicts for columns this module added to a table `datasets` describes."""
    try:
        from datasets import Features
    except (
        ImportError
    ) as e:  # the metadata came from datasets-aware code; without it we cannot describe new columns
        raise UserError(
            "adding event columns to a `datasets` table needs it installed: pip install 'hmworld[datasets]'"
        ) from e
    return Features.from_arrow_schema(pa.schema([schema.field(n) for n in names])).to_dict()


def _keep_metadata(new: pa.Table, old: pa.Table) -> pa.Table:
    """The old file's schema metadata; `datasets`' features gain any column that is new."""
    meta = dict(old.schema.metadata or {})
    added = [n for n in new.column_names if n not in old.column_names]
    if added and meta.get(b"huggingface"):
        info = json.loads(meta[b"huggingface"])
        info.setdefault("info", {}).setdefault("features", {}).update(
            _hf_features(new.schema, added)
        )
        meta[b"huggingface"] = json.dumps(info).encode()
    return new.replace_schema_metadata(meta or None)


def update_tables(
    dataset_dir: str | Path, results: pa.Table | Sequence[ClipEvents], drop_ids: Sequence[str] = ()
) -> list[Path]:
    """Set the event columns of a packaged dataset's tables from `results`; all shards switch at once.

    Other columns, rows of other clips, compression, row-group size and schema
    metadata are kept; rows of `drop_ids` are removed (and the pixel counts
    rebuilt). Returns the shards that changed (their old paths); [] when the
    folder is not a packaged dataset.
    """
    if not shard_paths(dataset_dir):
        return []
    res = _as_table(results)

    def change(table: pa.Table, path: Path) -> pa.Table:
        if "clip_id" not in table.column_names:
            raise UserError(f"{path}: has no clip_id column; cannot match clips to its rows")
        new = _keep_metadata(merge_event_columns(table, res, drop_ids, where=str(path)), table)
        return table if new.equals(table, check_metadata=True) else new

    return rewrite_tables(dataset_dir, change, stage_pixel_counts if drop_ids else None)


def write_events_table(
    dataset_dir: str | Path, results: pa.Table, drop_ids: Sequence[str] = ()
) -> Path:
    """meta/events.parquet: this run's rows replace earlier ones; rows of clips not run stay."""
    path = events_table_path(dataset_dir)
    if drop_ids:
        results = results.filter(_not_in(results["clip_id"], drop_ids))
    if path.is_file():
        old = read_parquet(path)
        if old.schema.remove_metadata().equals(RESULTS_SCHEMA):
            keep = old.filter(_not_in(old["clip_id"], results["clip_id"]))
            if drop_ids:
                keep = keep.filter(_not_in(keep["clip_id"], drop_ids))
            if len(keep):
                results = pa.concat_tables([keep, results])
        # a table of another layout is from an older format: this run replaces it
    results = results.take(pc.sort_indices(results, [("clip_id", "ascending")]))
    if path.is_file() and read_parquet(path).equals(results):
        return path
    with atomic_path(path, durable=True) as tmp:
        pq.write_table(results, tmp)
    return path


def read_events_table(path: str | Path) -> pa.Table:
    """meta/events.parquet, checked to be what `write_events_table` writes."""
    path = Path(path)
    table = read_parquet(path)
    missing = [n for n in RESULTS_SCHEMA.names if n not in table.column_names]
    if missing:
        raise UserError(
            f"{path}: missing columns {', '.join(missing)}; run `hmworld filter-events` again"
        )
    return table.select(RESULTS_SCHEMA.names).cast(RESULTS_SCHEMA)
