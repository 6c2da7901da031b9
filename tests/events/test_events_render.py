"""On a clip the builtin renderer really draws, detected exit/entry frames agree with the shot's geometry."""

from __future__ import annotations

import numpy as np
import pytest

from hmworld.clip import ClipRecord, Measured
from hmworld.events import box_view, clip_events
from hmworld.geometry import in_image, intrinsics, pose_from_angles, project
from hmworld.shot import Shot

T, W, H = 60, 128, 72


def pan_away_and_back() -> Shot:
    """A camera pans 55° left and back while a man walks slowly across its start view (hfov 60°)."""
    t = np.arange(T)
    yaw = np.radians(55.0) * np.sin(np.pi * t / (T - 1)) ** 2
    pos = np.zeros((1, T, 3))
    pos[0, :, 0] = 6.0
    pos[0, :, 1] = -0.6 + 0.02 * t
    return Shot(
        clip_id="pan",
        scene="park",
        subjects=("man_red_jacket",),
        paths=("line",),
        gaits=("walk",),
        camera="pan",
        placement=0,
        seed=0,
        fps=15,
        frames=T,
        width=W,
        height=H,
        hfov_deg=60.0,
        c2w=pose_from_angles(np.array([0.0, 0.0, 1.6]), yaw, np.full(T, -0.05)),
        K=intrinsics(60.0, W, H),
        subject_pos=pos,
        subject_heading=np.full((1, T), np.pi / 2),
        subject_phase=0.05 * (t[None] + 1.0),
        subject_speed=np.full((1, T), 0.3),
        subject_size=np.array([[0.35, 0.55, 1.78]]),
        extra={"scene_seed": 0},
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> ClipRecord:
    backend = pytest.importorskip("hmworld.render.builtin.backend")
    return backend.BuiltinBackend().render_clip(
        pan_away_and_back(), tmp_path_factory.mktemp("r") / "clips" / "pan"
    )


def spans(mask: np.ndarray) -> tuple[int, int]:
    """(first frame False after the first True run, first frame True again)."""
    gone = int(np.argmin(mask))
    return gone, gone + int(np.argmax(mask[gone:]))


def test_exit_and_entry_frames_agree_with_the_projected_subject(rendered):
    shot = rendered.shot
    proj = project(shot.subject_centers()[0][:, None, :], shot.c2w, shot.K)
    centre_in = in_image(proj.uv[:, 0], W, H) & proj.in_front[:, 0]
    box_in = box_view(shot)[1][0] > 0
    centre_out, centre_back = spans(centre_in)
    box_out, box_back = spans(box_in)
    assert 5 < centre_out < box_back < T - 5  # the shot really does leave and come back

    ce = clip_events(rendered)
    assert [(e.subject, e.kind) for e in ce.events] == [(0, "exit"), (0, "entry")] and ce.passed
    exit_f, entry_f = ce.events[0].frame, ce.events[1].frame
    # gone once too little of it shows: after its centre leaves, by the time its box has left
    assert centre_out <= exit_f <= box_out + 1
    # back once enough of it shows: after its box re-enters, by the time its centre is back
    assert box_back <= entry_f <= centre_back + 1
    assert ce.pairs[0].hidden_frames == entry_f - exit_f
    ids = rendered.load_instances()
    seen = (ids == 1).reshape(T, -1).sum(1)
    assert (
        seen[exit_f:entry_f].max() < seen[:exit_f].min()
    )  # the masks agree: not seen while hidden


def test_without_silhouettes_the_box_fallback_finds_the_same_frames(rendered):
    """As for a UE5 clip: only visible pixels measured; the projected box tells in frame from hidden."""
    ue5_like = ClipRecord(
        rendered.path, rendered.shot, Measured(rendered.measured.visible_pixels, None), {}, {}
    )
    a, b = clip_events(rendered), clip_events(ue5_like)
    assert b.in_frame_source == "geometry"
    assert [e.kind for e in b.events] == ["exit", "entry"]
    for ea, eb in zip(a.events, b.events, strict=True):
        assert abs(ea.frame - eb.frame) <= 1
