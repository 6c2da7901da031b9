"""The builtin backend writes a clip folder that keeps the contract of hmworld.clip."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numba
import numpy as np
import pytest

from hmworld.clip import (
    CLIP_JSON,
    DEPTH_FILE,
    INSTANCES_FILE,
    VIDEO_FILE,
    Measured,
    is_complete,
    read_clip,
)
from hmworld.errors import UserError
from hmworld.geometry import project
from hmworld.render import Backend, backend_names, get_backend
from hmworld.render.base import finish_clip, measure_ids
from hmworld.render.builtin.backend import BuiltinBackend, render_shot
from hmworld.render.builtin.raycast import SunSky
from hmworld.render.builtin.reference import reference_pose, reference_scene, reference_shot
from hmworld.video import read_video, video_info


def reference_backend(**kw) -> BuiltinBackend:
    return BuiltinBackend(scene_fn=lambda scene, seed: reference_scene(seed), pose_fn=reference_pose, **kw)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "reference"
    reference_backend().render_clip(reference_shot(frames=16, width=160, height=120), out)
    return out


def test_clip_folder_holds_video_ids_and_measurements_that_agree(clip: Path) -> None:
    assert is_complete(clip) and {p.name for p in clip.iterdir()} == {VIDEO_FILE, INSTANCES_FILE, DEPTH_FILE, CLIP_JSON}
    rec = read_clip(clip)
    shot = rec.shot
    ids = rec.load_instances()
    assert ids.dtype == np.uint8 and ids.shape == (16, 120, 160)
    assert set(np.unique(ids)) <= {0, 1, 2}
    info = video_info(rec.video_path)
    assert (info.frames, info.width, info.height, info.fps) == (16, 160, 120, 15)
    assert np.array_equal(rec.measured.visible_pixels, measure_ids(ids, 2))
    assert np.all(rec.measured.silhouette_pixels >= rec.measured.visible_pixels)
    assert rec.measured.visible_pixels.max() > 100
    assert rec.backend["name"] == "builtin" and rec.backend["antialias"] is True
    assert rec.stats["frames"] == 16 and rec.stats["render_fps"] > 0
    assert np.array_equal(shot.c2w, reference_shot(frames=16, width=160, height=120).c2w)


def test_subject_masks_sit_where_the_shot_puts_the_subjects(clip: Path) -> None:
    rec = read_clip(clip)
    shot, ids = rec.shot, rec.load_instances()
    uv = project(shot.subject_centers().transpose(1, 0, 2), shot.c2w, shot.K).uv.transpose(1, 0, 2)  # [N,T,2]
    checked = 0
    for k in range(shot.n_subjects):
        for t in range(shot.frames):
            mask = ids[t] == k + 1
            # whole subject in view and unoccluded: silhouette equals the visible mask
            if mask.sum() < 80 or rec.measured.silhouette_pixels[k, t] != mask.sum():
                continue
            jj, ii = np.nonzero(mask)
            if ii.min() == 0 or ii.max() == shot.width - 1:
                continue
            assert np.hypot(ii.mean() + 0.5 - uv[k, t, 0], jj.mean() + 0.5 - uv[k, t, 1]) < 3.0
            checked += 1
    assert checked >= 6


def test_the_video_shows_the_rendered_subjects(clip: Path) -> None:
    rec = read_clip(clip)
    rgb = read_video(rec.video_path).astype(int)
    ids = rec.load_instances()
    t = int(np.argmax(rec.measured.visible_pixels[0]))
    walker = rgb[t][ids[t] == 1].mean(axis=0)
    ground = rgb[t][(ids[t] == 0)[..., None].repeat(3, -1).all(-1) & (np.arange(120)[:, None] > 80)].mean(axis=0)
    assert np.abs(walker - ground).sum() > 60  # the subject stands out from the grass


def test_same_shot_renders_to_identical_files(tmp_path: Path, clip: Path) -> None:
    again = tmp_path / "again"
    reference_backend().render_clip(reference_shot(frames=16, width=160, height=120), again)
    for name in (VIDEO_FILE, INSTANCES_FILE, DEPTH_FILE):
        assert (again / name).read_bytes() == (clip / name).read_bytes(), name


def test_a_render_that_fails_midway_leaves_no_complete_looking_clip(tmp_path: Path) -> None:
    def broken_pose(shot, frame):
        if frame == 5:
            raise RuntimeError("pose failed")
        return reference_pose(shot, frame)

    out = tmp_path / "broken"
    backend = BuiltinBackend(scene_fn=lambda s, seed: reference_scene(seed), pose_fn=broken_pose)
    with pytest.raises(RuntimeError, match="pose failed"):
        backend.render_clip(reference_shot(frames=10, width=64, height=48), out)
    assert not is_complete(out)
    assert not any((out / n).exists() for n in (VIDEO_FILE, INSTANCES_FILE, DEPTH_FILE))


def test_finish_clip_refuses_results_that_do_not_fit_the_shot(tmp_path: Path) -> None:
    shot = reference_shot(frames=4, width=32, height=24)
    ids = np.zeros((4, 24, 32), np.uint8)
    vis = np.zeros((2, 4), np.int64)
    with pytest.raises(FileNotFoundError, match=r"rgb\.mp4"):
        finish_clip(tmp_path, shot, ids, Measured(vis, vis), {"name": "x"}, {})
    with pytest.raises(ValueError, match="shape"):
        finish_clip(tmp_path, shot, ids[:3], Measured(vis, vis), {"name": "x"}, {})
    with pytest.raises(ValueError, match="visible_pixels"):
        finish_clip(tmp_path, replace(shot), ids, Measured(vis[:1], None), {"name": "x"}, {})
    assert not is_complete(tmp_path)


def test_registry_knows_the_shipped_backends_and_names_the_allowed_ones() -> None:
    assert {"builtin", "ue5"} <= set(backend_names())
    backend = get_backend("builtin", antialias=False)
    assert isinstance(backend, BuiltinBackend) and isinstance(backend, Backend)
    assert backend.options.antialias is False
    with pytest.raises(UserError, match=r"unknown backend 'blender'; allowed: .*builtin"):
        get_backend("blender")


def test_render_shot_gives_the_same_frames_on_any_thread_count_and_batch_size() -> None:
    """render_shot casts one batch while posing the next; neither that nor threads change a pixel."""
    shot = reference_shot(7, 64, 48)
    sc = reference_scene()
    first = list(render_shot(shot, sc.prims, SunSky.of(sc), reference_pose, batch=3))
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = list(render_shot(shot, sc.prims, SunSky.of(sc), reference_pose))
    finally:
        numba.set_num_threads(before)
    assert len(first) == len(single) == 7
    for a, b in zip(first, single, strict=True):
        for name in ("rgb", "depth", "ids", "silhouette_bits"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("threads", [1, 2])
def test_render_cpu_s_counts_the_rendering_on_every_thread_once(threads: int) -> None:
    """stats' render_cpu_s sums each thread's own CPU clock over disjoint stretches of rendering:
    never more than the whole process spent, and (nothing else runs) most of it. Double counting,
    or casting threads left out, breaks one of the two."""
    shot = reference_shot(12, 96, 64)
    sc = reference_scene()
    list(render_shot(shot, sc.prims, SunSky.of(sc), reference_pose))  # compiled and warm
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    stats: dict = {}
    try:
        start = time.process_time()
        frames = list(render_shot(shot, sc.prims, SunSky.of(sc), reference_pose, stats=stats))
        process_s = time.process_time() - start
    finally:
        numba.set_num_threads(before)
    cast_s = sum(f.cast_cpu_s for f in frames)
    assert 0.0 < cast_s < stats["render_cpu_s"] <= process_s + 1e-3
    assert stats["render_cpu_s"] >= 0.5 * process_s
    assert stats["render_s"] > 0.0 and stats["frames"] == 12
