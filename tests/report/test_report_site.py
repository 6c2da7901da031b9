"""The report folder: what it holds, how it is replaced, and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hmworld.clip import read_instances
from hmworld.dataset.tables import read_all
from hmworld.errors import UserError
from hmworld.report import build_report, parse_clips
from hmworld.report.media import mask_grid, tile_masks
from hmworld.report.timeline import state_runs
from tests.report.browser_support import unavailable


def hm(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hmworld", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def _clip_ids(dataset: Path) -> list[str]:
    """The table's clip ids, train first (the report's order)."""
    return read_all(dataset, columns=["clip_id"]).column("clip_id").to_pylist()


def test_report_has_overview_index_and_a_page_for_each_requested_clip(report: Path, dataset: Path) -> None:
    ids = _clip_ids(dataset)
    assert (report / "index.html").is_file() and (report / "clips.html").is_file()
    pages = sorted(p.parent.name for p in report.glob("clips/*/index.html"))
    assert pages == sorted(ids[:4])
    for cid in ids[:4]:
        folder = report / "clips" / cid
        for name in ("rgb.mp4", "poster.jpg", "thumb.jpg", "map.png", "timeline.png", "sheet.jpg", "mask-s1.png"):
            assert (folder / name).stat().st_size > 0, name
    data = (report / "assets" / "clips-data.js").read_text()
    rows = json.loads(data.removeprefix("window.HMW_CLIPS = ").removesuffix(";\n"))
    assert [r["id"] for r in rows] == ids  # every clip is in the index, with a page link only for the first 4
    assert [("page" in r) for r in rows] == [True] * 4 + [False] * (len(ids) - 4)
    meta = json.loads((report / "report.json").read_text())
    assert meta["clips"] == len(ids) and meta["pages"] == 4


def test_nothing_is_loaded_from_the_web(report: Path) -> None:
    for page in [report / "index.html", report / "clips.html", *report.glob("clips/*/index.html")]:
        text = page.read_text()
        assert "http://" not in text and "https://" not in text, page


def test_clip_pages_link_to_their_neighbours(report: Path, dataset: Path) -> None:
    ids = _clip_ids(dataset)[:4]
    first = (report / "clips" / ids[0] / "index.html").read_text()
    middle = (report / "clips" / ids[1] / "index.html").read_text()
    assert f"../{ids[1]}/index.html" in first and "prev-clip" not in first
    assert f"../{ids[0]}/index.html" in middle and f"../{ids[2]}/index.html" in middle


def test_clip_without_events_json_says_its_states_were_computed(report: Path, dataset: Path) -> None:
    for cid in _clip_ids(dataset)[:4]:
        has_events = (dataset / "clips" / cid / "events.json").is_file()
        assert ("filter-events has not run" in (report / "clips" / cid / "index.html").read_text()) != has_events


def test_mask_strip_holds_each_frame_at_its_tile(dataset: Path, report: Path) -> None:
    cid = _clip_ids(dataset)[0]
    ids = read_instances(dataset / "clips" / cid / "instances.npz")
    t, h, w = ids.shape
    grid, stride = mask_grid(t, w, h)
    strip = np.asarray(Image.open(report / "clips" / cid / "mask-s1.png"))
    assert strip.shape == (grid.rows * grid.height, grid.cols * grid.width)
    for t in (0, ids.shape[0] // 2, ids.shape[0] - 1):
        r, c = divmod(t, grid.cols)
        tile = strip[r * grid.height:(r + 1) * grid.height, c * grid.width:(c + 1) * grid.width]
        assert np.array_equal(tile.astype(bool), ids[t, ::stride, ::stride] == 1)


def test_tiles_are_frames_in_reading_order() -> None:
    masks = np.zeros((5, 2, 3), bool)
    for t in range(5):
        masks[t, 0, 0] = t % 2 == 0
    grid, stride = mask_grid(5, 3, 2)
    img = tile_masks(masks, grid, stride)
    assert (grid.cols, grid.rows) == (3, 2) and img.shape == (4, 9)
    assert img[0, 0] == 1 and img[0, 3] == 0 and img[0, 6] == 1 and img[2, 0] == 0 and img[2, 3] == 1


def test_state_runs() -> None:
    starts, lengths, values = state_runs(np.array([2, 2, 0, 0, 0, 2]))
    assert starts.tolist() == [0, 2, 5] and lengths.tolist() == [2, 3, 1] and values.tolist() == [2, 0, 2]


def test_a_second_run_replaces_the_report(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    build_report(dataset, out, clips=2)
    (out / "clips" / "stale-file").write_text("x")
    s = build_report(dataset, out, clips=1)
    assert s.pages == 1 and len(list(out.glob("clips/*/index.html"))) == 1
    assert not (out / "clips" / "stale-file").exists()
    assert not list(tmp_path.glob(".r.*"))  # no temporary folders left beside it


def test_pages_from_worker_processes_match_pages_from_one(dataset: Path, report: Path, tmp_path: Path) -> None:
    s = build_report(dataset, tmp_path / "w", clips=4, workers=2)
    assert s.pages == 4
    for page in report.glob("clips/*/index.html"):
        assert (tmp_path / "w" / page.relative_to(report)).read_text() == page.read_text()
    assert (tmp_path / "w" / "index.html").read_text() == (report / "index.html").read_text()


def test_parse_clips() -> None:
    assert parse_clips("all") is None and parse_clips(" ALL ") is None and parse_clips("3") == 3
    for bad in ("0", "-2", "x", ""):
        with pytest.raises(UserError, match="--clips"):
            parse_clips(bad)


def test_cli_writes_the_report_and_prints_its_path(dataset: Path, tmp_path: Path) -> None:
    r = hm("report", dataset, "--out", tmp_path / "cli", "--clips", "1")
    assert r.returncode == 0, r.stderr
    assert str(tmp_path / "cli" / "index.html") in r.stdout and "1 clip pages" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clips", "0"], "--clips must be a positive number or 'all', got '0'"),
        (["--clips", "some"], "--clips must be a positive number or 'all', got 'some'"),
        (["--workers", "0"], "--workers must be at least 1, got 0"),
    ],
)
def test_cli_bad_numbers_are_one_line(dataset: Path, tmp_path: Path, args: list[str], message: str) -> None:
    r = hm("report", dataset, "--out", tmp_path / "x", *args)
    assert r.returncode == 2 and r.stderr.strip() == f"error: {message}"
    assert not (tmp_path / "x").exists()


def test_cli_refuses_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    r = hm("report", tmp_path / "nothing")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")


def test_cli_never_overwrites_a_folder_that_is_not_a_report(dataset: Path, tmp_path: Path) -> None:
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    r = hm("report", dataset, "--out", keep)
    assert r.returncode == 2 and "not an hmworld report" in r.stderr and r.stderr.count("\n") == 1
    assert (keep / "notes.txt").read_text() == "precious" and len(list(keep.iterdir())) == 1
    r = hm("report", dataset, "--out", dataset)
    assert r.returncode == 2 and r.stderr.startswith("error: ")


def test_without_a_browser_only_the_browser_tests_skip_and_never_under_ci(monkeypatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        unavailable("no Chromium found")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but no Chromium found"):
        unavailable("no Chromium found")


def test_a_missing_or_damaged_clip_is_one_line_and_leaves_no_half_report(dataset: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    shutil.copytree(dataset, ds)
    ids = _clip_ids(ds)
    (ds / "clips" / ids[1] / "instances.npz").write_bytes(b"not a zip")
    r = hm("report", ds, "--out", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"error: clip {ids[1]}: cannot make its page")
    shutil.copyfile(dataset / "clips" / ids[1] / "instances.npz", ds / "clips" / ids[1] / "instances.npz")
    shutil.rmtree(ds / "clips" / ids[0])  # now the only damage: which worker fails first is no race
    r = hm("report", ds, "--out", tmp_path / "out", "--workers", "2")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and ids[0] in r.stderr
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["ds"]


def test_an_unwritable_out_is_one_line(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    r = hm("report", dataset, "--out", tmp_path / "file" / "report")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")


def test_keep_going_skips_a_damaged_clip_names_it_and_links_a_page_naming_the_problem(dataset: Path, tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    shutil.copytree(dataset, ds)
    ids = _clip_ids(ds)
    (ds / "clips" / ids[1] / "instances.npz").write_bytes(b"not a zip")
    shutil.rmtree(ds / "clips" / ids[3])
    r = hm("report", ds, "--out", tmp_path / "out")
    assert r.returncode == 2 and r.stderr.strip().endswith("; pass --keep-going to skip damaged clips")
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        r = hm("report", ds, "--out", out, "--keep-going", "--workers", workers)
        assert r.returncode == 0, r.stderr  # as export, caption and package: skipped clips are named, exit 0
        lines = r.stderr.splitlines()
        assert [ln.split(":")[0] for ln in lines] == [f"skipped clip {ids[1]}", f"skipped clip {ids[3]}"]  # table order
        assert "cannot make its page" in lines[0] and "instances.npz" in lines[0] and "missing" in lines[1]
        page = (out / "clips" / ids[1] / "index.html").read_text()
        assert 'id="damaged"' in page and "instances.npz" in page and f"../{ids[2]}/index.html" in page
        assert sorted(p.name for p in (out / "clips" / ids[1]).iterdir()) == ["index.html"]  # no half page
        assert (out / "clips" / ids[0] / "thumb.jpg").is_file() and "5 clip pages" in r.stdout
        data = (out / "assets" / "clips-data.js").read_text()
        assert f'"id":"{ids[1]}"' in data and f"clips/{ids[1]}/thumb.jpg" not in data
        assert f'href="clips/{ids[3]}/index.html">{ids[3]}</a>' in (out / "index.html").read_text()
