"""`hmworld validate` and the dataset commands, run as a user runs them: real subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hmworld.clip import list_clip_dirs
from hmworld.dataset.tables import shard_paths
from hmworld.dataset.validate import validate
from hmworld.dataset.versions import write_table


def hmworld(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hmworld", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_good_dataset_validates(packaged: Path) -> None:
    report = validate(packaged)
    assert report.ok and report.clips == 6 and report.videos_checked == 6 and report.decoded
    assert validate(packaged, quick=True, workers=2).ok


def test_corrupt_video_is_found_and_named(fresh: Path) -> None:
    victim = list_clip_dirs(fresh)[3]
    data = bytearray((victim / "rgb.mp4").read_bytes())
    (victim / "rgb.mp4").write_bytes(bytes(data[: len(data) // 2]))
    report = validate(fresh)
    assert not report.ok
    assert [p.clip for p in report.problems] == [victim.name]
    assert f"{victim.name}/rgb.mp4" in report.problems[0].message


def test_missing_clip_and_inconsistent_rows_are_found(fresh: Path) -> None:
    clips = list_clip_dirs(fresh)
    shutil.rmtree(clips[0])
    path = shard_paths(fresh, "train")[0]
    table = pq.read_table(path)
    n_pairs = table.column("n_pairs").to_pylist()
    n_pairs[0] += 5
    import pyarrow as pa

    table = table.set_column(table.schema.get_field_index("n_pairs"), table.schema.field("n_pairs"), pa.array(n_pairs, pa.int32()))
    write_table(table, path)
    report = validate(fresh, quick=True)
    text = report.format()
    assert f"{clips[0].name}: " in text and "clip folder or its clip.json is missing" in text
    assert "video is missing" in text
    assert "n_pairs is" in text and "pairs are listed" in text


def test_info_json_disagreeing_with_tables_is_found(fresh: Path) -> None:
    info_path = fresh / "meta" / "info.json"
    info = json.loads(info_path.read_text())
    info["counts"]["splits"]["train"] += 1
    info["frames"] = 31
    info_path.write_text(json.dumps(info))
    text = validate(fresh, quick=True).format()
    assert "meta/info.json states 5 train clips, the tables hold 4" in text
    assert "columns or types differ from the format" in text  # 31-frame lists expected, 30 found


def test_cli_package_validate_export_import(packaged: Path, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(packaged / "clips", root / "clips")
    r = hmworld("package", root, "--test-scenes", "village_square", "--test-subjects", "none", "--test-fraction", "0",
                "--shard-rows", "3", "--name", "tiny")
    assert r.returncode == 0, r.stderr
    assert "packaged 6 clips" in r.stdout and "train 4, test 2" in r.stdout and "load_dataset" in r.stdout
    assert "pretty_name: tiny" in (root / "README.md").read_text()
    r = hmworld("validate", root)
    assert r.returncode == 0 and "no problems" in r.stdout
    r = hmworld("export", root, "--out", tmp_path / "hmw", "--size", "64x48", "--split", "test")
    assert r.returncode == 0, r.stderr
    assert "wrote 2 and kept 0 of 2 samples" in r.stdout
    r = hmworld("import-hmworld", tmp_path / "hmw", "--out", tmp_path / "back")
    assert r.returncode == 0, r.stderr
    assert "imported 2 and kept 0 clip(s) from the dataset layout" in r.stdout and "packaged 2 clips" in r.stdout
    # a broken clip: package refuses with a one-line error, --keep-going skips it, validate fails
    victim = sorted((root / "clips").iterdir())[0]
    (victim / "rgb.mp4").write_bytes(b"\x00" * 100)
    r = hmworld("validate", root)
    assert r.returncode == 1 and f"{victim.name}: " in r.stdout and "problem(s)" in r.stdout
    r = hmworld("package", root)
    assert r.returncode == 2 and r.stderr.startswith("error: 1 clip(s) cannot be packaged") and "Traceback" not in r.stderr
    r = hmworld("package", root, "--keep-going")
    assert r.returncode == 0 and f"skipped {victim.name}" in r.stdout and "packaged 5 clips" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("package", "{root}", "--test-scenes", "moon"), "unknown scene 'moon'"),
        (("package", "{root}", "--test-fraction", "2"), "test fraction must be in [0, 1], got 2.0"),
        (("validate", "{root}/clips"), "has no parquet tables"),
        (("export", "{root}", "--out", "{tmp}/x", "--format", "webdataset"), "unknown export format 'webdataset'"),
        (("export", "{root}", "--out", "{tmp}/x", "--size", "83x48"), "impossible resolution '83x48'"),
        (("import-hmworld", "{tmp}", "--out", "{tmp}/y"), "neither sample<i>/ folders"),
    ],
)
def test_cli_user_errors(packaged: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    r = hmworld(*(a.format(root=packaged, tmp=tmp_path) for a in args))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
