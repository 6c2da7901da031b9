"""A refused, failed or interrupted export leaves OUT exactly as it was: no partial sample folders,
no caption.txt that disagrees with the samples, and never a file that existed before removed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_official_interop_faults import _cli

from hmworld.dataset.official_hmworld.exporter import export_examples, export_hmworld
from hmworld.dataset.tables import read_all


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path → SHA-256): what a run must leave alone."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _damage_third(root: Path) -> str:
    rows = read_all(root, ["clip_id", "split"]).to_pylist()
    order = sorted((r["split"] != "train", r["clip_id"]) for r in rows)  # the export's order: train first, by id
    order = [cid for _, cid in order]
    (root / "clips" / order[2] / "rgb.mp4").write_bytes(b"not a video")
    return order[2]


@pytest.mark.parametrize("fmt", ["hmworld", "hydra-examples"])
def test_a_refused_export_into_a_new_folder_leaves_nothing(fresh: Path, tmp_path: Path, capsys, fmt: str) -> None:
    bad = _damage_third(fresh)
    out = tmp_path / "new" / "out"
    code, _, err = _cli(capsys, "export", fresh, "--out", out, "--format", fmt, "--size", "64x48")
    assert code == 2 and err.startswith(f"error: clip {bad}: ") and err.count("\n") == 1
    assert not out.exists()  # before: sample1/, sample2/ (or 1.mp4, cam1.json, …) and no caption.txt


@pytest.mark.parametrize("fmt", ["hmworld", "hydra-examples"])
def test_a_refused_export_over_an_earlier_one_changes_nothing_in_it(fresh: Path, tmp_path: Path, capsys, fmt: str) -> None:
    out = tmp_path / "out"
    export = export_hmworld if fmt == "hmworld" else export_examples
    export(fresh, out, width=32, height=24)  # an earlier export at another size: every sample would be rewritten
    before = _tree(out)
    (out / "mine.txt").write_text("the user's own file")
    before["mine.txt"] = _tree(out)["mine.txt"]
    _damage_third(fresh)
    code, _, _ = _cli(capsys, "export", fresh, "--out", out, "--format", fmt, "--size", "64x48")
    assert code == 2
    assert _tree(out) == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # no staging folder left


def test_an_interrupted_export_changes_nothing_and_a_rerun_finishes_it(fresh: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_hmworld(fresh, out, width=32, height=24, limit=2)
    before = _tree(out)

    def stop(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_hmworld(fresh, out, width=32, height=24, progress=stop)
    assert _tree(out) == before
    r = export_hmworld(fresh, out, width=32, height=24)
    assert (r.samples, r.written, r.kept) == (6, 4, 2)
    assert len((out / "caption.txt").read_text().splitlines()) == 6 and not list(out.glob(".*.tmp"))


def test_keep_going_still_writes_the_other_samples(fresh: Path, tmp_path: Path, capsys) -> None:
    bad = _damage_third(fresh)
    out = tmp_path / "out"
    code, stdout, err = _cli(capsys, "export", fresh, "--out", out, "--size", "64x48", "--keep-going")
    assert code == 0 and f"skipped clip {bad}" in err and "wrote 5 and kept 0 of 5 samples" in stdout
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [f"sample{i}" for i in range(1, 6)]


def test_an_import_that_fails_half_way_through_a_clip_leaves_no_folder_of_loose_files(
        fresh: Path, tmp_path: Path, monkeypatch) -> None:
    from hmworld.dataset.official_hmworld import importer

    export_hmworld(fresh, tmp_path / "hmw", width=64, height=48, limit=2)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")  # after rgb.mp4 and caption.json were written

    monkeypatch.setattr(importer, "finish_clip", full_disk)
    with pytest.raises(ValueError, match="No space left on device"):  # a UserError naming the sample
        importer.import_hmworld(tmp_path / "hmw", tmp_path / "back")
    assert not (tmp_path / "back" / "clips").exists() or not list((tmp_path / "back" / "clips").iterdir())
    monkeypatch.undo()
    r = importer.import_hmworld(tmp_path / "hmw", tmp_path / "back")
    assert len(r.clips) == 2 and r.kept == 0
    assert all((tmp_path / "back" / "clips" / c / "clip.json").is_file() for c in r.clips)
