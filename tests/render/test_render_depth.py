"""The builtin backend stores depth: metres along the optical axis, within the stated float16 error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import CLIP_JSON, DEPTH_FILE, VIDEO_FILE, Measured, read_clip
from hmworld.depth import (
    DEPTH_DTYPE,
    DEPTH_KEY,
    DEPTH_MIN_M,
    DEPTH_RELATIVE_ERROR,
    encode_depth,
    read_depth,
    write_depth,
)
from hmworld.errors import DamagedClip
from hmworld.frame_arrays import member
from hmworld.geometry import look_at, plane_depth, project
from hmworld.render.base import finish_clip
from hmworld.render.builtin.backend import BuiltinBackend
from hmworld.render.builtin.primitives import Material, PrimitiveBuilder
from hmworld.render.builtin.reference import reference_pose, reference_scene, reference_shot
from hmworld.video import write_video

# the kernels cast in float64 and return float32: far below the float16 step this adds
RTOL = DEPTH_RELATIVE_ERROR * (1 + 1e-4)


def ground_only(seed: int = 0):
    """The reference scene's lighting over nothing but the ground plane z = 0."""
    b = PrimitiveBuilder()
    b.plane(Material((0.4, 0.55, 0.3), (0.3, 0.4, 0.2), "grass", 3.0))
    ref = reference_scene(seed)
    return type(ref)(b.build(), ref.sun_dir, ref.sun_color, ref.ambient, ref.sky_top, ref.sky_horizon, ref.fog)


@pytest.fixture(scope="module")
def ground_clip(tmp_path_factory) -> Path:
    """Ground plane only, camera 1.7 m up, tilted down and rolled a little, so rows differ in depth."""
    shot = reference_shot(frames=3, width=96, height=64, n_subjects=0)
    eyes = np.array([[0.0, 0.0, 1.7], [2.0, 1.0, 3.0], [-1.0, 4.0, 0.8]])
    c2w = np.stack([look_at(e, e + np.array([4.0, 1.0 + k, -1.5])) for k, e in enumerate(eyes)])
    roll = np.radians(8.0)
    c2w[2, :3, :2] = c2w[2, :3, :2] @ np.array([[np.cos(roll), np.sin(roll)], [-np.sin(roll), np.cos(roll)]])
    shot = type(shot)(**{**shot.__dict__, "c2w": c2w})
    out = tmp_path_factory.mktemp("ground") / "ground"
    BuiltinBackend(scene_fn=lambda s, seed: ground_only(seed), pose_fn=lambda s, t: PrimitiveBuilder().build()) \
        .render_clip(shot, out)
    return out


def test_ground_plane_depth_equals_the_ray_plane_intersection_within_the_stated_error(ground_clip: Path) -> None:
    rec = read_clip(ground_clip)
    shot = rec.shot
    assert rec.has_depth and rec.files["depth"] == DEPTH_FILE
    depth = rec.load_depth()
    assert depth.dtype == np.float32 and depth.shape == (shot.frames, shot.height, shot.width)
    worst = 0.0
    for t in range(shot.frames):
        want = plane_depth(shot.c2w[t], shot.K, shot.width, shot.height)  # the ground is Z = 0
        sky = ~np.isfinite(want)
        assert 0 < sky.sum() < sky.size and np.array_equal(np.isinf(depth[t]), sky)  # sky stored as +inf
        rel = np.abs(depth[t][~sky] - want[~sky]) / want[~sky]
        assert rel.max() <= RTOL, (t, rel.max())
        worst = max(worst, float(rel.max()))
        assert np.ptp(want[~sky]) > 1.0  # the check spans a real range of depths
    assert worst > DEPTH_RELATIVE_ERROR / 8  # the store rounds (half floats), the bound is not vacuous


def test_depth_at_subject_centres_agrees_with_subject_depth(tmp_path: Path) -> None:
    shot = reference_shot(frames=24, width=160, height=120)
    out = tmp_path / "walkers"
    BuiltinBackend(scene_fn=lambda s, seed: reference_scene(seed), pose_fn=reference_pose).render_clip(shot, out)
    rec = read_clip(out)
    depth, ids = rec.load_depth(), rec.load_instances()
    proj = project(shot.subject_centers().transpose(1, 0, 2), shot.c2w, shot.K)  # as the subject_depth column
    half_diagonal = 0.5 * np.linalg.norm(shot.subject_size, axis=1)  # any surface point of the body box
    diffs = []
    for t in range(shot.frames):
        for k in range(shot.n_subjects):
            u, v = np.floor(proj.uv[t, k]).astype(int)
            if not (proj.in_front[t, k] and 0 <= u < shot.width and 0 <= v < shot.height and ids[t, v, u] == k + 1):
                continue
            d = float(depth[t, v, u]) - float(proj.depth[t, k])
            assert abs(d) <= half_diagonal[k], (t, k, d)
            diffs.append(d)
    assert len(diffs) >= 10
    assert abs(np.median(diffs)) < 0.25  # the walker's front surface, a torso's depth before its centre


def test_depth_npz_holds_one_float16_member_per_frame_in_metres(ground_clip: Path) -> None:
    with np.load(ground_clip / DEPTH_FILE) as z:
        assert z.files == [member(DEPTH_KEY, t) for t in range(3)]
        assert z[member(DEPTH_KEY, 1)].dtype == DEPTH_DTYPE
    window = read_depth(ground_clip / DEPTH_FILE, [2, 0])
    np.testing.assert_array_equal(window, read_depth(ground_clip / DEPTH_FILE)[[2, 0]])


def test_encoding_is_half_floats_with_inf_for_no_surface() -> None:
    d = np.array([[0.25, 1.0, 10.0, 65.0, 1e6, np.inf, np.nan, 1e-9]], np.float32)
    e = encode_depth(d)
    assert e.dtype == np.float16
    assert np.all(np.abs(e[0, :4].astype(np.float64) - d[0, :4]) <= DEPTH_RELATIVE_ERROR * d[0, :4])
    assert np.all(np.isposinf(e[0, 4:7]))
    assert e[0, 7] == np.float16(DEPTH_MIN_M) > 0  # never 0, which would read as "not a depth"
    with pytest.raises(ValueError, match="positive"):
        encode_depth(np.array([1.0, -0.5]))


def _finish(folder: Path, depth: np.ndarray | None):
    shot = reference_shot(frames=4, width=32, height=24)
    write_video(folder / VIDEO_FILE, np.zeros((4, 24, 32, 3), np.uint8), shot.fps, preset="ultrafast")
    vis = np.zeros((2, 4), np.int64)
    return finish_clip(folder, shot, np.zeros((4, 24, 32), np.uint8), Measured(vis, vis), {"name": "x"}, {}, depth)


def test_a_backend_without_depth_leaves_a_complete_clip_that_says_so(tmp_path: Path) -> None:
    write_depth(tmp_path / DEPTH_FILE, np.ones((4, 24, 32)))  # left by an earlier render
    rec = _finish(tmp_path, None)
    assert (tmp_path / CLIP_JSON).is_file() and not (tmp_path / DEPTH_FILE).exists() and not rec.has_depth
    with pytest.raises(DamagedClip, match=r"clip .*: has no depth \(its clip\.json lists no depth\.npz: rendered with --no-depth"):
        rec.load_depth()
    with pytest.raises(ValueError, match="depth has shape"):
        _finish(tmp_path, np.ones((3, 24, 32)))


def test_a_damaged_depth_file_is_a_one_line_error_naming_the_clip(tmp_path: Path) -> None:
    rec = _finish(tmp_path, np.full((4, 24, 32), 2.0))
    np.testing.assert_array_equal(rec.load_depth([3]), np.full((1, 24, 32), 2.0, np.float32))
    data = (tmp_path / DEPTH_FILE).read_bytes()
    (tmp_path / DEPTH_FILE).write_bytes(data[: len(data) // 2])  # cut short
    with pytest.raises(DamagedClip, match=rf"^clip {tmp_path.name}: depth\.npz cannot be read \(\w+: [^\n]+\)$"):
        rec.load_depth()
