"""Damage that `validate` must report (each would trip a later stage), one test each."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataset_support import RULE, paint

from hmworld.clip import list_clip_dirs, read_clip, read_instances
from hmworld.dataset import package, update_columns
from hmworld.dataset.checks import probe_video
from hmworld.dataset.schema import DIGEST_COLUMNS, HF_METADATA_KEY
from hmworld.dataset.tables import read_all, shard_paths
from hmworld.dataset.validate import validate
from hmworld.video import write_video


def _edit_row(root: Path, change) -> str:
    """Apply `change(row) -> row` to the first row of the first train shard; returns its clip id."""
    path = shard_paths(root, "train")[0]
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0] = change(dict(rows[0]))
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    return rows[0]["clip_id"]


def _problems(root: Path, clip_id: str, quick: bool = True) -> str:
    report = validate(root, quick=quick)
    assert not report.ok
    return "\n".join(p.message for p in report.problems if p.clip == clip_id)


def _first(root: Path) -> Path:
    return root / "clips" / pq.read_table(shard_paths(root, "train")[0]).column("clip_id")[0].as_py()


def test_the_datasets_are_clean_to_start_with(fresh):
    assert validate(fresh).ok


def test_a_truncated_clip_json(fresh):
    clip = _first(fresh)
    data = (clip / "clip.json").read_bytes()
    (clip / "clip.json").write_bytes(data[: len(data) // 2])
    assert "clip.json is damaged (JSONDecodeError" in _problems(fresh, clip.name)


def test_video_path_pointing_at_another_clips_video(fresh):
    other = next(p for p in list_clip_dirs(fresh) if p != _first(fresh))
    cid = _edit_row(fresh, lambda r: r | {"video_path": f"clips/{other.name}/rgb.mp4"})
    assert f"video_path is 'clips/{other.name}/rgb.mp4', but this clip's file is 'clips/{cid}/rgb.mp4'" \
        in _problems(fresh, cid)


def test_a_caption_that_disagrees_with_caption_json(fresh):
    cid = _edit_row(fresh, lambda r: r | {"caption": "something else entirely"})
    assert "caption in the table differs from caption.json" in _problems(fresh, cid)


def test_a_scene_that_disagrees_with_clip_json(fresh):
    cid = _edit_row(fresh, lambda r: r | {"scene": "desert" if r["scene"] != "desert" else "park"})
    assert "in the table" in _problems(fresh, cid) and "scene is" in _problems(fresh, cid)


def test_a_camera_moved_5_m(fresh):
    def move(r):
        c2w = np.array(r["camera_c2w"])
        c2w[:, 0, 3] += 5.0
        return r | {"camera_c2w": c2w.tolist()}
    cid = _edit_row(fresh, move)
    assert "camera_c2w differs from clip.json by up to 5" in _problems(fresh, cid)


def test_subject_positions_that_disagree(fresh):
    def move(r):
        return r | {"subject_pos": (np.array(r["subject_pos"]) + 0.5).tolist()}
    cid = _edit_row(fresh, move)
    assert "subject_pos differs from clip.json by up to 0.5 m" in _problems(fresh, cid)


def test_visible_pixels_beyond_the_image(fresh):
    def inflate(r):
        vis = np.array(r["visible_pixels"])
        vis[0, 0] = 5000
        return r | {"visible_pixels": vis.tolist()}
    cid = _edit_row(fresh, inflate)
    text = _problems(fresh, cid)
    assert "visible_pixels holds 5000, more than the 64x48 = 3072 pixels of a frame" in text


def test_passed_without_an_exit_entry_pair(fresh):
    cid = _edit_row(fresh, lambda r: r | {"passed": True, "pairs": [], "n_pairs": 0})
    assert "passed is true, but the clip has no exit-entry pair" in _problems(fresh, cid)


def test_a_damaged_events_json(fresh):
    clip = _first(fresh)
    (clip / "events.json").write_text('{"states": [1, 2')
    assert f"{clip / 'events.json'}" in _problems(fresh, clip.name)


def test_a_damaged_caption_json(fresh):
    clip = _first(fresh)
    (clip / "caption.json").write_text('{"caption": "a half')
    text = _problems(fresh, clip.name)
    assert f"{clip / 'caption.json'}: " in text and "JSON" in text, text


def test_an_empty_id_mask_where_visible_pixels_are_counted(fresh):
    clip = next(p for p in list_clip_dirs(fresh) if json.loads((p / "clip.json").read_text())["shot"]["subjects"]
                and np.array(json.loads((p / "clip.json").read_text())["measured"]["visible_pixels"]).max() > 0)
    ids = read_instances(clip / "instances.npz")
    np.savez_compressed(clip / "instances.npz", ids=np.zeros_like(ids))  # the layout written before, read too
    quick = _problems(fresh, clip.name)  # counting packets does not open the masks; their digest tells
    assert "instances.npz: not the file that was packaged" in quick and "id mask" not in quick
    text = _problems(fresh, clip.name, quick=False)
    assert "visible pixels counted in frame" in text and "its id mask there is empty" in text


def test_a_missing_clip_folder_is_named_once(fresh):
    clip = _first(fresh)
    shutil.rmtree(clip)
    assert "clip folder or its clip.json is missing" in _problems(fresh, clip.name)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digests(root: Path, clip_id: str) -> dict[str, str]:
    rows = read_all(root, columns=["clip_id", *DIGEST_COLUMNS]).to_pylist()
    return next({c: r[c] for c in DIGEST_COLUMNS} for r in rows if r["clip_id"] == clip_id)


def test_the_packaged_rows_record_the_sha256_of_each_clips_files(fresh):
    for clip in list_clip_dirs(fresh):
        assert _digests(fresh, clip.name) == {
            "video_sha256": _sha256(clip / "rgb.mp4"), "instances_sha256": _sha256(clip / "instances.npz"),
            "depth_sha256": _sha256(clip / "depth.npz")}
    assert validate(fresh).ok and validate(fresh, quick=True).ok


@pytest.mark.parametrize("quick", [True, False])
def test_another_clips_video_of_the_same_size_and_length_swapped_in(fresh, quick):
    clip = _first(fresh)
    other = next(p for p in list_clip_dirs(fresh) if p != clip)
    assert _sha256(other / "rgb.mp4") != _sha256(clip / "rgb.mp4")
    shutil.copyfile(other / "rgb.mp4", clip / "rgb.mp4")
    assert probe_video(clip / "rgb.mp4", 30, 64, 48) == []  # same size and length: only its bytes tell
    text = _problems(fresh, clip.name, quick=quick)
    assert text == (f"{clip / 'rgb.mp4'}: not the file that was packaged (SHA-256 {_sha256(other / 'rgb.mp4')[:12]}..., "
                    f"table video_sha256 {_digests(fresh, clip.name)['video_sha256'][:12]}...); replaced since "
                    "packaging (re-package if the clip was re-rendered)"), text
    assert [p.clip for p in validate(fresh, quick=quick).problems] == [clip.name]


def test_another_clips_id_masks_swapped_in(fresh):
    clip = _first(fresh)
    n = len(read_clip(clip).shot.subjects)
    other = next(p for p in list_clip_dirs(fresh) if p != clip and len(read_clip(p).shot.subjects) == n)
    shutil.copyfile(other / "instances.npz", clip / "instances.npz")
    text = _problems(fresh, clip.name)
    assert f"{clip / 'instances.npz'}: not the file that was packaged" in text and "instances_sha256" in text


def test_repackaging_after_a_legit_rerender_updates_the_digest(fresh):
    clip = _first(fresh)
    before = _digests(fresh, clip.name)
    rgb, _, _ = paint(read_clip(clip).shot)
    write_video(clip / "rgb.mp4", rgb, 15, preset="veryslow")  # the same frames, encoded anew
    now = _sha256(clip / "rgb.mp4")
    assert now != before["video_sha256"]
    assert "not the file that was packaged" in _problems(fresh, clip.name)
    package(fresh, RULE, shard_rows=2)
    assert _digests(fresh, clip.name) == before | {"video_sha256": now}
    assert validate(fresh).ok


def _without_digests(root: Path) -> None:
    """Rewrite every shard as a dataset packaged before the digest columns existed."""
    for path in shard_paths(root):
        table = pq.read_table(path)
        meta = dict(table.schema.metadata)
        hf = json.loads(meta[HF_METADATA_KEY])
        for c in DIGEST_COLUMNS:
            del hf["info"]["features"][c]
        meta[HF_METADATA_KEY] = json.dumps(hf).encode()
        pq.write_table(table.drop_columns(list(DIGEST_COLUMNS)).replace_schema_metadata(meta), path)


def test_a_dataset_packaged_before_the_digest_columns_validates_and_updates(fresh):
    _without_digests(fresh)
    clip = _first(fresh)
    other = next(p for p in list_clip_dirs(fresh) if p != clip)
    shutil.copyfile(other / "rgb.mp4", clip / "rgb.mp4")  # nothing recorded to compare with
    assert validate(fresh).ok, validate(fresh).format()
    update_columns(fresh, [clip.name], {"caption": ["a new caption"]})
    assert all(c not in pq.read_schema(p).names for p in shard_paths(fresh) for c in DIGEST_COLUMNS)
    assert "caption in the table differs from caption.json" in _problems(fresh, clip.name)
