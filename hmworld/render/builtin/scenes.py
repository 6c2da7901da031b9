"""The 17 catalog scenes as static primitives plus sun, sky and fog.

`build_scene(scene_id, seed)` is deterministic in (scene_id, seed): the seed
moves and recolours props, never the lighting (which the catalog fixes). Every
recipe keeps the catalog's clear disc free of anything taller than ground
detail, and fills the ring beyond it densely, because that ring is what a
panning camera sees when it sweeps away from the subjects.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from hmworld.catalog.scenes import SCENES, SceneSpec
from hmworld.errors import check_choice
from hmworld.render.builtin.primitives import PrimitiveBuilder, PrimitiveSet
from hmworld.render.builtin.scenery import nature, urban
from hmworld.render.builtin.scenery.base import Atmosphere

RGB = tuple[float, float, float]

# time of day → (sun colour at strength 1, ambient, sky top, sky horizon)
TIME_OF_DAY: dict[str, tuple[RGB, RGB, RGB, RGB]] = {
    "morning": ((1.0, 0.93, 0.80), (0.36, 0.40, 0.48), (0.33, 0.53, 0.85), (0.80, 0.85, 0.92)),
    "noon": ((1.0, 0.98, 0.93), (0.36, 0.40, 0.47), (0.24, 0.47, 0.88), (0.70, 0.82, 0.95)),
    "afternoon": ((1.0, 0.95, 0.86), (0.36, 0.40, 0.47), (0.28, 0.50, 0.86), (0.74, 0.83, 0.93)),
    "golden hour": ((1.0, 0.76, 0.48), (0.40, 0.36, 0.40), (0.32, 0.42, 0.68), (0.98, 0.78, 0.55)),
    "overcast": ((0.70, 0.71, 0.73), (0.56, 0.58, 0.62), (0.60, 0.63, 0.68), (0.80, 0.81, 0.83)),
    "dusk": ((0.95, 0.52, 0.32), (0.32, 0.30, 0.40), (0.18, 0.20, 0.42), (0.95, 0.55, 0.40)),
}


@dataclass(frozen=True, eq=False)
class BuiltScene:
    """Static scenery (instance 0, ground plane included) and how it is lit."""

    prims: PrimitiveSet
    sun_dir: np.ndarray  # unit vector towards the sun, world frame
    sun_color: RGB
    ambient: RGB
    sky_top: RGB
    sky_horizon: RGB
    fog: float  # per metre; 0 = none
    scene_id: str = ""
    seed: int = 0


EXPOSURE_TARGET = 1.1  # ambient + sun on level ground after exposure

RECIPES = {**nature.RECIPES, **urban.RECIPES}
ATMOSPHERES: dict[str, Atmosphere] = {**nature.ATMOSPHERES, **urban.ATMOSPHERES}


def sun_direction(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Unit vector towards the sun; azimuth CCW from +X, elevation above the horizon."""
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def exposure_scale(ambient: float, sun: float, sun_z: float, target: float = EXPOSURE_TARGET) -> float:
    """Camera exposure: scale the light so sunlit ground lands near `target` instead of clipping
    (noon desert) or sinking into black (dusk), keeping some of the difference as mood."""
    lit = ambient + sun * max(sun_z, 0.0)
    return float(np.clip(target / max(lit, 1e-6), 0.72, 1.6))


def scene_rng(scene_id: str, seed: int) -> np.random.Generator:
    """Stable across runs and machines (no Python hash randomisation)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(scene_id.encode())])


def build_scene(scene_id: str, seed: int = 0) -> BuiltScene:
    """The scene's primitives and lighting, deterministic in (scene_id, seed)."""
    check_choice("scene", scene_id, list(SCENES))
    spec: SceneSpec = SCENES[scene_id]
    b = PrimitiveBuilder()
    RECIPES[scene_id](b, scene_rng(scene_id, seed), spec)
    atm = ATMOSPHERES.get(scene_id, Atmosphere())
    sun, amb, top, hor = TIME_OF_DAY.get(spec.lighting.time_of_day, TIME_OF_DAY["afternoon"])
    k = spec.lighting.sun_strength
    sun_dir = sun_direction(spec.lighting.sun_elevation_deg, spec.lighting.sun_azimuth_deg)
    ambient = np.array([a * (0.8 + 0.2 * k) * t for a, t in zip(amb, atm.ambient_tint, strict=True)])
    sun_rgb = np.array(sun) * k
    exposure = exposure_scale(float(ambient.mean()), float(sun_rgb.mean()), float(sun_dir[2]))
    return BuiltScene(
        prims=b.build(),
        sun_dir=sun_dir,
        sun_color=tuple(float(c) for c in sun_rgb * exposure),
        ambient=tuple(float(c) for c in ambient * exposure),
        sky_top=atm.sky_top or top,
        sky_horizon=atm.sky_horizon or hor,
        fog=float(atm.fog),
        scene_id=scene_id,
        seed=int(seed),
    )
