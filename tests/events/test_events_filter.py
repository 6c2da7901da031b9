"""`hmworld filter-events` on dataset folders: results written back, marking, dropping, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from events_support import hmworld, make_shot, steps, write_clip

from hmworld.clip import CLIP_JSON, EVENTS_JSON
from hmworld.dataset.event_tables import events_table_path
from hmworld.dataset.filter_events import filter_events
from hmworld.errors import UserError
from hmworld.events import EventParams, read_events

T = 60


def three_clips(root: Path) -> None:
    """'leaves' exits at 20 and re-enters at 40; 'stays' is always visible; 'hides' passes behind something."""
    write_clip(
        root,
        make_shot("leaves", frames=T, scene="meadow", camera="pan"),
        steps(T, (0, 20, 30), (40, T, 30)),
        steps(T, (0, 20, 30), (40, T, 30)),
    )
    write_clip(
        root,
        make_shot("stays", frames=T, scene="desert", camera="pan"),
        np.full(T, 30),
        np.full(T, 30),
    )
    write_clip(
        root,
        make_shot("hides", frames=T, scene="meadow", camera="orbit"),
        steps(T, (0, 20, 30), (40, T, 30)),
        np.full(T, 30),
    )


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_marks_clips_and_writes_events_beside_them(tmp_path):
    three_clips(tmp_path)
    before = {
        c: (tmp_path / "clips" / c / CLIP_JSON).read_bytes() for c in ("leaves", "stays", "hides")
    }
    r = hmworld("filter-events", tmp_path)
    assert r.returncode == 0, r.stderr
    assert "3 clips" in r.stdout and "kept 1, marked (passed=false) 2" in r.stdout
    assert "out of view (exit→entry): min 1.33 s" in r.stdout
    leaves = read_events(tmp_path / "clips" / "leaves")
    assert leaves.passed and [(e.kind, e.frame) for e in leaves.events] == [
        ("exit", 20),
        ("entry", 40),
    ]
    assert not read_events(tmp_path / "clips" / "stays").passed
    hides = read_events(tmp_path / "clips" / "hides")
    assert [(e.kind, e.frame) for e in hides.events] == [
        ("occluded", 20),
        ("revealed", 40),
    ] and not hides.passed
    for c, b in before.items():  # clip.json is never touched
        assert (tmp_path / "clips" / c / CLIP_JSON).read_bytes() == b
    table = pq.read_table(events_table_path(tmp_path))
    assert table["clip_id"].to_pylist() == ["hides", "leaves", "stays"]
    assert table["passed"].to_pylist() == [False, True, False]
    assert table["scene"].to_pylist() == ["meadow", "meadow", "desert"]


def test_rerun_is_idempotent_and_keeps_fields_others_added(tmp_path):
    three_clips(tmp_path)
    filter_events(tmp_path)
    ev = tmp_path / "clips" / "leaves" / EVENTS_JSON
    d = json.loads(ev.read_text())
    d["reviewed_by"] = "a person"
    ev.write_text(json.dumps(d))
    filter_events(tmp_path)
    snapshot = files(tmp_path)
    assert json.loads(ev.read_text())["reviewed_by"] == "a person"
    filter_events(tmp_path)
    assert files(tmp_path) == snapshot


def test_new_params_are_recorded_and_change_the_verdict(tmp_path):
    three_clips(tmp_path)
    s = filter_events(tmp_path, EventParams(min_hidden_frames=21))
    assert (
        s.kept == () and read_events(tmp_path / "clips" / "leaves").params.min_hidden_frames == 21
    )
    s = filter_events(tmp_path, EventParams(min_hidden_frames=20))
    assert s.kept == ("leaves",)


def test_drop_removes_the_clips_without_a_pair(tmp_path):
    three_clips(tmp_path)
    r = hmworld("filter-events", tmp_path, "--drop")
    assert r.returncode == 0, r.stderr
    assert "kept 1, dropped 2" in r.stdout
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == ["leaves"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips", "meta"]  # no leftovers
    assert pq.read_table(events_table_path(tmp_path))["clip_id"].to_pylist() == ["leaves"]
    again = filter_events(tmp_path, drop=True)
    assert again.clips == 1 and again.failed == ()


def test_stats_flag_and_event_stats_command(tmp_path):
    three_clips(tmp_path)
    r = hmworld("filter-events", tmp_path, "--stats")
    assert r.returncode == 0, r.stderr
    assert "per camera trajectory" in r.stdout and "hidden interval histogram" in r.stdout
    r = hmworld("event-stats", tmp_path, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert (
        s["clips"] == 3 and s["kept"] == 1 and s["kept_fraction"] == pytest.approx(1 / 3, abs=1e-4)
    )
    assert s["pairs_per_clip_histogram"] == {"0": 2, "1": 1, "2": 0, "3+": 0}
    assert s["hidden_histogram"]["counts"][1] == 1  # 20 frames at 15 fps = 1.33 s, in the 1–2 s bin
    assert (
        s["by_scene"]["meadow"]["kept_fraction"] == 0.5
        and s["by_camera"]["orbit"]["events_per_clip"] == 2
    )
    r = hmworld("event-stats", tmp_path)
    assert r.returncode == 0 and "per scene" in r.stdout


# --------------------------------------------------------------------------- bad input


def one_line_error(r) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    line = one_line_error(hmworld("filter-events", tmp_path))
    assert "is not a dataset" in line and str(tmp_path) in line
    line = one_line_error(hmworld("filter-events", tmp_path / "missing"))
    assert "no such folder" in line
    line = one_line_error(hmworld("event-stats", tmp_path))
    assert "run `hmworld filter-events" in line


def test_bad_option_values_are_one_line_errors(tmp_path):
    three_clips(tmp_path)
    assert "min-frames must be >= 1, got 0" in one_line_error(
        hmworld("filter-events", tmp_path, "--min-frames", "0")
    )


@pytest.mark.parametrize(
    ("break_it", "problem"),
    [
        (
            lambda d: d["measured"].__setitem__("visible_pixels", [[5] * (T - 1)]),
            "visible_pixels has shape (1, 59), expected (1, 60)",
        ),
        (
            lambda d: d["measured"]["visible_pixels"][0].__setitem__(7, -4),
            "visible_pixels at subject 0, frame 7 is -4",
        ),
        (lambda d: d.pop("measured"), "clip.json is damaged (it has no measured visible_pixels)"),
        (lambda d: d["shot"].pop("c2w"), "clip.json is damaged (its shot is unreadable"),
        (
            lambda d: d["measured"].__setitem__("silhouette_pixels", [[1] * T]),
            "visible_pixels exceed silhouette_pixels",
        ),
    ],
)
def test_a_bad_clip_stops_the_run_and_nothing_is_written(tmp_path, break_it, problem):
    three_clips(tmp_path)
    path = tmp_path / "clips" / "stays" / CLIP_JSON
    d = json.loads(path.read_text())
    break_it(d)
    path.write_text(json.dumps(d))
    before = files(tmp_path)
    line = one_line_error(hmworld("filter-events", tmp_path))
    assert "clip stays:" in line and problem in line and "--keep-going" in line
    assert files(tmp_path) == before


def test_keep_going_processes_the_others_and_leaves_the_bad_clip_alone(tmp_path):
    three_clips(tmp_path)
    (tmp_path / "clips" / "hides" / CLIP_JSON).write_text("{ not json")
    before = files(tmp_path / "clips" / "hides")
    r = hmworld("filter-events", tmp_path, "--keep-going", "--drop")
    assert r.returncode == 2
    assert "error: clip hides: clip.json is damaged (JSONDecodeError" in r.stderr
    assert "2 clips" in r.stdout and "kept 1, dropped 1" in r.stdout
    assert files(tmp_path / "clips" / "hides") == before  # not dropped, not written
    assert read_events(tmp_path / "clips" / "leaves").passed
    assert not (tmp_path / "clips" / "stays").exists()
    with pytest.raises(UserError, match="clip hides"):
        filter_events(tmp_path)


def test_read_events_of_a_clip_without_and_with_a_broken_file(tmp_path):
    assert read_events(tmp_path) is None
    (tmp_path / EVENTS_JSON).write_text('{"clip_id": "x"}')
    with pytest.raises(UserError, match="not an events file"):
        read_events(tmp_path)
