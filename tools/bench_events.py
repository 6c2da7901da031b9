"""Benchmark `hmworld filter-events` at HM-World scale on synthetic pixel counts.

Headline run: a dataset folder holding meta/pixel_counts.parquet in the
packager's format (hmworld.dataset.schema.pixel_counts_schema) with C clips ×
3 subject slots × 150 frames of plausible counts (subjects leave and re-enter,
pass behind things, flicker at the border; 1–3 subjects per clip). Timed: the
real `filter_events` call — read the counts table, states and events for all
clips as arrays, write meta/events.parquet. Building the input is not timed.

Options measure the other writes of a real run separately:
  --json-files N   writing N clips/<id>/events.json files (clip folders)
  --data-rows N    rewriting the event columns of packaged data tables of N rows
                   in the full dataset schema (float columns random, so they
                   compress like real ones) — parquet rewrites whole files

    .venv/bin/python tools/bench_events.py [--clips 59225] [--json-files 0] [--data-rows 0]

Last line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.dataset.event_tables import read_events_table, update_tables
from hmworld.dataset.filter_events import filter_events
from hmworld.dataset.pixel_counts import pixel_counts_path, read_pixel_counts
from hmworld.dataset.schema import pixel_counts_schema, table_schema
from hmworld.events import EventParams, batch_events, clip_results, write_events

WIDTH, HEIGHT, FPS, FRAMES, SLOTS = 416, 240, 15, 150, 3


def synthetic_counts(clips: int, seed: int = 0) -> tuple[pa.Table, np.ndarray]:
    """(pixel counts table like the packager writes, n_subjects [C]), built with array operations."""
    rng = np.random.default_rng(seed)
    c, s, t = clips, SLOTS, FRAMES
    n_sub = rng.integers(1, 4, c)
    frame = np.arange(t)[None, None, :]
    size = rng.integers(40, 4000, (c, s, 1))
    leave = rng.integers(10, 100, (c, s, 1))
    back = leave + rng.integers(0, 90, (c, s, 1))
    out = (frame >= leave) & (frame < back)
    flick = (frame == leave - 2) & (rng.random((c, s, 1)) < 0.3)  # a 1-frame dip at the border
    occ0 = rng.integers(0, t, (c, s, 1))
    occ = (
        (frame >= occ0)
        & (frame < occ0 + rng.integers(0, 25, (c, s, 1)))
        & (rng.random((c, s, 1)) < 0.4)
    )
    sil = np.where(out, 0, size)
    vis = np.minimum(np.where(occ | flick, size // 200, sil), sil)
    pad = np.arange(s)[None, :, None] >= n_sub[:, None, None]
    vis = np.where(pad, 0, vis).astype(np.int32)
    sil = np.where(pad, 0, sil).astype(np.int32)
    schema = pixel_counts_schema(t)

    def grid(a: np.ndarray) -> pa.Array:
        inner = pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1)), t)
        return pa.FixedSizeListArray.from_arrays(inner, s)

    cols = {
        "clip_id": pa.array([f"c{i:06d}" for i in range(c)]),
        "n_subjects": pa.array(n_sub.astype(np.int8)),
        "fps": pa.array(np.full(c, FPS, np.int32)),
        "frames": pa.array(np.full(c, t, np.int32)),
        "width": pa.array(np.full(c, WIDTH, np.int32)),
        "height": pa.array(np.full(c, HEIGHT, np.int32)),
        "visible": grid(vis),
        "silhouette": grid(sil),
    }
    return pa.Table.from_arrays([cols[f.name].cast(f.type) for f in schema], schema=schema), n_sub


def _filled(
    t: pa.DataType, n: int, n_sub: np.ndarray, rng: np.random.Generator, top: bool
) -> pa.Array:
    """An arrow array of type t and n rows of plausible filler (random floats, short strings)."""
    if pa.types.is_fixed_size_list(t):
        return pa.FixedSizeListArray.from_arrays(
            _filled(t.value_type, n * t.list_size, n_sub, rng, False), t.list_size
        )
    if pa.types.is_list(t):
        counts = n_sub if top else np.zeros(n, np.int64)
        if pa.types.is_struct(t.value_type):
            counts = np.zeros(n, np.int64)  # events and pairs start empty: filter-events fills them
        offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
        return pa.ListArray.from_arrays(
            offsets, _filled(t.value_type, int(counts.sum()), n_sub, rng, False)
        )
    if pa.types.is_struct(t):
        return pa.StructArray.from_arrays(
            [_filled(f.type, n, n_sub, rng, False) for f in t], fields=list(t)
        )
    if pa.types.is_floating(t):
        return pa.array(rng.standard_normal(n).astype(t.to_pandas_dtype()))
    if pa.types.is_integer(t):
        return pa.array(rng.integers(0, 100, n).astype(t.to_pandas_dtype()))
    if pa.types.is_boolean(t):
        return pa.array(np.zeros(n, bool))
    return pa.array([f"s{i % 97}" for i in range(n)], t)


def synthetic_data_table(ids: list[str], n_sub: np.ndarray, seed: int = 1) -> pa.Table:
    """Rows in the real dataset schema (hmworld.dataset.schema.table_schema)."""
    rng = np.random.default_rng(seed)
    schema = table_schema(FRAMES)
    cols = []
    for f in schema:
        if f.name == "clip_id":
            cols.append(pa.array(ids))
        elif f.name in ("frames", "fps", "width", "height"):
            cols.append(
                pa.array(
                    np.full(
                        len(ids),
                        {"frames": FRAMES, "fps": FPS, "width": WIDTH, "height": HEIGHT}[f.name],
                        np.int32,
                    )
                )
            )
        else:
            cols.append(_filled(f.type, len(ids), n_sub, rng, True).cast(f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=59_225)
    ap.add_argument(
        "--repeat", type=int, default=3, help="timed runs of filter_events; the best is reported"
    )
    ap.add_argument(
        "--json-files", type=int, default=0, help="also time writing this many events.json files"
    )
    ap.add_argument(
        "--data-rows",
        type=int,
        default=0,
        help="also time updating packaged data tables of this many rows",
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_events_"))
    figures: dict[str, object] = {"clips": args.clips}
    try:
        t0 = time.perf_counter()
        table, n_sub = synthetic_counts(args.clips)
        path = pixel_counts_path(work)
        path.parent.mkdir(parents=True)
        pq.write_table(table, path, compression="zstd")
        print(
            f"setup: {args.clips} clips × {SLOTS} × {FRAMES} synthetic counts, "
            f"{path.stat().st_size / 1e6:.1f} MB parquet, {time.perf_counter() - t0:.1f} s"
        )
        times = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            summary = filter_events(work, EventParams())
            times.append(time.perf_counter() - t0)
            print(
                f"run {i + 1}: filter_events {times[-1]:.2f} s (read counts, states + events, write meta/events.parquet)"
            )
        s = summary.stats
        print(
            f"kept {s.kept} / {s.clips} ({100 * s.kept_fraction:.1f}%), {s.pairs} exit–entry pairs, events {dict(s.events)}"
        )
        t0 = time.perf_counter()
        results = read_events_table(work / "meta" / "events.parquet")
        print(f"reading meta/events.parquet back: {time.perf_counter() - t0:.2f} s")
        figures["seconds"] = round(min(times), 3)
        figures["frames"], figures["subject_slots"] = FRAMES, SLOTS

        if args.json_files:
            n = min(args.json_files, args.clips)
            batch, _ = read_pixel_counts(path)
            batch = batch.subset(np.arange(len(batch)) < n)
            params = EventParams()
            arrays = batch_events(batch, params)
            dirs = [work / "clips" / cid for cid in batch.clip_ids]
            for d in dirs:
                d.mkdir(parents=True)
            t0 = time.perf_counter()
            per_clip = clip_results(arrays, batch, params)
            for d, r in zip(dirs, per_clip, strict=True):
                write_events(d, r)
            dt = time.perf_counter() - t0
            print(f"writing {n} events.json files: {dt:.2f} s ({1e3 * dt / n:.3f} ms each)")
            figures["events_json_files"], figures["events_json_seconds"] = n, round(dt, 3)

        if args.data_rows:
            n = min(args.data_rows, args.clips)
            t0 = time.perf_counter()
            data = synthetic_data_table(results["clip_id"].to_pylist()[:n], n_sub[:n])
            (work / "data").mkdir()
            shard = work / "data" / "train-00000-of-00001.parquet"
            pq.write_table(data, shard, compression="zstd", row_group_size=32)
            (work / "meta" / "info.json").write_text("{}")
            size = shard.stat().st_size
            print(
                f"setup: data table of {n} rows in the dataset schema, {size / 1e6:.0f} MB, {time.perf_counter() - t0:.1f} s"
            )
            t0 = time.perf_counter()
            update_tables(work, results.slice(0, n))
            dt = time.perf_counter() - t0
            per_clip_s = dt / n
            print(
                f"updating the event columns of {n} data rows: {dt:.2f} s "
                f"(→ about {per_clip_s * args.clips:.0f} s for {args.clips} clips, {size / n * args.clips / 1e9:.1f} GB of tables)"
            )
            figures["data_rows"], figures["data_rows_seconds"] = n, round(dt, 3)
        print(json.dumps(figures))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
