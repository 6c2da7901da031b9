"""Damaged clips mid-run: named in one line; skipped with --keep-going or exit 2; redone by a resumed render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hmworld.cli import main


def _cli(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code
    got = capsys.readouterr()
    return code, got.out, got.err


def _clips(root: Path) -> list[Path]:
    return sorted(p for p in (root / "clips").iterdir() if p.is_dir())


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def test_caption_names_a_truncated_clip_json_and_skips_it_with_keep_going(capsys, fresh):
    bad = _clips(fresh)[2]
    _truncate(bad / "clip.json")
    code, _, err = _cli(capsys, "caption", fresh, "--overwrite", "--no-progress")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: clip {bad.name}: clip.json is damaged (JSONDecodeError"), err
    code, out, err = _cli(capsys, "caption", fresh, "--overwrite", "--no-progress", "--keep-going")
    assert code == 0, err
    assert f"skipped clip {bad.name}: clip.json is damaged" in out
    assert f"captioned {len(_clips(fresh)) - 1} of {len(_clips(fresh))}" in out


def test_export_names_an_undecodable_video_and_skips_it_with_keep_going(tmp_path, capsys, fresh):
    bad = _clips(fresh)[1]
    (bad / "rgb.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 100)
    code, _, err = _cli(capsys, "export", fresh, "--out", tmp_path / "exp", "--size", "64x48")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: clip {bad.name}: cannot read its video or masks"), err
    code, _, err = _cli(capsys, "export", fresh, "--out", tmp_path / "exp", "--size", "64x48", "--keep-going")
    assert code == 0, err
    assert f"skipped clip {bad.name}: cannot read" in err
    n = len(_clips(fresh)) - 1
    samples = sorted(p.name for p in (tmp_path / "exp").iterdir() if p.name.startswith("sample"))
    assert samples == sorted(f"sample{i}" for i in range(1, n + 1))
    assert len((tmp_path / "exp" / "caption.txt").read_text().splitlines()) == n
    exported = {json.loads((tmp_path / "exp" / s / "check.json").read_text())["clip_id"] for s in samples}
    assert bad.name not in exported and len(exported) == n


def test_export_names_a_missing_clip_folder(tmp_path, capsys, fresh):
    gone = _clips(fresh)[0]
    shutil.rmtree(gone)
    code, _, err = _cli(capsys, "export", fresh, "--out", tmp_path / "exp", "--size", "64x48")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: clip {gone.name}: ") and "clip.json' is missing" in err, err


@pytest.mark.parametrize("damage", ["truncate clip.json", "delete rgb.mp4"])
def test_a_resumed_render_redoes_a_damaged_complete_clip(tmp_path, capsys, damage):
    args = ["render", "--scene", "park", "--clips", "2", "--frames", "12", "--resolution", "64x48",
            "--out", tmp_path / "out", "--no-progress"]
    assert _cli(capsys, *args)[0] == 0
    bad = _clips(tmp_path / "out")[0]
    if damage == "truncate clip.json":
        _truncate(bad / "clip.json")
    else:
        (bad / "rgb.mp4").unlink()
    code, out, err = _cli(capsys, *args)
    assert code == 0, err
    assert f"redoing clip {bad.name}: " in err
    assert "1 clip(s) rendered, 1 already complete, 1 partial redone of 2 planned" in out
    assert json.loads((bad / "clip.json").read_text())["clip_id"] == bad.name and (bad / "rgb.mp4").is_file()
