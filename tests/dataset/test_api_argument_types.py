"""The Python entry points behind export, report, package, validate, filter-events, caption and
import-hmworld refuse arguments of the wrong type
(a bool or float where a count goes, 1 or "yes" where a flag goes) in one line, before they read or
write anything: True is 1 to Python, so without the check `workers=True` ran one worker silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmworld import stages
from hmworld.caption import caption_dataset
from hmworld.dataset.filter_events import filter_events
from hmworld.dataset.official_hmworld.exporter import export_examples, export_hmworld
from hmworld.dataset.official_hmworld.importer import import_hmworld
from hmworld.dataset.validate import validate
from hmworld.dataset.writer import package
from hmworld.errors import BadArgumentType, UserError
from hmworld.report.site import build_report

CASES = [
    (export_hmworld, {"width": True}, "width must be a whole number, got True (bool)"),
    (export_hmworld, {"height": 240.0}, "height must be a whole number, got 240.0 (float)"),
    (export_hmworld, {"limit": "5"}, "limit must be a whole number or None (every clip), got '5' (str)"),
    (export_hmworld, {"passed_only": 1}, "passed_only must be True or False, got 1 (int)"),
    (export_hmworld, {"keep_going": "yes"}, "keep_going must be True or False, got 'yes' (str)"),
    (export_examples, {"limit": False}, "limit must be a whole number or None (every clip), got False (bool)"),
    (export_examples, {"keep_going": None}, "keep_going must be True or False, got None (NoneType)"),
    (build_report, {"clips": True}, "clips must be a whole number or None (every clip), got True (bool)"),
    (build_report, {"workers": 2.0}, "workers must be a whole number, got 2.0 (float)"),
    (build_report, {"keep_going": 0}, "keep_going must be True or False, got 0 (int)"),
    (package, {"shard_rows": True}, "shard_rows must be a whole number, got True (bool)"),
    (package, {"workers": "2"}, "workers must be a whole number, got '2' (str)"),
    (package, {"passed_only": "no"}, "passed_only must be True or False, got 'no' (str)"),
    (validate, {"quick": "yes"}, "quick must be True or False, got 'yes' (str)"),
    (validate, {"workers": True}, "workers must be a whole number, got True (bool)"),
    (filter_events, {"drop": 1}, "drop must be True or False, got 1 (int)"),
    (filter_events, {"keep_going": "no"}, "keep_going must be True or False, got 'no' (str)"),
    (caption_dataset, {"batch_size": 8.0}, "batch_size must be a whole number, got 8.0 (float)"),
    (caption_dataset, {"overwrite": "yes"}, "overwrite must be True or False, got 'yes' (str)"),
    (import_hmworld, {"limit": True}, "limit must be a whole number or None (every sample), got True (bool)"),
    (import_hmworld, {"hfov_deg": "90"}, "hfov_deg must be a number of degrees, got '90' (str)"),
    (import_hmworld, {"keep_going": None}, "keep_going must be True or False, got None (NoneType)"),
    (stages.import_hmworld, {"package_after": "no"}, "package_after must be True or False, got 'no' (str)"),
]


def _call(fn, root: Path, kwargs: dict) -> None:
    if fn in (export_hmworld, export_examples, import_hmworld, stages.import_hmworld):
        fn(root, root / "out", **kwargs)
    else:
        fn(root, **kwargs)


@pytest.mark.parametrize(("fn", "kwargs", "message"), CASES, ids=[f"{f.__name__}-{next(iter(k))}" for f, k, _ in CASES])
def test_wrong_type_is_one_line_type_error_before_anything_is_touched(tmp_path: Path, fn, kwargs, message) -> None:
    root = tmp_path / "dataset"  # does not exist: the type is refused before the folder is looked at
    with pytest.raises(BadArgumentType) as info:
        _call(fn, root, kwargs)
    assert str(info.value) == message
    assert isinstance(info.value, TypeError) and isinstance(info.value, UserError)  # the CLI prints it in one line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fn", [export_hmworld, export_examples, build_report, package])
def test_numpy_integers_and_bools_are_accepted_as_their_python_kinds(tmp_path: Path, fn) -> None:
    """Past the type check, a missing dataset is the usual one-line UserError, not a BadArgumentType."""
    import numpy as np

    kwargs = {
        export_hmworld: {"width": np.int64(416), "limit": np.int32(2), "keep_going": np.bool_(True)},
        export_examples: {"height": np.int64(240), "passed_only": np.bool_(False)},
        build_report: {"clips": np.int64(3), "workers": np.int64(1)},
        package: {"shard_rows": np.int64(10), "keep_going": np.bool_(False)},
    }[fn]
    with pytest.raises(UserError) as info:
        _call(fn, tmp_path / "dataset", kwargs)
    assert not isinstance(info.value, BadArgumentType), str(info.value)
