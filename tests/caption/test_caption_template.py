"""The template captioner: the right scene, subjects, motion and events, fluent and distinct."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from caption_support import exit_entry_events, shots

from hmworld.caption.protocol import ClipInput, get_captioner
from hmworld.caption.template import directions, path_action, template_caption
from hmworld.catalog import PATH_LIST, PATHS, PLACEMENTS, SCENES, SUBJECTS, TRAJECTORIES
from hmworld.errors import UserError
from hmworld.events import ClipEvents, Event, EventParams, Pair
from hmworld.plan import PlanSettings


def clip(shot, events=None) -> ClipInput:
    return ClipInput(shot.clip_id, Path("."), shot, events)


def mentions(text: str, phrase: str) -> bool:
    """The phrase appears, also capitalised at the start of a sentence."""
    return phrase in text or phrase[:1].upper() + phrase[1:] in text


@pytest.fixture(scope="module")
def many():
    return shots(120, seed=7, settings=PlanSettings(frames=30, fps=15, width=64, height=48))


def test_mentions_scene_every_subject_path_and_camera_motion(many):
    for shot in many[:40]:
        text = template_caption(clip(shot))
        assert SCENES[shot.scene].description in text
        for sid, pid in zip(shot.subjects, shot.paths, strict=True):
            assert mentions(text, SUBJECTS[sid].appearance)
            phrase = PATHS[pid].description.removeprefix("moves ").split(",")[0]
            assert phrase.split()[-1] in text  # the path's own words: "line", "left", "circle", ...
        motion = TRAJECTORIES[shot.camera].description
        if shot.n_subjects == 1:
            motion = motion.replace("the subjects", f"the {SUBJECTS[shot.subjects[0]].name}")
        assert motion in text
        assert PLACEMENTS[shot.placement].description in text


def test_gait_verb_matches_the_shot(many):
    verbs = {"walk": "walks", "trot": "trots", "run": "runs"}
    for shot in many[:40]:
        text = template_caption(clip(shot))
        for sid, gait in zip(shot.subjects, shot.gaits, strict=True):
            appearance = SUBJECTS[sid].appearance
            assert mentions(text, f"{appearance} {verbs[gait]} ") or mentions(text, f"{appearance}, who {verbs[gait]} ") \
                or mentions(text, f"{appearance}, which {verbs[gait]} ")


def test_reads_as_sentences(many):
    for shot in many:
        text = template_caption(clip(shot))
        assert "  " not in text and " ," not in text and ".." not in text
        sentences = re.split(r"(?<=\.) ", text)
        assert len(sentences) >= 3
        for s in sentences:
            assert s[0].isupper() and s.endswith("."), s


def test_same_clip_same_caption_and_sentence_shapes_vary(many):
    texts = [template_caption(clip(s)) for s in many]
    assert texts == [template_caption(clip(s)) for s in many]
    openings = {t.split(" ", 2)[1] for t in texts}  # "video opens", "setting is", "scene is"
    assert len(openings) >= 3


def test_different_content_never_shares_a_caption(many):
    seen: dict[str, tuple] = {}
    for shot in many:
        key = (shot.scene, shot.subjects, shot.paths, shot.gaits, shot.camera, shot.placement)
        text = template_caption(clip(shot))
        assert seen.setdefault(text, key) == key, f"two different clips share: {text}"
    assert len(seen) == len({(s.scene, s.subjects, s.paths, s.gaits, s.camera, s.placement) for s in many})


def test_exit_and_reentry_are_told_only_when_events_say_so(many):
    shot = many[0]
    quiet = template_caption(clip(shot))
    assert "out of" not in quiet and "leaves the frame" not in quiet and "reappears" not in quiet

    ev = exit_entry_events(shot, 0, exit_frame=6, entry_frame=21)  # 0.4 s → 1.4 s at 15 fps
    told = template_caption(clip(shot, ev))
    name = SUBJECTS[shot.subjects[0]].name
    assert name in told.split(SUBJECTS[shot.subjects[0]].appearance)[-1]
    assert re.search(r"leaves the frame|drops out of view|is out of frame", told)
    assert re.search(r"comes back into view|reappears|re-entering the view", told)
    assert "0.5 seconds" in told or "1 second" in told  # times (or the gap) read off the events


def test_exit_without_return_and_staying_in_frame(many):
    shot = next(s for s in many if s.n_subjects == 2)
    states = np.full((2, shot.frames), 2, np.int8)
    states[0, 10:] = 0
    ev = ClipEvents(shot.clip_id, states, (Event(0, "exit", 10, 10 / shot.fps),), (), False, EventParams(), shot.fps)
    text = template_caption(clip(shot, ev))
    assert "does not come back before the video ends" in text
    assert f"The {SUBJECTS[shot.subjects[1]].name} stays in frame throughout." in text


def test_direction_is_seen_from_the_camera():
    shot = shots(1, seed=1)[0]
    cam_right = shot.c2w[0, :3, 0]
    heading = np.arctan2(cam_right[1], cam_right[0])  # walk along the camera's right axis
    moved = type(shot)(**{**shot.__dict__, "subject_heading": np.full_like(shot.subject_heading, heading)})
    assert set(directions(moved)) == {"from left to right across the view"}
    away = shot.c2w[0, :3, 2]
    moved = type(shot)(**{**shot.__dict__, "subject_heading": np.full_like(shot.subject_heading, np.arctan2(away[1], away[0]))})
    assert set(directions(moved)) == {"away from the camera"}


@pytest.mark.parametrize("path", [p.id for p in PATH_LIST])
def test_every_path_joins_its_gait_fluently(path):
    text = path_action("trots", "briskly", path)
    assert text.startswith("trots briskly")
    assert "moves" not in text.split(",")[0]
    assert "  " not in text


def test_registry_gives_the_template_captioner(many):
    cap = get_captioner("template")
    assert cap.wants_frames == 0
    out = cap.caption_batch([clip(s) for s in many[:3]])
    assert [c.captioner for c in out] == ["template"] * 3
    assert all(c.prompt is None and c.model is None for c in out)
    assert [c.caption for c in out] == [template_caption(clip(s)) for s in many[:3]]


def test_ids_outside_the_catalog_are_named(many):
    shot = many[0]
    odd = type(shot)(**{**shot.__dict__, "scene": "moonbase"})
    with pytest.raises(UserError, match=f"clip {shot.clip_id}: scene 'moonbase' is not in the catalog"):
        template_caption(clip(odd))


def test_several_exits_read_differently_and_repeats_are_counted(many):
    shot = next(s for s in many if s.n_subjects == 2)
    states = np.full((2, shot.frames), 2, np.int8)
    states[:, 5:9] = 0
    states[0, 15:20] = 0
    pairs = (Pair(0, 5, 9, 4), Pair(1, 5, 9, 4), Pair(0, 15, 20, 5))
    events = tuple(Event(p.subject, k, f, f / shot.fps) for p in pairs for k, f in (("exit", p.exit_frame), ("entry", p.entry_frame)))
    ev = ClipEvents(shot.clip_id, states, events, pairs, True, EventParams(), shot.fps)
    text = template_caption(clip(shot, ev))
    first, second = (f"the {SUBJECTS[s].name}" for s in shot.subjects)
    sentences = [s for s in re.split(r"(?<=\.) ", text) if first in s.lower() or second in s.lower()]
    about_0 = next(s for s in sentences if first in s.lower() and "times in all" not in s)
    about_1 = next(s for s in sentences if second in s.lower())
    assert about_0.replace(first, "X").replace(first.capitalize(), "X").split()[:3] != \
        about_1.replace(second, "X").replace(second.capitalize(), "X").split()[:3]
    assert f"{first.capitalize()} leaves and re-enters the frame two times in all." in text
