"""The 49 subjects: 24 people and 25 animals, with size, gaits and looks.

Sizes are metres: `height` is standing height (people) or height at the top of
the head (animals), `length` front to back (for people it includes a walking
stride, so the box holds the swinging feet), `width` side to side. Each gait has
a natural speed range and the distance covered per full gait cycle, so a
renderer can tie its leg swing to the distance travelled (no foot sliding).
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Gait:
    name: str  # "walk", "trot", "run"
    speed_min: float  # m/s
    speed_max: float
    cycle_m: float  # metres travelled per full gait cycle


@dataclass(frozen=True)
class SubjectSpec:
    id: str
    name: str
    kind: str  # "human" or "animal"
    species: str  # "human", "dog", "cat", "horse", ...
    body: str  # body plan a renderer builds: "biped", "quadruped", "bird"
    height: float
    length: float
    width: float
    build: str  # people: "slim", "average", "stocky", "child", "elderly"; animals: "small", "medium", "large"
    gaits: tuple[Gait, ...]  # slowest first
    palette: tuple[RGB, ...]  # main colours: people (top, bottom, skin, hair); animals (coat, belly/accents, ...)
    features: tuple[str, ...]  # renderer hints: "hat", "long hair", "backpack", "horns", "mane", "spots", ...
    appearance: str  # caption text, e.g. "a tall man in a red jacket and blue jeans"

    @property
    def size(self) -> tuple[float, float, float]:
        return (self.length, self.width, self.height)

    def gait_for_speed(self, speed: float) -> Gait:
        """The slowest gait whose range reaches `speed`, else the fastest."""
        for g in self.gaits:
            if speed <= g.speed_max:
                return g
        return self.gaits[-1]


SKIN = {"light": (0.94, 0.78, 0.66), "tan": (0.80, 0.60, 0.45), "brown": (0.55, 0.38, 0.26), "dark": (0.36, 0.24, 0.17)}
HAIR = {"black": (0.08, 0.07, 0.06), "brown": (0.35, 0.22, 0.12), "blond": (0.85, 0.72, 0.42),
        "grey": (0.70, 0.70, 0.70), "red": (0.65, 0.25, 0.10)}


def _human(id, name, height, build, top, bottom, skin, hair, features, appearance):
    scale = height / 1.75
    slow = 0.75 if build in ("child", "elderly") else 1.0
    gaits = (
        Gait("walk", 0.9 * slow, 1.6 * slow, round(1.45 * scale, 3)),
        Gait("run", 2.4 * slow, 4.0 * slow, round(2.6 * scale, 3)),
    )
    width = {"slim": 0.42, "average": 0.48, "stocky": 0.56, "child": 0.34, "elderly": 0.46}[build] * scale
    return SubjectSpec(id, name, "human", "human", "biped", height, round(0.9 * scale, 3), round(width, 3), build,
                       gaits, (top, bottom, SKIN[skin], HAIR[hair]), features, appearance)


def _animal(id, name, species, body, height, length, width, build, speeds, palette, features, appearance):
    """speeds: ((gait, min, max, cycle_m), ...)."""
    gaits = tuple(Gait(*g) for g in speeds)
    return SubjectSpec(id, name, "animal", species, body, height, length, width, build, gaits, palette,
                       features, appearance)


_QUAD_SMALL = (("walk", 0.5, 1.0, 0.36), ("trot", 1.0, 2.2, 0.56), ("run", 2.2, 4.0, 0.85))
_QUAD_DOG = (("walk", 0.8, 1.5, 0.9), ("trot", 1.5, 3.2, 1.4), ("run", 3.2, 6.0, 2.0))
_QUAD_LARGE = (("walk", 1.0, 1.8, 1.8), ("trot", 1.8, 4.0, 2.6), ("run", 4.0, 8.0, 3.8))
_QUAD_COW = (("walk", 0.7, 1.4, 1.6), ("trot", 1.4, 2.6, 2.2))
_QUAD_BEAR = (("walk", 0.8, 1.6, 1.5), ("run", 1.6, 5.0, 2.6))
_BIRD_SMALL = (("walk", 0.3, 0.8, 0.2), ("run", 0.8, 2.0, 0.36))
_BIRD_LARGE = (("walk", 0.8, 1.8, 1.6), ("run", 1.8, 6.0, 3.2))

SUBJECT_LIST: tuple[SubjectSpec, ...] = (
    # ---- people (24)
    _human("man_red_jacket", "man in a red jacket", 1.82, "average", (0.78, 0.12, 0.10), (0.16, 0.22, 0.45), "light", "brown",
           (), "a tall man in a red jacket and blue jeans"),
    _human("woman_yellow_dress", "woman in a yellow dress", 1.66, "slim", (0.95, 0.80, 0.20), (0.95, 0.80, 0.20), "tan", "black",
           ("long hair", "dress"), "a slim woman with long black hair in a bright yellow dress"),
    _human("man_grey_suit", "man in a grey suit", 1.78, "average", (0.45, 0.46, 0.50), (0.40, 0.41, 0.45), "brown", "black",
           ("tie",), "a man in a grey business suit and tie"),
    _human("woman_green_coat", "woman in a green coat", 1.70, "average", (0.15, 0.45, 0.25), (0.12, 0.12, 0.14), "light", "blond",
           ("long hair", "coat"), "a blonde woman in a long green coat and black trousers"),
    _human("boy_striped_shirt", "boy in a striped shirt", 1.30, "child", (0.20, 0.40, 0.85), (0.35, 0.28, 0.20), "light", "red",
           ("stripes",), "a red-haired boy in a blue striped T-shirt and brown shorts"),
    _human("girl_pink_hoodie", "girl in a pink hoodie", 1.25, "child", (0.95, 0.45, 0.65), (0.20, 0.25, 0.55), "brown", "black",
           ("ponytail",), "a little girl with a ponytail in a pink hoodie and blue leggings"),
    _human("old_man_cane", "elderly man with a flat cap", 1.70, "elderly", (0.50, 0.38, 0.26), (0.30, 0.30, 0.28), "light", "grey",
           ("cap",), "an elderly grey-haired man in a brown cardigan and a flat cap"),
    _human("old_woman_shawl", "elderly woman in a purple shawl", 1.58, "elderly", (0.48, 0.25, 0.55), (0.25, 0.22, 0.30), "tan", "grey",
           ("shawl",), "an elderly woman with grey hair wearing a purple shawl"),
    _human("jogger_orange", "jogger in orange", 1.76, "slim", (0.98, 0.50, 0.10), (0.10, 0.10, 0.12), "dark", "black",
           ("headband",), "a slim jogger in an orange running top and black tights"),
    _human("construction_worker", "construction worker", 1.84, "stocky", (0.98, 0.85, 0.10), (0.20, 0.28, 0.45), "tan", "brown",
           ("hard hat", "vest"), "a stocky construction worker in a yellow hi-vis vest and a white hard hat"),
    _human("woman_white_blouse", "woman in a white blouse", 1.68, "slim", (0.95, 0.95, 0.93), (0.10, 0.10, 0.30), "dark", "black",
           ("bun",), "a woman with her hair in a bun, wearing a white blouse and a navy skirt"),
    _human("man_backpack", "hiker with a backpack", 1.80, "average", (0.30, 0.50, 0.30), (0.45, 0.40, 0.30), "light", "blond",
           ("backpack", "cap"), "a blond hiker in a green shirt and khaki trousers carrying a large backpack"),
    _human("chef_white", "chef in whites", 1.74, "stocky", (0.97, 0.97, 0.97), (0.15, 0.15, 0.15), "brown", "black",
           ("chef hat",), "a chef in a white jacket and a tall white hat"),
    _human("soldier_camo", "soldier in camouflage", 1.83, "average", (0.35, 0.40, 0.25), (0.35, 0.40, 0.25), "tan", "brown",
           ("helmet", "camouflage"), "a soldier in green camouflage fatigues and a helmet"),
    _human("woman_red_raincoat", "woman in a red raincoat", 1.64, "average", (0.85, 0.10, 0.15), (0.20, 0.20, 0.22), "light", "brown",
           ("hood",), "a woman in a shiny red raincoat with the hood up"),
    _human("teen_skater", "teenager in a black hoodie", 1.72, "slim", (0.12, 0.12, 0.14), (0.55, 0.55, 0.58), "light", "brown",
           ("beanie",), "a teenager in a black hoodie, grey jeans and a knitted beanie"),
    _human("doctor_blue_scrubs", "doctor in blue scrubs", 1.77, "average", (0.35, 0.60, 0.80), (0.35, 0.60, 0.80), "dark", "black",
           (), "a doctor in light-blue hospital scrubs"),
    _human("woman_denim", "woman in denim", 1.72, "average", (0.30, 0.45, 0.70), (0.20, 0.30, 0.55), "brown", "brown",
           ("long hair",), "a woman with long brown hair in a denim jacket and jeans"),
    _human("man_tracksuit", "man in a blue tracksuit", 1.86, "stocky", (0.10, 0.25, 0.70), (0.10, 0.25, 0.70), "light", "black",
           ("stripes",), "a broad-shouldered man in a blue tracksuit with white stripes"),
    _human("girl_school_uniform", "schoolgirl in uniform", 1.45, "child", (0.95, 0.95, 0.95), (0.15, 0.20, 0.40), "light", "blond",
           ("backpack", "ponytail"), "a schoolgirl with a blonde ponytail in a white shirt, navy skirt and a backpack"),
    _human("man_knight_armor", "man in armour", 1.85, "stocky", (0.60, 0.62, 0.66), (0.40, 0.42, 0.46), "light", "brown",
           ("helmet", "metal"), "a man in polished steel armour and a helmet"),
    _human("woman_sari", "woman in an orange sari", 1.60, "slim", (0.95, 0.45, 0.10), (0.90, 0.30, 0.40), "brown", "black",
           ("long hair", "dress"), "a woman in a flowing orange and pink sari"),
    _human("delivery_man", "delivery man in brown", 1.79, "average", (0.45, 0.30, 0.15), (0.45, 0.30, 0.15), "dark", "black",
           ("cap", "box"), "a delivery man in a brown uniform and cap"),
    _human("woman_tennis", "tennis player", 1.74, "slim", (0.98, 0.98, 0.98), (0.98, 0.98, 0.98), "tan", "blond",
           ("visor", "ponytail"), "a tennis player in white sportswear and a visor"),
    # ---- animals (25)
    _animal("labrador", "golden labrador", "dog", "quadruped", 0.75, 1.0, 0.30, "medium", _QUAD_DOG,
            ((0.85, 0.65, 0.35), (0.92, 0.78, 0.52)), ("tail", "floppy ears"), "a golden labrador dog"),
    _animal("dachshund", "dachshund", "dog", "quadruped", 0.38, 0.70, 0.20, "small", _QUAD_SMALL,
            ((0.45, 0.22, 0.10), (0.60, 0.35, 0.18)), ("tail", "floppy ears", "short legs"), "a small brown dachshund"),
    _animal("husky", "husky", "dog", "quadruped", 0.78, 1.05, 0.30, "medium", _QUAD_DOG,
            ((0.45, 0.45, 0.48), (0.95, 0.95, 0.95)), ("tail", "pointed ears"), "a grey and white husky"),
    _animal("dalmatian", "dalmatian", "dog", "quadruped", 0.80, 1.0, 0.28, "medium", _QUAD_DOG,
            ((0.96, 0.96, 0.95), (0.05, 0.05, 0.05)), ("tail", "floppy ears", "spots"), "a white dalmatian with black spots"),
    _animal("corgi", "corgi", "dog", "quadruped", 0.42, 0.75, 0.26, "small", _QUAD_SMALL,
            ((0.90, 0.55, 0.20), (0.98, 0.96, 0.92)), ("pointed ears", "short legs"), "an orange and white corgi"),
    _animal("tabby_cat", "tabby cat", "cat", "quadruped", 0.32, 0.55, 0.16, "small", _QUAD_SMALL,
            ((0.60, 0.48, 0.32), (0.30, 0.22, 0.14)), ("tail", "pointed ears", "stripes"), "a striped tabby cat"),
    _animal("black_cat", "black cat", "cat", "quadruped", 0.30, 0.50, 0.15, "small", _QUAD_SMALL,
            ((0.06, 0.06, 0.07), (0.15, 0.15, 0.16)), ("tail", "pointed ears"), "a sleek black cat"),
    _animal("brown_horse", "brown horse", "horse", "quadruped", 2.10, 2.40, 0.65, "large", _QUAD_LARGE,
            ((0.45, 0.26, 0.12), (0.10, 0.07, 0.05)), ("tail", "mane", "long neck"), "a chestnut-brown horse with a dark mane"),
    _animal("white_pony", "white pony", "horse", "quadruped", 1.50, 1.80, 0.50, "large", _QUAD_LARGE,
            ((0.93, 0.92, 0.90), (0.80, 0.78, 0.75)), ("tail", "mane", "long neck"), "a small white pony"),
    _animal("zebra", "zebra", "horse", "quadruped", 1.90, 2.30, 0.60, "large", _QUAD_LARGE,
            ((0.96, 0.96, 0.96), (0.05, 0.05, 0.05)), ("tail", "mane", "long neck", "stripes"), "a black-and-white striped zebra"),
    _animal("red_deer", "red deer stag", "deer", "quadruped", 1.90, 1.90, 0.45, "large", _QUAD_LARGE,
            ((0.55, 0.32, 0.16), (0.85, 0.75, 0.60)), ("tail", "antlers", "long neck"), "a red deer stag with branching antlers"),
    _animal("reindeer", "reindeer", "deer", "quadruped", 1.70, 1.80, 0.45, "large", _QUAD_LARGE,
            ((0.50, 0.42, 0.34), (0.90, 0.88, 0.84)), ("antlers", "long neck"), "a grey-brown reindeer with large antlers"),
    _animal("holstein_cow", "holstein cow", "cow", "quadruped", 1.60, 2.40, 0.75, "large", _QUAD_COW,
            ((0.97, 0.97, 0.96), (0.05, 0.05, 0.05)), ("tail", "horns", "spots"), "a black-and-white holstein cow"),
    _animal("highland_cow", "highland cow", "cow", "quadruped", 1.40, 2.20, 0.80, "large", _QUAD_COW,
            ((0.70, 0.35, 0.12), (0.55, 0.25, 0.08)), ("tail", "horns", "shaggy"), "a shaggy ginger highland cow with long horns"),
    _animal("sheep", "sheep", "sheep", "quadruped", 0.95, 1.20, 0.55, "medium", _QUAD_COW,
            ((0.92, 0.90, 0.84), (0.12, 0.10, 0.09)), ("woolly",), "a woolly white sheep with a black face"),
    _animal("goat", "goat", "goat", "quadruped", 0.95, 1.20, 0.40, "medium", _QUAD_DOG,
            ((0.75, 0.68, 0.58), (0.35, 0.30, 0.25)), ("horns", "tail", "beard"), "a brown-and-white goat with curved horns"),
    _animal("pig", "pig", "pig", "quadruped", 0.85, 1.40, 0.55, "medium", _QUAD_COW,
            ((0.96, 0.70, 0.68), (0.90, 0.60, 0.58)), ("tail", "snout"), "a pink farm pig"),
    _animal("brown_bear", "brown bear", "bear", "quadruped", 1.30, 2.00, 0.90, "large", _QUAD_BEAR,
            ((0.35, 0.22, 0.12), (0.25, 0.15, 0.08)), ("round ears", "bulky"), "a large brown bear"),
    _animal("polar_bear", "polar bear", "bear", "quadruped", 1.40, 2.30, 0.95, "large", _QUAD_BEAR,
            ((0.96, 0.95, 0.90), (0.85, 0.84, 0.78)), ("round ears", "bulky"), "a white polar bear"),
    _animal("red_fox", "red fox", "fox", "quadruped", 0.55, 0.90, 0.20, "small", _QUAD_DOG,
            ((0.85, 0.40, 0.12), (0.97, 0.95, 0.92)), ("bushy tail", "pointed ears"), "a red fox with a bushy white-tipped tail"),
    _animal("grey_wolf", "grey wolf", "wolf", "quadruped", 0.95, 1.40, 0.32, "medium", _QUAD_DOG,
            ((0.50, 0.48, 0.45), (0.80, 0.78, 0.74)), ("bushy tail", "pointed ears"), "a grey wolf"),
    _animal("chicken", "chicken", "chicken", "bird", 0.45, 0.40, 0.22, "small", _BIRD_SMALL,
            ((0.60, 0.32, 0.12), (0.85, 0.10, 0.10)), ("comb", "beak"), "a brown hen with a red comb"),
    _animal("duck", "mallard duck", "duck", "bird", 0.45, 0.50, 0.25, "small", _BIRD_SMALL,
            ((0.45, 0.40, 0.32), (0.05, 0.45, 0.20)), ("beak", "green head"), "a mallard duck with a green head"),
    _animal("goose", "white goose", "goose", "bird", 0.80, 0.80, 0.30, "medium", _BIRD_SMALL,
            ((0.96, 0.96, 0.95), (0.98, 0.55, 0.10)), ("beak", "long neck"), "a white goose with an orange beak"),
    _animal("ostrich", "ostrich", "ostrich", "bird", 2.30, 1.20, 0.55, "large", _BIRD_LARGE,
            ((0.10, 0.09, 0.09), (0.85, 0.72, 0.65)), ("long neck", "long legs", "beak"), "a tall black-feathered ostrich"),
)

SUBJECTS: dict[str, SubjectSpec] = {s.id: s for s in SUBJECT_LIST}
