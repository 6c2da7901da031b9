"""Events and parquet tables: update in place, the packager's pixel counts, a packaged dataset end to end."""

from __future__ import annotations

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
from hmworld.dataset.event_tables import (
    EVENT_COLUMNS,
    events_table_path,
    read_events_table,
    update_tables,
)
from hmworld.events import box_view, clip_events, read_events
from hmworld.events.counts import pixel_counts_path, table_box_px
from hmworld.events.run import filter_events

T = 60


def results_for(root: Path, ids: list[str]) -> list:
    return [clip_events(read_clip(root / "clips" / c)) for c in ids]


def test_update_tables_keeps_every_other_column_and_datasets_reads_it(tmp_path):
    datasets = pytest.importorskip("datasets")
    for cid, vis in (("a", steps(T, (0, 20, 30), (40, T, 30))), ("b", np.full(T, 30))):
        write_clip(tmp_path, make_shot(cid, frames=T), vis, vis)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text("{}")
    (tmp_path / "data").mkdir()
    shard = tmp_path / "data" / "train-00000-of-00001.parquet"
    ds = datasets.Dataset.from_dict(
        {
            "clip_id": ["b", "a", "z"],
            "caption": ["B", "A", "Z"],
            "video_path": ["b.mp4", "a.mp4", "z.mp4"],
        }
    )
    ds.to_parquet(str(shard))
    changed = update_tables(tmp_path, results_for(tmp_path, ["a", "b"]))
    assert changed == [shard]
    back = datasets.load_dataset("parquet", data_files=str(shard), split="train")
    rows = {r["clip_id"]: r for r in back}
    assert [rows[c]["caption"] for c in "abz"] == ["A", "B", "Z"]
    assert rows["a"]["passed"] and rows["a"]["n_pairs"] == 1
    assert rows["a"]["pairs"] == [
        {"subject": 0, "exit_frame": 20, "entry_frame": 40, "hidden_frames": 20}
    ]
    assert rows["a"]["events"][0] == {
        "subject": 0,
        "kind": "exit",
        "frame": 20,
        "time_s": pytest.approx(20 / 15),
    }
    assert np.array(rows["a"]["states"]).shape == (1, T)
    assert (
        rows["z"]["passed"] is None and rows["z"]["events"] is None
    )  # no result for z: left empty
    assert (
        update_tables(tmp_path, results_for(tmp_path, ["a", "b"])) == []
    )  # unchanged: not rewritten
    update_tables(tmp_path, [], drop_ids=["z"])
    assert pq.read_table(shard)["clip_id"].to_pylist() == ["b", "a"]


def test_fixed_size_event_columns_keep_their_type_and_row_groups(tmp_path):
    write_clip(tmp_path, make_shot("a", frames=T), steps(T, (0, 20, 30), (40, T, 30)), None)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text("{}")
    (tmp_path / "data").mkdir()
    shard = tmp_path / "data" / "train.parquet"
    states_type = pa.list_(pa.list_(pa.int8(), T))
    old = pa.table(
        {
            "clip_id": pa.array(["a", "q", "r"]),
            "states": pa.array([[[1] * T], [[2] * T], [[0] * T]], states_type),
            "passed": pa.array([False, True, False]),
        }
    )
    pq.write_table(old, shard, compression="zstd", row_group_size=2)
    update_tables(tmp_path, results_for(tmp_path, ["a"]))
    pf = pq.ParquetFile(shard)
    new = pf.read()
    assert new.schema.field("states").type == states_type
    assert (
        pf.metadata.num_row_groups == 2 and pf.metadata.row_group(0).column(0).compression == "ZSTD"
    )
    assert new["states"][1].as_py() == [[2] * T] and new["passed"].to_pylist()[1:] == [True, False]
    assert set(EVENT_COLUMNS) <= set(new.column_names)


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
    data = pa.concat_tables(
        [pq.read_table(p) for p in sorted((tmp_path / "data").glob("*.parquet"))]
    )
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
