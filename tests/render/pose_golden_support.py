"""Golden fingerprints of posed subjects: the cases, the fingerprint, and a recorder.

Every catalog subject is posed in a spread of cases (each gait, rest, a slow
ease-in, negative speed, phases outside 0..1, several headings and positions),
and catalog shots of 1-3 subjects are posed at a few frames.

A case's fingerprint holds (1) the sha256 of every output array's name, dtype and
shape and of the bytes of its integer and boolean arrays (kinds, instance ids,
materials, stance flags): any change there shows; and (2) PROJECTIONS random
projections of all its floating-point values (positions, radii, rotations,
colours) laid end to end. Floating-point results differ in the last bit between
machines (BLAS kernels, libm), so the float part is compared within a tolerance
(`close`) far below any real change: a change d to the values moves each projection
by a Gaussian of spread |d|, so all of them staying within RTOL (1e-9) of the values'
norm of the recorded ones by chance is out of the question for |d| > 1e-6 m. (The bit-for-bit check
against the code before posing was sped up is tools/bench_pose.py, on one machine.)

    .venv/bin/python tests/render/pose_golden_support.py   # re-record (only for an intended change)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hmworld import plan
from hmworld.catalog.subjects import SUBJECT_LIST, SubjectSpec
from hmworld.render.builtin.subjects import pose_subjects, subject_primitives, subject_rig

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "pose_golden.json"
SET_FIELDS = ("kind", "instance", "material", "a", "b", "radius", "half", "rot", "mat_color", "mat_color2",
              "mat_pattern", "mat_scale", "mat_gloss")
SHOT_SCENES = (("rooftop", 3, 0), ("park", 2, 1), ("farmyard", 3, 3), ("beach", 1, 3))
SHOT_FRAMES = (0, 5, 11)
PROJECTIONS = 8
RTOL = 1e-9  # of the values' norm: rounding differences are ~1e-15 of it


def fingerprint(named: Iterable[tuple[str, np.ndarray]]) -> dict:
    """{"exact": sha256 of names, dtypes, shapes and non-float bytes, "norm": |float values|,
    "projections": PROJECTIONS projections of the float values on fixed Gaussian directions}."""
    h = hashlib.sha256()
    floats = []
    for name, arr in named:
        arr = np.asarray(arr)
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        if arr.dtype.kind == "f":
            floats.append(arr.astype(np.float64).ravel())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
    x = np.concatenate(floats) if floats else np.zeros(0)
    if not np.isfinite(x).all():
        raise ValueError("posed values must be finite")
    directions = np.random.default_rng(len(x)).normal(size=(PROJECTIONS, len(x)))
    return {"exact": h.hexdigest(), "norm": float(np.linalg.norm(x)), "projections": (directions @ x).tolist()}


def close(got: dict, recorded: dict) -> bool:
    """Same exact part; norm and projections within RTOL of the values' norm."""
    tol = RTOL * max(recorded["norm"], 1.0)
    return (got["exact"] == recorded["exact"] and abs(got["norm"] - recorded["norm"]) <= tol
            and bool(np.all(np.abs(np.subtract(got["projections"], recorded["projections"])) <= tol)))


def subject_cases(spec: SubjectSpec) -> list[tuple[str, dict]]:
    """(name, subject_primitives keyword arguments) for one subject."""
    g0, gl = spec.gaits[0], spec.gaits[-1]
    cases = [(f"gait {g.name}", dict(instance=2, pos=(3.5, -7.25, 0.4), heading=2.1, phase=0.77, speed=g.speed_max,
                                     gait=g.name)) for g in spec.gaits]
    cases += [
        ("default", dict(instance=1, pos=(0.0, 0.0, 0.0), heading=0.0, phase=0.3, speed=g0.speed_max, gait=None)),
        ("rest", dict(instance=3, pos=(-1.0, 2.0, 0.0), heading=-0.9, phase=0.13, speed=0.0, gait=None)),
        ("easing", dict(instance=1, pos=(10.0, 0.5, 0.0), heading=1.0, phase=0.61, speed=0.2 * g0.speed_min,
                        gait=None)),
        ("backwards", dict(instance=2, pos=(0.25, 0.0, 1.5), heading=5.5, phase=1.37, speed=-0.9 * gl.speed_max,
                           gait=None)),
        ("flat out", dict(instance=255, pos=(-40.0, 13.0, 0.0), heading=-3.0, phase=-0.42,
                          speed=1.3 * gl.speed_max, gait=None)),
    ]
    return cases


def subject_fingerprint(sid: str, kw: dict) -> dict:
    ps = subject_primitives(sid, kw["instance"], kw["pos"], kw["heading"], kw["phase"], kw["speed"], kw["gait"])
    rig = subject_rig(sid, kw["pos"], kw["heading"], kw["phase"], kw["speed"], kw["gait"])
    return fingerprint([*((f, getattr(ps, f)) for f in SET_FIELDS), ("feet", rig.feet), ("stance", rig.stance)])


def shot_of(scene: str, subjects: int, seed: int):
    settings = plan.PlanSettings(frames=12, fps=15, width=64, height=48)
    rows = plan.plan_rows(plan.make_plan(scenes=[scene], clips=1, seed=seed, settings=settings,
                                         group_sizes=(subjects,)))
    return plan.materialise(rows[0])


def shot_fingerprint(scene: str, subjects: int, seed: int) -> dict:
    """The subjects of a catalog shot posed at SHOT_FRAMES (packing is raycast's and not covered)."""
    shot = shot_of(scene, subjects, seed)
    ps = [pose_subjects(shot, t) for t in SHOT_FRAMES]
    return fingerprint((f"{t}:{f}", getattr(p, f)) for t, p in zip(SHOT_FRAMES, ps, strict=True) for f in SET_FIELDS)


def record() -> dict:
    return {
        "subjects": {s.id: {name: subject_fingerprint(s.id, kw) for name, kw in subject_cases(s)} for s in SUBJECT_LIST},
        "shots": {f"{scene} {n} seed {seed}": shot_fingerprint(scene, n, seed) for scene, n, seed in SHOT_SCENES},
    }


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(record(), indent=0, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
