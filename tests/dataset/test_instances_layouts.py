"""instances.npz in both layouts: one deflated member per frame (written now) and one `ids` stack (before)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import read_instances
from hmworld.dataset.checks import check_instances
from hmworld.frame_arrays import member, write_frames
from hmworld.render.base import write_instances


@pytest.fixture
def ids() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 3, size=(20, 12, 16), dtype=np.uint8)


def test_write_instances_stores_one_member_per_frame_and_reads_back_windows(tmp_path: Path, ids: np.ndarray) -> None:
    path = write_instances(tmp_path, ids)
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == [f"ids_{t:05d}.npy" for t in range(20)]
    np.testing.assert_array_equal(read_instances(path), ids)
    np.testing.assert_array_equal(read_instances(path, [16, 17, 3]), ids[[16, 17, 3]])
    assert check_instances(path, 20, 16, 12, 2, deep=True) == []


def test_the_whole_stack_layout_written_before_is_read_and_checked(tmp_path: Path, ids: np.ndarray) -> None:
    path = tmp_path / "instances.npz"
    np.savez_compressed(path, ids=ids)
    np.testing.assert_array_equal(read_instances(path, np.arange(4, 20)), ids[4:])
    assert check_instances(path, 20, 16, 12, 2, deep=True) == []
    assert check_instances(path, 21, 16, 12, 2, deep=False) == [
        f"{path}: ids are uint8 [20, 12, 16], expected uint8 [21, 12, 16]"]
    assert check_instances(path, 20, 16, 12, 1, deep=True) == [
        f"{path}: holds instance id 2, but the clip has 1 subject(s)"]


def test_damaged_per_frame_archives_are_named(tmp_path: Path, ids: np.ndarray) -> None:
    short = write_frames(tmp_path / "short.npz", "ids", ids[:19])
    assert check_instances(short, 20, 16, 12, 2, deep=False) == [
        f"{short}: holds 19 members, expected 20 (one per frame, {member('ids', 0)} …) or one 'ids' stack"]
    wide = write_frames(tmp_path / "wide.npz", "ids", ids.astype(np.uint16))
    assert check_instances(wide, 20, 16, 12, 2, deep=False) == [
        f"{wide}: ids are uint16 [12, 16], expected uint8 [12, 16]"]
    high = write_frames(tmp_path / "high.npz", "ids", ids + 1)
    assert check_instances(high, 20, 16, 12, 2, deep=False) == []
    assert check_instances(high, 20, 16, 12, 2, deep=True) == [
        f"{high}: holds instance id 3, but the clip has 2 subject(s)"]
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert check_instances(junk, 20, 16, 12, 2, deep=False)[0].startswith(f"{junk}: cannot be read as instances.npz")
