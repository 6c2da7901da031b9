"""Outputs that cannot be written: one `error: cannot write …` line and exit 2 from every command that writes.

Three ways an output can be refused: a file where a folder goes, a folder where
a file goes, and a read-only file system (mounted for the test in a private
mount namespace: root ignores permission bits, not a read-only mount).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hmworld.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    return e.value.code, capsys.readouterr().err


def _one_line(code: int, err: str, needle: str) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert needle in err, err


def _blocker(tmp_path: Path) -> Path:
    f = tmp_path / "a-file"
    f.write_text("not a folder")
    return f


def test_file_where_a_folder_goes(tmp_path, capsys, fresh):
    f = _blocker(tmp_path)
    cases = [
        ("plan", "--out", f / "plan.parquet"),
        ("export", fresh, "--out", f),
        ("train", "--data", fresh, "--out", f),
        ("ue5-assets", "--template", f / "map.toml"),
        ("import-hmworld", fresh, "--out", f),
        ("evaluate", "--run", tmp_path, "--data", fresh, "--out", f),
    ]
    for args in cases:
        code, err = _cli(capsys, *args)
        _one_line(code, err, f"{str(f)!r}")


def test_folder_where_a_file_goes(tmp_path, capsys):
    d = tmp_path / "a-folder"
    d.mkdir()
    for args in [("plan", "--out", d), ("ue5-assets", "--template", d)]:
        code, err = _cli(capsys, *args)
        _one_line(code, err, "cannot write")
        assert f"{str(d)!r}: it is a folder" in err
    assert list(d.iterdir()) == []


def test_dataset_commands_with_a_file_or_folder_in_the_way(capsys, fresh):
    shutil.rmtree(fresh / "meta")
    (fresh / "meta").write_text("in the way")
    code, err = _cli(capsys, "package", fresh)
    _one_line(code, err, "meta")
    clip = sorted((fresh / "clips").iterdir())[0]
    (clip / "events.json").unlink(missing_ok=True)
    (clip / "events.json").mkdir()
    code, err = _cli(capsys, "filter-events", fresh)
    _one_line(code, err, "events.json")


def _unshare_ok() -> bool:
    if shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True)
    return r.returncode == 0


needs_mounts = pytest.mark.skipif(not _unshare_ok(), reason="needs `unshare -rm` and tmpfs mounts (Linux)")


def in_private_mount(script: str, dataset: Path, size: str = "64m") -> subprocess.CompletedProcess:
    """Run `script` (sh) with $M a fresh tmpfs holding a copy of `dataset` at $M/ds; $HM runs hmworld."""
    setup = f'mount -t tmpfs -o size={size} tmpfs "$M" && cp -r "{dataset}" "$M/ds" && '
    mnt = dataset.parent / "mnt"
    mnt.mkdir(exist_ok=True)
    env = {"M": str(mnt), "HM": f"{sys.executable} -m hmworld", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["unshare", "-rm", "sh", "-c", setup + script], capture_output=True, text=True,
                          env=env, timeout=600, cwd=ROOT)


@needs_mounts
def test_a_read_only_folder_is_one_line_for_every_command(fresh):
    commands = [
        "plan --out $M/ds/plan.parquet --clips 2",
        "render --scene park --clips 1 --frames 4 --out $M/ds/r",
        "export $M/ds --out $M/ds/exp --size 64x48",
        "train --data $M/ds --out $M/ds/run --steps 1",
        "ue5-assets --template $M/ds/map.toml",
        "package $M/ds",
        "filter-events $M/ds",
        "caption $M/ds --overwrite --no-progress",
        "preview $M/ds/clips/$(ls $M/ds/clips | head -n 1) --out $M/ds/p.png",
    ]
    script = 'mount -o remount,ro "$M" && ' + " ; ".join(
        f'echo "=== {c}" ; $HM {c} 2>&1 ; echo "rc=$?"' for c in commands
    )
    r = in_private_mount(script, fresh)
    blocks = r.stdout.split("=== ")[1:]
    assert len(blocks) == len(commands), r.stdout + r.stderr
    for block in blocks:
        _head, *lines = block.strip().splitlines()
        assert lines[-1] == "rc=2", block
        assert len(lines) == 2 and lines[0].startswith("error: cannot write") and "Read-only file system" in lines[0], block


DISK_FULL = [
    ("package $M/ds", "validate $M/ds"),
    ("filter-events $M/ds", "validate $M/ds"),
    ("caption $M/ds --overwrite --no-progress", "validate $M/ds"),
    ("export $M/ds --out $M/exp --size 64x48", "validate $M/ds"),
    ("render --scene park --clips 1 --frames 8 --resolution 64x48 --out $M/r --no-progress", "validate $M/ds"),
]


@needs_mounts
@pytest.mark.parametrize("command, check", DISK_FULL, ids=[c.split()[0] for c, _ in DISK_FULL])
def test_a_full_disk_is_one_line_naming_the_path_and_a_rerun_completes(fresh, command, check):
    script = (
        'dd if=/dev/zero of="$M/fill" bs=4k 2>/dev/null ; '
        f'echo "=== full" ; $HM {command} 2>&1 ; echo "rc=$?" ; '
        f'echo "=== after" ; $HM {check} >/dev/null 2>&1 ; echo "rc=$?" ; '
        f'rm "$M/fill" ; echo "=== rerun" ; $HM {command} >/dev/null 2>&1 ; echo "rc=$?" ; '
        f'echo "=== check" ; $HM {check} >/dev/null 2>&1 ; echo "rc=$?"'
    )
    r = in_private_mount(script, fresh, size="8m")
    blocks = {b.split("\n", 1)[0]: b.strip().splitlines()[1:] for b in r.stdout.split("=== ")[1:]}
    full = blocks["full"]
    assert full[-1] == "rc=1", r.stdout + r.stderr
    errors = [line for line in full[:-1] if line.startswith("error: ")]
    assert "Traceback" not in r.stdout and len(errors) == 1, r.stdout
    assert errors[0].startswith("error: disk full while writing '") and "No space left on device" in errors[0]
    assert blocks["after"] == ["rc=0"], "the dataset must still be whole after the failed run"
    assert blocks["rerun"] == ["rc=0"] and blocks["check"] == ["rc=0"], r.stdout
