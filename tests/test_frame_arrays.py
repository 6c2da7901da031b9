from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from hmworld.errors import DamagedClip
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


def test_a_frame_beyond_the_stack_is_a_damaged_clip_naming_file_and_frame(tmp_path: Path, stack: np.ndarray) -> None:
    p = write_frames(tmp_path / "ids.npz", "ids", stack)
    with pytest.raises(DamagedClip, match=r"ids\.npz: cannot be read \(KeyError: .*ids_00012"):
        read_frames(p, "ids", [12])
    old = tmp_path / "old.npz"
    np.savez_compressed(old, ids=stack)
    with pytest.raises(DamagedClip, match="holds 12 frames, frame 12"):
        read_frames(old, "ids", [12])


def test_a_negative_or_fractional_frame_is_the_callers_value_error(tmp_path: Path, stack: np.ndarray) -> None:
    p = write_frames(tmp_path / "ids.npz", "ids", stack)
    for bad in ([-1], [1.5]):
        with pytest.raises(ValueError, match="frame indices must be integers >= 0") as e:
            read_frames(p, "ids", bad)
        assert not isinstance(e.value, DamagedClip)


@pytest.mark.parametrize("damage", ["truncated", "random bytes", "missing", "mixed shapes"])
def test_a_damaged_file_is_one_damaged_clip_line_naming_it(tmp_path: Path, stack: np.ndarray, damage: str) -> None:
    p = write_frames(tmp_path / "ids.npz", "ids", stack)
    if damage == "truncated":
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 3])
    elif damage == "random bytes":
        p.write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    elif damage == "missing":
        p.unlink()
    else:
        arrays = {member("ids", t): stack[t] for t in range(12)}
        arrays[member("ids", 4)] = stack[4, :3]
        np.savez_compressed(p, **arrays)
    with pytest.raises(DamagedClip) as e:
        read_frames(p, "ids")
    text = str(e.value)
    assert text.startswith(f"{p}: cannot be read (") and "\n" not in text and "pickle" not in text
    if damage == "mixed shapes":
        assert "ids_00004 is uint8 [3, 10], ids_00000 is uint8 [6, 10]" in text
