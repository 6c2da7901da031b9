"""Posing is what it was: every catalog subject in a spread of poses, and catalog shots of 1-3
subjects, against fingerprints recorded from the code before posing was sped up (integer
fields exact, positions and rotations within a tolerance that only last-bit rounding between
machines passes; see pose_golden_support)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pose_golden_support import (
    GOLDEN,
    SET_FIELDS,
    SHOT_SCENES,
    close,
    fingerprint,
    shot_fingerprint,
    subject_cases,
    subject_fingerprint,
)

from hmworld.catalog.subjects import SUBJECT_LIST, SUBJECTS
from hmworld.render.builtin.subjects import subject_primitives, subject_rig

RECORDED = json.loads(GOLDEN.read_text())


def test_the_golden_file_covers_every_catalog_subject_and_case() -> None:
    assert set(RECORDED["subjects"]) == {s.id for s in SUBJECT_LIST}
    for s in SUBJECT_LIST:
        assert set(RECORDED["subjects"][s.id]) == {name for name, _ in subject_cases(s)}, s.id


@pytest.mark.parametrize("spec", SUBJECT_LIST, ids=lambda s: s.id)
def test_posed_subject_and_rig_match_the_recorded_ones(spec) -> None:
    for name, kw in subject_cases(spec):
        assert close(subject_fingerprint(spec.id, kw), RECORDED["subjects"][spec.id][name]), f"{spec.id}: {name}"


@pytest.mark.parametrize(("scene", "n", "seed"), SHOT_SCENES)
def test_posed_catalog_shot_matches_the_recorded_one(scene: str, n: int, seed: int) -> None:
    assert close(shot_fingerprint(scene, n, seed), RECORDED["shots"][f"{scene} {n} seed {seed}"])


def test_the_fingerprint_sees_a_micrometre_and_forgives_last_bit_rounding() -> None:
    """The comparison is neither blind (a 1 µm move of one value fails) nor brittle (a one-ulp
    change of every value, as another machine's BLAS or libm gives, passes)."""
    sid = SUBJECT_LIST[0].id
    name, kw = subject_cases(SUBJECTS[sid])[0]
    recorded = RECORDED["subjects"][sid][name]
    ps = subject_primitives(sid, kw["instance"], kw["pos"], kw["heading"], kw["phase"], kw["speed"], kw["gait"])
    rig = subject_rig(sid, kw["pos"], kw["heading"], kw["phase"], kw["speed"], kw["gait"])
    arrays = [*((f, np.asarray(getattr(ps, f))) for f in SET_FIELDS), ("feet", rig.feet), ("stance", rig.stance)]
    assert close(fingerprint(arrays), recorded)
    ulp = [(n, np.nextafter(a, np.inf) if a.dtype.kind == "f" else a) for n, a in arrays]
    assert close(fingerprint(ulp), recorded)
    moved = [(n, a.copy()) for n, a in arrays]
    moved[3][1].flat[5] += 1e-6  # "a": one coordinate of one primitive, one micrometre
    assert moved[3][0] == "a"
    assert not close(fingerprint(moved), recorded)
    relabelled = [(n, a.copy()) for n, a in arrays]
    relabelled[2][1].flat[0] += 1  # "material" of the first primitive
    assert not close(fingerprint(relabelled), recorded)
