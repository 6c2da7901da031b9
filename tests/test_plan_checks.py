"""`render --plan` checks the whole manifest before anything renders: each bad value named, exit 2, nothing written."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hmworld import plan
from hmworld.cli import main


def _rows() -> list[dict]:
    settings = plan.PlanSettings(frames=8, width=32, height=32)
    return plan.make_plan(scenes=["park"], clips=4, seed=1, settings=settings, group_sizes=(2,)).to_pylist()


def _cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
    return e.value.code, capsys.readouterr().err


def _render(tmp_path, capsys, table: pa.Table) -> tuple[int, str]:
    pq.write_table(table, tmp_path / "plan.parquet")
    return _cli(capsys, "render", "--plan", str(tmp_path / "plan.parquet"), "--out", str(tmp_path / "out"),
                "--no-progress")


def _set(column: str, value, subject: int | None = None):
    def change(row: dict) -> None:
        if subject is None:
            row[column] = value
        else:
            row[column][subject] = value
    return change


BAD_ROWS = [
    ("camera", _set("camera", "moon_orbit"), "camera 'moon_orbit'; allowed: "),
    ("path", _set("paths", "teleport", 0), "path 'teleport'; allowed: "),
    ("gait", _set("gaits", "gallop", 1), "gait 'gallop' of "),
    ("placement -1", _set("placement", -1), "placement -1; allowed: 0 to 4"),
    ("placement 5", _set("placement", 5), "placement 5; allowed: 0 to 4"),
    ("nan speed", _set("speeds", math.nan, 0), "speed nan; allowed: a finite number of metres per second above 0"),
    ("inf speed", _set("speeds", math.inf, 0), "speed inf; allowed"),
    ("negative speed", _set("speeds", -1.0, 1), "speed -1.0; allowed"),
    ("nan heading", _set("group_heading_deg", math.nan), "group_heading_deg nan; allowed: a finite number"),
    ("hfov 0", _set("hfov_deg", 0.0), "hfov_deg 0.0; allowed: 1 to 179 degrees"),
    ("hfov inf", _set("hfov_deg", math.inf), "hfov_deg inf; allowed: a finite number"),
    ("width 0", _set("width", 0), "width 0; allowed: an even integer from 16 to 8192"),
    ("frames 1", _set("frames", 1), "frames 1; allowed: an integer from 2 up"),
    ("fps 0", _set("fps", 0), "fps 0; allowed: an integer from 1 up"),
    ("short list", lambda r: r["speeds"].pop(), "speeds [" ),
]


@pytest.mark.parametrize("name, change, needle", BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_named_and_nothing_renders(tmp_path, capsys, name, change, needle):
    rows = _rows()
    change(rows[2])
    code, err = _render(tmp_path, capsys, pa.Table.from_pylist(rows, schema=plan.SCHEMA))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: plan file ")
    assert f"row 2 ({rows[2]['clip_id']}): " in err and needle in err, err
    assert not (tmp_path / "out").exists()


def test_every_bad_row_is_named_at_once(tmp_path, capsys):
    rows = _rows()
    rows[0]["placement"] = -1
    rows[3]["camera"] = "nope"
    code, err = _render(tmp_path, capsys, pa.Table.from_pylist(rows, schema=plan.SCHEMA))
    assert code == 2 and "2 problem(s)" in err and "row 0 (" in err and "row 3 (" in err


def test_a_word_in_an_integer_column_is_named(tmp_path, capsys):
    cols = pa.Table.from_pylist(_rows(), schema=plan.SCHEMA).to_pydict()
    cols["frames"] = [str(v) for v in cols["frames"]]
    cols["frames"][1] = "ten"
    code, err = _render(tmp_path, capsys, pa.table(cols))
    assert code == 2 and "row 1: frames 'ten'; allowed: an integer" in err
    assert not (tmp_path / "out").exists()


def test_two_different_rows_with_one_clip_id_are_refused(tmp_path, capsys):
    rows = _rows()
    rows[3]["clip_id"] = rows[1]["clip_id"]
    code, err = _render(tmp_path, capsys, pa.Table.from_pylist(rows, schema=plan.SCHEMA))
    assert code == 2 and f"row 3: clip_id {rows[1]['clip_id']!r} is also row 1's" in err
    assert not (tmp_path / "out").exists()


def test_an_empty_plan_is_refused(tmp_path, capsys):
    code, err = _render(tmp_path, capsys, pa.Table.from_pylist([], schema=plan.SCHEMA))
    assert code == 2 and "has no rows" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, needle", [("--frames", "frames must be at least 2, got 0"),
                                            ("--fps", "fps must be positive, got 0"),
                                            ("--clips", "clips must be at least 1, got 0")])
def test_an_explicit_zero_is_a_value_not_the_default(tmp_path, capsys, option, needle):
    code, err = _cli(capsys, "render", "--scene", "park", option, "0", "--out", str(tmp_path / "out"))
    assert code == 2 and err.strip() == f"error: {needle}"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--frames", "--fps"])
def test_an_explicit_zero_override_of_a_plan_is_refused(tmp_path, capsys, option):
    pq.write_table(pa.Table.from_pylist(_rows(), schema=plan.SCHEMA), tmp_path / "plan.parquet")
    code, err = _cli(capsys, "render", "--plan", str(tmp_path / "plan.parquet"), option, "0",
                     "--out", str(tmp_path / "out"))
    assert code == 2 and not (tmp_path / "out").exists(), err


@pytest.mark.parametrize("command", ["package", "validate"])
def test_zero_workers_are_refused_as_render_refuses_them(tmp_path, capsys, command):
    code, err = _cli(capsys, command, str(tmp_path), "--workers", "0")
    assert code == 2 and err.strip() == "error: --workers must be at least 1, got 0"


def test_train_and_caption_take_an_empty_value_as_a_value(tmp_path, capsys):
    code, err = _cli(capsys, "train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--size", "")
    assert code == 2 and "bad frame size ''" in err
    code, err = _cli(capsys, "caption", str(tmp_path), "--model", "")
    assert code == 2 and "model must not be empty" in err
