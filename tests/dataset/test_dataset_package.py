"""`hmworld package`: what `datasets.load_dataset` gives back matches the clip folders."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from dataset_support import RULE, make_shots, write_clip

from hmworld.clip import list_clip_dirs, read_clip
from hmworld.dataset import SplitRule, drop_clips, package, update_columns
from hmworld.dataset.info import DatasetInfo, read_info
from hmworld.dataset.tables import shard_paths
from hmworld.errors import UserError
from hmworld.events import Event, read_events
from hmworld.geometry import hydra_camera_tensor, project, split_streams

datasets = pytest.importorskip("datasets")


def same(a: object, b: object) -> bool:
    """Equal, NaN included (subjects behind the camera have NaN image positions)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def load(root: Path, tmp_path: Path):
    return datasets.load_dataset(str(root), cache_dir=str(tmp_path / "hf-cache"))


def test_load_dataset_rows_match_clip_folders(packaged: Path, tmp_path: Path) -> None:
    ds = load(packaged, tmp_path)  # python values: the numpy format would round floats to float32
    assert set(ds.keys()) == {"train", "test"}
    rows = {r["clip_id"]: r for split in ds.values() for r in split}
    clips = list_clip_dirs(packaged)
    assert sorted(rows) == [c.name for c in clips]
    for folder in clips:
        rec = read_clip(folder)
        shot, row = rec.shot, rows[folder.name]
        assert row["split"] == ("test" if shot.scene == "village_square" else "train")
        assert row["scene"] == shot.scene and list(row["subjects"]) == list(shot.subjects)
        assert row["camera_trajectory"] == shot.camera and row["placement"] == shot.placement
        assert (row["fps"], row["frames"], row["width"], row["height"]) == (15, 30, 64, 48)
        np.testing.assert_array_equal(np.array(row["camera_c2w"]), shot.c2w)  # float64, exact
        np.testing.assert_array_equal(np.array(row["K"]), shot.K)
        np.testing.assert_allclose(np.array(row["subject_pos"]), shot.subject_pos, atol=1e-5)
        np.testing.assert_allclose(np.array(row["subject_heading"]), shot.subject_heading, atol=1e-6)
        np.testing.assert_array_equal(np.array(row["visible_pixels"]), rec.measured.visible_pixels)
        np.testing.assert_array_equal(np.array(row["silhouette_pixels"]), rec.measured.silhouette_pixels)
        assert (packaged / row["video_path"]).is_file() and (packaged / row["instances_path"]).is_file()
        caption = json.loads((folder / "caption.json").read_text())["caption"]
        assert row["caption"] == caption and row["captioner"] == "test"
        ev = read_events(folder)
        if ev is not None:  # written by filter-events for half the clips; computed for the others
            np.testing.assert_array_equal(np.array(row["states"]), ev.states)
            assert [Event(int(e["subject"]), e["kind"], int(e["frame"]), float(e["time_s"])) for e in row["events"]] == list(ev.events)
            assert row["n_pairs"] == len(ev.pairs) and bool(row["passed"]) == ev.passed
        assert row["n_pairs"] == len(row["pairs"])
        # the image position of each subject is the projection of its body centre (NaN behind the camera)
        proj = project(np.swapaxes(shot.subject_centers(), 0, 1), shot.c2w, shot.K)
        want = np.where(proj.in_front[..., None], proj.uv, np.nan)
        np.testing.assert_allclose(np.array(row["subject_xy"], dtype=float), np.swapaxes(want, 0, 1), atol=1e-3)
        cond, tgt = hydra_camera_tensor(*split_streams(shot.c2w))
        np.testing.assert_allclose(row["hydra_cond_cam"], cond, atol=1e-5)
        np.testing.assert_allclose(row["hydra_tgt_cam"], tgt, atol=1e-5)


def test_types_round_trip_through_embedded_features(packaged: Path, tmp_path: Path) -> None:
    f = load(packaged, tmp_path)["train"].features
    assert f["camera_c2w"].length == 30 and f["camera_c2w"].feature.length == 4
    assert f["states"].feature.feature.dtype == "int8"
    assert f["events"].feature["kind"].dtype == "string"
    assert f["passed"].dtype == "bool"
    meta = pq.read_schema(shard_paths(packaged, "train")[0]).metadata
    assert b"huggingface" in meta


def test_info_json_is_a_typed_record_written_back_byte_for_byte(fresh: Path) -> None:
    path = fresh / "meta" / "info.json"
    info = read_info(fresh)
    assert (info.frames, info.fps, info.width, info.height) == (30, 15, 64, 48)
    assert info.split_rule.test_scenes == ("village_square",)
    assert info.features["camera_c2w"].shape == "[T,4,4]" and info.features["camera_c2w"].unit
    assert [fresh / p for s in ("train", "test") for p in info.shard_paths(s)] == shard_paths(fresh)
    assert info.clips == "clips/<clip_id>/{rgb.mp4, instances.npz, depth.npz, clip.json, events.json, caption.json}"
    assert json.dumps(DatasetInfo.from_dict(json.loads(path.read_text())).to_dict(), indent=1) + "\n" == path.read_text()
    with pytest.raises(ValueError, match="splits"):
        DatasetInfo.from_dict({**info.to_dict(), "files": {**info.to_dict()["files"], "tables": {"train": []}}})
    path.write_text(json.dumps({**info.to_dict(), "format": "something-else"}))
    with pytest.raises(UserError, match="not an info file written by `hmworld package`"):
        read_info(fresh)


def test_card_info_and_pixel_counts(packaged: Path) -> None:
    card = (packaged / "README.md").read_text()
    info = json.loads((packaged / "meta" / "info.json").read_text())
    version = info["tables_version"]
    assert re.fullmatch(r"[0-9a-f]{16}", version)
    assert "configs:" in card and f"path: data/{version}/train-*.parquet" in card and "license: apache-2.0" in card
    for col in ("camera_c2w", "subject_xy", "events", "passed"):
        assert f"`{col}`" in card
    info = json.loads((packaged / "meta" / "info.json").read_text())
    assert info["frames"] == 30 and info["fps"] == 15 and (info["width"], info["height"]) == (64, 48)
    assert info["counts"]["clips"] == 6 and sum(info["counts"]["splits"].values()) == 6
    assert info["split_rule"]["test_scenes"] == ["village_square"]
    assert len(info["catalog"]["scenes"]) == 17 and "camera_c2w" in info["features"]
    # shards of 2 rows: 4 train clips → 2 shards, 2 test clips → 1
    assert [p.name for p in shard_paths(packaged)] == [
        "train-00000-of-00002.parquet", "train-00001-of-00002.parquet", "test-00000-of-00001.parquet"]
    pc = pq.read_table(packaged / "meta" / "pixel_counts.parquet").to_pylist()
    by_id = {r["clip_id"]: r for r in pc}
    for folder in list_clip_dirs(packaged):
        rec = read_clip(folder)
        n = rec.shot.n_subjects
        vis = np.array(by_id[folder.name]["visible"])
        assert vis.shape == (3, 30) and by_id[folder.name]["n_subjects"] == n
        np.testing.assert_array_equal(vis[:n], rec.measured.visible_pixels)
        assert not vis[n:].any()


def test_split_does_not_depend_on_other_clips(packaged: Path, tmp_path: Path) -> None:
    one = tmp_path / "one"
    folder = list_clip_dirs(packaged)[0]
    shutil.copytree(folder, one / "clips" / folder.name)
    package(one, RULE)
    both = {r["clip_id"]: r["split"] for p in shard_paths(packaged) for r in pq.read_table(p, columns=["clip_id", "split"]).to_pylist()}
    mine = [r for p in shard_paths(one) for r in pq.read_table(p, columns=["clip_id", "split"]).to_pylist()]
    assert mine == [{"clip_id": folder.name, "split": both[folder.name]}]


def test_empty_split_still_loads(packaged: Path, tmp_path: Path) -> None:
    root = tmp_path / "alltrain"
    shutil.copytree(packaged / "clips", root / "clips")
    report = package(root, SplitRule((), (), 0.0))
    assert report.clips == {"train": 6, "test": 0}
    assert "warning: the test split is empty" in report.format()
    assert not shard_paths(root, "test")
    ds = load(root, tmp_path)  # `datasets` has no empty splits: the card lists train only
    assert list(ds) == ["train"] and ds["train"].num_rows == 6


def test_corrupt_video_refuses_and_writes_nothing(fresh: Path) -> None:
    before = {p.name: p.read_bytes() for p in shard_paths(fresh)}
    victim = list_clip_dirs(fresh)[1]
    data = (victim / "rgb.mp4").read_bytes()
    (victim / "rgb.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(UserError, match=rf"{victim.name}/rgb.mp4.*--keep-going"):
        package(fresh, RULE)
    assert {p.name: p.read_bytes() for p in shard_paths(fresh)} == before  # the old tables, untouched
    assert not list(fresh.rglob("*.tmp"))  # no temporary folder left behind


def test_keep_going_skips_broken_and_incomplete_clips(fresh: Path, tmp_path: Path) -> None:
    clips = list_clip_dirs(fresh)
    (clips[0] / "rgb.mp4").write_bytes(b"not a video at all")
    (clips[1] / "instances.npz").unlink()
    (fresh / "clips" / "half-done").mkdir()  # a render that was killed: no clip.json
    with pytest.raises(UserError, match="half-done"):
        package(fresh, RULE)
    report = package(fresh, RULE, keep_going=True)
    assert report.total == 4
    assert {p.clip for p in report.skipped} == {clips[0].name, clips[1].name, "half-done"}
    text = report.format()
    assert f"skipped {clips[0].name}" in text and "instance masks are missing" in text
    ds = load(fresh, tmp_path)
    ids = set(ds["train"]["clip_id"]) | set(ds["test"]["clip_id"])
    assert clips[0].name not in ids and clips[1].name not in ids and len(ids) == 4


def test_mixed_formats_refuse(fresh: Path) -> None:
    odd = make_shots(1, frames=20, seed=7)[0]
    write_clip(fresh, odd)
    with pytest.raises(UserError, match=r"20 frames.*one dataset holds one format"):
        package(fresh, RULE)


def test_passed_only_leaves_out_failing_clips(fresh: Path) -> None:
    failing = list_clip_dirs(fresh)[2]
    ev = json.loads((failing / "events.json").read_text())
    ev["passed"] = False
    (failing / "events.json").write_text(json.dumps(ev))
    report = package(fresh, RULE, passed_only=True)
    assert report.filtered_out == 1 and report.total == 5


def test_parallel_workers_write_the_same_tables(fresh: Path, packaged: Path) -> None:
    package(fresh, RULE, shard_rows=2, workers=2)
    for a, b in zip(shard_paths(packaged), shard_paths(fresh), strict=True):
        assert same(pq.read_table(a).to_pylist(), pq.read_table(b).to_pylist())


def test_update_columns_changes_only_what_it_is_asked(fresh: Path, tmp_path: Path) -> None:
    ids = [c.name for c in list_clip_dirs(fresh)][:3]
    before = load(fresh, tmp_path / "a")
    n_sub = {r["clip_id"]: len(r["subjects"]) for s in before.values() for r in s}
    new_events = [[Event(0, "exit", 3, 0.2), Event(0, "entry", 9, 0.6)], [], [{"subject": 0, "kind": "exit", "frame": 1, "time_s": 1 / 15}]]
    written = update_columns(fresh, ids, {
        "caption": ["a", "b", "c"],
        "captioner": ["minicpm-v"] * 3,
        "events": new_events,
        "states": [np.full((n_sub[i], 30), 2, np.int8) for i in ids],
        "passed": [False, False, False],
    })
    assert written and all(p.is_file() for p in written)
    after = load(fresh, tmp_path / "b")
    rows = {r["clip_id"]: r for s in after.values() for r in s}
    old = {r["clip_id"]: r for s in before.values() for r in s}
    assert [rows[i]["caption"] for i in ids] == ["a", "b", "c"]
    assert rows[ids[0]]["events"] == [{"subject": 0, "kind": "exit", "frame": 3, "time_s": 0.2},
                                      {"subject": 0, "kind": "entry", "frame": 9, "time_s": 0.6}]
    assert rows[ids[1]]["events"] == [] and not rows[ids[2]]["passed"]
    assert np.all(np.array(rows[ids[0]]["states"]) == 2)
    for cid, row in rows.items():
        for col in ("camera_c2w", "subject_pos", "pairs", "video_path"):
            assert row[col] == old[cid][col]
        if cid not in ids:
            assert same(row, old[cid])
    info = json.loads((fresh / "meta" / "info.json").read_text())
    assert info["counts"]["passed"] == sum(1 for r in rows.values() if r["passed"])
    assert info["counts"]["captioned"] == 6


def test_update_columns_rejects_bad_requests(fresh: Path) -> None:
    cid = list_clip_dirs(fresh)[0].name
    with pytest.raises(UserError, match="unknown column 'colour'"):
        update_columns(fresh, [cid], {"colour": ["red"]})
    with pytest.raises(UserError, match="cannot be updated in place"):
        update_columns(fresh, [cid], {"split": ["test"]})
    with pytest.raises(UserError, match=r"not in the dataset, e\.g\. 'nope'"):
        update_columns(fresh, [cid, "nope"], {"caption": ["x", "y"]})
    with pytest.raises(UserError, match="2 values for column 'caption' but 1 clip ids"):
        update_columns(fresh, [cid], {"caption": ["x", "y"]})


def test_drop_clips(fresh: Path, tmp_path: Path) -> None:
    gone = [c.name for c in list_clip_dirs(fresh)][:2]
    assert drop_clips(fresh, gone) == 2
    ds = load(fresh, tmp_path)
    ids = set(ds["train"]["clip_id"]) | set(ds["test"]["clip_id"])
    assert len(ids) == 4 and not ids & set(gone)
    pc = pq.read_table(fresh / "meta" / "pixel_counts.parquet", columns=["clip_id"]).column(0).to_pylist()
    assert sorted(pc) == sorted(ids)
    assert json.loads((fresh / "meta" / "info.json").read_text())["counts"]["clips"] == 4


def test_package_needs_clips(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist; render clips"):
        package(tmp_path / "nothing")
    (tmp_path / "empty" / "clips").mkdir(parents=True)
    with pytest.raises(UserError, match="no clip folders"):
        package(tmp_path / "empty")
