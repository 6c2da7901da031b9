"""Table schema, numpy ⇄ arrow conversion, and the split rule."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmworld.dataset.arrays import fixed_numpy, ragged_numpy, ragged_rows, to_arrow, valid_mask
from hmworld.dataset.schema import column_names, columns, hf_feature, table_schema
from hmworld.dataset.splits import SplitRule, assign_split, clip_unit
from hmworld.errors import UserError


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=6), st.integers(1, 5), st.booleans())
def test_per_subject_round_trip(ns: list[int], t: int, with_null: bool) -> None:
    rng = np.random.default_rng(len(ns) * 10 + t)
    rows = [rng.normal(size=(n, t, 3)).astype(np.float32) for n in ns]
    values: list[np.ndarray | None] = list(rows)
    if with_null:
        values[0] = None
    typ = pa.list_(pa.list_(pa.list_(pa.float32(), 3), t))
    arr = to_arrow(values, typ)
    assert arr.type == typ and arr.null_count == int(with_null)
    back = ragged_rows(arr)
    for v, b in zip(values, back, strict=True):
        np.testing.assert_array_equal(b, np.zeros((0, t, 3)) if v is None else v)
    # a slice reads the right rows
    if len(ns) > 1:
        vals, offs = ragged_numpy(arr.slice(1))
        np.testing.assert_array_equal(vals, np.concatenate([r for r in values[1:] if r is not None]).reshape(-1, t, 3))
        assert offs[0] == 0 and offs[-1] == vals.shape[0]


def test_fixed_columns_keep_null_rows_apart() -> None:
    typ = pa.list_(pa.list_(pa.float32(), 12), 20)
    a = np.arange(240, dtype=np.float32).reshape(20, 12)
    arr = to_arrow([a, None, a + 1], typ)
    assert valid_mask(arr).tolist() == [True, False, True]
    got = fixed_numpy(arr)
    assert got.shape == (3, 20, 12)
    np.testing.assert_array_equal(got[2], a + 1)
    np.testing.assert_array_equal(fixed_numpy(arr.slice(2)), (a + 1)[None])


def test_schema_names_every_column_once_with_datasets_features() -> None:
    names = column_names()
    assert len(names) == len(set(names))
    for must in ("clip_id", "split", "camera_c2w", "K", "states", "events", "pairs", "n_pairs", "passed",
                 "subject_xy", "subject_depth", "visible_pixels", "silhouette_pixels", "caption", "captioner"):
        assert must in names
    schema = table_schema(150)
    assert schema.field("camera_c2w").type == pa.list_(pa.list_(pa.list_(pa.float64(), 4), 4), 150)
    assert hf_feature(schema.field("events").type) == [
        {"subject": {"dtype": "int32", "_type": "Value"}, "kind": {"dtype": "string", "_type": "Value"},
         "frame": {"dtype": "int32", "_type": "Value"}, "time_s": {"dtype": "float64", "_type": "Value"}}]
    assert all(c.description for c in columns(150))


def test_features_are_what_datasets_reads() -> None:
    datasets = pytest.importorskip("datasets")
    schema = table_schema(30)
    ours = datasets.Features.from_arrow_schema(schema)  # read from the embedded metadata
    inferred = datasets.Features.from_arrow_schema(schema.remove_metadata())  # from the arrow types alone
    assert ours == inferred
    assert [(f.name, f.type) for f in ours.arrow_schema] == [(f.name, f.type) for f in schema]


def test_split_rule_is_deterministic_and_holds_out() -> None:
    rule = SplitRule(("village_square",), ("goose",), 0.25, seed=3)
    assert assign_split("a", "village_square", ["man_red_jacket"], rule) == "test"
    assert assign_split("a", "park", ["man_red_jacket", "goose"], rule) == "test"
    ids = [f"park-{i:04d}" for i in range(4000)]
    splits = [assign_split(c, "park", ["labrador"], rule) for c in ids]
    assert splits == [assign_split(c, "park", ["labrador"], rule) for c in ids]
    assert 0.22 < splits.count("test") / len(ids) < 0.28
    other = [assign_split(c, "park", ["labrador"], SplitRule((), (), 0.25, seed=4)) for c in ids]
    assert other != splits  # the seed matters
    assert 0.0 <= clip_unit("x", 0) < 1.0
    assert SplitRule.from_dict(rule.to_dict()) == rule
    with pytest.raises(UserError, match="test fraction must be in"):
        SplitRule(test_fraction=-0.1)


def test_every_column_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text()
    section = doc[doc.index("### Table columns"):doc.index("### `meta/info.json`")]
    missing = [n for n in column_names() if f"`{n}`" not in section]
    assert not missing
