"""Shared test fixtures: the real HM-World example files beside the repo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
HYDRA_EXAMPLES = REPO.parent / "shared" / "fixtures" / "hydra-examples"


@pytest.fixture(scope="session")
def hydra_examples() -> Path:
    if not (HYDRA_EXAMPLES / "cam1.json").is_file():
        pytest.skip(f"real HM-World fixtures not found at {HYDRA_EXAMPLES}")
    return HYDRA_EXAMPLES


def load_fixture_cams(folder: Path, i: int) -> tuple[np.ndarray, np.ndarray]:
    d = json.loads((folder / f"cam{i}.json").read_text())
    cond = np.array([d["cond_cam"][str(k)] for k in range(77)], dtype=float)
    tgt = np.array([d["tgt_cam"][str(k)] for k in range(77)], dtype=float)
    return cond, tgt
