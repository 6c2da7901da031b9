"""Fixtures for the report tests: a small packaged dataset and its report, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmworld.dataset import package
from hmworld.report import build_report
from tests.dataset.dataset_support import RULE, make_dataset


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 clips (60 frames, 192x112, 1-3 subjects, box-painted, real H.264), packaged; events on clips 0, 2, 4."""
    root = tmp_path_factory.mktemp("report-ds")
    make_dataset(root, n=5, frames=60, width=192, height=112, scenes=["park", "village_square"])
    package(root, RULE)
    return root


@pytest.fixture(scope="session")
def report(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of `dataset` with pages for its first 4 clips; do not modify."""
    out = tmp_path_factory.mktemp("report-out") / "site"
    build_report(dataset, out, clips=4)
    return out
