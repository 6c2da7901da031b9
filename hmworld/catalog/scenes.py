"""The 17 scene styles: what a clip's world is, for every backend and for captions.

Scenes are open areas: subjects walk inside `walk_half` (a rectangle centred at
the origin, metres) and every backend keeps a clear disc of `clear_radius`
around the origin free of anything taller than the ground's own detail, so a
camera placed by the plan never starts inside a wall.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Daylight:
    """Sun direction and mood; backends realise it as best they can."""

    time_of_day: str  # "morning", "noon", "afternoon", "golden hour", "overcast", "dusk"
    sun_elevation_deg: float
    sun_azimuth_deg: float  # CCW from +X
    sun_strength: float  # 0..1.5, relative to clear noon


@dataclass(frozen=True)
class SceneSpec:
    id: str
    name: str
    description: str  # one line, used verbatim in captions
    ground: str
    lighting: Daylight
    walk_half: tuple[float, float]  # walkable rectangle half sizes (x, y), metres
    clear_radius: float  # no tall props inside this radius from the origin
    props: tuple[str, ...]  # what a viewer sees when the camera sweeps away


def _s(id, name, description, ground, lighting, walk_half, props, clear_radius=26.0):
    return SceneSpec(id, name, description, ground, Daylight(*lighting), walk_half, clear_radius, props)


SCENE_LIST: tuple[SceneSpec, ...] = (
    _s("park", "park", "a sunny city park with green lawns, leafy trees, benches and a winding gravel path",
       "grass", ("afternoon", 48, 35, 1.0), (9.0, 9.0), ("trees", "benches", "lamp posts", "hedges")),
    _s("city_street", "city street", "a busy city street lined with brick buildings, shop fronts and street lamps",
       "asphalt", ("noon", 62, 120, 1.0), (10.0, 7.0), ("buildings", "shop fronts", "street lamps", "parked cars")),
    _s("plaza", "plaza", "a wide paved plaza with a fountain, stone planters and modern office facades",
       "paving tiles", ("morning", 30, 70, 0.95), (10.0, 10.0), ("fountain", "planters", "office facades", "flag poles")),
    _s("desert", "desert", "a hot sandy desert with rolling dunes, cacti and red rock formations under a pale sky",
       "sand", ("noon", 70, 200, 1.3), (12.0, 12.0), ("dunes", "cacti", "rock formations")),
    _s("snowfield", "snowfield", "a snowy field with frosted pine trees and distant white mountains",
       "snow", ("overcast", 25, 150, 0.8), (11.0, 11.0), ("pine trees", "snow drifts", "mountains")),
    _s("forest_clearing", "forest clearing", "a quiet clearing in a dense forest of tall trunks, ferns and mossy rocks",
       "forest floor", ("morning", 40, 300, 0.85), (8.0, 8.0), ("tall trees", "ferns", "mossy rocks", "fallen logs")),
    _s("beach", "beach", "a bright sandy beach by turquoise water with palm trees and colourful umbrellas",
       "sand", ("afternoon", 55, 250, 1.2), (11.0, 8.0), ("palm trees", "umbrellas", "sea", "lifeguard tower")),
    _s("farmyard", "farmyard", "a rustic farmyard with a red barn, hay bales, wooden fences and a silo",
       "dirt", ("golden hour", 18, 100, 0.9), (10.0, 10.0), ("barn", "hay bales", "fences", "silo")),
    _s("warehouse", "warehouse", "a large warehouse floor with stacked crates, steel shelving and yellow floor markings",
       "concrete", ("overcast", 75, 10, 0.7), (9.0, 9.0), ("crates", "shelving", "pillars", "forklift")),
    _s("parking_lot", "parking lot", "an open parking lot with painted bays, parked cars and light poles",
       "asphalt with markings", ("afternoon", 45, 160, 1.0), (11.0, 9.0), ("parked cars", "light poles", "kerbs")),
    _s("courtyard", "courtyard", "an enclosed stone courtyard with arched walls, potted plants and a central well",
       "cobblestones", ("morning", 35, 20, 0.9), (8.0, 8.0), ("arched walls", "potted plants", "well")),
    _s("rooftop", "rooftop", "a flat city rooftop with air-conditioning units, water tanks and a skyline behind",
       "roof membrane", ("golden hour", 15, 260, 0.9), (8.0, 8.0), ("AC units", "water tanks", "skyline", "railings")),
    _s("canyon", "canyon", "a deep red-rock canyon floor between layered cliff walls and scattered boulders",
       "red dirt", ("noon", 66, 80, 1.1), (9.0, 12.0), ("cliff walls", "boulders", "dry shrubs")),
    _s("harbour", "harbour", "a harbour quay with moored boats, bollards, shipping containers and a lighthouse",
       "quay planks", ("afternoon", 40, 215, 1.0), (10.0, 8.0), ("boats", "bollards", "containers", "lighthouse")),
    _s("garden", "garden", "a formal garden with trimmed hedges, flower beds, a pergola and a stone path",
       "lawn", ("morning", 38, 130, 0.95), (8.0, 8.0), ("hedges", "flower beds", "pergola", "statues")),
    _s("stadium", "stadium", "an empty sports stadium with a striped pitch, goal posts and tiered stands",
       "striped turf", ("dusk", 12, 290, 0.75), (12.0, 9.0), ("stands", "goal posts", "floodlights")),
    _s("village_square", "village square", "a village square with timbered houses, a market stall and a clock tower",
       "cobblestones", ("afternoon", 50, 320, 1.0), (9.0, 9.0), ("timbered houses", "market stall", "clock tower")),
)

SCENES: dict[str, SceneSpec] = {s.id: s for s in SCENE_LIST}
