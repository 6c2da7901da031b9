"""Fixtures for the dataset tests: small real clip folders, packaged once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dataset_support import RULE, make_dataset

from hmworld.dataset import package


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 clips (30 frames, 64x48, 1-3 subjects), packaged; do not modify (copy with `fresh`)."""
    root = tmp_path_factory.mktemp("packaged")
    make_dataset(root, n=6)
    package(root, RULE, shard_rows=2)
    return root


@pytest.fixture
def fresh(packaged: Path, tmp_path: Path) -> Path:
    """A private copy of the packaged dataset that a test may change."""
    dst = tmp_path / "ds"
    shutil.copytree(packaged, dst)
    return dst
