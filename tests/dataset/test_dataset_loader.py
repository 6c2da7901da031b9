"""ClipDataset: the tensors a world model gets, checked against the clip folders."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import clip_dir, read_clip
from hmworld.errors import UserError
from hmworld.events import VISIBLE, read_events
from hmworld.geometry import hydra_camera_tensor, split_streams
from hmworld.video import read_video, write_video

torch = pytest.importorskip("torch")
from hmworld.dataset import ClipDataset  # noqa: E402
from hmworld.dataset.loader import sample_indices, window_indices  # noqa: E402


def test_item_contract_and_values(packaged: Path) -> None:
    ds = ClipDataset(packaged, "train", frames=8)
    assert len(ds) == 4
    for i in range(len(ds)):
        item = ds[i]
        rec = read_clip(clip_dir(packaged, item["clip_id"]))
        shot = rec.shot
        idx = item["frame_index"].numpy()
        np.testing.assert_array_equal(idx, np.round(np.linspace(0, 29, 8)).astype(int))
        assert item["video"].dtype == torch.float32 and item["video"].shape == (8, 3, 48, 64)
        want = read_video(rec.video_path, idx)
        np.testing.assert_allclose(item["video"].permute(0, 2, 3, 1).numpy() * 255, want, atol=1e-3)
        np.testing.assert_array_equal(item["masks"].numpy(), rec.load_instances()[idx])
        np.testing.assert_allclose(item["c2w"].numpy(), shot.c2w[idx], atol=1e-6)
        np.testing.assert_allclose(item["K"].numpy(), shot.K, atol=1e-5)
        cond, tgt = hydra_camera_tensor(*split_streams(shot.c2w))
        np.testing.assert_allclose(item["hydra_cond_cam"].numpy(), cond, atol=1e-5)
        np.testing.assert_allclose(item["hydra_tgt_cam"].numpy(), tgt, atol=1e-5)
        n = shot.n_subjects
        assert item["subject_valid"].tolist() == [k < n for k in range(3)]
        np.testing.assert_allclose(item["subject_pos"][:n].numpy(), shot.subject_pos[:, idx], atol=1e-5)
        assert item["subject_state"].dtype == torch.int8 and (item["subject_state"][n:] == -1).all()
        ev = read_events(rec.path)
        if ev is not None:
            np.testing.assert_array_equal(item["subject_state"][:n].numpy(), ev.states[:, idx])
            assert item["n_pairs"] == len(ev.pairs)
            for k in range(3):
                entries = [p.entry_frame for p in ev.pairs if p.subject == k]
                assert item["reentry_frame"][k] == (min(entries) if entries else -1)
        assert item["caption"].startswith("clip number")


def test_visible_subjects_sit_on_their_masks_after_resizing(packaged: Path) -> None:
    ds = ClipDataset(packaged, "test", size=(96, 128))  # all 30 frames, twice the size
    hits = 0
    for item in ds:
        assert item["video"].shape == (30, 3, 96, 128) and item["masks"].shape == (30, 96, 128)
        assert 0.0 <= float(item["video"].min()) and float(item["video"].max()) <= 1.0
        K = item["K"].numpy()
        assert K[0, 2] == pytest.approx(64.0) and K[1, 2] == pytest.approx(48.0)
        for k in range(3):
            for t in range(30):
                if item["subject_state"][k, t] == VISIBLE:
                    x, y = item["subject_xy"][k, t].numpy()
                    assert item["masks"][t, int(y), int(x)] == k + 1
                    hits += 1
    assert hits > 10


def test_dataloader_with_workers(packaged: Path) -> None:
    ds = ClipDataset(packaged, "train", frames=4, size=(32, 48))
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, shuffle=False)
    batches = list(loader)
    assert [b["video"].shape for b in batches] == [(2, 4, 3, 32, 48)] * 2
    ids = [c for b in batches for c in b["clip_id"]]
    assert ids == [ds[i]["clip_id"] for i in range(len(ds))]
    first = ds[0]
    torch.testing.assert_close(batches[0]["video"][0], first["video"])
    torch.testing.assert_close(batches[0]["hydra_tgt_cam"][0], first["hydra_tgt_cam"])
    assert batches[0]["reentry_frame"].shape == (2, 3)


def test_bad_arguments_are_user_errors(packaged: Path) -> None:
    with pytest.raises(UserError, match="unknown split 'val'"):
        ClipDataset(packaged, "val")
    with pytest.raises(UserError, match="frames=31 but the clips have 30 frames"):
        ClipDataset(packaged, frames=31)
    with pytest.raises(UserError, match=r"frames must be a whole number >= 1 or None \(every frame\), got 0"):
        ClipDataset(packaged, frames=0)
    with pytest.raises(UserError, match="size must be"):
        ClipDataset(packaged, size=(0, 10))
    with pytest.raises(UserError, match="no parquet tables"):
        ClipDataset(packaged / "clips")
    with pytest.raises(IndexError):
        ClipDataset(packaged, "test")[2]


def test_without_masks(packaged: Path) -> None:
    item = ClipDataset(packaged, "train", frames=3, size=(24, 32), masks=False)[0]
    assert item["masks"].shape == (3, 24, 32) and not item["masks"].any()
    assert item["video"].shape == (3, 3, 24, 32)


def test_sample_indices() -> None:
    np.testing.assert_array_equal(sample_indices(10, 4), [0, 3, 6, 9])
    np.testing.assert_array_equal(sample_indices(5, None), np.arange(5))
    assert sample_indices(150, 1).tolist() == [0]


def previous_item_arrays(root: Path, clip_id: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the loader returned before windows: a decode from the clip's start, the whole mask stack indexed."""
    rec = read_clip(clip_dir(root, clip_id))
    return read_video(rec.video_path)[idx], rec.load_instances()[idx]


def assert_item_is(item: dict, video: np.ndarray, masks: np.ndarray) -> None:
    got = torch.round(item["video"] * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()  # exact: v = k / 255
    np.testing.assert_array_equal(got, video)
    np.testing.assert_array_equal(item["masks"].numpy(), masks)


@pytest.mark.parametrize("window", ["spread", "contiguous"])
def test_items_hold_the_values_of_a_full_decode(packaged: Path, window: str) -> None:
    ds = ClipDataset(packaged, "train", frames=8, window=window, seed=3)
    for i in range(len(ds)):
        item = ds[i]
        idx = item["frame_index"].numpy()
        assert_item_is(item, *previous_item_arrays(packaged, item["clip_id"], idx))
        if window == "contiguous":
            assert np.array_equal(np.diff(idx), np.ones(7)) and 0 <= idx[0] <= 30 - 8


def test_contiguous_windows_start_where_asked_or_at_seeded_random(packaged: Path) -> None:
    starts = {s: ClipDataset(packaged, "train", frames=16, window="contiguous", start=s)[1] for s in (0, 7, 14)}
    for s, item in starts.items():  # across the keyframe at 16, up to the last frame
        assert item["frame_index"].tolist() == list(range(s, s + 16))
        assert_item_is(item, *previous_item_arrays(packaged, item["clip_id"], item["frame_index"].numpy()))
        np.testing.assert_allclose(item["c2w"].numpy(), read_clip(clip_dir(packaged, item["clip_id"])).shot.c2w[s:s + 16],
                                   atol=1e-6)
    seeded = [ClipDataset(packaged, "train", frames=4, window="contiguous", seed=s) for s in (5, 5, 6)]
    firsts = [[int(d[i]["frame_index"][0]) for i in range(len(d)) for _ in range(2)] for d in seeded]
    assert firsts[0] == firsts[1] and firsts[0][::2] == firsts[0][1::2]  # the same window every read
    assert firsts[0] != firsts[2]
    torch.manual_seed(0)
    unseeded = ClipDataset(packaged, "train", frames=4, window="contiguous")
    assert len({int(unseeded[0]["frame_index"][0]) for _ in range(12)}) > 1  # a new window on every read
    whole = ClipDataset(packaged, "train", window="contiguous")[0]
    assert whole["frame_index"].tolist() == list(range(30))


def test_old_clips_load_the_same(fresh: Path) -> None:
    """Clips written before: x264's default keyframe interval (one keyframe) and one `ids` stack."""
    new = [ClipDataset(fresh, "train", frames=8, window=w, seed=1) for w in ("spread", "contiguous")]
    before = [[d[i] for i in range(len(d))] for d in new]
    for folder in sorted((fresh / "clips").iterdir()):
        rec = read_clip(folder)
        rgb, ids = read_video(rec.video_path), rec.load_instances()
        write_video(rec.video_path, rgb, rec.shot.fps, gop=250)
        np.savez_compressed(rec.instances_path, ids=ids)
        with zipfile.ZipFile(rec.instances_path) as z:
            assert z.namelist() == ["ids.npy"]
    for d, items in zip(new, before, strict=True):
        for i, was in enumerate(items):
            item = d[i]
            assert item["frame_index"].tolist() == was["frame_index"].tolist()
            np.testing.assert_array_equal(item["masks"].numpy(), was["masks"].numpy())
            assert_item_is(item, *previous_item_arrays(fresh, item["clip_id"], item["frame_index"].numpy()))


def test_contiguous_windows_with_dataloader_workers(packaged: Path) -> None:
    ds = ClipDataset(packaged, "train", frames=8, window="contiguous", seed=2, size=(24, 32))
    batches = list(torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, shuffle=False))
    for b, first in zip(batches, range(0, len(ds), 2), strict=True):
        for j in range(2):
            item = ds[first + j]
            assert b["clip_id"][j] == item["clip_id"]
            torch.testing.assert_close(b["frame_index"][j], item["frame_index"])
            torch.testing.assert_close(b["video"][j], item["video"], rtol=0, atol=0)
            torch.testing.assert_close(b["masks"][j], item["masks"], rtol=0, atol=0)


def test_bad_window_arguments_are_user_errors(packaged: Path) -> None:
    with pytest.raises(UserError, match="window must be one of spread, contiguous; got 'random'"):
        ClipDataset(packaged, window="random")
    with pytest.raises(UserError, match=r"start=23 but a 8-frame window of a 30-frame clip starts at 0\.\.22"):
        ClipDataset(packaged, frames=8, window="contiguous", start=23)
    with pytest.raises(UserError, match="start must be a whole number >= 0"):
        ClipDataset(packaged, frames=8, window="contiguous", start=-1)
    with pytest.raises(UserError, match="seed must be a whole number >= 0"):
        ClipDataset(packaged, frames=8, window="contiguous", seed=1.5)
    with pytest.raises(UserError, match="start applies to window='contiguous' only"):
        ClipDataset(packaged, frames=8, start=2)
    with pytest.raises(UserError, match="start needs frames"):
        ClipDataset(packaged, window="contiguous", start=2)


def test_window_indices() -> None:
    np.testing.assert_array_equal(window_indices(30, 4, 26), [26, 27, 28, 29])
    np.testing.assert_array_equal(window_indices(5, None, 0), np.arange(5))
    with pytest.raises(ValueError, match=r"allowed: 0\.\.26"):
        window_indices(30, 4, 27)
