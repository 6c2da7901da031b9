"""Each stage called from Python leaves the dataset the CLI command leaves: tables and meta/,
byte for byte (the CLI only parses, calls one stage function, and prints)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dataset_support import RULE

from hmworld import stages
from hmworld.clip import list_clip_dirs
from hmworld.dataset.tables import shard_paths


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("hmworld")
    run = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def tables_and_meta(root: Path) -> dict[str, bytes]:
    """Every file under data/ and meta/ plus the card, by path relative to the dataset."""
    files = [root / "README.md", *sorted((root / "meta").rglob("*")), *sorted((root / "data").rglob("*"))]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files if p.is_file()}


def copies(src: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies in folders of the same name (the name is part of info.json and the card)."""
    a, b = tmp_path / "py" / "ds", tmp_path / "cli" / "ds"
    shutil.copytree(src, a)
    shutil.copytree(src, b)
    return a, b


def test_filter_events_from_python_equals_the_cli(packaged: Path, tmp_path: Path) -> None:
    a, b = copies(packaged, tmp_path)
    stages.filter_events(a, drop=True)
    cli("filter-events", b, "--drop")
    assert tables_and_meta(a) == tables_and_meta(b)
    assert [p.name for p in list_clip_dirs(a)] == [p.name for p in list_clip_dirs(b)]


def test_caption_from_python_equals_the_cli(packaged: Path, tmp_path: Path) -> None:
    a, b = copies(packaged, tmp_path)
    for root in (a, b):
        for clip in list_clip_dirs(root):
            (clip / "caption.json").unlink(missing_ok=True)
    before = tables_and_meta(a)
    r = stages.caption(a)
    cli("caption", b, "--no-progress")
    assert r.summary.empty == 0
    after = tables_and_meta(a)
    assert after == tables_and_meta(b)
    assert after != before  # the captions reached the tables and the card


def test_package_from_python_equals_the_cli(packaged: Path, tmp_path: Path) -> None:
    a, b = copies(packaged, tmp_path)
    for root in (a, b):
        shutil.rmtree(list_clip_dirs(root)[0])
    stages.package(a, RULE, shard_rows=2)
    rule = ["--test-scenes", ",".join(RULE.test_scenes) or "none", "--test-subjects",
            ",".join(RULE.test_subjects) or "none", "--test-fraction", str(RULE.test_fraction),
            "--split-seed", str(RULE.seed), "--shard-rows", "2"]
    cli("package", b, *rule)
    assert tables_and_meta(a) == tables_and_meta(b)


def test_import_from_python_equals_the_cli(packaged: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    stages.export_hmworld(packaged, release, width=64, height=48)
    a, b = tmp_path / "py" / "ds", tmp_path / "cli" / "ds"
    r = stages.import_hmworld(release, a)
    cli("import-hmworld", release, "--out", b)
    assert r.packaged is not None and shard_paths(a)
    assert tables_and_meta(a) == tables_and_meta(b)
