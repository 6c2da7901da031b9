"""The 49 catalog subjects as posed primitives: fit, determinism, gaits, no foot sliding, masks."""

from __future__ import annotations

import numpy as np
import pytest
from bounds_support import primitive_bounds

from hmworld.catalog.subjects import SUBJECT_LIST, SUBJECTS
from hmworld.errors import UserError
from hmworld.geometry import intrinsics, look_at, project
from hmworld.render.builtin.primitives import BOX as BOX_KIND
from hmworld.render.builtin.primitives import (
    CAPSULE,
    CONE,
    CYLINDER,
    ELLIPSOID,
    PLANE,
    Material,
    PrimitiveBuilder,
    concat,
)
from hmworld.render.builtin.raycast import RenderOptions, SunSky, render_frame
from hmworld.render.builtin.subjects import (
    pose_subjects,
    subject_look,
    subject_primitives,
    subject_rig,
)
from hmworld.shot import Shot

IDS = [s.id for s in SUBJECT_LIST]
PHASES = np.linspace(0.0, 1.0, 9)


def poses(spec):
    """(gait, speed, phase) covering rest, every gait's slowest and fastest pace, the whole cycle."""
    for g in spec.gaits:
        for speed in (0.0, g.speed_min, g.speed_max):
            for phase in PHASES:
                yield g.name, speed, phase


def built(sid: str, phase: float = 0.3, speed: float | None = None, gait: str | None = None, instance: int = 1,
          pos=(0.0, 0.0, 0.0), heading: float = 0.0):
    spec = SUBJECTS[sid]
    speed = spec.gaits[0].speed_max if speed is None else speed
    return subject_primitives(sid, instance, pos, heading, phase, speed, gait)


@pytest.mark.parametrize("sid", IDS)
def test_every_subject_builds_from_a_handful_of_primitives_all_with_its_instance_id(sid: str) -> None:
    ps = built(sid, instance=3)
    assert 10 <= len(ps) <= 40
    assert np.all(ps.instance == 3)
    assert not np.any(ps.kind == PLANE)
    assert ps.material.max() < len(ps.mat_color)
    assert np.all((ps.mat_color >= 0) & (ps.mat_color <= 1))


@pytest.mark.parametrize("sid", IDS)
def test_subject_fits_its_catalog_box_in_every_pose(sid: str) -> None:
    """Width and height always; length too, except a person's stride (see the next test)."""
    spec = SUBJECTS[sid]
    L, W, H = spec.size
    eps = 1e-6
    for gait, speed, phase in poses(spec):
        lo, hi = primitive_bounds(built(sid, phase, speed, gait))
        assert lo[:, 2].min() >= -eps, (gait, speed, phase)
        assert hi[:, 2].max() <= H + eps, (gait, speed, phase)
        assert np.abs(np.r_[lo[:, 1], hi[:, 1]]).max() <= W / 2 + eps, (gait, speed, phase)
        if spec.body != "biped":
            assert hi[:, 0].max() <= L / 2 + eps and lo[:, 0].min() >= -L / 2 - eps, (gait, speed, phase)


@pytest.mark.parametrize("sid", [s.id for s in SUBJECT_LIST if s.body == "biped"])
def test_a_persons_reach_along_the_path_is_the_planted_foot_sweep_plus_a_foot(sid: str) -> None:
    """The catalog's person length (~0.3 m) is a standing depth; a no-slide stride sweeps each
    foot ±duty·cycle/2 about the hip, so along the heading a walker needs that much more."""
    spec = SUBJECTS[sid]
    look = subject_look(sid)
    for gait, speed, phase in poses(spec):
        cycle = next(g.cycle_m for g in spec.gaits if g.name == gait)
        lo, hi = primitive_bounds(built(sid, phase, speed, gait))
        reach = max(spec.length / 2, 0.5 * 0.65 * cycle + 0.1 * look.H)
        assert hi[:, 0].max() <= reach and lo[:, 0].min() >= -reach, (gait, speed, phase)
    lo, hi = primitive_bounds(built(sid, 0.3, 0.0))
    assert hi[:, 0].max() - lo[:, 0].min() <= 0.45 * look.H  # standing, it is a person's depth


def test_heading_and_position_move_the_subject_rigidly() -> None:
    for sid in ("man_red_jacket", "brown_horse", "goose"):
        a = built(sid, 0.4)
        b = built(sid, 0.4, pos=(3.0, -2.0, 0.0), heading=1.1)
        c, s = np.cos(1.1), np.sin(1.1)
        R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        shift = np.array([3.0, -2.0, 0.0])
        np.testing.assert_allclose(b.a, a.a @ R.T + shift, atol=1e-9)
        seg = np.isin(a.kind, (CAPSULE, CYLINDER, CONE))  # second end point
        np.testing.assert_allclose(b.b[seg], a.b[seg] @ R.T + shift, atol=1e-9)
        turned = np.isin(a.kind, (BOX_KIND, ELLIPSOID))
        np.testing.assert_allclose(b.rot[turned], R @ a.rot[turned], atol=1e-9)


def test_subjects_face_along_their_heading() -> None:
    """Heads and necks sit ahead of the body; a person's feet point along the heading."""
    h = 2.0
    fwd = np.array([np.cos(h), np.sin(h), 0.0])
    for spec in SUBJECT_LIST:
        ps = built(spec.id, 0.0, 0.0, heading=h)
        along = ps.a @ fwd
        if spec.body == "biped":
            feet = ps.kind == BOX_KIND
            low = feet & (ps.a[:, 2] < 0.05 * spec.height)
            assert low.sum() == 2 and np.all(along[low] > 0.01), spec.id  # toes ahead of the ankles
            continue
        upper = ps.a[:, 2] > 0.6 * spec.height
        assert along[upper].mean() > along.mean() + 0.05 * spec.length, spec.id


@pytest.mark.parametrize("sid", ["man_red_jacket", "labrador", "ostrich"])
def test_poses_are_deterministic(sid: str) -> None:
    a, b = built(sid, 0.37), built(sid, 0.37)
    for field in ("kind", "instance", "material", "a", "b", "radius", "half", "rot", "mat_color"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def walk_feet(sid: str, gait: str, speed: float, heading: float = 0.7, n: int = 121):
    """Feet [n, legs, 3] and stance flags [n, legs] over 1.5 cycles of a straight walk at `speed`."""
    spec = SUBJECTS[sid]
    cycle = next(g.cycle_m for g in spec.gaits if g.name == gait)
    dist = np.linspace(0.0, 1.5 * cycle, n)
    fwd = np.array([np.cos(heading), np.sin(heading), 0.0])
    feet, stance = [], []
    for d in dist:
        rig = subject_rig(sid, d * fwd, heading, d / cycle, speed, gait)
        feet.append(rig.feet)
        stance.append(rig.stance)
    return np.array(feet), np.array(stance), cycle


@pytest.mark.parametrize("sid", IDS)
def test_the_stance_foot_does_not_slide(sid: str) -> None:
    """phase = distance / cycle_m, as the plan makes it: a planted foot stays put in the world."""
    spec = SUBJECTS[sid]
    for g in spec.gaits:
        feet, stance, cycle = walk_feet(sid, g.name, 0.5 * (g.speed_min + g.speed_max))
        assert stance.any(axis=0).all() and (~stance).any(axis=0).all()  # every foot steps
        for leg in range(feet.shape[1]):
            on = stance[:, leg]
            assert np.abs(feet[on, leg, 2]).max() < 1e-9  # planted feet are on the ground
            edges = np.flatnonzero(np.diff(on.astype(int)))
            for run in np.split(np.arange(len(on)), edges + 1):
                if on[run[0]] and len(run) > 1:
                    drift = np.linalg.norm(feet[run, leg, :2] - feet[run[0], leg, :2], axis=1).max()
                    assert drift < 0.01 * cycle, (g.name, leg, drift)
        assert feet[..., 2].max() > 0.02 * spec.height  # and swinging feet leave the ground


def test_the_rendered_foot_sits_on_the_rigs_foot() -> None:
    for sid in ("man_red_jacket", "holstein_cow", "chicken"):
        spec = SUBJECTS[sid]
        rig = subject_rig(sid, (1.0, 2.0, 0.0), 0.4, 0.1, spec.gaits[0].speed_max)
        lo, hi = primitive_bounds(built(sid, 0.1, pos=(1.0, 2.0, 0.0), heading=0.4))
        for foot, down in zip(rig.feet, rig.stance, strict=True):
            inside = np.all((lo[:, :2] <= foot[:2] + 1e-9) & (hi[:, :2] >= foot[:2] - 1e-9), axis=1)
            assert inside.any()
            if down:
                assert lo[inside, 2].min() < 1e-6  # something under the foot touches the ground


def test_a_person_swings_opposite_arm_and_leg() -> None:
    sid = "man_red_jacket"
    spec = SUBJECTS[sid]
    v = spec.gaits[0].speed_max
    rig0 = subject_rig(sid, (0, 0, 0), 0.0, 0.0, v, "walk")
    rig_half = subject_rig(sid, (0, 0, 0), 0.0, 0.5, v, "walk")
    # half a cycle later the feet have swapped places (left ahead ↔ right ahead)
    np.testing.assert_allclose(rig0.feet[0, 0], rig_half.feet[1, 0], atol=1e-9)
    assert abs(rig0.feet[0, 0] - rig0.feet[1, 0]) > 0.3 * spec.gaits[0].cycle_m
    # the hands move too: the primitive set changes far more than the feet alone would
    a, b = built(sid, 0.0, v, "walk"), built(sid, 0.5, v, "walk")
    moved = np.linalg.norm(a.a - b.a, axis=1) > 0.1
    assert moved.sum() >= 8  # legs, feet, forearms, hands


def footfalls(sid: str, gait: str) -> np.ndarray:
    """Phase of each leg's touchdown (stance starts) [legs]."""
    spec = SUBJECTS[sid]
    g = next(g for g in spec.gaits if g.name == gait)
    ph = np.linspace(0.0, 1.0, 401)
    st = np.array([subject_rig(sid, (0, 0, 0), 0.0, p, g.speed_max, gait).stance for p in ph])
    down = (~st[:-1]) & st[1:]
    return np.array([ph[1:][down[:, leg]][0] for leg in range(st.shape[1])])


def test_quadruped_gaits_have_their_footfall_patterns() -> None:
    # legs: left fore, right fore, left hind, right hind
    trot = footfalls("labrador", "trot")
    assert abs(trot[0] - trot[3]) < 0.01 and abs(trot[1] - trot[2]) < 0.01  # diagonal pairs together
    assert abs(abs(trot[0] - trot[1]) - 0.5) < 0.01
    walk = footfalls("labrador", "walk")
    order = np.argsort(np.mod(walk - walk[2], 1.0))  # start from the left hind
    assert list(order) == [2, 0, 3, 1]  # lateral sequence: LH, LF, RH, RF
    run = footfalls("brown_horse", "run")
    assert np.mod(run[0] - run[2], 1.0) > 0.3 and np.mod(run[1] - run[3], 1.0) > 0.3  # hinds lead the fores


def test_a_stopped_subject_stands_instead_of_freezing_mid_stride() -> None:
    for sid in ("woman_tennis", "zebra", "duck"):
        a = subject_rig(sid, (0, 0, 0), 0.0, 0.13, 0.0)
        b = subject_rig(sid, (0, 0, 0), 0.0, 0.61, 0.0)
        assert a.stance.all() and b.stance.all()
        np.testing.assert_allclose(a.feet, b.feet, atol=1e-9)
        s1, s2 = built(sid, 0.13, 0.0), built(sid, 0.61, 0.0)
        np.testing.assert_allclose(s1.a, s2.a, atol=1e-9)


def shot_with(subjects: list[str], frames: int = 4) -> Shot:
    n, T = len(subjects), frames
    pos = np.zeros((n, T, 3))
    pos[:, :, 0] = np.arange(n)[:, None] * 3.0 + np.linspace(0, 1, T)[None]
    return Shot(
        clip_id="t", scene="park", subjects=tuple(subjects), paths=("straight",) * n,
        gaits=tuple(SUBJECTS[s].gaits[0].name for s in subjects), camera="c", placement=0, seed=0, fps=15,
        frames=T, width=64, height=48, hfov_deg=60.0, c2w=np.tile(np.eye(4), (T, 1, 1)), K=intrinsics(60, 64, 48),
        subject_pos=pos, subject_heading=np.full((n, T), 0.3), subject_phase=np.tile(np.linspace(0, 0.6, T), (n, 1)),
        subject_speed=np.full((n, T), 1.0), subject_size=np.array([SUBJECTS[s].size for s in subjects]),
    )


def test_pose_subjects_gives_subject_k_instance_k_plus_1_at_its_shot_position() -> None:
    shot = shot_with(["man_red_jacket", "labrador", "chicken"])
    ps = pose_subjects(shot, 2)
    assert set(np.unique(ps.instance)) == {1, 2, 3}
    for k in range(3):
        centre = ps.a[ps.instance == k + 1].mean(axis=0)
        assert np.linalg.norm(centre[:2] - shot.subject_pos[k, 2, :2]) < 0.5 * SUBJECTS[shot.subjects[k]].length + 0.3
    with pytest.raises(ValueError):
        pose_subjects(shot, 4)


def test_bad_subject_or_gait_is_a_user_error_naming_what_is_allowed() -> None:
    with pytest.raises(UserError, match="labrador"):
        subject_primitives("unicorn", 1, (0, 0, 0), 0.0, 0.0)
    with pytest.raises(UserError, match="walk"):
        subject_primitives("man_red_jacket", 1, (0, 0, 0), 0.0, 0.0, 1.0, "gallop")


# --------------------------------------------------------------------------- with the ray caster

W, H = 64, 48


def render_alone(sid: str, az: float, phase: float = 0.3):
    spec = SUBJECTS[sid]
    pos, heading = np.array([0.4, -0.3, 0.0]), 0.7
    centre = pos + np.array([0.0, 0.0, spec.height / 2])
    eye = centre + np.array([np.cos(az), np.sin(az), 0.3]) * max(spec.height, spec.length) * 2.2
    c2w, K = look_at(eye, centre), intrinsics(50, W, H)
    ground = PrimitiveBuilder()
    ground.plane(Material((0.45, 0.55, 0.3), (0.35, 0.45, 0.25), "grass", 1.0))
    prims = concat(ground.build(), subject_primitives(sid, 1, pos, heading, phase, spec.gaits[0].speed_max))
    frame = render_frame(prims, c2w, K, W, H, SunSky(), RenderOptions(antialias=False))
    return frame, project(centre[None], c2w, K).uv[0]


@pytest.mark.parametrize("sid", IDS)
def test_rendered_mask_centroid_lands_near_the_projected_body_centre(sid: str) -> None:
    for az in (np.pi / 2, 0.3):  # side-on and three-quarter views
        frame, uv = render_alone(sid, az)
        rows, cols = np.nonzero(frame.ids == 1)
        assert len(rows) > 60  # the subject is there, and fills a good part of the frame
        centroid = np.array([cols.mean() + 0.5, rows.mean() + 0.5])
        assert np.linalg.norm(centroid - uv) < 5.0, (az, centroid, uv)


def test_subjects_render_in_their_own_colours() -> None:
    """The palette reaches the pixels: a red jacket is red, a polar bear paler than a brown one."""
    frame, _ = render_alone("man_red_jacket", np.pi / 2)
    rgb = frame.rgb[frame.ids == 1].astype(float)
    assert (rgb[:, 0] > rgb[:, 2] + 40).mean() > 0.2
    polar, _ = render_alone("polar_bear", np.pi / 2)
    brown, _ = render_alone("brown_bear", np.pi / 2)
    assert polar.rgb[polar.ids == 1].mean() > brown.rgb[brown.ids == 1].mean() + 50
