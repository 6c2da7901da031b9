"""The catalog: counts, back-and-forth cameras, paths that stay where they should."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hmworld.catalog import PATHS, PLACEMENTS, SCENES, SUBJECTS, TRAJECTORIES, catalog_json
from hmworld.catalog.cameras import sample_channels, trajectory_c2w
from hmworld.catalog.paths import path_heading, sample_path, unit_extent
from hmworld.geometry import angles_from_pose


def test_counts_match_the_paper():
    assert (len(SCENES), len(SUBJECTS), len(PATHS), len(TRAJECTORIES)) == (17, 49, 10, 28)
    kinds = {s.kind for s in SUBJECTS.values()}
    assert kinds == {"human", "animal"}
    species = {s.species for s in SUBJECTS.values() if s.kind == "animal"}
    assert {"dog", "cat", "horse", "deer", "cow", "sheep", "pig", "bear", "fox", "wolf"} <= species
    assert any(s.body == "bird" for s in SUBJECTS.values())


def test_catalog_json_is_plain_and_stable():
    d = catalog_json()
    assert json.loads(json.dumps(d)) == d
    assert [len(d[k]) for k in ("scenes", "subjects", "paths", "cameras")] == [17, 49, 10, 28]
    assert set(d["subjects"][0]) >= {"id", "kind", "species", "height", "gaits", "appearance"}
    assert catalog_json("paths") == {"format": d["format"], "paths": d["paths"]}


@pytest.mark.parametrize("traj", sorted(TRAJECTORIES))
def test_every_trajectory_turns_away_and_comes_back(traj):
    spec = TRAJECTORIES[traj]
    eye, target = np.array([0.0, -10.0, 1.7]), np.array([0.0, 0.0, 0.9])
    c2w = trajectory_c2w(spec, 150, eye, target)
    fwd = c2w[:, :3, 2]
    to_target = target - c2w[:, :3, 3]
    angle = np.degrees(np.arccos(np.sum(fwd * to_target, -1) / np.linalg.norm(to_target, axis=-1)))
    # starts aimed at the group, looks well away (past the half-FOV) and ends aimed back at it
    assert angle[0] < 1.0 and angle.max() > 45.0 and angle[-1] < 15.0
    # the motion changes direction at least once in some channel
    reversed_somewhere = False
    for values in sample_channels(spec, 150).values():
        d = np.diff(values)
        moving = d[np.abs(d) > 1e-9]
        reversed_somewhere |= bool(np.any(np.sign(moving[1:]) != np.sign(moving[:-1])))
    assert reversed_somewhere
    assert np.allclose(np.linalg.det(c2w[:, :3, :3]), 1.0)


def test_pan_left_turns_counter_clockwise():
    c2w = trajectory_c2w(TRAJECTORIES["pan_left_90"], 150, np.array([0.0, -10.0, 1.7]), np.array([0.0, 0.0, 1.7]))
    yaw, _, _ = angles_from_pose(c2w)
    assert np.degrees(yaw.max() - yaw[0]) == pytest.approx(90.0, abs=0.5)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_paths_heading_is_the_tangent_and_speed_is_respected(path):
    s = sample_path(path, 1.4, 150, 15)
    step = np.diff(s.xy, axis=0)
    moving = np.linalg.norm(step, axis=-1) > 1e-4
    tangent = np.arctan2(step[moving, 1], step[moving, 0])
    mid_heading = (s.heading[1:] + s.heading[:-1])[moving] / 2
    err = np.angle(np.exp(1j * (tangent - mid_heading)))
    assert np.abs(err).max() < 0.05
    assert s.distance[-1] == pytest.approx(np.sum(np.linalg.norm(step, axis=-1)), rel=5e-3)
    extent = np.linalg.norm(s.xy.max(0) - s.xy.min(0))
    assert extent <= unit_extent(path) * s.distance[-1] * 1.01


def test_path_shapes():
    u = np.linspace(0, 1, 101)
    assert path_heading("u_turn", u)[-1] == pytest.approx(np.pi)
    assert path_heading("left_turn", u)[-1] > 0 > path_heading("right_turn", u)[-1]
    circle = sample_path("circle", 1.0, 300, 15)
    assert np.linalg.norm(circle.xy[-1] - circle.xy[0]) < 0.05 * circle.distance[-1]
    sg = sample_path("stop_and_go", 1.2, 150, 15)
    assert (sg.speed < 1e-6).sum() >= 10  # it really stops


def test_subjects_have_consistent_gaits_and_sizes():
    for s in SUBJECTS.values():
        assert s.height > 0 and s.length > 0 and s.width > 0
        speeds = [(g.speed_min, g.speed_max) for g in s.gaits]
        assert all(lo < hi for lo, hi in speeds) and speeds == sorted(speeds)
        assert all(g.cycle_m > 0 for g in s.gaits)
        assert s.appearance and s.palette


def test_scenes_have_room_for_the_camera():
    for s in SCENES.values():
        assert s.clear_radius > max(s.walk_half) + 10
        assert 0 < s.lighting.sun_elevation_deg < 90
    assert len({s.description for s in SCENES.values()}) == 17
    assert all(p.distance_m < 20 for p in PLACEMENTS)
