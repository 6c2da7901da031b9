"""PlanRow: the manifest row as a typed record, exact both ways, checked as `render --plan` checks a manifest."""

from __future__ import annotations

import dataclasses
import math
import pickle

import pyarrow as pa
import pytest

from hmworld import plan
from hmworld.errors import UserError
from hmworld.plan_checks import check_rows
from hmworld.plan_row import COLUMNS, SCHEMA, PlanRow
from hmworld.render.runner import render_rows


def _dicts(clips: int = 12) -> list[dict]:
    return plan.make_plan(scenes=["park", "beach"], clips=clips, seed=4).to_pylist()


def test_the_record_names_the_manifest_columns_in_order():
    assert COLUMNS == tuple(SCHEMA.names) == tuple(f.name for f in dataclasses.fields(PlanRow))
    assert plan.SCHEMA is SCHEMA


def test_a_manifest_row_round_trips_exactly(tmp_path):
    table = plan.make_plan(clips=30, seed=9)
    dicts = table.to_pylist()
    rows = [PlanRow.from_dict(d) for d in dicts]
    for d, r in zip(dicts, rows, strict=True):
        back = r.to_dict()
        assert back == d and list(back) == list(d)
        assert [type(v) for v in back.values()] == [type(v) for v in d.values()]  # lists stay lists, floats floats
        for k in ("subjects", "paths", "gaits", "speeds"):
            assert [type(x) for x in back[k]] == [type(x) for x in d[k]]
    plan.write_plan(table, tmp_path / "a.parquet")
    plan.write_plan(pa.Table.from_pylist([r.to_dict() for r in rows], schema=SCHEMA), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert plan.plan_rows(plan.read_plan(tmp_path / "b.parquet")) == rows


def test_fields_are_typed_tuples_and_floats():
    d = _dicts(1)[0]
    d["hfov_deg"] = round(d["hfov_deg"])  # a whole number in a hand-written row
    r = PlanRow.from_dict(d)
    assert all(isinstance(getattr(r, k), tuple) for k in ("subjects", "paths", "gaits", "speeds"))
    assert all(type(v) is float for v in r.speeds) and type(r.hfov_deg) is float
    assert r.n_subjects == len(r.subjects) and hash(r) == hash(PlanRow.from_dict(d))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.scene = "beach"  # type: ignore[misc]


def test_a_plan_row_pickles_for_worker_processes_and_ray():
    rows = [PlanRow.from_dict(d) for d in _dicts()]
    assert pickle.loads(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)) == rows


def _as_render_says(d: dict) -> str:
    """What `render --plan`'s whole-manifest check says of this row, with the row's own source in front."""
    with pytest.raises(UserError) as e:
        check_rows([d])
    cid = d["clip_id"]
    return str(e.value).replace(f"row 0 ({cid}): ", "").replace("plan: ", f"plan row {cid!r}: ", 1)


BAD = [
    ("camera", lambda d: d.update(camera="moon_orbit"), "camera 'moon_orbit'; allowed: "),
    ("nan speed", lambda d: d["speeds"].__setitem__(0, math.nan), "speed nan; allowed: a finite number of metres"),
    ("width", lambda d: d.update(width=0), "width 0; allowed: an even integer from 16 to 8192"),
    ("short list", lambda d: d["gaits"].pop(), "gaits ["),
    ("index", lambda d: d.update(index=-1), "index -1; allowed: an integer from 0 up"),
    ("missing column", lambda d: d.pop("fps"), "fps None; allowed: an integer from 1 up"),
    ("two at once", lambda d: d.update(placement=9, scene="moon"), "scene 'moon'; allowed: "),
]


@pytest.mark.parametrize("name, change, needle", BAD, ids=[b[0] for b in BAD])
def test_a_bad_dict_is_the_same_one_line_error_as_a_bad_manifest_row(name, change, needle):
    d = _dicts(1)[0]
    change(d)
    with pytest.raises(UserError) as e:
        PlanRow.from_dict(d)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"plan row {d['clip_id']!r}: ") and needle in message
    assert message == _as_render_says(d)


def test_an_unknown_column_is_refused_with_the_columns_allowed():
    d = _dicts(1)[0] | {"colour": "red"}
    with pytest.raises(UserError, match=r"1 problem\(s\): column 'colour'; allowed: the plan's columns \(clip_id, "):
        PlanRow.from_dict(d)


def test_constructing_or_replacing_with_a_bad_value_is_refused():
    r = PlanRow.from_dict(_dicts(1)[0])
    with pytest.raises(UserError, match=r"frames 1; allowed: an integer from 2 up"):
        dataclasses.replace(r, frames=1)
    with pytest.raises(UserError, match=r"width 33; allowed: an even integer"):
        dataclasses.replace(r, width=33)
    assert dataclasses.replace(r, width=64, height=48).to_dict() == r.to_dict() | {"width": 64, "height": 48}


def test_materialise_takes_only_a_plan_row():
    d = _dicts(1)[0]
    with pytest.raises(TypeError, match="takes a PlanRow, not dict"):
        plan.materialise(d)  # type: ignore[arg-type]
    assert plan.materialise(PlanRow.from_dict(d)).clip_id == d["clip_id"]


def test_render_rows_takes_plan_rows_and_still_refuses_one_clip_id_for_two_shots(tmp_path):
    a, b = (PlanRow.from_dict(d) for d in _dicts(2))
    with pytest.raises(TypeError, match="takes PlanRow rows, not dict"):
        render_rows([a.to_dict()], tmp_path / "out", progress=False)  # type: ignore[list-item]
    clash = dataclasses.replace(b, clip_id=a.clip_id)
    with pytest.raises(UserError, match=rf"row 1: clip_id '{a.clip_id}' is also row 0's, which differs in "):
        render_rows([a, clash], tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
