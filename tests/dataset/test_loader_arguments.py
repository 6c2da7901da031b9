"""The Python API refuses nonsense types in one line naming the argument, the value and what is allowed.

bool is an int subclass and any non-empty string is truthy, so before these checks
`ClipDataset(frames=True)` loaded 1 frame and `depth="no"` loaded depth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hmworld.errors import BadArgumentType, UserError
from hmworld.options import check_flag, check_whole

torch = pytest.importorskip("torch")
from hmworld.dataset import ClipDataset  # noqa: E402
from hmworld.dataset.loader import sample_indices, window_indices  # noqa: E402

BAD_TYPES = [
    ("root", dict(root=3), r"root must be a folder path \(str or pathlib\.Path\), got 3 \(int\)"),
    ("split", dict(split=1), r"split must be train or test, got 1 \(int\)"),
    ("frames", dict(frames=True), r"frames must be a whole number >= 1 or None \(every frame\), got True \(bool\)"),
    ("frames", dict(frames=2.0), r"frames must be a whole number >= 1 or None \(every frame\), got 2\.0 \(float\)"),
    ("frames", dict(frames="4"), r"frames must be a whole number >= 1 or None \(every frame\), got '4' \(str\)"),
    ("size", dict(size=(24.5, 32)), r"size must be \(height, width\), two whole numbers, or None .*got \(24\.5, 32\)"),
    ("size", dict(size="ab"), r"size must be \(height, width\), two whole numbers.*got 'ab' \(str\)"),
    ("size", dict(size=(True, 8)), r"size must be \(height, width\).*got \(True, 8\) \(tuple\)"),
    ("masks", dict(masks="no"), r"masks must be True or False, got 'no' \(str\)"),
    ("masks", dict(masks=0), r"masks must be True or False, got 0 \(int\)"),
    ("window", dict(window=None), r"window must be one of spread, contiguous; got None \(NoneType\)"),
    ("start", dict(frames=4, window="contiguous", start=False),
     r"start must be a whole number >= 0 or None \(a start drawn per item\), got False \(bool\)"),
    ("seed", dict(frames=4, window="contiguous", seed=1.5), r"seed must be a whole number >= 0 or None \(no seed\), got 1\.5"),
    ("depth", dict(depth="yes"), r"depth must be True or False, got 'yes' \(str\)"),
    ("depth", dict(depth=1), r"depth must be True or False, got 1 \(int\)"),
    ("clips", dict(clips=5), r"clips must be a list of clip ids or None \(every clip\), got 5 \(int\)"),
]


@pytest.mark.parametrize(("name", "kwargs", "message"), BAD_TYPES, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BAD_TYPES)])
def test_clip_dataset_refuses_each_wrong_type_naming_the_argument(packaged: Path, name: str, kwargs: dict, message: str) -> None:
    kwargs = {"root": packaged, **kwargs}
    with pytest.raises(TypeError, match=rf"^{message}") as e:
        ClipDataset(**kwargs)
    assert isinstance(e.value, UserError) and "\n" not in str(e.value)  # also one line at the CLI


def test_clip_dataset_refuses_out_of_range_values_as_value_errors(packaged: Path) -> None:
    for kwargs, message in [
        (dict(frames=0), r"frames must be a whole number >= 1 or None \(every frame\), got 0"),
        (dict(size=(0, 8)), r"size must be \(height, width\) with positive sides, got \(0, 8\)"),
        (dict(frames=4, window="contiguous", seed=-1), r"seed must be a whole number >= 0 or None \(no seed\), got -1"),
        (dict(window="random"), r"window must be one of spread, contiguous; got 'random'"),
    ]:
        with pytest.raises(UserError, match=rf"^{message}$") as e:
            ClipDataset(packaged, **kwargs)
        assert not isinstance(e.value, TypeError)


def test_numpy_scalars_and_lists_are_the_types_they_stand_for(packaged: Path) -> None:
    ds = ClipDataset(packaged, frames=np.int64(2), size=[np.int32(24), 32], masks=np.bool_(False), depth=np.bool_(True))
    item = ds[0]
    assert item["video"].shape == (2, 3, 24, 32) and item["depth"].shape == (2, 1, 24, 32)
    assert not item["masks"].any() and isinstance(ds.frames, int) and ds.masks is False


def test_index_helpers_refuse_bools_and_fractions() -> None:
    with pytest.raises(TypeError, match=r"^frames must be a whole number >= 1 or None \(every frame\), got True \(bool\)$"):
        sample_indices(30, True)
    with pytest.raises(TypeError, match=r"^start must be a whole number >= 0, got 1\.5 \(float\)$"):
        window_indices(30, 4, 1.5)
    assert window_indices(30, 4, np.int64(3)).tolist() == [3, 4, 5, 6]
    assert sample_indices(30, 3).tolist() == [0, 14, 29]


def test_helpers_name_the_argument() -> None:
    assert check_flag("x", np.bool_(True)) is True
    with pytest.raises(BadArgumentType, match=r"^x must be True or False, got None \(NoneType\)$"):
        check_flag("x", None)
    assert check_whole("n", None, 1, none="all") is None
    with pytest.raises(BadArgumentType, match=r"^n must be a whole number >= 1, got None \(NoneType\)$"):
        check_whole("n", None, 1)


def test_hydra_data_entry_points_refuse_unknown_splits_and_non_bool_masks(packaged: Path, tmp_path: Path) -> None:
    from hmworld.hydra.cache import CacheDataset
    from hmworld.hydra.config import model_config
    from hmworld.hydra.data import open_dataset

    cfg = model_config("tiny")
    with pytest.raises(UserError, match=r"^unknown split 'val'; allowed: train, test$"):
        open_dataset(packaged, "val", cfg)
    with pytest.raises(TypeError, match=r"^masks must be True or False, got 'false' \(str\)$"):
        open_dataset(packaged, "train", cfg, masks="false")
    with pytest.raises(UserError, match=r"^unknown split 'val'; allowed: train, test$"):  # was an empty dataset
        CacheDataset(tmp_path, "val")
    with pytest.raises(TypeError, match=r"^root must be a folder path \(str or pathlib\.Path\), got None"):
        CacheDataset(None)
