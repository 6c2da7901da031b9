"""Shot → Unreal units → back: the numbers the host hands the editor."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hmworld.geometry import (
    look_at,
    pose_from_angles,
    ue_to_world_points,
    ue_transform_to_world_c2w,
)
from hmworld.render.ue5 import (
    anchor_points,
    anim_sections,
    build_job,
    camera_keys,
    filmback,
    sequence_name,
    subject_keys,
    unanchor_points,
)
from hmworld.render.ue5_assets import SceneAsset
from ue5.support import asset_map, load_fake_unreal, make_shot


def test_anchor_places_our_origin_and_x_axis_in_the_level_and_undoes_exactly():
    scene = SceneAsset("city_street", "/Game/M", anchor_cm=(1000.0, -500.0, 20.0), anchor_yaw_deg=90.0)
    # our origin goes to the anchor; our +X (UE +X) turns by the anchor yaw to UE +Y
    np.testing.assert_allclose(anchor_points(np.zeros(3), scene), [1000.0, -500.0, 20.0])
    np.testing.assert_allclose(anchor_points([100.0, 0.0, 0.0], scene), [1000.0, -400.0, 20.0], atol=1e-9)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(50, 3)) * 1000
    turned = SceneAsset("x", "/Game/M", anchor_cm=(3.0, 4.0, 5.0), anchor_yaw_deg=-37.0)
    np.testing.assert_allclose(unanchor_points(anchor_points(pts, turned), turned), pts, atol=1e-9)


def test_camera_keys_round_trip_through_geometry_to_the_shot():
    shot = make_shot(frames=12)
    scene = asset_map().scenes["city_street"]
    warm = 3
    loc, rot = camera_keys(shot, scene, warm)
    assert loc.shape == rot.shape == (warm + shot.frames, 3)
    # warm-up frames hold the first pose
    np.testing.assert_array_equal(loc[:warm], np.repeat(loc[warm:warm + 1], warm, 0))
    np.testing.assert_array_equal(rot[:warm], np.repeat(rot[warm:warm + 1], warm, 0))
    back_rot = rot[warm:].copy()
    back_rot[:, 2] -= scene.anchor_yaw_deg
    c2w = ue_transform_to_world_c2w(unanchor_points(loc[warm:], scene), back_rot)
    np.testing.assert_allclose(c2w, shot.c2w, atol=1e-9)


def test_camera_yaw_keys_never_jump_so_linear_keys_never_spin_the_long_way():
    shot = make_shot(frames=60)
    t = np.arange(60) / 15
    spin = pose_from_angles(np.zeros((60, 3)), yaw=np.radians(170.0) + 2.5 * t, pitch=np.full(60, 0.1), roll=np.zeros(60))
    shot = type(shot)(**{**shot.__dict__, "c2w": spin})
    _, rot = camera_keys(shot, asset_map().scenes["city_street"], 2)
    assert np.max(np.abs(np.diff(rot[:, 2]))) < 10.0  # ~2.5 rad/s at 15 fps ≈ 9.5°/frame
    assert np.ptp(rot[:, 2]) > 360.0  # it really went round


def test_subject_keys_put_the_root_at_the_shot_position_and_the_mesh_facing_the_walk():
    shot = make_shot(frames=8)
    assets = asset_map()
    scene = assets.scenes["city_street"]
    fake = load_fake_unreal()
    for k, sid in enumerate(shot.subjects):
        sub = assets.subjects[sid]
        loc, rot = subject_keys(shot, k, sub, scene, warmup=0)
        local = unanchor_points(loc, scene)
        local[:, 2] -= sub.z_offset_cm
        np.testing.assert_allclose(ue_to_world_points(local), shot.subject_pos[k], atol=1e-9)
        assert np.all(rot[:, :2] == 0.0)
        for f in range(shot.frames):
            # the engine's own rotator maths: a mesh modelled facing +Y, turned by the keyed rotator
            facing_ue = fake._rotator_axes(*rot[f])[1]  # the mesh's +Y axis in the level
            facing_ue = unanchor_points(facing_ue, scene) - unanchor_points(np.zeros(3), scene)
            facing_world = np.array([facing_ue[0], -facing_ue[1]])  # UE is left-handed: flip Y
            h = shot.subject_heading[k, f]
            np.testing.assert_allclose(facing_world, [np.cos(h), np.sin(h)], atol=1e-9)


def test_filmback_has_the_output_aspect_and_the_shot_field_of_view():
    for width, height, hfov in [(416, 240, 62.0), (64, 48, 90.0), (1280, 720, 35.5)]:
        sw, sh, focal = filmback(36.0, width, height, hfov)
        assert sw == 36.0 and sh / sw == pytest.approx(height / width)
        assert np.degrees(2 * np.arctan(sw / (2 * focal))) == pytest.approx(hfov)
        # same pixels as our intrinsics: f_px = focal / sensor width × image width
        fx = 0.5 * width / np.tan(np.radians(hfov) / 2)
        assert focal / sw * width == pytest.approx(fx)
        assert focal / sh * height == pytest.approx(fx)  # square pixels


def test_anim_sections_follow_speed_and_keep_the_gait_continuous():
    fps, warm, anim_speed = 15, 4, 150.0
    t = np.arange(150) / fps
    speed = 1.5 * (1 - 0.9 * np.exp(-((t - 5) ** 2)))  # slows almost to a stop mid-clip
    secs = anim_sections(speed, fps, anim_speed, warm)
    n = warm + speed.size
    assert secs[0]["start"] == 0 and secs[-1]["end"] == n
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(secs))
    # per frame: the section's rate is within the band of speed / animation speed
    want = np.concatenate([np.full(warm, speed[0]), speed]) * 100 / anim_speed
    got = np.concatenate([np.full(s["end"] - s["start"], s["play_rate"]) for s in secs])
    assert np.max(np.abs(got / want - 1)) < 0.06
    # animation time at each section start = where the previous section left off
    for a, b in itertools.pairwise(secs):
        assert b["anim_time_s"] == pytest.approx(a["anim_time_s"] + a["play_rate"] * (a["end"] - a["start"]) / fps)
    # over the whole clip the animation advanced by the distance walked / its own speed
    end = secs[-1]["anim_time_s"] + secs[-1]["play_rate"] * (secs[-1]["end"] - secs[-1]["start"]) / fps
    walked_cm = 100 * (speed[0] * warm + speed.sum()) / fps
    assert end == pytest.approx(walked_cm / anim_speed, rel=0.02)
    constant = anim_sections(np.full(30, 1.2), fps, 120.0, 0)
    assert constant == [{"start": 0, "end": 30, "play_rate": pytest.approx(1.0), "anim_time_s": 0.0}]


def test_build_job_holds_every_pose_per_sequence_frame_in_ue_units():
    shot = make_shot(frames=9)
    assets = asset_map(warmup=2)
    job = build_job(shot, assets, "/tmp/frames", "/tmp/status.json")
    n = 2 + 9
    assert job["warmup_frames"] == 2 and job["frames"] == 9 and job["fps"] == 15
    assert (job["width"], job["height"]) == (64, 48)
    assert len(job["camera"]["location_cm"]) == n and len(job["camera"]["rotation_deg"]) == n
    assert job["sequence_name"] == sequence_name(shot.clip_id) == "HMW_city_street_test000001"
    for k, sub in enumerate(job["subjects"]):
        assert sub["stencil"] == assets.render.stencil_values[k] and len(sub["location_cm"]) == n
        assert sub["mesh"] == assets.subjects[shot.subjects[k]].mesh
    assert job["level"] == assets.scenes["city_street"].level
    assert job["stencils"] == [251, 252, 253] and job["depth_tolerance_cm"] == 2.0


def test_a_camera_looking_along_world_x_looks_along_ue_x_rotated_by_the_anchor():
    shot = make_shot(frames=2)
    c2w = look_at(np.zeros((2, 3)), np.array([[10.0, 0.0, 0.0]] * 2))
    shot = type(shot)(**{**shot.__dict__, "c2w": c2w})
    scene = SceneAsset("city_street", "/Game/M", anchor_yaw_deg=25.0)
    _, rot = camera_keys(shot, scene, 0)
    np.testing.assert_allclose(rot, [[0.0, 0.0, 25.0]] * 2, atol=1e-9)


def test_mask_pass_decodes_to_instance_ids_whatever_the_edge_softness():
    from hmworld.render.ue5 import decode_masks

    m = np.zeros((2, 2, 4, 3), dtype=np.uint8)
    m[0, 0] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 0]]  # one subject per channel, and ground
    m[0, 1] = [[187, 0, 0], [188, 0, 0], [90, 200, 0], [0, 190, 220]]  # edges: over half (linear) wins
    m[1, 0] = [[0, 0, 255], [0, 0, 255], [255, 255, 255], [10, 10, 10]]  # channel 3 with only two subjects
    ids = decode_masks(m, n_subjects=2)
    assert ids.dtype == np.uint8
    np.testing.assert_array_equal(ids[0, 0], [1, 2, 0, 0])
    np.testing.assert_array_equal(ids[0, 1], [0, 1, 2, 2])
    np.testing.assert_array_equal(ids[1, 0], [0, 0, 1, 0])
    np.testing.assert_array_equal(decode_masks(m, 3)[0, 0], [1, 2, 3, 0])


def test_the_mask_threshold_is_half_coverage_in_linear_light_not_in_png_codes():
    """Fault 5: MRQ's PNG writer sRGB-encodes the pass, so code 128 is only ~22 % coverage."""
    from hmworld.render.ue5 import MASK_THRESHOLD, decode_masks, srgb_to_linear

    coverage = np.linspace(0.0, 1.0, 101)  # linear share of a pixel the subject covers
    srgb = np.where(coverage <= 0.0031308, coverage * 12.92, 1.055 * coverage ** (1 / 2.4) - 0.055)
    codes = np.round(srgb * 255).astype(np.uint8)
    m = np.zeros((1, 1, codes.size, 3), dtype=np.uint8)
    m[0, 0, :, 0] = codes
    ids = decode_masks(m, 1)[0, 0]
    np.testing.assert_array_equal(ids == 1, srgb_to_linear(codes / 255.0) >= 0.5)
    assert ids[coverage < 0.49].max() == 0 and ids[coverage > 0.51].min() == 1
    assert MASK_THRESHOLD == 188 and codes[22] == 129  # 22 % coverage already passed the old 128 cut
