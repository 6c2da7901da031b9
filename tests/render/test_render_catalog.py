"""Smoke test: every catalog scene and every catalog subject renders with the builtin ray caster."""

from __future__ import annotations

import numpy as np
import pytest

from hmworld import plan
from hmworld.catalog import SCENES, SUBJECTS
from hmworld.geometry import intrinsics, look_at
from hmworld.render.builtin.primitives import Material, PrimitiveBuilder, concat
from hmworld.render.builtin.raycast import RenderOptions, SunSky, render_frame
from hmworld.render.builtin.scenes import build_scene
from hmworld.render.builtin.subjects import pose_subjects, subject_primitives


@pytest.mark.parametrize("scene", list(SCENES))
def test_every_scene_renders_with_its_subjects(scene: str) -> None:
    settings = plan.PlanSettings(frames=30, fps=15, width=96, height=64)
    row = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=2, settings=settings, group_sizes=(3,)))[0]
    shot = plan.materialise(row)
    built = build_scene(scene, 0)
    light = SunSky.of(built)
    seen = set()
    for t in (0, shot.frames - 1):
        f = render_frame(concat(built.prims, pose_subjects(shot, t)), shot.c2w[t], shot.K, 96, 64, light)
        assert f.rgb.reshape(-1, 3).std(axis=0).mean() > 4.0  # not a blank or single-colour image
        assert np.isfinite(f.depth).mean() > 0.3  # ground and props in view
        seen |= set(np.unique(f.ids).tolist())
    assert seen - {0}, "no subject visible at the start or end of the shot"


@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_every_subject_renders_where_it_stands(subject: str) -> None:
    spec = SUBJECTS[subject]
    b = PrimitiveBuilder()
    b.plane(Material((0.5, 0.55, 0.45)))

    height = spec.size[2]
    dist = 1.6 * max(spec.size) + 0.3  # the subject spans about half the frame
    c2w = look_at(np.array([-dist, -0.3 * dist, 0.6 * height + 0.3]), np.array([0.0, 0.0, 0.5 * height]))
    prims = concat(b.build(), subject_primitives(subject, 1, (0.0, 0.0, 0.0), 0.6, 0.3, speed=1.0))
    f = render_frame(prims, c2w, intrinsics(60.0, 64, 64), 64, 64, options=RenderOptions(antialias=False))
    mask = f.ids == 1
    assert mask.sum() > 80, mask.sum()
    _, ii = np.nonzero(mask)
    assert abs(ii.mean() - 32) < 12  # centred horizontally, where it stands
