"""Shared test fixtures: the real HM-World example files beside the repo."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Keep `datasets`/`transformers` caches out of the user's home, and never reach for a hub.
# Set before any test module imports those libraries (they read the environment on import).
_HF_HOME = Path(tempfile.mkdtemp(prefix="hmworld-tests-hf-"))
os.environ["HF_HOME"] = str(_HF_HOME)
os.environ["HF_DATASETS_CACHE"] = str(_HF_HOME / "datasets")
os.environ["HF_HUB_OFFLINE"] = "1"
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
# Vendored real HM-World files (Apache-2.0, see tests/fixtures/hydra-examples/NOTICE)
HYDRA_EXAMPLES = REPO / "tests" / "fixtures" / "hydra-examples"
HYDRA_EXAMPLE_FILES = (*(f"{i}.mp4" for i in range(1, 5)), *(f"cam{i}.json" for i in range(1, 5)), "caption.txt")


@pytest.fixture(scope="session")
def hydra_examples() -> Path:
    """The vendored HyDRA examples; a missing file fails the test (it is part of the repository)."""
    missing = [f for f in HYDRA_EXAMPLE_FILES if not (HYDRA_EXAMPLES / f).is_file()]
    if missing:
        pytest.fail(f"vendored fixtures missing from {HYDRA_EXAMPLES}: {', '.join(missing)}")
    return HYDRA_EXAMPLES


def load_fixture_cams(folder: Path, i: int) -> tuple[np.ndarray, np.ndarray]:
    d = json.loads((folder / f"cam{i}.json").read_text())
    cond = np.array([d["cond_cam"][str(k)] for k in range(77)], dtype=float)
    tgt = np.array([d["tgt_cam"][str(k)] for k in range(77)], dtype=float)
    return cond, tgt
