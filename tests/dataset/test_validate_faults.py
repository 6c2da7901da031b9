"""Damage that `validate` must report (each would trip a later stage), one test each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hmworld.clip import list_clip_dirs
from hmworld.dataset.tables import shard_paths
from hmworld.dataset.validate import validate


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
    with np.load(clip / "instances.npz") as z:
        ids = z["ids"]
    np.savez_compressed(clip / "instances.npz", ids=np.zeros_like(ids))
    assert validate(fresh, quick=True).ok  # counting packets does not open the masks
    text = _problems(fresh, clip.name, quick=False)
    assert "visible pixels counted in frame" in text and "its id mask there is empty" in text


def test_a_missing_clip_folder_is_named_once(fresh):
    clip = _first(fresh)
    shutil.rmtree(clip)
    assert "clip folder or its clip.json is missing" in _problems(fresh, clip.name)
