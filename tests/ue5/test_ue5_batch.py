"""Many shots per editor session: one start-up, clips finished as they come, crashes and hangs cost one shot."""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import is_complete, read_clip
from hmworld.render.base import ShotResult
from hmworld.render.runner import work_units
from hmworld.render.ue5 import Ue5Backend, Ue5SetupError, render_batch
from ue5.support import LEVEL, SCRIPTS, make_shot, world_file


def shots(n: int, frames: int = 4) -> list:
    return [make_shot(frames=frames, clip_id=f"city_street-batch{i:06d}") for i in range(n)]


def items(editor, batch):
    return [(s, editor.tmp / "data" / "clips" / s.clip_id) for s in batch]


def test_a_batch_of_20_renders_with_one_editor_start_up_and_finishes_clips_as_they_come(editor):
    batch = shots(20)
    results = []
    for r in render_batch(items(editor, batch), editor.config(ue_retries=1)):
        assert isinstance(r, ShotResult) and r.error is None, r.error
        # the clip folder is complete when its result arrives, while the editor renders on
        assert is_complete(editor.tmp / "data" / "clips" / r.clip_id)
        results.append(r.clip_id)
        started = {c for _, e, c in editor.renders() if e == "start"}
        if len(results) == 1:
            assert len(started) < 20  # the first clip is done before the editor has reached the last shot
    assert results == [s.clip_id for s in batch]
    assert len(editor.runs()) == 1  # one start-up for 20 shots
    assert Counter(c for _, e, c in editor.renders() if e == "done") == Counter({s.clip_id: 1 for s in batch})


def test_a_crash_at_shot_7_and_a_hang_at_shot_13_cost_only_those_shots(editor):
    batch = shots(20)
    crash, hang = batch[6].clip_id, batch[12].clip_id
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_FAULTS", f"crash:{crash},hang:{hang}")
    start = time.monotonic()
    results = list(render_batch(items(editor, batch), editor.config(ue_retries=1, ue_timeout=3)))
    assert time.monotonic() - start < 120
    assert sorted(r.clip_id for r in results) == sorted(s.clip_id for s in batch)  # each exactly once
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    for s in batch:
        rec = read_clip(editor.tmp / "data" / "clips" / s.clip_id)
        assert rec.stats["failures"] == (1 if s.clip_id in (crash, hang) else 0)
    assert len(editor.runs()) == 3  # the first editor, one after the crash, one after the hang
    done = Counter(c for _, e, c in editor.renders() if e == "done")
    assert done == Counter({s.clip_id: 1 for s in batch})  # no shot rendered twice to completion
    starts = Counter(c for _, e, c in editor.renders() if e == "start")
    assert {c for c, n in starts.items() if n > 1} == {crash, hang}
    # the restarted editors got only the shots not yet done
    pids = list(dict.fromkeys(p for p, _, _ in editor.renders()))
    firsts = [next(c for p, e, c in editor.renders() if p == pid) for pid in pids]
    assert firsts == [batch[0].clip_id, crash, hang]


def test_a_shot_that_keeps_crashing_fails_alone_after_its_retries(editor):
    batch = shots(5)
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_FAULTS", f"crash*:{batch[2].clip_id}")  # every time
    results = list(render_batch(items(editor, batch), editor.config(ue_retries=2)))
    failed = [r for r in results if r.error]
    assert [r.clip_id for r in failed] == [batch[2].clip_id] and len(results) == 5
    assert "after 3 attempt(s)" in failed[0].error and "exited with code 3" in failed[0].error
    assert not is_complete(editor.tmp / "data" / "clips" / batch[2].clip_id)


def test_the_watchdog_follows_progress_not_the_length_of_the_batch(editor):
    """10 shots take longer than the stall limit in all, but every shot makes progress: no kill."""
    batch = shots(10, frames=12)
    # each shot's render takes 0.4 s in the fake engine: 4 s in all, well past the 1.5 s stall limit
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_SHOT_S", "0.4")
    results = list(render_batch(items(editor, batch), editor.config(ue_timeout=1.5)))
    assert all(r.error is None for r in results) and len(editor.runs()) == 1


def test_an_unsaved_map_fails_at_once_not_through_the_watchdog_and_the_batch_goes_on(editor, tmp_path):
    """Fault 3: MRQ finishes inside the start call; delegates bound after it would never hear it."""
    world = json.loads(world_file(tmp_path).read_text())
    world["unsaved_levels"] = [LEVEL]
    (tmp_path / "unsaved.json").write_text(json.dumps(world))
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_WORLD", str(tmp_path / "unsaved.json"))
    batch = shots(3)
    t0 = time.monotonic()
    results = list(render_batch(items(editor, batch), editor.config(ue_timeout=20, ue_retries=2)))
    assert time.monotonic() - t0 < 20  # a missed delegate would sit until the 20 s watchdog
    assert len(results) == 3 and len(editor.runs()) == 1  # not retried: MRQ refused the job itself
    for r in results:
        assert "after 1 attempt(s)" in r.error and "unsaved" in r.error and "stage 'render_start'" in r.error


def test_a_job_file_the_scripts_cannot_read_is_reported_as_such_and_not_retried(editor, tmp_path):
    scripts = tmp_path / "old_scripts"
    shutil.copytree(SCRIPTS, scripts)
    text = (scripts / "render_batch.py").read_text().replace("JOB_FORMAT = 2", "JOB_FORMAT = 1")
    (scripts / "render_batch.py").write_text(text)
    with pytest.raises(Ue5SetupError, match=r"bad job file .*format 2, expected 1") as e:
        list(render_batch(items(editor, shots(2)), editor.config(scripts_dir=scripts, ue_retries=3)))
    assert "Python Editor Script Plugin" not in str(e.value) and "\n" not in str(e.value)
    assert len(editor.runs()) == 1


def test_a_level_actor_using_a_subject_stencil_stops_the_run_naming_it(editor, tmp_path):
    world = json.loads(world_file(tmp_path).read_text())
    world["occluders"] = {LEVEL: [{"name": "Lamp_Outline", "min_cm": [0, 0, 0], "max_cm": [10, 10, 10],
                                   "custom_depth": True, "stencil": 252}]}
    (tmp_path / "clash.json").write_text(json.dumps(world))
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_WORLD", str(tmp_path / "clash.json"))
    with pytest.raises(Ue5SetupError, match=r"Lamp_Outline \(252\).*stencil_values"):
        list(render_batch(items(editor, shots(2)), editor.config()))


def _wall_world(tmp_path: Path, shot, custom_depth: bool) -> Path:
    """A wall half-way between the camera and subject 0 at the first frame; with `custom_depth` it is drawn
    into custom depth with stencil 1 as level content often is (outlines), and must light no subject channel."""
    from hmworld.render.ue5 import build_job
    from ue5.support import asset_map

    job = build_job(shot, asset_map(), tmp_path, tmp_path / "s.json")
    warm = job["warmup_frames"]
    cam = np.array(job["camera"]["location_cm"][warm])
    subject = np.array(job["subjects"][0]["location_cm"][warm]) + np.array([0.0, 0.0, 90.0])
    mid, half = (cam + subject) / 2, np.array([60.0, 60.0, 150.0])
    world = json.loads(world_file(tmp_path).read_text())
    world["occluders"] = {LEVEL: [{"name": "Wall", "min_cm": (mid - half).tolist(), "max_cm": (mid + half).tolist(),
                                   "custom_depth": custom_depth, "stencil": 1}]}
    path = tmp_path / "wall.json"
    path.write_text(json.dumps(world))
    return path


@pytest.mark.parametrize("custom_depth", [False, True])
def test_masks_are_visibility_a_subject_behind_a_wall_has_no_mask(editor, tmp_path, custom_depth):
    """Fault 2: a stencil-only mask would still show subject 0 through the wall."""
    shot = make_shot(frames=4, clip_id="city_street-wall000001")
    (free,) = render_batch(items(editor, [shot]), editor.config())
    assert free.error is None
    seen = read_clip(editor.tmp / "data" / "clips" / shot.clip_id).measured.visible_pixels
    assert seen[0, 0] > 20
    shutil.rmtree(editor.tmp / "data")
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_WORLD", str(_wall_world(tmp_path, shot, custom_depth)))
    (walled,) = render_batch(items(editor, [shot]), editor.config())
    assert walled.error is None
    rec = read_clip(editor.tmp / "data" / "clips" / shot.clip_id)
    assert rec.measured.visible_pixels[0, 0] == 0  # hidden behind the wall
    ids = rec.load_instances()
    assert set(np.unique(ids)) <= {0, 1, 2}


def test_the_backend_hands_the_runner_batches_of_ue_batch(editor):
    backend = Ue5Backend(config=editor.config(ue_batch=7))
    assert backend.batch_size == 7
    rows = list(range(20))
    assert [len(u) for u in work_units(rows, 7, 1)] == [7, 7, 6]
    assert [len(u) for u in work_units(rows, 16, 2)] == [10, 10]  # every worker gets work
    assert [len(u) for u in work_units(rows, 1, 4)] == [1] * 20
    assert work_units([], 5, 2) == []
