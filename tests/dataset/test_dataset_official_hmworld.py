"""The official HM-World layout: export, what the official readers see in it, import, round trip."""

from __future__ import annotations

import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
from dataset_support import RULE, make_shots, write_clip

from hmworld.clip import clip_dir, list_clip_dirs, read_clip
from hmworld.dataset import package
from hmworld.dataset.official_hmworld.exporter import export_hmworld
from hmworld.dataset.official_hmworld.importer import import_hmworld
from hmworld.dataset.official_hmworld.layout import mask_rgb, stream_layouts
from hmworld.dataset.resize import cover_labels
from hmworld.dataset.tables import read_all
from hmworld.dataset.validate import validate
from hmworld.depth import read_depth
from hmworld.errors import UserError
from hmworld.geometry import (
    format_ue_rowvec_string,
    hmworld_raw_to_frames,
    hydra_official_pose,
    pad_stream,
    split_streams,
    ue_c2w_to_world,
    world_c2w_to_ue,
)
from hmworld.video import read_video, video_info, write_video

# ---------------------------------------------------------------- the official readers, re-done in numpy


def official_relative(context_77: np.ndarray, target_77: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """infer_hydra._compute_relative_20x12_from_77x4x4 on UE matrices."""
    ref = np.linalg.inv(hydra_official_pose(target_77[0]))

    def rel(seq: np.ndarray) -> np.ndarray:
        return (ref @ hydra_official_pose(seq[::4]))[:, :3, :4].reshape(20, 12)

    return rel(context_77), rel(target_77)


def official_raw_camera(d: dict) -> tuple[np.ndarray, np.ndarray]:
    """infer_hydra.load_condition_json's raw branch: keys '0'..'148', frame 0 := 1, last repeated, 75 + 75."""
    mats = []
    for i in range(149):
        if str(i) in d:
            rows = [[float(x) for x in m.strip().split()] for m in re.findall(r"\[(.*?)\]", d[str(i)])]
            mats.append(np.array(rows).T)
        else:
            mats.append(mats[-1])
    mats[0] = mats[1]
    mats.append(mats[-1])
    ctx = np.stack([mats[0], *mats[:75], mats[74]])
    tgt = np.stack([mats[75], *mats[75:], mats[-1]])
    return official_relative(ctx, tgt)


def official_red(rgb: np.ndarray) -> np.ndarray:
    """eval_dsc's mask rule: OpenCV HSV, hue 0..10 or 160..180, saturation and value >= 100."""
    x = rgb.astype(np.float64)
    v = x.max(-1)
    s = np.where(v > 0, 255 * (v - x.min(-1)) / np.maximum(v, 1), 0)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    d = np.maximum(v - x.min(-1), 1e-9)
    h = np.where(v == r, 60 * (g - b) / d, np.where(v == g, 120 + 60 * (b - r) / d, 240 + 60 * (r - g) / d)) % 360 / 2
    return ((h <= 10) | (h >= 160)) & (s >= 100) & (v >= 100)


def fixture_cams(folder: Path, i: int) -> tuple[np.ndarray, np.ndarray]:
    d = json.loads((folder / f"cam{i}.json").read_text())
    return tuple(np.array([d[k][str(j)] for j in range(77)], dtype=float) for k in ("cond_cam", "tgt_cam"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


# ---------------------------------------------------------------- export


def test_export_default_layout_is_what_the_official_tools_read(packaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "hmw"
    report = export_hmworld(packaged, out, limit=1)
    assert (report.samples, report.written) == (1, 1)
    sample = out / "sample1"
    assert sorted(p.name for p in sample.iterdir()) == sorted(
        ["cond.mp4", "tgt.mp4", "cond_mask.mp4", "tgt_mask.mp4", "cond_depth.npz", "tgt_depth.npz", "camera.json",
         "character.json", "check.json"])
    for name in ("cond.mp4", "tgt.mp4", "cond_mask.mp4", "tgt_mask.mp4"):
        info = video_info(sample / name)
        assert (info.frames, info.width, info.height, info.fps, info.pix_fmt) == (77, 832, 480, 15, "yuv420p")
    check = json.loads((sample / "check.json").read_text())
    rec = read_clip(clip_dir(packaged, check["clip_id"]))
    lines = (out / "caption.txt").read_text().splitlines()
    assert lines == [json.loads((rec.path / "caption.json").read_text())["caption"]]
    # padding as the official streams: 15 clip frames in the middle of 77, first and last repeated
    cond = read_video(sample / "cond.mp4")
    assert check["streams"]["cond"] == {"first_frame": 0, "frames": 15, "pad_front": 31, "pad_back": 31}
    assert psnr(cond[0], cond[31]) > 40 and psnr(cond[76], cond[45]) > 40
    # masks: the official evaluator's red rule finds our subjects, and nothing else
    ids = cover_labels(rec.load_instances(), (480, 832))  # 64x48 scaled by 13, centre cropped as HyDRA does
    assert check["hfov_deg"] == pytest.approx(rec.shot.hfov_deg)  # same width, same field of view
    mask = np.concatenate([read_video(sample / "cond_mask.mp4")[31:46], read_video(sample / "tgt_mask.mp4")[31:46]])
    red = official_red(mask)
    inner = ids > 0
    if inner.any():
        assert red[inner].mean() > 0.9
    assert red[~inner].mean() < 0.01
    # depth beside the masks: cropped and resized as they are (the nearest pixel), padded as the streams
    depth = cover_labels(rec.load_depth(), (480, 832))
    for name, want in zip(("cond_depth.npz", "tgt_depth.npz"), split_streams(depth), strict=True):
        got = read_depth(sample / name)
        assert got.dtype == np.float32 and got.shape == (77, 480, 832)
        np.testing.assert_array_equal(got, want)
    chars = json.loads((sample / "character.json").read_text())
    assert [c["id"] for c in chars["characters"]] == list(rec.shot.subjects)
    # UE centimetres, left-handed: y flips, metres → cm
    loc = np.array(chars["characters"][0]["location"])
    np.testing.assert_allclose(loc, rec.shot.subject_pos[0] * [100, -100, 100], atol=1e-9)


@pytest.mark.parametrize("frames", [2, 30, 100, 150, 154])
def test_the_release_reads_our_exported_cameras_as_our_columns(tmp_path: Path, frames: int) -> None:
    root = tmp_path / "ds"
    shot = make_shots(1, frames=frames, width=32, height=24, scenes=["park"], group_sizes=(1,))[0]
    write_clip(root, shot, caption="a clip")
    package(root, RULE)
    export_hmworld(root, tmp_path / "hmw", width=32, height=24)
    cam = json.loads((tmp_path / "hmw" / "sample1" / "camera.json").read_text())
    assert sorted(cam) == ["cond_cam", "tgt_cam"]
    cond, tgt = (np.array([cam[k][str(i)] for i in range(77)], dtype=np.float32) for k in ("cond_cam", "tgt_cam"))
    got_cond, got_tgt = official_relative(cond.astype(float), tgt.astype(float))
    row = read_all(root).to_pylist()[0]
    np.testing.assert_allclose(got_cond, np.array(row["hydra_cond_cam"]), atol=1e-5)
    np.testing.assert_allclose(got_tgt, np.array(row["hydra_tgt_cam"]), atol=1e-5)
    # the target stream video shows the clip's second half, padded like the cameras
    tgt_video = read_video(tmp_path / "hmw" / "sample1" / "tgt.mp4")
    ours = read_video(clip_dir(root, shot.clip_id) / "rgb.mp4")
    pad = (77 - frames // 2) // 2
    assert tgt_video.shape[0] == 77 and psnr(tgt_video[pad : pad + frames // 2], ours[frames // 2 :]) > 30


def test_export_resumes_and_trims(packaged: Path, tmp_path: Path) -> None:
    out = tmp_path / "hmw"
    first = export_hmworld(packaged, out, width=64, height=48)
    assert (first.samples, first.written, first.kept) == (6, 6, 0)
    again = export_hmworld(packaged, out, width=64, height=48)
    assert (again.written, again.kept) == (0, 6)
    fewer = export_hmworld(packaged, out, width=64, height=48, split="test")
    assert fewer.samples == 2
    assert sorted(p.name for p in out.glob("sample*")) == ["sample1", "sample2"]
    assert len((out / "caption.txt").read_text().splitlines()) == 2


def test_export_refuses_what_the_layout_cannot_hold(packaged: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown split 'val'"):
        export_hmworld(packaged, tmp_path / "b", split="val")
    with pytest.raises(UserError, match="must be even"):
        export_hmworld(packaged, tmp_path / "c", width=831)


# ---------------------------------------------------------------- round trip


def test_round_trip_ours_hmworld_ours(packaged: Path, tmp_path: Path) -> None:
    export_hmworld(packaged, tmp_path / "hmw", width=64, height=48)
    back = tmp_path / "back"
    report = import_hmworld(tmp_path / "hmw", back)
    assert report.layout == "dataset" and len(report.clips) == 6 and not report.skipped
    package(back, RULE)
    assert validate(back).ok
    a = {r["clip_id"]: r for r in read_all(packaged).to_pylist()}
    b = {r["clip_id"]: r for r in read_all(back).to_pylist()}
    assert sorted(a) == sorted(b)
    for cid, ra in a.items():
        rb = b[cid]
        np.testing.assert_allclose(np.array(rb["camera_c2w"]), np.array(ra["camera_c2w"]), atol=1e-12)
        np.testing.assert_allclose(np.array(rb["K"]), np.array(ra["K"]), atol=1e-12)
        for col in ("split", "scene", "subjects", "subject_kinds", "subject_paths", "subject_gaits", "camera_trajectory",
                    "placement", "seed", "caption", "captioner", "events", "pairs", "n_pairs", "passed", "states",
                    "visible_pixels", "silhouette_pixels", "hydra_cond_cam", "hydra_tgt_cam", "subject_pos",
                    "subject_heading", "subject_size"):
            assert rb[col] == ra[col], (cid, col)
        sa, sb = read_clip(clip_dir(packaged, cid)), read_clip(clip_dir(back, cid))
        np.testing.assert_allclose(sb.shot.c2w, sa.shot.c2w, atol=1e-12)
        np.testing.assert_allclose(sb.shot.subject_pos, sa.shot.subject_pos, atol=1e-12)
        np.testing.assert_allclose(sb.shot.subject_heading, sa.shot.subject_heading, atol=1e-12)
        assert psnr(read_video(sb.video_path), read_video(sa.video_path)) > 30
        np.testing.assert_array_equal(sb.load_depth(), sa.load_depth())  # same size: depth comes back exact
        assert rb["depth_sha256"] is not None
        ia, ib = sa.load_instances(), sb.load_instances()
        for k in range(1, sa.shot.n_subjects + 1):
            union = ((ia == k) | (ib == k)).sum()
            if union >= 60 * ia.shape[0]:  # tiny subjects blur in 4:2:0 video; ones of 60+ px a frame must survive
                assert ((ia == k) & (ib == k)).sum() / union > 0.8, (cid, k)
    # a second import keeps what is already there
    assert import_hmworld(tmp_path / "hmw", back).kept == 6


# ---------------------------------------------------------------- import


def test_real_hydra_examples_import(hydra_examples: Path, tmp_path: Path) -> None:
    out = tmp_path / "ex"
    report = import_hmworld(hydra_examples, out)
    assert report.layout == "examples" and len(report.clips) == 4
    package(out, RULE)
    assert validate(out).ok
    captions = (hydra_examples / "caption.txt").read_text().splitlines()
    rows = {r["clip_id"]: r for r in read_all(out).to_pylist()}
    for i in range(1, 5):
        row = rows[f"hmworld-example-{i}"]
        assert row["caption"] == captions[i - 1].strip()
        assert (row["frames"], row["width"], row["height"], row["fps"]) == (75, 832, 480, 15)
        cond, tgt = fixture_cams(hydra_examples, i)
        want_c, want_t = official_relative(cond, tgt)
        np.testing.assert_allclose(np.array(row["hydra_cond_cam"]), want_c, atol=1e-4)
        np.testing.assert_allclose(np.array(row["hydra_tgt_cam"]), want_t, atol=1e-4)
        # the poses themselves: camera frame k of the clip is stream frame k + 1, in our axes
        rec = read_clip(clip_dir(out, row["clip_id"]))
        rel = np.linalg.inv(rec.shot.c2w[0]) @ rec.shot.c2w
        official = np.linalg.inv(hydra_official_pose(cond[1])) @ hydra_official_pose(cond[1:76])
        np.testing.assert_allclose(rel, official, atol=1e-6)
        # re-padding the imported streams gives back the official 77-frame streams exactly
        np.testing.assert_allclose(pad_stream(rec.shot.c2w), ue_c2w_to_world(cond), atol=1e-9)
        np.testing.assert_allclose(pad_stream(np.array(rec.shot.extra["target_c2w"])), ue_c2w_to_world(tgt), atol=1e-9)
        frames = read_video(rec.video_path)
        with av.open(str(hydra_examples / f"{i}.mp4")) as c:
            src = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
        assert psnr(frames, src[1:76]) > 33


def _foreign_sample(folder: Path, shot, streams: bool) -> np.ndarray:
    """An HM-World sample as the official tools might hold it: nothing of ours inside."""
    folder.mkdir(parents=True)
    frames = np.zeros((150, 48, 64, 3), np.uint8)
    frames[..., 1] = np.arange(150)[:, None, None]
    ids = np.zeros((150, 48, 64), np.uint8)
    ids[40:100, 10:30, 20:40] = 1  # the subject, seen for 60 frames
    c2w_ue = world_c2w_to_ue(shot.c2w)
    layouts = stream_layouts(150)
    for (video, mask), stream_rgb, stream_mask in zip(
        [("cond.mp4", "cond_mask.mp4"), ("tgt.mp4", "tgt_mask.mp4")],
        split_streams(frames), split_streams(mask_rgb(ids)), strict=True,
    ):
        write_video(folder / video, stream_rgb, 15, preset="ultrafast")
        write_video(folder / mask, stream_mask, 15, crf=10, preset="ultrafast")
    if streams:
        c, t = split_streams(c2w_ue)
        cam = {"cond_cam": {str(k): m.tolist() for k, m in enumerate(c)},
               "tgt_cam": {str(k): m.tolist() for k, m in enumerate(t)}, "note": "extra key"}
    else:
        cam = {str(k): format_ue_rowvec_string(c2w_ue[k]) for k in range(149)} | {"fov": 90}
    (folder / "camera.json").write_text(json.dumps(cam))
    (folder / "character.json").write_text(json.dumps({"actors": [{"name": "Man_01", "pose": [1, 2, 3]}]}))
    (folder / "check.json").write_text(json.dumps({"leave": [12], "enter": [80], "whatever": None}))
    assert layouts[0].frames == 75
    return ids


def test_foreign_samples_import_tolerantly(tmp_path: Path) -> None:
    shot = make_shots(1, frames=150, width=64, height=48, scenes=["park"], group_sizes=(1,))[0]
    src = tmp_path / "hmworld"
    ids = _foreign_sample(src / "sample1", shot, streams=False)
    _foreign_sample(src / "sample2", shot, streams=True)
    (src / "caption.txt").write_text("first caption\nsecond caption\n")
    out = tmp_path / "ours"
    report = import_hmworld(src, out, hfov_deg=70.0)
    assert report.clips == ("hmworld-sample1", "hmworld-sample2")
    raw, streams = (read_clip(clip_dir(out, c)) for c in report.clips)
    # raw form: the official fix-up (frame 0 := frame 1, last repeated), then our axes
    np.testing.assert_allclose(raw.shot.c2w, hmworld_raw_to_frames(shot.c2w[:149]), atol=1e-9)
    # stream form: padding removed, every frame exact
    np.testing.assert_allclose(streams.shot.c2w, shot.c2w, atol=1e-9)
    for rec in (raw, streams):
        assert rec.shot.subjects == ("hmworld_subject_0",) and np.isnan(rec.shot.subject_pos).all()
        assert rec.shot.hfov_deg == 70.0 and rec.shot.frames == 150
        got = rec.load_instances()
        assert ((got == 1) & (ids == 1)).sum() / ((got == 1) | (ids == 1)).sum() > 0.9
    package(out, RULE)
    assert validate(out).ok
    rows = {r["clip_id"]: r for r in read_all(out).to_pylist()}
    assert rows["hmworld-sample1"]["caption"] == "first caption"
    assert rows["hmworld-sample2"]["caption"] == "second caption"
    kinds = [(e["kind"], e["frame"]) for e in rows["hmworld-sample1"]["events"]]
    assert kinds == [("entry", 40), ("exit", 100)]  # from the masks alone


def test_import_refuses_unknown_layouts(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="neither sample<i>/ folders"):
        import_hmworld(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(UserError, match="is not a folder"):
        import_hmworld(tmp_path / "missing", tmp_path / "out")
    bad = tmp_path / "bad" / "sample1"
    bad.mkdir(parents=True)
    (bad / "camera.json").write_text("{}")
    with pytest.raises(UserError, match=r"cannot import .*sample1.*--keep-going"):
        import_hmworld(tmp_path / "bad", tmp_path / "out")
    report = import_hmworld(tmp_path / "bad", tmp_path / "out", keep_going=True)
    assert report.clips == () and len(report.skipped) == 1
    assert not list_clip_dirs(tmp_path / "out")
