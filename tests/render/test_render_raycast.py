"""What a user of the ray caster sees: depth, masks, silhouettes, shadows, textures, determinism."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from hmworld.geometry import intrinsics, look_at, pixel_rays, pose_from_angles, project
from hmworld.render.builtin import kernels as kn
from hmworld.render.builtin.primitives import PATTERNS, Material, PrimitiveBuilder, concat
from hmworld.render.builtin.raycast import RenderOptions, SunSky, pack, render_frame, render_frames
from hmworld.render.builtin.reference import add_walker, reference_scene

W, H = 160, 120
K = intrinsics(70.0, W, H)
GROUND = Material((0.5, 0.6, 0.4), (0.3, 0.4, 0.25), "checker", 1.0)
RED = Material((0.9, 0.1, 0.1))


def ground_only() -> PrimitiveBuilder:
    b = PrimitiveBuilder()
    b.plane(GROUND)
    return b


def test_ground_depth_matches_the_analytic_plane_distance() -> None:
    eye_h = 1.7
    c2w = pose_from_angles(np.array([0.3, -0.2, eye_h]), np.radians(20.0), np.radians(-25.0))
    f = render_frame(ground_only().build(), c2w, K, W, H)
    rays = pixel_rays(K, W, H)  # camera space, z = 1: depth is the ray parameter
    down = -(rays @ c2w[:3, :3].T)[..., 2]  # world z drop per metre of depth
    below = down > 1e-3
    expected = eye_h / down[below]
    assert below.mean() > 0.5
    np.testing.assert_allclose(f.depth[below], expected, rtol=2e-6)
    assert np.all(np.isinf(f.depth[~below]))  # the sky has no depth
    assert np.all(f.ids == 0)


def test_sphere_mask_centroid_lands_on_its_projected_centre() -> None:
    rng = np.random.default_rng(3)
    c2w = look_at(np.array([-6.0, 1.0, 1.6]), np.array([0.0, 0.0, 0.8]))
    for _ in range(5):
        centre = np.r_[rng.uniform(-1.5, 1.5, 2), rng.uniform(0.5, 1.5)]
        b = ground_only()
        b.sphere(centre, 0.3, RED, instance=1)
        f = render_frame(b.build(), c2w, K, W, H)
        jj, ii = np.nonzero(f.ids == 1)
        uv = project(centre[None], c2w, K).uv[0]
        # a perspective sphere's image is an ellipse centred slightly off the projected centre;
        # at this size and field of view the offset is far below a pixel
        assert abs(ii.mean() + 0.5 - uv[0]) < 0.35 and abs(jj.mean() + 0.5 - uv[1]) < 0.35
        assert f.visible_pixels(1)[0] == len(ii) == f.silhouette_pixels(1)[0]


def test_walker_mask_centroid_is_within_a_few_pixels_of_its_projected_centre() -> None:
    c2w = look_at(np.array([-6.0, 0.0, 1.6]), np.array([0.0, 0.0, 0.9]))
    for k, (x, y, heading, phase) in enumerate([(0.0, 0.0, 0.0, 0.1), (1.0, -1.2, 1.3, 0.6), (-1.0, 1.0, 2.5, 0.35)]):
        b = ground_only()
        add_walker(b, 1, (x, y, 0.0), heading, phase, look=k)
        f = render_frame(b.build(), c2w, K, W, H)
        jj, ii = np.nonzero(f.ids == 1)
        uv = project(np.array([[x, y, 0.875]]), c2w, K).uv[0]  # root lifted by half the height
        assert np.hypot(ii.mean() + 0.5 - uv[0], jj.mean() + 0.5 - uv[1]) < 3.0


def test_subject_behind_a_box_counts_in_its_silhouette_but_not_as_visible() -> None:
    c2w = look_at(np.array([-6.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    alone = ground_only()
    alone.sphere((0.0, 0.0, 1.0), 0.4, RED, instance=1)
    hidden = ground_only()
    hidden.box((-2.0, 0.0, 1.0), (0.2, 1.0, 1.0), Material((0.6, 0.6, 0.6)))
    hidden.sphere((0.0, 0.0, 1.0), 0.4, RED, instance=1)
    half = ground_only()
    half.box((-2.0, -0.5, 1.0), (0.2, 0.5, 1.0), Material((0.6, 0.6, 0.6)))  # covers y < 0 only
    half.sphere((0.0, 0.0, 1.0), 0.4, RED, instance=1)
    fa, fh, fp = (render_frame(b.build(), c2w, K, W, H) for b in (alone, hidden, half))
    area = fa.visible_pixels(1)[0]
    assert area > 150
    assert fh.visible_pixels(1)[0] == 0 and fh.silhouette_pixels(1)[0] == area
    assert np.array_equal(fh.silhouette(0), fa.ids == 1)
    assert 0.35 * area < fp.visible_pixels(1)[0] < 0.65 * area and fp.silhouette_pixels(1)[0] == area


def test_silhouettes_of_two_overlapping_subjects_are_kept_apart() -> None:
    c2w = look_at(np.array([-6.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    b = ground_only()
    b.sphere((-1.0, 0.0, 1.0), 0.3, RED, instance=1)  # in front
    b.sphere((1.0, 0.2, 1.0), 0.5, Material((0.1, 0.2, 0.9)), instance=2)  # behind, partly covered
    f = render_frame(b.build(), c2w, K, W, H)
    vis, sil = f.visible_pixels(2), f.silhouette_pixels(2)
    assert vis[0] == sil[0]
    assert 0 < vis[1] < sil[1]
    assert np.all((f.ids == 2) <= f.silhouette(1)) and np.any(f.silhouette(0) & f.silhouette(1))


def test_same_frame_renders_bit_identically_twice_and_on_any_thread_count() -> None:
    sc = reference_scene()
    b = PrimitiveBuilder()
    add_walker(b, 1, (0.0, 0.0, 0.0), 0.4, 0.3)
    prims = concat(sc.prims, b.build())
    c2w = look_at(np.array([-7.0, -1.0, 1.7]), np.array([0.0, 0.0, 0.9]))
    light = SunSky.of(sc)
    first = render_frame(prims, c2w, K, W, H, light)
    again = render_frame(prims, c2w, K, W, H, light)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        single = render_frame(prims, c2w, K, W, H, light)
    finally:
        numba.set_num_threads(before)
    for other in (again, single):
        for name in ("rgb", "depth", "ids", "silhouette_bits"):
            assert np.array_equal(getattr(first, name), getattr(other, name)), name


def scattered_scene(seed: int, n: int = 120) -> PrimitiveBuilder:
    """Many small primitives of every kind, some subjects, some behind the camera."""
    rng = np.random.default_rng(seed)
    b = ground_only()
    for i in range(n):
        c = np.r_[rng.uniform(-12, 12, 2), rng.uniform(0.2, 2.5)]
        m = Material(tuple(rng.uniform(0.1, 0.9, 3)), tuple(rng.uniform(0.1, 0.9, 3)), PATTERNS[i % len(PATTERNS)], 0.3)
        inst = int(rng.integers(0, 4))
        kind = i % 6
        if kind == 0:
            b.sphere(c, rng.uniform(0.1, 0.6), m, instance=inst)
        elif kind == 1:
            b.box(c, rng.uniform(0.1, 0.8, 3), m, yaw=rng.uniform(0, 3), instance=inst)
        elif kind == 2:
            b.capsule(c, c + rng.normal(size=3) * 0.6, rng.uniform(0.05, 0.3), m, instance=inst)
        elif kind == 3:
            b.cylinder(c, c + rng.normal(size=3) * 0.6, rng.uniform(0.05, 0.4), m, instance=inst)
        elif kind == 4:
            b.cone(c, c + rng.normal(size=3) * 0.8, rng.uniform(0.1, 0.5), rng.uniform(0, 0.3), m, instance=inst)
        else:
            b.ellipsoid(c, rng.uniform(0.1, 0.7, 3), m, yaw=rng.uniform(0, 3), instance=inst)
    return b


@pytest.mark.parametrize("antialias", [False, True])
def test_culling_changes_no_pixel(antialias: bool) -> None:
    """Screen tiles and the sun's grid only skip primitives that cannot be hit."""
    prims = scattered_scene(5).build()
    for pose in (
        look_at(np.array([-3.0, -2.0, 1.8]), np.array([4.0, 3.0, 0.5])),
        look_at(np.array([0.0, 0.0, 1.0]), np.array([0.0, 8.0, 1.2])),  # primitives all around
    ):
        fast = render_frame(prims, pose, K, W, H, options=RenderOptions(antialias=antialias))
        slow = render_frame(prims, pose, K, W, H, options=RenderOptions(antialias=antialias, cull=False))
        for name in ("rgb", "depth", "ids", "silhouette_bits"):
            assert np.array_equal(getattr(fast, name), getattr(slow, name)), name
        assert len(np.unique(fast.ids)) == 4


def test_the_sun_grid_lists_every_primitive_a_shadow_ray_meets() -> None:
    """A crowd of small parts (a subject's shadow) splits its cells into sub-cells; the list a
    shadow ray reads (its cell or sub-cell, and the always-tested list) holds every primitive
    the ray actually hits."""
    rng = np.random.default_rng(3)
    b = ground_only()
    m = Material((0.5, 0.5, 0.5))
    for _ in range(60):  # the crowd, within a metre
        c = np.r_[rng.uniform(-0.5, 0.5, 2), rng.uniform(0.1, 1.8)]
        if rng.uniform() < 0.5:
            b.capsule(c, c + rng.normal(size=3) * 0.15, rng.uniform(0.02, 0.08), m, instance=1)
        else:
            b.ellipsoid(c, rng.uniform(0.03, 0.12, 3), m, yaw=rng.uniform(0, 3), instance=1)
    for x in (-30.0, 30.0):  # scenery that stretches the grid so its cells are coarse
        b.box((x, x, 3.0), (2.0, 2.0, 3.0), m)
    p = pack(b.build())
    sun = np.array([0.5, -0.3, 0.25])
    sun /= np.linalg.norm(sun)
    basis, dims, starts, items, always = kn.bin_light(p.prim_index, p.prim_geometry, sun, 256, 64.0, True)
    assert (items < 0).any(), "the crowd's cells are split"
    # points on the ground in and around the crowd's shadow, and in the crowd itself
    pts = np.concatenate([
        np.c_[rng.uniform(-4.0, 2.0, (4000, 2)), np.full(4000, 1e-3)],
        np.c_[rng.uniform(-0.6, 0.6, (2000, 2)), rng.uniform(0.0, 2.0, 2000)],
    ])
    ts, _ = kn.cast_rays(p.prim_index, p.prim_geometry, pts, np.tile(sun, (len(pts), 1)), 0.0)
    shadowed = 0
    for pt, t in zip(pts, ts, strict=True):
        c, sc = kn.light_cell(basis, dims, starts, items, pt[0], pt[1], pt[2])
        listed = set(always[: dims[kn.LD_N_ALWAYS]] if c >= 0 else always)
        if c >= 0:
            listed |= {k for k in items[starts[c] : starts[c + 1]] if k >= 0}
        if sc >= 0:
            listed |= set(items[starts[sc] : starts[sc + 1]])
            assert all(k >= 0 for k in items[starts[sc] : starts[sc + 1]])
        for k in range(len(p)):
            if kn.hit(p.prim_index, p.prim_geometry, k, pt[0], pt[1], pt[2], sun[0], sun[1], sun[2], 0.0) < np.inf:
                assert k in listed, (pt, k)
        shadowed += bool(np.isfinite(t))
    assert 500 < shadowed < len(pts) - 500


def test_a_box_casts_a_hard_shadow_towards_away_from_the_sun() -> None:
    sun = np.array([0.5, 0.0, 0.866])  # 60° up, towards +x
    light = SunSky(sun_dir=tuple(sun), sun_color=(1.0, 1.0, 1.0), ambient=(0.3, 0.3, 0.3))
    b = PrimitiveBuilder()
    b.plane(Material((0.8, 0.8, 0.8)))
    b.box((0.0, 0.0, 1.0), (0.25, 0.25, 0.25), Material((0.2, 0.2, 0.8)))  # floating 0.75 m up
    c2w = look_at(np.array([0.0, -6.0, 4.0]), np.array([-0.4, 0.0, 0.0]))
    shadow_at = np.array([[-1.0 / np.tan(np.radians(60.0)), 0.0, 0.0]])  # below the box, away from the sun
    lit_at = np.array([[1.5, 0.0, 0.0]])
    (us, vs), (ul, vl) = (project(p, c2w, K).uv[0].astype(int) for p in (shadow_at, lit_at))
    with_shadow = render_frame(b.build(), c2w, K, W, H, light)
    without = render_frame(b.build(), c2w, K, W, H, light, RenderOptions(shadows=False))
    assert with_shadow.rgb[vs, us].mean() < 0.6 * with_shadow.rgb[vl, ul].mean()
    assert abs(int(without.rgb[vs, us].mean()) - int(without.rgb[vl, ul].mean())) <= 2


def test_antialiasing_blends_edges_but_keeps_ids_and_depth_from_the_pixel_centre() -> None:
    b = ground_only()
    b.box((0.0, 0.0, 1.0), (0.5, 0.5, 1.0), Material((0.95, 0.95, 0.95)), yaw=0.4)
    c2w = look_at(np.array([-5.0, -1.0, 1.6]), np.array([0.0, 0.0, 1.0]))
    aa = render_frame(b.build(), c2w, K, W, H)
    plain = render_frame(b.build(), c2w, K, W, H, options=RenderOptions(antialias=False))
    assert np.array_equal(aa.ids, plain.ids) and np.array_equal(aa.depth, plain.depth)
    changed = np.any(aa.rgb != plain.rgb, axis=-1)
    assert 0 < changed.mean() < 0.2 and aa.edge_pixels >= changed.sum()
    # fewer distinct colours on a hard edge without anti-aliasing
    edge_rows = np.any(changed, axis=1)
    assert len(np.unique(aa.rgb[edge_rows].reshape(-1, 3), axis=0)) > len(
        np.unique(plain.rgb[edge_rows].reshape(-1, 3), axis=0)
    )


def test_antialiased_edges_come_close_to_a_sixteen_times_supersampled_render() -> None:
    """Geometry, shadow and texture edges: the anti-aliased frame is about twice as close to the
    mean of 4×4 centre samples per pixel (a render at 4× the size, box-filtered) as the plain one."""
    b = PrimitiveBuilder()
    b.plane(GROUND)
    b.box((0.0, 0.0, 1.0), (0.5, 0.5, 1.0), Material((0.95, 0.95, 0.95)), yaw=0.4)
    add_walker(b, 1, (1.5, -1.5, 0.0), 0.4, 0.3)
    prims = b.build()
    c2w = look_at(np.array([-5.0, -1.0, 1.6]), np.array([0.0, 0.0, 1.0]))
    s = 4
    big = render_frame(prims, c2w, intrinsics(70.0, W * s, H * s), W * s, H * s, options=RenderOptions(antialias=False))
    reference = big.rgb.astype(float).reshape(H, s, W, s, 3).mean(axis=(1, 3))
    aa = render_frame(prims, c2w, K, W, H)
    plain = render_frame(prims, c2w, K, W, H, options=RenderOptions(antialias=False))
    err_aa = np.abs(aa.rgb - reference).max(axis=-1)
    err_plain = np.abs(plain.rgb - reference).max(axis=-1)
    edges = np.any(aa.rgb != plain.rgb, axis=-1) | (err_plain > 8)
    assert edges.sum() > 500
    assert err_aa[edges].mean() < 0.6 * err_plain[edges].mean()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_pattern_gives_the_ground_visible_detail(pattern: str) -> None:
    b = PrimitiveBuilder()
    b.plane(Material((0.8, 0.7, 0.3), (0.2, 0.3, 0.6), pattern, 0.7))
    c2w = look_at(np.array([0.0, 0.0, 1.6]), np.array([3.0, 0.0, 0.0]))
    f = render_frame(b.build(), c2w, K, W, H, options=RenderOptions(shadows=False))
    ground = f.rgb[H // 2 + 20 :].reshape(-1, 3).astype(float)
    spread = ground.std(axis=0).mean()
    if pattern in ("flat", "gradient"):  # gradient runs with height, so a flat ground is even
        assert spread < 2.5
    else:
        assert spread > 6.0, spread


def test_sky_gradient_brightens_to_the_horizon_and_shows_the_sun() -> None:
    light = SunSky(sun_dir=(1.0, 0.0, 0.3))
    c2w = pose_from_angles(np.zeros(3), 0.0, np.radians(20.0))
    f = render_frame(PrimitiveBuilder().build(), c2w, K, W, H, light)
    assert np.all(f.ids == 0) and np.all(np.isinf(f.depth))
    col = f.rgb[:, 5].astype(int).sum(axis=1)
    assert col[-1] > col[0]  # horizon (bottom) lighter than the zenith side (top)
    sun = project(np.array([[10.0, 0.0, 3.0]]), c2w, K).uv[0].astype(int)
    assert f.rgb[sun[1], sun[0]].min() == 255


def test_fog_fades_distant_ground_to_the_horizon_colour() -> None:
    horizon = (0.8, 0.8, 0.85)
    c2w = look_at(np.array([0.0, 0.0, 1.6]), np.array([10.0, 0.0, 0.0]))
    clear = render_frame(ground_only().build(), c2w, K, W, H, SunSky(sky_horizon=horizon))
    foggy = render_frame(ground_only().build(), c2w, K, W, H, SunSky(sky_horizon=horizon, fog=0.15))
    far = (slice(H // 2 + 2, H // 2 + 6), slice(None))
    target = np.array(horizon) * 255
    assert np.abs(foggy.rgb[far].mean(axis=(0, 1)) - target).max() < np.abs(clear.rgb[far].mean(axis=(0, 1)) - target).max()


def test_batched_frames_equal_single_frames() -> None:
    """render_frames (one frame per thread) and render_frame (threads share tiles) agree exactly."""
    poses = [look_at(np.array([-3.0 + i, -2.0, 1.8]), np.array([4.0, 3.0 - i, 0.5])) for i in range(3)]
    scenes = [scattered_scene(s).build() for s in (1, 2, 3)]
    light = SunSky(sun_dir=(0.3, 0.4, 0.8))
    batch = render_frames(list(zip(scenes, poses, strict=True)), K, W, H, light)
    for prims, pose, got in zip(scenes, poses, batch, strict=True):
        want = render_frame(prims, pose, K, W, H, light)
        for name in ("rgb", "depth", "ids", "silhouette_bits", "edge_pixels"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), name


def test_compiled_kernels_are_cached_on_disk_for_the_next_process() -> None:
    """numba's cache sits beside kernels.py (or in NUMBA_CACHE_DIR); a fresh clone fills it on first use."""
    import os
    from pathlib import Path

    from hmworld.render.builtin import kernels

    render_frames([(ground_only().build(), look_at(np.array([0.0, 0.0, 1.6]), np.array([3.0, 0.0, 0.0])))], K, W, H)
    root = Path(os.environ["NUMBA_CACHE_DIR"]) if os.environ.get("NUMBA_CACHE_DIR") else Path(kernels.__file__).parent / "__pycache__"
    for name in ("render_job", "bin_screen", "bin_light"):
        assert list(root.rglob(f"kernels.{name}-*.nbi")), name
    stats = kernels.render_job.stats
    assert stats.cache_hits or stats.cache_misses  # loaded from, or saved to, the cache
