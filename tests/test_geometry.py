"""Coordinate conventions: round trips, projection of known points, and the real HM-World cameras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmworld import geometry as g
from tests.conftest import load_fixture_cams

angles = st.floats(-np.pi + 1e-3, np.pi - 1e-3)
pitches = st.floats(-1.4, 1.4)
coords = st.floats(-500.0, 500.0)


def test_intrinsics_centre_and_focal():
    K = g.intrinsics(90.0, 416, 240)
    assert K[0, 0] == pytest.approx(208.0)
    assert K[1, 1] == K[0, 0]
    assert (K[0, 2], K[1, 2]) == (208.0, 120.0)
    assert g.hfov_deg_from_K(K, 416) == pytest.approx(90.0)
    assert g.vfov_deg(90.0, 416, 240) == pytest.approx(np.degrees(2 * np.arctan(120 / 208)))


def test_look_at_points_the_optical_axis_at_the_target_and_keeps_image_up():
    c2w = g.look_at(np.array([0.0, -10.0, 2.0]), np.array([0.0, 0.0, 1.0]))
    K = g.intrinsics(60.0, 320, 240)
    p = g.project(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 3.0], [1.0, 0.0, 1.0]]), c2w, K)
    assert np.allclose(p.uv[0], [160.0, 120.0])
    assert p.uv[1, 1] < 120.0  # higher in the world is higher in the image (smaller row)
    assert p.uv[2, 0] > 160.0  # +X is to the right when looking along +Y
    assert p.depth[0] == pytest.approx(np.hypot(10.0, 1.0))


def test_points_behind_the_camera_are_flagged():
    c2w = g.look_at(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    p = g.project(np.array([[5.0, 0.0, 0.0], [-5.0, 0.0, 0.0]]), c2w, g.intrinsics(60, 64, 48))
    assert p.in_front.tolist() == [True, False]
    assert p.depth[1] == pytest.approx(-5.0)


def test_projection_is_vectorised_over_frames():
    T = 7
    eye = np.stack([np.linspace(0, 6, T), np.full(T, -5.0), np.full(T, 1.5)], -1)
    c2w = g.look_at(eye, eye + np.array([0.0, 1.0, 0.0]))
    pts = np.broadcast_to(np.array([[3.0, 0.0, 1.5]]), (T, 1, 3))
    p = g.project(pts, c2w, g.intrinsics(70, 200, 100))
    assert p.uv.shape == (T, 1, 2)
    assert np.all(np.diff(p.uv[:, 0, 0]) < 0)  # camera trucks right → point slides left


@settings(max_examples=60, deadline=None)
@given(yaw=angles, pitch=pitches, roll=st.floats(-1.0, 1.0), x=coords, y=coords, z=coords)
def test_angles_round_trip(yaw, pitch, roll, x, y, z):
    c2w = g.pose_from_angles(np.array([x, y, z]), yaw, pitch, roll)
    R = c2w[:3, :3]
    assert np.allclose(R.T @ R, np.eye(3), atol=1e-9) and np.linalg.det(R) == pytest.approx(1.0)
    y2, p2, r2 = g.angles_from_pose(c2w)
    assert np.allclose(g.pose_from_angles(np.array([x, y, z]), y2, p2, r2), c2w, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(yaw=angles, pitch=pitches, roll=st.floats(-1.0, 1.0), x=coords, y=coords, z=coords)
def test_ue_c2w_round_trip(yaw, pitch, roll, x, y, z):
    c2w = g.pose_from_angles(np.array([x, y, z]), yaw, pitch, roll)
    M = g.world_c2w_to_ue(c2w)
    assert np.allclose(g.ue_c2w_to_world(M), c2w, atol=1e-9)
    loc, rot = g.world_c2w_to_ue_transform(c2w)
    assert np.allclose(g.ue_transform_to_world_c2w(loc, rot), c2w, atol=1e-7)
    # the UE matrix is left-handed: det of its rotation is -1 seen as a plain 3x3 with (fwd,right,up)
    assert np.linalg.det(M[:3, :3]) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(x=coords, y=coords, z=coords)
def test_ue_point_round_trip_and_handedness(x, y, z):
    p = np.array([x, y, z])
    ue = g.world_to_ue_points(p)
    assert np.allclose(ue, [100 * x, -100 * y, 100 * z])
    assert np.allclose(g.ue_to_world_points(ue), p)


def test_ue_rotator_matches_engine_conventions():
    # yaw 90 faces UE +Y (right); pitch up raises the forward vector; roll tilts the right axis down
    axes = g.ue_rotator_to_axes(0.0, 0.0, 90.0)
    assert np.allclose(axes[:, 0], [0, 1, 0], atol=1e-12)
    assert np.allclose(axes[:, 1], [-1, 0, 0], atol=1e-12)
    assert g.ue_rotator_to_axes(0.0, 30.0, 0.0)[2, 0] == pytest.approx(0.5)
    assert g.ue_rotator_to_axes(20.0, 0.0, 0.0)[2, 1] < 0
    # our heading and UE yaw: facing our +Y (left of +X) is UE yaw -90
    assert g.world_heading_to_ue_yaw_deg(np.pi / 2) == pytest.approx(-90.0)
    assert g.ue_yaw_deg_to_world_heading(-90.0) == pytest.approx(np.pi / 2)


def test_rowvec_string_round_trip():
    c2w = g.pose_from_angles(np.array([1.0, 2.0, 3.0]), 0.3, -0.2, 0.1)
    M = g.world_c2w_to_ue(c2w)
    text = g.format_ue_rowvec_string(M)
    assert text.startswith("[") and text.count("[") == 4
    assert np.array_equal(g.parse_ue_rowvec_string(text), M)
    # translation sits in the last ROW of the string form
    last_row = [float(v) for v in text.split("[")[-1].rstrip("]").split()]
    assert np.allclose(last_row[:3], M[:3, 3])
    with pytest.raises(ValueError):
        g.parse_ue_rowvec_string("[1 2 3]")


def test_stream_padding_and_raw_fixup():
    frames = np.arange(150)
    cond, tgt = g.split_streams(frames)
    assert cond.shape == tgt.shape == (77,)
    assert cond[:2].tolist() == [0, 0] and cond[-2:].tolist() == [74, 74]
    assert tgt[:2].tolist() == [75, 75] and tgt[-2:].tolist() == [149, 149]
    raw = np.arange(149, dtype=float)
    fixed = g.hmworld_raw_to_frames(raw)
    assert fixed.shape == (150,) and fixed[0] == fixed[1] == 1.0 and fixed[-1] == fixed[-2] == 148.0


@pytest.mark.parametrize("i", [1, 2, 3, 4])
def test_real_fixture_cameras_round_trip_and_match_official_loader(hydra_examples, i):
    cond_ue, tgt_ue = load_fixture_cams(hydra_examples, i)
    cond, tgt = g.ue_c2w_to_world(cond_ue), g.ue_c2w_to_world(tgt_ue)
    assert np.allclose(g.world_c2w_to_ue(cond), cond_ue, atol=1e-9)
    R = cond[:, :3, :3]
    assert np.allclose(np.swapaxes(R, 1, 2) @ R, np.eye(3), atol=1e-5)
    ours_c, ours_t = g.hydra_camera_tensor(cond, tgt)
    # the official loader, step by step as described in the fixture README, written independently
    def official(M):
        P = np.zeros_like(M)
        P[:, :, 0], P[:, :, 1], P[:, :, 2], P[:, :, 3] = M[:, :, 1], -M[:, :, 2], M[:, :, 0], M[:, :, 3]
        P[:, :3, 3] /= 100.0
        P[:, 3] = [0, 0, 0, 1]
        return P

    ref = np.linalg.inv(official(tgt_ue)[0])
    exp_c = (ref @ official(cond_ue))[0::4, :3, :4].reshape(20, 12)
    exp_t = (ref @ official(tgt_ue))[0::4, :3, :4].reshape(20, 12)
    assert ours_c.shape == ours_t.shape == (20, 12)
    assert np.allclose(ours_c, exp_c, atol=1e-6) and np.allclose(ours_t, exp_t, atol=1e-6)
    assert np.allclose(ours_t[0], np.eye(4)[:3].reshape(12), atol=1e-6)


def test_cam1_facts_from_the_fixture_readme(hydra_examples):
    cond_ue, tgt_ue = load_fixture_cams(hydra_examples, 1)
    both = np.concatenate([cond_ue, tgt_ue])
    c2w = g.ue_c2w_to_world(both)
    # dollies backwards along UE -X at 12 cm/frame, at 207.8 cm height
    steps = np.diff(both[3:40, :3, 3], axis=0)
    assert np.allclose(steps, [-12.0, 0.0, 0.0], atol=1e-3)
    assert np.allclose(c2w[:, 2, 3], 2.078, atol=1e-3)
    # holds yaw 0, pans to about -28° (UE) by the end of the context stream, back to 0 in the target
    _, _, yaw_ue = g.ue_axes_to_rotator(both[:, :3, :3])
    assert np.all(np.abs(yaw_ue[:45]) < 0.01)
    assert -32.0 < yaw_ue[:77].min() < -25.0
    assert abs(yaw_ue[76]) > 15.0 and np.all(np.abs(yaw_ue[77 + 20 :]) < 0.01)
    yaw_ours, _, _ = g.angles_from_pose(c2w)
    assert np.allclose(np.degrees(yaw_ours), -yaw_ue, atol=1e-6)  # UE -28° is a pan to OUR left
    # padding: frames 0-2 of the context stream identical; last two identical
    assert np.array_equal(cond_ue[0], cond_ue[2]) and np.array_equal(cond_ue[-1], cond_ue[-2])


def test_plane_depth_is_the_camera_z_of_each_pixel_rays_hit() -> None:
    K = g.intrinsics(90.0, 8, 6)
    c2w = g.look_at(np.array([0.0, 0.0, 2.0]), np.array([4.0, 0.0, 0.0]))
    depth = g.plane_depth(c2w, K, 8, 6)
    hit = np.isfinite(depth)
    assert hit[-1].all() and not hit[0].any()  # bottom rows see the ground, top rows the sky
    rays = g.pixel_rays(K, 8, 6)[hit] * depth[hit][:, None]  # camera-space points
    world = rays @ c2w[:3, :3].T + c2w[:3, 3]
    np.testing.assert_allclose(world[:, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(g.world_to_camera(world[None], c2w)[0][:, 2], depth[hit], rtol=1e-12)
