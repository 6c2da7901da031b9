"""The 17 scene recipes: build, determinism, distinctness, the clear disc, structure all around."""

from __future__ import annotations

import numpy as np
import pytest
from bounds_support import (
    footprint_distance,
    horizontal_distance_to_origin,
    primitive_bounds,
    surface_points,
)

from hmworld.catalog.scenes import SCENE_LIST, SCENES
from hmworld.errors import UserError
from hmworld.geometry import intrinsics, look_at
from hmworld.render.builtin.primitives import PATTERNS, PLANE
from hmworld.render.builtin.raycast import RenderOptions, SunSky, cast_rays, render_frame
from hmworld.render.builtin.scenes import build_scene, sun_direction

IDS = [s.id for s in SCENE_LIST]
LOW = 0.3  # ground detail may be this tall inside the clear disc
OVERHEAD = 7.0  # geometry whose underside is this high clears every plan camera (≤ 6 m)
MAX_PRIMITIVES = 320


@pytest.fixture(scope="module")
def scenes():
    return {sid: build_scene(sid, 0) for sid in IDS}


def arrays(prims):
    return [prims.kind, prims.instance, prims.material, prims.a, prims.b, prims.radius, prims.half, prims.rot,
            prims.mat_color, prims.mat_color2, prims.mat_pattern, prims.mat_scale, prims.mat_gloss]


@pytest.mark.parametrize("sid", IDS)
def test_scene_builds_as_static_scenery_on_one_ground_plane_within_budget(sid: str, scenes) -> None:
    sc = scenes[sid]
    ps = sc.prims
    assert 60 <= len(ps) <= MAX_PRIMITIVES
    assert np.all(ps.instance == 0)
    assert np.sum(ps.kind == PLANE) == 1
    assert ps.material.max() < len(ps.mat_color)
    assert np.all((ps.mat_color >= 0) & (ps.mat_color <= 1)) and np.all((ps.mat_color2 >= 0) & (ps.mat_color2 <= 1))
    assert np.all(ps.radius >= 0) and np.all(ps.half >= 0)
    assert len(ps.mat_color) >= 8  # a real palette, not one grey
    assert sc.fog >= 0.0
    for rgb in (sc.sun_color, sc.ambient, sc.sky_top, sc.sky_horizon):
        assert len(rgb) == 3 and all(0.0 <= c <= 2.0 for c in rgb)


@pytest.mark.parametrize("sid", IDS)
def test_sun_comes_from_the_catalog_lighting(sid: str, scenes) -> None:
    light = SCENES[sid].lighting
    sun = scenes[sid].sun_dir
    assert np.isclose(np.linalg.norm(sun), 1.0)
    np.testing.assert_allclose(sun, sun_direction(light.sun_elevation_deg, light.sun_azimuth_deg))
    assert np.degrees(np.arcsin(sun[2])) == pytest.approx(light.sun_elevation_deg)
    assert np.degrees(np.arctan2(sun[1], sun[0])) % 360 == pytest.approx(light.sun_azimuth_deg % 360)


@pytest.mark.parametrize("sid", IDS)
def test_scene_is_deterministic_in_its_seed_and_the_seed_matters(sid: str, scenes) -> None:
    again = build_scene(sid, 0)
    for x, y in zip(arrays(scenes[sid].prims), arrays(again.prims), strict=True):
        np.testing.assert_array_equal(x, y)
    other = build_scene(sid, 7)
    moved = len(other.prims) != len(again.prims) or not np.array_equal(other.prims.a, again.prims.a)
    assert moved
    np.testing.assert_array_equal(other.sun_dir, again.sun_dir)  # lighting is the catalog's, not the seed's
    assert other.sun_color == again.sun_color and other.fog == again.fog


@pytest.mark.parametrize("sid", IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nothing_taller_than_ground_detail_inside_the_clear_disc(sid: str, seed: int) -> None:
    """Plan cameras stand up to ~24 m out and 6 m up: inside the disc there is only ground detail,
    or (the warehouse roof, forest crowns) geometry wholly above every camera."""
    spec = SCENES[sid]
    ps = build_scene(sid, seed).prims
    solid = ps.kind != PLANE
    lo, hi = primitive_bounds(ps)
    standing = solid & (hi[:, 2] > LOW) & (lo[:, 2] < OVERHEAD)
    suspects = np.flatnonzero(standing & (horizontal_distance_to_origin(lo, hi) < spec.clear_radius))
    inside = [int(k) for k in suspects if footprint_distance(ps, int(k)) < spec.clear_radius]
    assert not inside, [(k, ps.a[k].round(2)) for k in inside]
    # and nothing at all pokes up inside the walkable rectangle beyond ground detail
    hx, hy = spec.walk_half
    over = (lo[:, 0] < hx) & (hi[:, 0] > -hx) & (lo[:, 1] < hy) & (hi[:, 1] > -hy)
    assert not np.any(solid & over & (hi[:, 2] > LOW) & (lo[:, 2] < OVERHEAD))


def signature(sc) -> set[tuple]:
    ps = sc.prims
    return {(tuple(np.round(c, 2)), int(p)) for c, p in zip(ps.mat_color, ps.mat_pattern, strict=True)}


def test_every_scene_looks_different_from_every_other(scenes) -> None:
    """Different ground, and mostly different materials: no two recipes are re-skins of each other."""
    grounds = {}
    for sid, sc in scenes.items():
        ps = sc.prims
        m = ps.material[ps.kind == PLANE][0]
        grounds[sid] = (tuple(np.round(ps.mat_color[m], 2)), PATTERNS[ps.mat_pattern[m]], round(ps.mat_scale[m], 2))
    assert len(set(grounds.values())) == len(IDS)
    sigs = {sid: signature(sc) for sid, sc in scenes.items()}
    for i, a in enumerate(IDS):
        for b in IDS[i + 1 :]:
            shared = len(sigs[a] & sigs[b]) / min(len(sigs[a]), len(sigs[b]))
            assert shared < 0.5, (a, b, shared)
    palettes = {sid: np.round(sc.sky_horizon, 2).tobytes() + np.round(sc.sun_color, 2).tobytes() for sid, sc in scenes.items()}
    assert len(set(palettes.values())) >= 12  # lighting varies too (some scenes share a time of day)


def structure_share(ps, eye: np.ndarray, yaw: float) -> float:
    """Share of a 70°×40° view whose rays hit something standing (not the ground, not flat decals)."""
    az = yaw + np.radians(np.linspace(-35, 35, 32))
    el = np.radians(np.linspace(-20, 20, 16))
    A, E = np.meshgrid(az, el)
    d = np.stack([np.cos(E) * np.cos(A), np.cos(E) * np.sin(A), np.sin(E)], -1).reshape(-1, 3)
    dist, k = cast_rays(ps, np.tile(eye, (len(d), 1)), d)
    hit = (k >= 0) & (dist < 400.0)
    kk = np.maximum(k, 0)
    z = eye[2] + np.where(hit, dist, 0.0) * d[:, 2]
    return float(np.mean(hit & (ps.kind[kk] != PLANE) & (z > 0.35)))


@pytest.mark.parametrize("sid", IDS)
def test_a_panning_camera_always_sees_structure(sid: str, scenes) -> None:
    """From where the plan puts cameras (up to ~15 m out), every direction shows props, not bare ground."""
    ps = scenes[sid].prims
    shares = []
    for a in np.linspace(0.0, 2 * np.pi, 4, endpoint=False) + 0.3:
        eye = np.array([15 * np.cos(a), 15 * np.sin(a), 1.7])
        for yaw in np.linspace(0.0, 2 * np.pi, 8, endpoint=False):
            shares.append(structure_share(ps, eye, yaw))
    assert min(shares) >= 0.01, min(shares)
    assert np.mean(shares) >= 0.05, np.mean(shares)


@pytest.mark.parametrize("sid", IDS)
def test_props_stand_all_around_the_origin(sid: str, scenes) -> None:
    """Every 45° sector seen from the origin holds something over a metre tall within 150 m."""
    ps = scenes[sid].prims
    _, hi = primitive_bounds(ps)
    covered = set()
    for k in np.flatnonzero((ps.kind != PLANE) & (hi[:, 2] > 1.0)):
        pts = surface_points(ps, int(k))
        pts = pts[(pts[:, 2] > 1.0) & (np.hypot(pts[:, 0], pts[:, 1]) < 150.0)]
        ang = np.arctan2(pts[:, 1], pts[:, 0])
        covered |= set((np.floor((ang + np.pi) / (np.pi / 4)).astype(int) % 8).tolist())
    assert covered == set(range(8))


def test_unknown_scene_is_a_user_error_listing_the_scenes() -> None:
    with pytest.raises(UserError, match="park") as e:
        build_scene("moon_base")
    assert "moon_base" in str(e.value) and "village_square" in str(e.value)


@pytest.mark.parametrize("sid", IDS)
def test_scene_renders_with_texture_sky_and_no_subject_ids(sid: str, scenes) -> None:
    sc = scenes[sid]
    W, H = 64, 48
    c2w = look_at(np.array([12.0, -6.0, 1.7]), np.array([30.0, 10.0, 4.0]))
    frame = render_frame(sc.prims, c2w, intrinsics(70, W, H), W, H, SunSky.of(sc), RenderOptions(antialias=False))
    assert np.all(frame.ids == 0)
    assert frame.rgb.std() > 10  # not a flat fill
    assert len(np.unique(frame.rgb.reshape(-1, 3), axis=0)) > 40
    lit = frame.rgb.astype(float).mean(axis=2)
    assert 25 < lit.mean() < 235  # exposed: neither black nor blown out
