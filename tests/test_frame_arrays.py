from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hmworld.frame_arrays import frame_count, member, read_frames, write_frames


@pytest.fixture
def stack() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 4, size=(12, 6, 10), dtype=np.uint8)


def test_round_trip_all_and_some_frames(tmp_path: Path, stack: np.ndarray) -> None:
    p = write_frames(tmp_path / "ids.npz", "ids", stack)
    assert frame_count(p, "ids") == 12
    np.testing.assert_array_equal(read_frames(p, "ids"), stack)
    got = read_frames(p, "ids", [11, 0, 5])
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, stack[[11, 0, 5]])


def test_one_member_per_frame_so_a_window_inflates_only_its_frames(tmp_path: Path, stack: np.ndarray) -> None:
    p = write_frames(tmp_path / "ids.npz", "ids", stack)
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
        assert names == [f"{member('ids', t)}.npy" for t in range(12)]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in z.infolist())


def test_reads_the_whole_stack_layout_written_before(tmp_path: Path, stack: np.ndarray) -> None:
    p = tmp_path / "old.npz"
    np.savez_compressed(p, ids=stack)
    assert frame_count(p, "ids") == 12
    np.testing.assert_array_equal(read_frames(p, "ids", [2, 3]), stack[[2, 3]])


def test_a_frame_beyond_the_stack_is_a_key_error_naming_it(tmp_path: Path, stack: np.ndarray) -> None:
    p = write_frames(tmp_path / "ids.npz", "ids", stack)
    with pytest.raises(KeyError, match="ids_00012"):
        read_frames(p, "ids", [12])
