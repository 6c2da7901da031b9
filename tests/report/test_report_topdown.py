"""The top-down map agrees with the pixels: its view footprints come from the same projection."""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path as MplPath

from hmworld import geometry as g
from hmworld.clip import read_clip
from hmworld.events import read_events
from hmworld.report.topdown import footprints, topdown_figure, view_height


def test_a_point_projects_into_the_image_exactly_when_it_is_inside_the_footprint() -> None:
    rng = np.random.default_rng(0)
    W, H = 320, 180
    K = g.intrinsics(70.0, W, H)
    for _ in range(20):
        eye = rng.uniform(-5, 5, 3) + np.array([0, 0, 1.5])
        c2w = g.pose_from_angles(eye, rng.uniform(-np.pi, np.pi), rng.uniform(-0.5, 0.3), rng.uniform(-0.2, 0.2))
        z = float(rng.uniform(0.0, 1.2))
        poly = g.frustum_footprint(c2w, K, W, H, z, reach=40.0, per_side=64)
        pts = np.concatenate([rng.uniform(-20, 20, (400, 2)), np.full((400, 1), z)], axis=1)
        pts = pts[np.linalg.norm(pts[:, :2] - eye[:2], axis=1) < 35.0]  # within reach
        proj = g.project(pts, c2w, K)
        seen = proj.in_front & g.in_image(proj.uv, W, H)
        inside = MplPath(poly).contains_points(pts[:, :2])
        # the polygon samples the border, so only points within a pixel or two of an edge may disagree
        margin = np.minimum.reduce([proj.uv[:, 0], W - proj.uv[:, 0], proj.uv[:, 1], H - proj.uv[:, 1]])
        clear = ~proj.in_front | (np.abs(margin) > 3)
        assert np.array_equal(seen[clear], inside[clear])


def test_footprint_border_points_project_onto_the_image_border() -> None:
    W, H = 416, 240
    K = g.intrinsics(90.0, W, H)
    eye = np.array([0.0, -8.0, 1.6])
    c2w = g.look_at(eye, np.array([0.0, 0.0, 0.5]))
    poly = g.frustum_footprint(c2w, K, W, H, 0.5, reach=1000.0, per_side=4)
    hit = np.linalg.norm(poly - eye[:2], axis=1) < 999.0  # rays above the horizon stop at `reach` instead
    assert 0 < hit.sum() < len(poly)
    uv = g.project(np.concatenate([poly[hit], np.full((hit.sum(), 1), 0.5)], axis=1), c2w, K).uv
    assert (np.isclose(uv[:, 0], 0) | np.isclose(uv[:, 0], W) | np.isclose(uv[:, 1], 0) | np.isclose(uv[:, 1], H)).all()


def test_map_of_a_rendered_clip_puts_entered_subjects_inside_the_view(dataset) -> None:
    checked = 0
    for folder in sorted((dataset / "clips").iterdir()):
        ev = read_events(folder)
        if ev is None:
            continue
        rec = read_clip(folder)
        shot = rec.shot
        entries = [e for e in ev.events if e.kind == "entry"]
        if shot.n_subjects != 1 or not entries:
            continue
        polys = footprints(shot, [e.frame for e in entries], view_height(shot), reach=100.0)
        for e, poly in zip(entries, polys, strict=True):
            # at its entry frame the subject's body reaches into the view: its root lies inside the
            # footprint or less than its body size from the footprint's edge
            p = shot.subject_pos[e.subject, e.frame, :2]
            a, b = poly, np.roll(poly, -1, axis=0)
            f = np.clip(np.sum((p - a) * (b - a), axis=1) / np.sum((b - a) ** 2, axis=1), 0.0, 1.0)
            gap = np.min(np.linalg.norm(a + f[:, None] * (b - a) - p, axis=1))
            assert MplPath(poly).contains_point(p) or gap < float(shot.subject_size[e.subject, :2].max())
            checked += 1
        fig = topdown_figure(shot, ev.states, ev.events, (9.0, 9.0))
        assert fig.axes[0].get_xlabel() == "x (m)" and fig.axes[0].get_ylabel() == "y (m)"
    assert checked, "no single-subject clip with an entry in the test dataset"
