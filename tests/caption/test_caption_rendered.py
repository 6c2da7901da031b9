"""A clip rendered by the builtin backend, its events found, then captioned: the text matches the shot."""

from __future__ import annotations

import re

import pytest

from hmworld import plan
from hmworld.caption import caption_dataset, read_caption
from hmworld.catalog import PLACEMENTS, SCENES, SUBJECTS, TRAJECTORIES
from hmworld.clip import clip_dir, list_clip_dirs, read_clip
from hmworld.errors import UserError
from hmworld.events import clip_events, write_events


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from hmworld.render import get_backend

    try:
        backend = get_backend("builtin")
    except UserError as e:
        pytest.skip(f"builtin renderer not available yet: {e}")
    root = tmp_path_factory.mktemp("rendered")
    settings = plan.PlanSettings(frames=45, fps=15, width=128, height=72)
    table = plan.make_plan(clips=1, seed=11, settings=settings, group_sizes=(2,))
    shot = plan.materialise(plan.plan_rows(table)[0])
    backend.render_clip(shot, clip_dir(root, shot.clip_id))
    for d in list_clip_dirs(root):
        write_events(d, clip_events(read_clip(d)))
    return root, shot


def test_template_caption_of_a_rendered_clip_names_scene_subjects_and_camera_motion(rendered):
    root, shot = rendered
    summary = caption_dataset(root, "template")
    assert summary.captioned == 1
    text = read_caption(clip_dir(root, shot.clip_id)).caption
    assert SCENES[shot.scene].description in text
    for sid in shot.subjects:
        appearance = SUBJECTS[sid].appearance
        assert appearance in text or appearance[:1].upper() + appearance[1:] in text
    motion = TRAJECTORIES[shot.camera].description.split(",")[0]  # "pans left" / "swings far to the right" / ...
    assert motion in text
    assert PLACEMENTS[shot.placement].description in text
    assert re.fullmatch(r"[A-Z][^\n]*\.", text)
