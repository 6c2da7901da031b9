"""The plan: deterministic, balanced, inside the catalog's bounds; shots that frame their subjects."""

from __future__ import annotations

import numpy as np
import pytest

from hmworld import plan
from hmworld.catalog import SCENES, SUBJECTS
from hmworld.errors import UserError
from hmworld.geometry import in_image, project


def test_same_seed_gives_byte_identical_manifest(tmp_path):
    a, b, c = tmp_path / "a.parquet", tmp_path / "b.parquet", tmp_path / "c.parquet"
    plan.write_plan(plan.make_plan(clips=40, seed=3), a)
    plan.write_plan(plan.make_plan(clips=40, seed=3), b)
    plan.write_plan(plan.make_plan(clips=40, seed=4), c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_rows_are_valid_and_balanced():
    t = plan.make_plan(scenes=["park", "beach"], clips=60, seed=1)
    rows = plan.plan_rows(t)
    assert len({r.clip_id for r in rows}) == 60
    assert {r.scene for r in rows} == {"park", "beach"}
    assert sum(r.scene == "park" for r in rows) == 30
    for r in rows:
        assert 1 <= r.n_subjects == len(r.subjects) == len(r.paths) == len(r.gaits) <= 3
        assert len(set(r.subjects)) == len(r.subjects)
        for sid, gait, v in zip(r.subjects, r.gaits, r.speeds, strict=True):
            assert gait in [g.name for g in SUBJECTS[sid].gaits]
            assert 0 < v <= SUBJECTS[sid].gaits[-1].speed_max


def test_full_plan_is_at_least_the_papers_size():
    t = plan.full_plan(seed=0)
    s = plan.summarize(t)
    assert s["clips"] >= 59_225
    assert (s["scenes"], s["subjects"], s["paths"], s["cameras"]) == (17, 49, 10, 28)


def test_bad_plan_arguments_are_user_errors():
    with pytest.raises(UserError, match="moon"):
        plan.make_plan(scenes=["moon"])
    with pytest.raises(UserError, match="group size"):
        plan.make_plan(group_sizes=(4,))
    with pytest.raises(UserError, match="frames"):
        plan.PlanSettings(frames=0)
    with pytest.raises(UserError, match="fps"):
        plan.PlanSettings(fps=0)


def test_materialised_shots_stay_in_the_walkable_area_and_start_in_view():
    rows = plan.plan_rows(plan.make_plan(clips=120, seed=7))
    in_view_at_start = 0
    for r in rows:
        s = plan.materialise(r)
        half = np.asarray(SCENES[s.scene].walk_half)
        assert np.all(np.abs(s.subject_pos[..., :2]) <= half + 1e-6)
        assert np.all(s.subject_pos[..., 2] == 0)
        assert s.c2w.shape == (s.frames, 4, 4) and s.subject_phase.shape == (s.n_subjects, s.frames)
        assert np.all(np.diff(s.subject_phase, axis=1) >= -1e-12)  # gait never runs backwards
        # the camera stays inside the scene's clear disc
        assert np.all(np.linalg.norm(s.c2w[:, :2, 3], axis=-1) < SCENES[s.scene].clear_radius)
        p = project(s.subject_centers()[:, 0][None], s.c2w[0], s.K)
        in_view_at_start += bool(np.any(in_image(p.uv, s.width, s.height) & p.in_front))
    assert in_view_at_start >= 0.9 * len(rows)


def test_gait_phase_follows_distance():
    r = plan.plan_rows(plan.make_plan(clips=5, seed=2, group_sizes=(1,)))[0]
    s = plan.materialise(r)
    step = np.linalg.norm(np.diff(s.subject_pos[0, :, :2], axis=0), axis=-1)
    cycle = next(g.cycle_m for g in SUBJECTS[s.subjects[0]].gaits if g.name == s.gaits[0])
    assert np.allclose(np.diff(s.subject_phase[0]), step / cycle, rtol=0.02, atol=1e-4)


def test_shot_json_round_trip_is_exact():
    from hmworld.shot import Shot

    s = plan.materialise(plan.plan_rows(plan.make_plan(clips=1, seed=5))[0])
    t = Shot.from_dict(s.to_dict())
    for name in ("c2w", "K", "subject_pos", "subject_heading", "subject_phase", "subject_speed", "subject_size"):
        assert np.array_equal(getattr(s, name), getattr(t, name))
    assert (t.clip_id, t.subjects, t.camera) == (s.clip_id, s.subjects, s.camera)


def test_read_plan_rejects_non_plans(tmp_path):
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(UserError, match="not a parquet plan"):
        plan.read_plan(bad)
    with pytest.raises(UserError, match="does not exist"):
        plan.read_plan(tmp_path / "missing.parquet")
