"""A real headless Chromium for the report tests: Debian's `chromium`, driven by Playwright.

Where no browser (or no Playwright) is installed the browser tests skip with
one line saying how to install it, except under CI=true, where they fail.
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("HMWORLD_TEST_ARTIFACTS", REPO / "build" / "test-artifacts")) / "report"
INSTALL = "install a headless browser with `apt-get install chromium` (as root; `make test` does it) and `pip install playwright`"


def find_chromium() -> str | None:
    """The system browser: $HMWORLD_CHROMIUM, else chromium / chromium-browser on PATH."""
    env = os.environ.get("HMWORLD_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}; {INSTALL}")
    pytest.skip(f"{reason}: {INSTALL}")


@dataclass
class PageLog:
    """Everything a page reported that a user would call broken."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"console {m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed request: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))


def screenshot_array(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def is_blank(img: np.ndarray) -> bool:
    """A picture with (almost) one colour: under 0.5% of pixels differ from the most common one."""
    flat = img.reshape(-1, 3)
    _values, counts = np.unique(flat, axis=0, return_counts=True)
    return counts.max() > 0.995 * len(flat) or float(flat.std()) < 2.0


def save_artifact(name: str, png: bytes) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(png)
    return path
