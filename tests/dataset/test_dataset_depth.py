"""Depth through the dataset: the depth_path column, ClipDataset(depth=True), validate, and clips without depth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from dataset_support import RULE, make_dataset

from hmworld.clip import CLIP_JSON, DEPTH_FILE, clip_dir, list_clip_dirs, read_clip
from hmworld.dataset import clips_with_depth, package
from hmworld.dataset.official_hmworld.exporter import export_hmworld
from hmworld.dataset.resize import resize_labels
from hmworld.dataset.schema import HF_METADATA_KEY
from hmworld.dataset.tables import read_all, shard_paths
from hmworld.dataset.validate import validate
from hmworld.depth import DEPTH_RELATIVE_ERROR, read_depth, write_depth
from hmworld.errors import DamagedClip, UserError
from hmworld.frame_arrays import write_frames

torch = pytest.importorskip("torch")
from hmworld.dataset import ClipDataset  # noqa: E402


def test_rows_name_each_clips_depth_file(packaged: Path) -> None:
    rows = read_all(packaged, ["clip_id", "depth_path", "depth_sha256"]).to_pylist()
    assert len(rows) == 6
    for r in rows:
        assert r["depth_path"] == f"clips/{r['clip_id']}/{DEPTH_FILE}" and len(r["depth_sha256"]) == 64


def test_loader_returns_depth_in_metres_as_t_1_h_w(packaged: Path) -> None:
    ds = ClipDataset(packaged, "train", frames=8, depth=True)
    for item in ds:
        rec = read_clip(clip_dir(packaged, item["clip_id"]))
        idx = item["frame_index"].numpy()
        depth = item["depth"]
        assert depth.dtype == torch.float32 and depth.shape == (8, 1, 48, 64)
        np.testing.assert_array_equal(depth[:, 0].numpy(), rec.load_depth(idx))
    assert "depth" not in ClipDataset(packaged, "train", frames=2)[0]  # off unless asked for


def test_depth_at_subject_centres_agrees_with_subject_depth(packaged: Path) -> None:
    table = read_all(packaged, ["clip_id", "subject_xy", "subject_depth"]).to_pylist()
    rows = {r["clip_id"]: r for r in table}
    checked = 0
    for split in ("train", "test"):
        for item in ClipDataset(packaged, split, size=(96, 128), depth=True):  # resized: twice the size
            row = rows[item["clip_id"]]
            masks, depth = item["masks"].numpy(), item["depth"][:, 0].numpy()
            for k, (xy, want) in enumerate(zip(row["subject_xy"], row["subject_depth"], strict=True)):
                for t in range(len(want)):
                    if not np.all(np.isfinite(xy[t])):  # behind the camera
                        continue
                    u, v = (np.asarray(xy[t]) * 2).astype(int)  # the table's pixels are at the clip's size
                    if 0 <= u < 128 and 0 <= v < 96 and masks[t, v, u] == k + 1:
                        assert abs(depth[t, v, u] - want[t]) <= DEPTH_RELATIVE_ERROR * want[t] + 1e-6
                        checked += 1
    assert checked > 50


def test_resizing_takes_the_nearest_depth_never_a_blend(packaged: Path) -> None:
    item = ClipDataset(packaged, "train", frames=4, size=(33, 50), depth=True)[1]
    full = read_clip(clip_dir(packaged, item["clip_id"])).load_depth(item["frame_index"].numpy())
    np.testing.assert_array_equal(item["depth"][:, 0].numpy(), resize_labels(full, (33, 50)))
    assert set(np.unique(item["depth"].numpy())) <= set(np.unique(full))  # no value between two surfaces
    assert torch.isinf(item["depth"]).any() and torch.isfinite(item["depth"]).any()  # sky stays +inf


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three clips with depth and two without (as a ue5 render), packaged together."""
    root = tmp_path_factory.mktemp("mixed")
    make_dataset(root, n=3, seed=1)
    make_dataset(root, n=2, seed=2, depth=False)
    package(root, RULE)
    return root


def test_clips_without_depth_package_and_validate_with_a_null_depth_path(mixed: Path) -> None:
    rows = read_all(mixed, ["clip_id", "depth_path", "depth_sha256"]).to_pylist()
    without = [r for r in rows if r["depth_path"] is None]
    assert len(without) == 2 and all(r["depth_sha256"] is None for r in without)
    assert all(not read_clip(clip_dir(mixed, r["clip_id"])).has_depth for r in without)
    assert validate(mixed).ok, validate(mixed).format()


def test_depth_true_over_clips_without_depth_is_refused_at_construction_naming_them(mixed: Path) -> None:
    rows = read_all(mixed, ["clip_id", "split", "depth_path"]).to_pylist()
    assert any(r["depth_path"] is None for r in rows) and any(r["depth_path"] for r in rows)
    for split in ("train", "test"):
        lacking = [r["clip_id"] for r in rows if r["split"] == split and r["depth_path"] is None]
        having = [r["clip_id"] for r in rows if r["split"] == split and r["depth_path"] is not None]
        if lacking:  # refused before any item is read (not deep inside a DataLoader worker)
            n = len(lacking) + len(having)
            with pytest.raises(UserError, match=rf"^depth=True, but the table has no depth for {len(lacking)} of the "
                                                rf"{n} {split} clips \(depth_path is null: rendered with --no-depth "
                                                rf"or by a backend that writes none\): {', '.join(sorted(lacking)[:3])}"
                                                r".*; use depth=False, or only the clips with depth: "
                                                r"clips=clips_with_depth\(root, split\)") as e:
                ClipDataset(mixed, split, frames=2, depth=True)
            assert "\n" not in str(e.value)
        assert clips_with_depth(mixed, split) == having  # the way forward the message names
        ds = ClipDataset(mixed, split, frames=2, depth=True, clips=clips_with_depth(mixed, split))
        assert [ds[i]["clip_id"] for i in range(len(ds))] == having
        assert all(ds[i]["depth"].shape == (2, 1, 48, 64) for i in range(len(ds)))
        assert len(ClipDataset(mixed, split, frames=2)) == len(lacking) + len(having)  # depth=False: every clip


def test_clips_selects_clips_in_table_order_and_refuses_unknown_ids(mixed: Path) -> None:
    ids = read_all(mixed, ["clip_id", "split"]).to_pylist()
    train = [r["clip_id"] for r in ids if r["split"] == "train"]
    ds = ClipDataset(mixed, "train", frames=2, clips=list(reversed(train[:2])))
    assert [ds[i]["clip_id"] for i in range(len(ds))] == train[:2]
    with pytest.raises(UserError, match=r"^clips: 1 id\(s\) not in the train split of .*: nope$"):
        ClipDataset(mixed, "train", clips=[train[0], "nope"])
    with pytest.raises(TypeError, match=r"^clips must be a list of clip ids or None \(every clip\), got 'abc' \(str\)"):
        ClipDataset(mixed, "train", clips="abc")
    with pytest.raises(TypeError, match=r"^clips must hold clip ids \(strings\), got 3 \(int\)"):
        ClipDataset(mixed, "train", clips=[3])


def _without_depth_columns(root: Path) -> None:
    """Rewrite every shard as packaged before depth_path / depth_sha256 existed."""
    for path in shard_paths(root):
        table = pq.read_table(path)
        meta = dict(table.schema.metadata)
        hf = json.loads(meta[HF_METADATA_KEY])
        for c in ("depth_path", "depth_sha256"):
            del hf["info"]["features"][c]
        meta[HF_METADATA_KEY] = json.dumps(hf).encode()
        pq.write_table(table.drop_columns(["depth_path", "depth_sha256"]).replace_schema_metadata(meta), path)


def test_a_dataset_packaged_before_depth_still_validates_and_loads_but_refuses_depth(fresh: Path) -> None:
    _without_depth_columns(fresh)
    assert validate(fresh).ok, validate(fresh).format()
    assert ClipDataset(fresh, "train", frames=2)[0]["video"].shape == (2, 3, 48, 64)
    with pytest.raises(UserError, match=r"packaged without depth \(no depth_path column\); re-package"):
        ClipDataset(fresh, "train", depth=True)
    with pytest.raises(UserError, match=r"packaged without depth \(no depth_path column\); re-package"):
        clips_with_depth(fresh, "train")


def _first(root: Path) -> Path:
    return root / "clips" / pq.read_table(shard_paths(root, "train")[0]).column("clip_id")[0].as_py()


def _problems(root: Path, clip_id: str, quick: bool = True) -> str:
    report = validate(root, quick=quick)
    assert not report.ok
    return "\n".join(p.message for p in report.problems if p.clip == clip_id)


def test_validate_reports_a_truncated_depth_file_once(fresh: Path) -> None:
    clip = _first(fresh)
    data = (clip / DEPTH_FILE).read_bytes()
    (clip / DEPTH_FILE).write_bytes(data[: len(data) // 2])
    text = _problems(fresh, clip.name)
    assert text.startswith(f"{clip / DEPTH_FILE}: cannot be read as depth.npz (BadZipFile") and "\n" not in text


def test_validate_reports_depth_of_the_wrong_size_nan_and_a_missing_file(fresh: Path) -> None:
    clip = _first(fresh)
    depth = read_depth(clip / DEPTH_FILE)
    write_depth(clip / DEPTH_FILE, depth[:, :40])
    assert f"{clip / DEPTH_FILE}: frames are float16 [40, 64], expected float16 [48, 64]" in _problems(fresh, clip.name)
    write_depth(clip / DEPTH_FILE, depth[:29])
    assert "holds 29 members, expected 30 (one per frame" in _problems(fresh, clip.name)
    bad = depth.astype(np.float16)
    bad[7, 3, 3] = np.nan
    write_frames(clip / DEPTH_FILE, "depth", bad)  # bypasses write_depth's own check
    assert _problems(fresh, clip.name, quick=True).count("not the file that was packaged") == 1  # digest only
    assert "frame 7 holds depths that are not positive metres or +inf (1 such values" in \
        _problems(fresh, clip.name, quick=False)
    (clip / DEPTH_FILE).unlink()
    assert _problems(fresh, clip.name) == \
        f"{clip / DEPTH_FILE}: depth is missing (the table's depth_path and clip.json name it)"


def test_validate_reports_another_clips_depth_swapped_in(fresh: Path) -> None:
    clip = _first(fresh)
    other = next(p for p in list_clip_dirs(fresh) if p != clip)
    shutil.copyfile(other / DEPTH_FILE, clip / DEPTH_FILE)
    text = _problems(fresh, clip.name)
    assert f"{clip / DEPTH_FILE}: not the file that was packaged" in text and "depth_sha256" in text


def test_a_clip_json_that_no_longer_lists_depth_disagrees_with_the_row(fresh: Path) -> None:
    clip = _first(fresh)
    d = json.loads((clip / CLIP_JSON).read_text())
    del d["files"]["depth"]
    (clip / CLIP_JSON).write_text(json.dumps(d))
    assert "says the clip has no depth.npz (re-package the clip)" in _problems(fresh, clip.name)


def test_loading_a_damaged_depth_file_names_the_clip(fresh: Path) -> None:
    ds = ClipDataset(fresh, "train", frames=2, depth=True)
    cid = ds[0]["clip_id"]
    path = clip_dir(fresh, cid) / DEPTH_FILE
    path.write_bytes(path.read_bytes()[:100])
    ds = ClipDataset(fresh, "train", frames=2, depth=True)
    with pytest.raises(DamagedClip, match=rf"^clip {cid}: clips/{cid}/depth\.npz cannot be read \("):
        ds[0]


def test_export_writes_depth_beside_the_masks_only_for_clips_that_have_it(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "hmw"
    export_hmworld(mixed, out, width=64, height=48)
    has = {r["clip_id"]: r["depth_path"] is not None for r in read_all(mixed, ["clip_id", "depth_path"]).to_pylist()}
    for sample in sorted(out.glob("sample*")):
        cid = json.loads((sample / "check.json").read_text())["clip_id"]
        names = {p.name for p in sample.iterdir()}
        assert ({"cond_depth.npz", "tgt_depth.npz"} <= names) == has[cid] and "cond_mask.mp4" in names
        if has[cid]:
            rec = read_clip(clip_dir(mixed, cid))
            cond = read_depth(sample / "cond_depth.npz")
            np.testing.assert_array_equal(cond[31 : 31 + 15], rec.load_depth()[:15])  # 30 frames: 15 a stream


def _split_member(path: Path, key: str, t: int, crop: int) -> None:
    """Rewrite a per-frame archive with member t cropped to `crop` columns (mixed member shapes)."""
    with np.load(path) as z:
        arrays = {n: z[n] for n in z.files}
    name = f"{key}_{t:05d}"
    arrays[name] = arrays[name][:, :crop]
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def test_validate_names_the_member_of_another_shape_in_a_per_frame_archive(fresh: Path) -> None:
    clip = _first(fresh)
    _split_member(clip / DEPTH_FILE, "depth", 7, 10)
    assert _problems(fresh, clip.name) == \
        f"{clip / DEPTH_FILE}: member depth_00007 is float16 [48, 10], expected float16 [48, 64]"
    _split_member(clip / "instances.npz", "ids", 5, 40)
    _split_member(clip / "instances.npz", "ids", 9, 40)
    assert f"{clip / 'instances.npz'}: member ids_00005 is uint8 [48, 40], expected uint8 [48, 64] (2 of 30 members " \
           "differ, the first named)" in _problems(fresh, clip.name)


def test_a_depth_file_removed_by_a_no_depth_rerender_is_one_line(fresh: Path) -> None:
    clip = _first(fresh)  # as `render --no-depth` leaves it: no depth.npz, clip.json lists none
    (clip / DEPTH_FILE).unlink()
    d = json.loads((clip / CLIP_JSON).read_text())
    del d["files"]["depth"]
    (clip / CLIP_JSON).write_text(json.dumps(d))
    assert _problems(fresh, clip.name) == (f"{clip / DEPTH_FILE}: depth is missing (the table's depth_path names it, "
                                           "but clip.json lists none: re-rendered with --no-depth? re-package the clip)")


def test_a_stray_depth_file_nothing_lists_is_a_warning(mixed: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(mixed, root)
    without = next(r["clip_id"] for r in read_all(root, ["clip_id", "depth_path"]).to_pylist() if r["depth_path"] is None)
    having = next(p for p in list_clip_dirs(root) if read_clip(p).has_depth)
    shutil.copyfile(having / DEPTH_FILE, clip_dir(root, without) / DEPTH_FILE)
    report = validate(root)
    assert report.ok and [(w.clip, w.message) for w in report.warnings] == [(without, (
        f"{clip_dir(root, without) / DEPTH_FILE}: not listed by the table (depth_path is null) nor by clip.json, "
        "so nothing reads it; remove it, or re-render the clip with depth and re-package"))]
    assert f"\nwarning: {without}: {clip_dir(root, without) / DEPTH_FILE}: not listed" in report.format()
