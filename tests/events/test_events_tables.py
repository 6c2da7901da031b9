"""Events and parquet tables: update in place, the packager's pixel counts, a packaged dataset end to end."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from events_support import hmworld, make_shot, steps, write_clip, write_full_clip

from hmworld.clip import CLIP_JSON, read_clip
from hmworld.dataset import update_columns
from hmworld.dataset.event_tables import (
    EVENT_COLUMNS,
    events_table_path,
    read_events_table,
    update_tables,
)
from hmworld.dataset.filter_events import filter_events
from hmworld.dataset.pixel_counts import pixel_counts_path, table_box_px
from hmworld.dataset.tables import shard_paths
from hmworld.events import box_view, clip_events, read_events

T = 60


def results_for(root: Path, ids: list[str]) -> list:
    return [clip_events(read_clip(root / "clips" / c)) for c in ids]


# --------------------------------------------------------------------------- a packaged dataset


def packaged(root: Path, silhouettes: bool = True) -> None:
    """Four clips with real videos, packaged by hmworld.dataset (the real packager)."""
    pytest.importorskip("hmworld.dataset")
    from hmworld.dataset import package

    def sil(v):
        return v if silhouettes else None

    leave = steps(T, (0, 20, 30), (40, T, 30))
    pos = np.zeros((1, T, 3))
    pos[0, :, 0] = 6.0
    pos[0, :, 1] = np.concatenate(
        [np.linspace(0, 10, 20), np.full(20, 10.0), np.linspace(10, 0, 20)]
    )
    write_full_clip(
        root, make_shot("c1", frames=T, scene="meadow", camera="pan", pos=pos), leave, sil(leave)
    )
    write_full_clip(
        root,
        make_shot("c2", frames=T, scene="desert", camera="pan"),
        np.full(T, 30),
        sil(np.full(T, 30)),
    )
    write_full_clip(
        root, make_shot("c3", frames=T, scene="meadow", camera="orbit", pos=pos), leave, sil(leave)
    )
    two = np.stack([np.full(T, 30), leave])  # subject 1 leaves and comes back
    write_full_clip(
        root, make_shot("c4", frames=T, n=2, scene="desert", camera="orbit"), two, sil(two)
    )
    package(root)


def test_filter_events_on_a_packaged_dataset(tmp_path):
    packaged(tmp_path)
    info_before = json.loads((tmp_path / "meta" / "info.json").read_text())
    r = hmworld("filter-events", tmp_path, "--drop")
    assert r.returncode == 0, r.stderr
    assert "4 clips (0 from clip folders, 4 from meta/pixel_counts.parquet)" in r.stdout
    assert "kept 3, dropped 1" in r.stdout
    kept = ["c1", "c3", "c4"]
    data = pa.concat_tables([pq.read_table(p) for p in shard_paths(tmp_path)])
    assert sorted(data["clip_id"].to_pylist()) == kept and all(data["passed"].to_pylist())
    for row in data.select(["clip_id", "events", "pairs", "states"]).to_pylist():
        ev = read_events(tmp_path / "clips" / row["clip_id"])
        assert [e["frame"] for e in row["events"]] == [e.frame for e in ev.events]
        assert row["pairs"][0]["hidden_frames"] == 20
        assert np.array_equal(np.array(row["states"]), ev.states)
    assert sorted(pq.read_table(pixel_counts_path(tmp_path))["clip_id"].to_pylist()) == kept
    info = json.loads((tmp_path / "meta" / "info.json").read_text())
    assert info_before["counts"]["clips"] == 4
    assert (
        info["counts"]["clips"] == 3 and info["counts"]["passed"] == 3
    )  # the card follows the tables
    assert sorted(os.listdir(tmp_path / "clips")) == kept
    stats = read_events_table(events_table_path(tmp_path))
    assert stats["scene"].to_pylist() == ["meadow", "meadow", "desert"]
    assert stats["camera"].to_pylist() == ["pan", "orbit", "orbit"]


def test_table_and_clip_folders_give_the_same_answers(tmp_path):
    packaged(tmp_path / "packaged")
    shutil.copytree(tmp_path / "packaged" / "clips", tmp_path / "folders" / "clips")
    a = filter_events(tmp_path / "packaged")
    b = filter_events(tmp_path / "folders")
    assert (a.from_table, b.from_folders) == (4, 4)
    ta = read_events_table(events_table_path(tmp_path / "packaged"))
    tb = read_events_table(events_table_path(tmp_path / "folders"))
    assert ta.equals(tb)


def test_without_silhouettes_the_geometry_comes_from_the_tables(tmp_path):
    packaged(tmp_path, silhouettes=False)
    shots = {c: read_clip(tmp_path / "clips" / c).shot for c in ("c1", "c2", "c3", "c4")}
    px, found = table_box_px(tmp_path, list(shots), 2, T)
    assert found.all()
    for i, shot in enumerate(
        shots.values()
    ):  # the tables hold float32 poses: agree to a pixel or so
        np.testing.assert_allclose(px[i, : shot.n_subjects], box_view(shot)[1], rtol=1e-3, atol=0.5)
    for c in shots:  # the clip folders are not needed
        (tmp_path / "clips" / c / CLIP_JSON).unlink()
    s = filter_events(tmp_path)
    assert s.from_table == 4 and s.kept == ("c1", "c3")
    events = read_events_table(events_table_path(tmp_path))
    assert set(events["in_frame_source"].to_pylist()) == {"geometry"}


def test_a_clip_rendered_again_after_packaging_is_read_from_its_folder(tmp_path):
    packaged(tmp_path)
    os.utime(
        pixel_counts_path(tmp_path), (1_000_000, 1_000_000)
    )  # the table is older than every clip
    shot = make_shot("c2", frames=T, scene="desert", camera="pan")
    write_clip(
        tmp_path, shot, steps(T, (0, 10, 30), (30, T, 30)), steps(T, (0, 10, 30), (30, T, 30))
    )
    s = filter_events(tmp_path)
    assert s.from_folders == 4 and "c2" in s.kept


def test_bad_rows_in_the_pixel_counts_are_named(tmp_path):
    packaged(tmp_path)
    path = pixel_counts_path(tmp_path)
    table = pq.read_table(path)
    vis = table["visible"].to_pylist()
    vis[1][0][5] = -7
    i = table.schema.get_field_index("visible")
    pq.write_table(
        table.set_column(i, table.schema.field(i), pa.array(vis, table.schema.field(i).type)), path
    )
    r = hmworld("filter-events", tmp_path, "--keep-going")
    assert r.returncode == 2
    assert "error: clip c2: visible has negative values (in pixel_counts.parquet)" in r.stderr
    assert "3 clips" in r.stdout


def test_update_tables_keeps_every_other_column_and_datasets_reads_it(tmp_path):
    datasets = pytest.importorskip("datasets")
    packaged(tmp_path)
    before = pa.concat_tables([pq.read_table(p) for p in shard_paths(tmp_path)])
    old_files = shard_paths(tmp_path)
    results = results_for(tmp_path, ["c1", "c2"])
    flipped = pa.concat_tables([pq.read_table(p) for p in old_files])
    # mark c1 failed in the tables first, so the update has something to change
    update_columns(tmp_path, ["c1"], {"passed": [False], "n_pairs": [0]})
    changed = update_tables(tmp_path, results)
    assert changed and all(p.is_file() for p in changed)
    after = pa.concat_tables([pq.read_table(p) for p in shard_paths(tmp_path)])
    assert after.column_names == before.column_names and after.schema == flipped.schema
    for name in before.column_names:
        assert after[name].to_pylist() == before[name].to_pylist(), name
    back = datasets.load_dataset(str(tmp_path))
    rows = {r["clip_id"]: r for split in back.values() for r in split}
    assert rows["c1"]["passed"] and rows["c1"]["pairs"][0]["hidden_frames"] == 20
    assert update_tables(tmp_path, results) == []  # unchanged: not rewritten
    update_tables(tmp_path, [], drop_ids=["c2"])
    ids = pa.concat_tables([pq.read_table(p) for p in shard_paths(tmp_path)])["clip_id"].to_pylist()
    assert sorted(ids) == ["c1", "c3", "c4"]
    assert sorted(pq.read_table(pixel_counts_path(tmp_path))["clip_id"].to_pylist()) == ["c1", "c3", "c4"]


def test_rewritten_shards_keep_their_types_compression_and_row_groups(tmp_path):
    packaged(tmp_path)
    path = shard_paths(tmp_path)[0]
    old = pq.ParquetFile(path)
    types = old.schema_arrow
    groups, codec = old.metadata.num_row_groups, old.metadata.row_group(0).column(0).compression
    cid = old.read(columns=["clip_id"])["clip_id"][0].as_py()
    record = read_clip(tmp_path / "clips" / cid)
    ev = clip_events(record)
    flipped = dataclasses.replace(ev, passed=not ev.passed)
    (changed,) = update_tables(tmp_path, [flipped])
    new = pq.ParquetFile(changed)
    assert new.schema_arrow == types
    assert new.metadata.num_row_groups == groups and new.metadata.row_group(0).column(0).compression == codec
    assert new.read(columns=["passed"])["passed"][0].as_py() is (not ev.passed)
    assert set(EVENT_COLUMNS) <= set(new.schema_arrow.names)
