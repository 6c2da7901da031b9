"""What a scene recipe is: a function that fills a builder, plus the scene's atmosphere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hmworld.catalog.scenes import SceneSpec
from hmworld.render.builtin.primitives import PrimitiveBuilder

RGB = tuple[float, float, float]
Recipe = Callable[[PrimitiveBuilder, np.random.Generator, SceneSpec], None]


@dataclass(frozen=True)
class Atmosphere:
    """Per-scene adjustments on top of the catalog lighting (haze, tinted skies)."""

    fog: float = 0.004
    sky_top: RGB | None = None
    sky_horizon: RGB | None = None
    ambient_tint: RGB = (1.0, 1.0, 1.0)
