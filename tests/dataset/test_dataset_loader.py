"""ClipDataset: the tensors a world model gets, checked against the clip folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import clip_dir, read_clip
from hmworld.errors import UserError
from hmworld.events import VISIBLE, read_events
from hmworld.geometry import hydra_camera_tensor, split_streams
from hmworld.video import read_video

torch = pytest.importorskip("torch")
from hmworld.dataset import ClipDataset  # noqa: E402
from hmworld.dataset.loader import sample_indices  # noqa: E402


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
    with pytest.raises(UserError, match="frames must be a positive whole number"):
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
