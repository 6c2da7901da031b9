"""The offline captioner: an HM-World-style paragraph from the shot's own metadata.

No model and no pixels: the setting comes from the catalog's scene text, each
subject from its appearance, gait, speed and path, the camera from its
placement and trajectory, and leaving / re-entering the frame from events.json
(only when the events say so). Sentence shapes vary with a hash of the clip id,
so a dataset does not read like one sentence repeated, and the same clip always
gets the same caption.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hmworld.caption.protocol import Caption, CaptionSettings, ClipInput, register_captioner
from hmworld.catalog import PATHS, PLACEMENTS, SCENES, SUBJECTS, TRAJECTORIES
from hmworld.errors import UserError
from hmworld.shot import Shot

CAPTIONER_ID = "template"

LIGHT = {
    "morning": "in soft morning light",
    "noon": "under the midday sun",
    "afternoon": "in the afternoon",
    "golden hour": "in warm golden-hour light",
    "overcast": "under an overcast sky",
    "dusk": "at dusk",
}
GAIT_VERBS = {"walk": ("walks", "walking"), "trot": ("trots", "trotting"), "run": ("runs", "running")}
# a path phrase that does not start with "moves" is joined to the gait as a participle
PARTICIPLES = {"zigzags": "zigzagging", "follows": "following", "turns": "turning", "circles": "circling"}
PACE = ("slowly", "steadily", "briskly")
COUNT_WORDS = {2: "two", 3: "three"}
ORDINALS = ("first", "second", "third")


@dataclass(frozen=True)
class SubjectFacts:
    """What the caption says about one subject, derived from the shot (pure data)."""

    appearance: str  # "a tall man in a red jacket and blue jeans"
    short: str  # "the man in a red jacket": how later sentences refer to it
    verb: str  # "walks"
    participle: str  # "walking"
    pace: str  # "steadily"
    action: str  # "walks steadily in a straight line": gait, pace and path joined
    direction: str  # "from left to right across the view"
    who: str  # relative pronoun: "who" for people, "which" for animals


def _rng(clip_id: str) -> np.random.Generator:
    """Deterministic per clip, independent of Python's hash seed."""
    return np.random.default_rng(int.from_bytes(hashlib.sha1(clip_id.encode()).digest()[:8], "little"))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _seconds(t: float) -> str:
    v = max(0.5, round(float(t) * 2) / 2)  # half-second resolution reads naturally; never "0 seconds"
    if v == 1:
        return "1 second"
    return f"{v:g} seconds"


def pace_of(shot: Shot, k: int, gait_name: str, subject_id: str) -> str:
    """Slowly / steadily / briskly: the cruise speed's place in its gait's natural range."""
    spec = SUBJECTS[subject_id]
    gait = next((g for g in spec.gaits if g.name == gait_name), spec.gaits[0])
    cruise = float(np.percentile(shot.subject_speed[k], 90))
    span = max(gait.speed_max - gait.speed_min, 1e-6)
    frac = np.clip((cruise - gait.speed_min) / span, 0.0, 0.999)
    return PACE[int(frac * len(PACE))]


def directions(shot: Shot) -> list[str]:
    """Each subject's initial heading as the first frame's camera sees it: across, towards or away."""
    heading = shot.subject_heading[:, 0]
    world = np.stack([np.cos(heading), np.sin(heading), np.zeros_like(heading)], axis=-1)  # [N,3]
    cam = world @ shot.c2w[0, :3, :3]  # rotate into camera axes (x right, y down, z forward)
    out = []
    for x, z in cam[:, [0, 2]]:
        if abs(x) >= abs(z):
            out.append("from left to right across the view" if x > 0 else "from right to left across the view")
        else:
            out.append("away from the camera" if z > 0 else "towards the camera")
    return out


def path_action(verb: str, pace: str, path_id: str) -> str:
    """Join a gait verb to the catalog's path phrase: 'walks steadily ahead and then turns left'."""
    desc = PATHS[path_id].description
    if desc.startswith("moves "):
        rest = desc[len("moves ") :]
        joint = " and " if rest.split(" ", 1)[0].endswith("ly") else " "  # "slowly and diagonally across"
        return f"{verb} {pace}{joint}{rest}"
    first, _, rest = desc.partition(" ")
    if first in PARTICIPLES:
        return f"{verb} {pace}, {PARTICIPLES[first]} {rest}"
    return f"{verb} {pace} and {desc}"


def subject_facts(shot: Shot) -> list[SubjectFacts]:
    names = [SUBJECTS[s].name for s in shot.subjects]
    repeated = {n for n in names if names.count(n) > 1}
    dirs = directions(shot)
    facts = []
    for k, (sid, pid, gait) in enumerate(zip(shot.subjects, shot.paths, shot.gaits, strict=True)):
        spec = SUBJECTS[sid]
        verb, participle = GAIT_VERBS.get(gait, ("moves", "moving"))
        pace = pace_of(shot, k, gait, sid)
        short = f"the {ORDINALS[k]} {spec.name}" if spec.name in repeated else f"the {spec.name}"
        who = "who" if spec.kind == "human" else "which"
        action = path_action(verb, pace, pid)
        facts.append(SubjectFacts(spec.appearance, short, verb, participle, pace, action, dirs[k], who))
    return facts


def _setting_sentence(shot: Shot, rng: np.random.Generator) -> str:
    scene = SCENES[shot.scene]
    light = LIGHT.get(scene.lighting.time_of_day, "")
    forms = (
        f"The video opens on {scene.description}, {light}.",
        f"The setting is {scene.description}, {light}.",
        f"The scene is {scene.description}, seen {light}.",
    )
    return forms[rng.integers(len(forms))]


def _subject_sentences(facts: Sequence[SubjectFacts], rng: np.random.Generator) -> list[str]:
    n = len(facts)
    out = []
    if n > 1:
        lead = ("{N} figures share the space.", "{N} figures move through the scene.", "{N} figures are on the move.")
        out.append(lead[rng.integers(len(lead))].format(N=_cap(COUNT_WORDS[n])))
    first = int(rng.integers(3))
    later = int(rng.integers(3))  # later subjects rotate through their forms, so none repeats
    for i, f in enumerate(facts):
        heading = "the same way" if i and f.direction == facts[i - 1].direction else f.direction
        if i == 0:
            forms = (
                f"{_cap(f.appearance)} {f.action}, heading {heading}.",
                f"In it, {f.appearance} {f.action}, heading {heading}.",
                f"The video shows {f.appearance}, {f.who} {f.action}, heading {heading}.",
            )
            out.append(forms[first])
        else:
            forms = (
                f"Nearby, {f.appearance} {f.action}, heading {heading}.",
                f"Alongside, {f.appearance} {f.action}, heading {heading}.",
                f"There is also {f.appearance}, {f.who} {f.action}, heading {heading}.",
            )
            out.append(forms[(later + i) % len(forms)])
    return out


def _camera_sentence(shot: Shot, facts: Sequence[SubjectFacts], rng: np.random.Generator) -> str:
    placement = PLACEMENTS[shot.placement].description
    motion = TRAJECTORIES[shot.camera].description
    if len(facts) == 1:
        motion = motion.replace("the subjects", facts[0].short)
    forms = (
        f"Filmed {placement}, the camera {motion}.",
        f"The camera watches {placement}; it {motion}.",
        f"Shot {placement}, the camera {motion}.",
    )
    return forms[rng.integers(len(forms))]


def _event_sentences(clip: ClipInput, facts: Sequence[SubjectFacts], rng: np.random.Generator) -> list[str]:
    """Leaving and re-entering the frame, only as events.json records it."""
    ev = clip.events
    if ev is None:
        return []
    fps = float(ev.fps or clip.shot.fps)
    out = []
    start = int(rng.integers(3))  # subjects rotate through the forms, so two exits never read alike
    for k, f in enumerate(facts):
        pairs = [p for p in ev.pairs if p.subject == k]
        exits = [e for e in ev.events if e.subject == k and e.kind == "exit"]
        hidden = [e for e in ev.events if e.subject == k and e.kind == "occluded"]
        if pairs:
            p = pairs[0]
            t_out, t_in = p.exit_frame / fps, p.entry_frame / fps
            forms = (
                f"As the camera turns away, {f.short} leaves the frame at about {_seconds(t_out)}, "
                f"keeps {f.participle} out of sight, and comes back into view at about {_seconds(t_in)}.",
                f"{_cap(f.short)} drops out of view about {_seconds(t_out)} in while the camera looks elsewhere, "
                f"and reappears about {_seconds(t_in - t_out)} later, still {f.participle}.",
                f"For about {_seconds(t_in - t_out)}, from {_seconds(t_out)} in, {f.short} is out of frame, "
                f"{f.participle} on unseen, before re-entering the view.",
            )
            out.append(forms[(start + k) % len(forms)])
            if len(pairs) > 1:
                times = COUNT_WORDS.get(len(pairs), str(len(pairs)))
                out.append(f"{_cap(f.short)} leaves and re-enters the frame {times} times in all.")
        elif exits:
            out.append(
                f"{_cap(f.short)} leaves the frame at about {_seconds(exits[0].frame / fps)} "
                "and does not come back before the video ends."
            )
        elif k < ev.states.shape[0] and np.all(ev.states[k] != 0):
            out.append(f"{_cap(f.short)} stays in frame throughout.")
        if hidden:
            out.append(f"At one point {f.short} is briefly hidden behind part of the scenery.")
    return out


def check_known(shot: Shot) -> None:
    """Every id the caption draws text from must be in the catalog; else a one-line UserError."""
    checks = [("scene", shot.scene, SCENES), ("camera trajectory", shot.camera, TRAJECTORIES)]
    checks += [("subject", s, SUBJECTS) for s in shot.subjects] + [("path", p, PATHS) for p in shot.paths]
    for kind, value, known in checks:
        if value not in known:
            raise UserError(f"clip {shot.clip_id}: {kind} {value!r} is not in the catalog, so the template "
                            "captioner has no words for it (see `hmworld catalog`)")
    if not 0 <= shot.placement < len(PLACEMENTS):
        raise UserError(f"clip {shot.clip_id}: placement {shot.placement} is not in the catalog (0..{len(PLACEMENTS) - 1})")


def template_caption(clip: ClipInput) -> str:
    """The caption paragraph for one clip (pure: same clip in, same text out)."""
    check_known(clip.shot)
    rng = _rng(clip.clip_id)
    facts = subject_facts(clip.shot)
    sentences = [
        _setting_sentence(clip.shot, rng),
        *_subject_sentences(facts, rng),
        _camera_sentence(clip.shot, facts, rng),
        *_event_sentences(clip, facts, rng),
    ]
    return " ".join(sentences)


@register_captioner(CAPTIONER_ID)
class TemplateCaptioner:
    """Deterministic captions from metadata; needs no frames, no model, no GPU."""

    id = CAPTIONER_ID
    wants_frames = 0

    def __init__(self, settings: CaptionSettings | None = None) -> None:
        self.settings = settings

    def caption_batch(self, clips: Sequence[ClipInput]) -> list[Caption]:
        return [Caption(template_caption(c), CAPTIONER_ID, None, None) for c in clips]
