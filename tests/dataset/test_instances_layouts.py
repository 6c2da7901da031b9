"""instances.npz in both layouts: one deflated member per frame (written now) and one `ids` stack (before)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import INSTANCES_FILE, list_clip_dirs, read_instances
from hmworld.dataset import ClipDataset
from hmworld.dataset.checks import check_instances
from hmworld.errors import DamagedClip
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


def _damage(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def test_damaged_masks_are_one_line_in_preview_export_and_the_loader(tmp_path: Path) -> None:
    """Found by trying it: a truncated instances.npz was a BadZipFile traceback in `preview --out`,
    in `export` (even with --keep-going) and in ClipDataset. The one reader now names the file."""
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hmworld", *args], capture_output=True, text=True)

    ds = tmp_path / "ds"
    r = cli("render", "--scene", "park", "--clips", "2", "--frames", "6", "--resolution", "48x32",
            "--out", str(ds), "--no-progress", "--no-depth")
    assert r.returncode == 0, r.stderr
    assert cli("package", str(ds)).returncode == 0
    bad, good = list_clip_dirs(ds)
    _damage(bad / INSTANCES_FILE)
    r = cli("preview", str(bad), "--out", str(tmp_path / "sheet.png"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert f"{bad / INSTANCES_FILE}: cannot be read (BadZipFile" in r.stderr
    r = cli("export", str(ds), "--out", str(tmp_path / "ex"), "--size", "48x32")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--keep-going" in r.stderr, r.stderr
    r = cli("export", str(ds), "--out", str(tmp_path / "ex2"), "--size", "48x32", "--keep-going")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert bad.name in r.stdout + r.stderr
    split_of = {}
    for split in ("train", "test"):
        items = ClipDataset(ds, split, frames=2)
        for i in range(len(items)):
            try:
                split_of[items[i]["clip_id"]] = split
            except DamagedClip as e:
                assert str(e).startswith(f"{bad / INSTANCES_FILE}: cannot be read (BadZipFile")
                split_of[bad.name] = "damaged"
    assert split_of[bad.name] == "damaged" and good.name in split_of
