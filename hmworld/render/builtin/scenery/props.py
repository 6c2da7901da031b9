"""Reusable props built from a handful of primitives each; detail comes from textures.

Every builder takes the scene's `PrimitiveBuilder`, a ground position (x, y) and
a yaw, and adds static scenery (instance 0). Colours are linear 0..1 RGB.
Placement helpers keep tall props out of the clear disc around the origin.
"""

from __future__ import annotations

import numpy as np

from hmworld.render.builtin.primitives import Material, PrimitiveBuilder

RGB = tuple[float, float, float]

WOOD = (0.45, 0.30, 0.17)
DARK_WOOD = (0.28, 0.18, 0.10)
STEEL = (0.55, 0.57, 0.60)
DARK = (0.08, 0.08, 0.09)
GLASS = (0.16, 0.22, 0.30)
WHITE = (0.92, 0.92, 0.90)
STONE = (0.62, 0.60, 0.56)
LEAF = (0.20, 0.42, 0.14)
LEAF_DARK = (0.12, 0.28, 0.08)


def M(color: RGB, color2: RGB | None = None, pattern: str = "flat", scale: float = 1.0, gloss: float = 0.0) -> Material:
    return Material(tuple(float(c) for c in color), tuple(float(c) for c in (color2 or color)), pattern, scale, gloss)


def jitter(rng: np.random.Generator, color: RGB, amount: float = 0.08) -> RGB:
    """The colour with each channel scaled by a shared brightness and a small hue wobble."""
    k = 1.0 + rng.uniform(-amount, amount)
    return tuple(float(np.clip(c * k * (1.0 + rng.uniform(-amount, amount) * 0.5), 0.0, 1.0)) for c in color)


def shade(color: RGB, k: float) -> RGB:
    return tuple(float(np.clip(c * k, 0.0, 1.0)) for c in color)


def yaw_rot(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def local(x: float, y: float, yaw: float, dx: float, dy: float) -> tuple[float, float]:
    """Ground point (dx, dy) of a prop's own frame at (x, y) turned by yaw."""
    c, s = np.cos(yaw), np.sin(yaw)
    return x + c * dx - s * dy, y + s * dx + c * dy


# --------------------------------------------------------------------------- placement


def rect_distance(x: float, y: float, hx: float, hy: float, yaw: float) -> float:
    """Horizontal distance from the origin to a yawed rectangle (centre x, y; half sizes hx, hy)."""
    c, s = np.cos(yaw), np.sin(yaw)
    lx, ly = c * -x + s * -y, -s * -x + c * -y
    dx, dy = max(abs(lx) - hx, 0.0), max(abs(ly) - hy, 0.0)
    return float(np.hypot(dx, dy))


def push_out(x: float, y: float, hx: float, hy: float, yaw: float, radius: float) -> tuple[float, float]:
    """Move a footprint radially outward until it keeps `radius` clear of the origin."""
    r = float(np.hypot(x, y))
    ux, uy = (x / r, y / r) if r > 1e-9 else (1.0, 0.0)
    gap = radius - rect_distance(x, y, hx, hy, yaw)
    while gap > 0.0:
        x, y = x + ux * (gap + 0.05), y + uy * (gap + 0.05)
        gap = radius - rect_distance(x, y, hx, hy, yaw)
    return float(x), float(y)


def ring(rng: np.random.Generator, n: int, r0: float, r1: float, jitter_angle: float = 0.5,
         start: float | None = None) -> np.ndarray:
    """n ground points spread evenly around the origin between radii r0 and r1 [n,2]."""
    a0 = rng.uniform(0, 2 * np.pi) if start is None else start
    ang = a0 + 2 * np.pi * (np.arange(n) + rng.uniform(-jitter_angle, jitter_angle, n) * 0.5) / n
    rad = np.sqrt(rng.uniform(r0 * r0, r1 * r1, n))
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)


def facing_origin(x: float, y: float) -> float:
    """Yaw that turns a prop's +x axis towards the origin."""
    return float(np.arctan2(-y, -x))


# --------------------------------------------------------------------------- vegetation


def tree(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, height: float = 6.0,
         leaf: RGB = LEAF, trunk: RGB = WOOD) -> None:
    """Broadleaf tree: trunk and two overlapping leaf masses."""
    h = height * rng.uniform(0.8, 1.2)
    r = 0.33 * h
    b.cylinder((x, y, 0.0), (x, y, 0.62 * h), 0.045 * h, M(trunk, shade(trunk, 0.7), "noise", 0.3))
    lm = M(jitter(rng, leaf), shade(leaf, 0.6), "noise", 0.9)
    b.ellipsoid((x, y, 0.68 * h), (r, r, 0.75 * r), lm, yaw=rng.uniform(0, 3))
    ox, oy = rng.uniform(-0.3, 0.3, 2) * r
    b.ellipsoid((x + ox, y + oy, 0.88 * h), (0.7 * r, 0.7 * r, 0.55 * r), lm)


def pine(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, height: float = 8.0,
         leaf: RGB = (0.10, 0.28, 0.14), snow: bool = False) -> None:
    """Conifer: trunk and three stacked cones (frosted when `snow`)."""
    h = height * rng.uniform(0.75, 1.25)
    b.cylinder((x, y, 0.0), (x, y, 0.3 * h), 0.035 * h, M(DARK_WOOD))
    lm = M(leaf, (0.9, 0.93, 0.97), "noise", 0.6) if snow else M(jitter(rng, leaf), shade(leaf, 0.7), "noise", 0.7)
    for z0, z1, r in ((0.18, 0.6, 0.3), (0.4, 0.82, 0.23), (0.62, 1.0, 0.15)):
        b.cone((x, y, z0 * h), (x, y, z1 * h), r * h, 0.0, lm)


def tall_tree(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, height: float = 16.0,
              leaf: RGB = (0.16, 0.34, 0.12), masses: int = 2) -> None:
    """Forest giant: a long tapering trunk and a broad crown high above the eye line."""
    h = height * rng.uniform(0.8, 1.2)
    bark = M((0.30, 0.22, 0.15), (0.18, 0.13, 0.09), "noise", 0.4)
    r = 0.022 * h + 0.15
    b.cone((x, y, 0.0), (x, y, 0.72 * h), r * 1.3, r * 0.6, bark)
    lm = M(jitter(rng, leaf, 0.12), shade(leaf, 0.55), "noise", 1.2)
    b.ellipsoid((x, y, 0.74 * h), (0.3 * h, 0.26 * h, 0.17 * h), lm, yaw=rng.uniform(0, 3))
    if masses > 1:
        ox, oy = rng.uniform(-0.12, 0.12, 2) * h
        b.ellipsoid((x + ox, y + oy, 0.88 * h), (0.2 * h, 0.2 * h, 0.13 * h), lm, yaw=rng.uniform(0, 3))


def palm(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, height: float = 7.0) -> None:
    """Leaning palm: a three-piece curved trunk and a crown of drooping fronds."""
    h = height * rng.uniform(0.85, 1.15)
    lean = rng.uniform(0, 2 * np.pi)
    dx, dy = np.cos(lean), np.sin(lean)
    trunk = M((0.55, 0.45, 0.32), (0.42, 0.33, 0.22), "stripes", 0.25)
    pts = [(x, y, 0.0)]
    for k, f in enumerate((0.35, 0.7, 1.0)):
        bend = 0.12 * h * f * f
        pts.append((x + dx * bend, y + dy * bend, f * h))
        b.capsule(pts[k], pts[k + 1], 0.16 - 0.03 * k, trunk)
    top = np.array(pts[-1])
    frond = M((0.25, 0.55, 0.18), (0.15, 0.38, 0.10), "stripes", 0.15)
    for k in range(6):
        a = 2 * np.pi * k / 6 + rng.uniform(-0.2, 0.2)
        d = np.array([np.cos(a), np.sin(a), -0.45])
        d /= np.linalg.norm(d)
        R = _frame_along(d)
        b.ellipsoid(top + d * 1.3, (1.6, 0.45, 0.06), frond, rot=R)
    b.sphere((top[0], top[1], top[2] - 0.2), 0.35, M((0.35, 0.25, 0.12)))


def bush(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, size: float = 1.0,
         leaf: RGB = LEAF, flowers: RGB | None = None, z: float = 0.0) -> None:
    s = size * rng.uniform(0.8, 1.2)
    m = M(jitter(rng, leaf), flowers or shade(leaf, 0.6), "noise", 0.35 * s)
    b.ellipsoid((x, y, z + 0.45 * s), (0.75 * s, 0.75 * s, 0.55 * s), m, yaw=rng.uniform(0, 3))


def hedge(b: PrimitiveBuilder, x: float, y: float, length: float, yaw: float, height: float = 1.4,
          depth: float = 0.9, leaf: RGB = LEAF_DARK) -> None:
    b.box((x, y, height / 2), (length / 2, depth / 2, height / 2), M(leaf, shade(leaf, 1.6), "noise", 0.5), yaw=yaw)


def rock(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, size: float = 1.5,
         color: RGB = (0.5, 0.48, 0.44), color2: RGB | None = None) -> None:
    s = size * rng.uniform(0.7, 1.3)
    m = M(jitter(rng, color), color2 or shade(color, 0.7), "noise", 0.4 * s)
    rot = yaw_rot(rng.uniform(0, 2 * np.pi)) @ pitch_rot(rng.uniform(-0.25, 0.25))
    b.ellipsoid((x, y, 0.25 * s), (s, 0.75 * s, 0.6 * s), m, rot=rot)


def cactus(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, height: float = 3.5) -> None:
    """Saguaro: a ribbed trunk and two bent arms."""
    h = height * rng.uniform(0.7, 1.2)
    m = M((0.25, 0.45, 0.22), (0.18, 0.34, 0.16), "stripes", 0.12)
    r = 0.05 * h + 0.12
    b.capsule((x, y, 0.0), (x, y, h - r), r, m)
    a = rng.uniform(0, np.pi)
    for side, z, up in ((1.0, 0.45, 0.3), (-1.0, 0.6, 0.25)):
        dx, dy = side * np.cos(a), side * np.sin(a)
        elbow = (x + dx * 0.5 * h * 0.3, y + dy * 0.5 * h * 0.3, z * h)
        b.capsule((x, y, z * h - 0.1), elbow, 0.7 * r, m)
        b.capsule(elbow, (elbow[0], elbow[1], elbow[2] + up * h), 0.7 * r, m)


# --------------------------------------------------------------------------- street furniture


def bench(b: PrimitiveBuilder, x: float, y: float, yaw: float, color: RGB = WOOD) -> None:
    """Park bench facing +x of its yaw: seat, back rest and two cast-iron sides."""
    wood = M(color, shade(color, 0.75), "stripes", 0.06)
    iron = M(DARK)
    parts = ((0.0, 0.0, 0.45, (0.24, 0.9, 0.03), wood), (-0.22, 0.0, 0.75, (0.03, 0.9, 0.17), wood),
             (0.0, 0.78, 0.22, (0.25, 0.03, 0.22), iron), (0.0, -0.78, 0.22, (0.25, 0.03, 0.22), iron))
    for dx, dy, z, half, m in parts:
        px, py = local(x, y, yaw, dx, dy)
        b.box((px, py, z), half, m, yaw=yaw)


def lamp_post(b: PrimitiveBuilder, x: float, y: float, height: float = 4.5, color: RGB = DARK,
              globe: RGB = (1.0, 0.95, 0.8)) -> None:
    b.cylinder((x, y, 0.0), (x, y, height), 0.07, M(color, color, "flat", gloss=0.3))
    b.sphere((x, y, height + 0.2), 0.28, M(globe, globe, "flat", gloss=0.6))


def street_light(b: PrimitiveBuilder, x: float, y: float, yaw: float, height: float = 8.0) -> None:
    """Tall pole with an arm reaching over the road (towards +x of its yaw)."""
    m = M(STEEL, STEEL, "flat", gloss=0.4)
    b.cylinder((x, y, 0.0), (x, y, height), 0.1, m)
    ex, ey = local(x, y, yaw, 1.6, 0.0)
    b.capsule((x, y, height), (ex, ey, height + 0.25), 0.06, m)
    b.box((ex, ey, height + 0.12), (0.4, 0.18, 0.08), M((0.95, 0.95, 0.85), gloss=0.5), yaw=yaw)


def car(b: PrimitiveBuilder, x: float, y: float, yaw: float, color: RGB, wheels: bool = True) -> None:
    """Body, glass cabin and two wheel axles (or one dark underbody block when far away)."""
    paint = M(color, color, "flat", gloss=0.7)
    b.box((x, y, 0.62), (2.2, 0.9, 0.38), paint, yaw=yaw)
    cx, cy = local(x, y, yaw, -0.25, 0.0)
    b.box((cx, cy, 1.22), (1.2, 0.8, 0.28), M(GLASS, GLASS, "flat", gloss=0.9), yaw=yaw)
    tyre = M(DARK)
    if not wheels:
        b.box((x, y, 0.2), (1.75, 0.85, 0.2), tyre, yaw=yaw)
        return
    for dx in (-1.35, 1.35):
        ax, ay = local(x, y, yaw, dx, 0.0)
        px, py = local(0.0, 0.0, yaw, 0.0, 0.92)
        b.cylinder((ax - px, ay - py, 0.36), (ax + px, ay + py, 0.36), 0.36, tyre)


def flag_pole(b: PrimitiveBuilder, x: float, y: float, color: RGB, height: float = 9.0, yaw: float = 0.0) -> None:
    b.cylinder((x, y, 0.0), (x, y, height), 0.07, M(WHITE, WHITE, "flat", gloss=0.5))
    fx, fy = local(x, y, yaw, 1.0, 0.0)
    b.box((fx, fy, height - 0.75), (0.95, 0.02, 0.6), M(color, WHITE, "stripes", 0.4), yaw=yaw)


def planter(b: PrimitiveBuilder, x: float, y: float, rng: np.random.Generator, size: float = 1.2,
            stone: RGB = STONE) -> None:
    b.box((x, y, 0.35), (size, size, 0.35), M(stone, shade(stone, 0.85), "noise", 0.5))
    bush(b, x, y, rng, 0.9 * size, flowers=(0.85, 0.3, 0.4), z=0.55)


def umbrella(b: PrimitiveBuilder, x: float, y: float, color: RGB, height: float = 2.4) -> None:
    b.cylinder((x, y, 0.0), (x, y, height), 0.04, M(WHITE))
    b.cone((x, y, height - 0.5), (x, y, height + 0.15), 1.4, 0.05, M(color, WHITE, "checker", 0.7))


def crate(b: PrimitiveBuilder, x: float, y: float, z: float, size: float, yaw: float,
          color: RGB = (0.62, 0.46, 0.26)) -> None:
    b.box((x, y, z + size / 2), (size / 2, size / 2, size / 2), M(color, shade(color, 0.7), "tiles", size / 3), yaw=yaw)


def container(b: PrimitiveBuilder, x: float, y: float, z: float, yaw: float, color: RGB) -> None:
    """A 20 ft shipping container with corrugated sides."""
    b.box((x, y, z + 1.3), (3.05, 1.22, 1.3), M(color, shade(color, 0.72), "stripes", 0.1), yaw=yaw)


def barrel(b: PrimitiveBuilder, x: float, y: float, color: RGB) -> None:
    b.cylinder((x, y, 0.0), (x, y, 0.9), 0.3, M(color, shade(color, 0.6), "stripes", 0.15))


# --------------------------------------------------------------------------- buildings


def building(b: PrimitiveBuilder, x: float, y: float, yaw: float, width: float, depth: float, height: float,
             wall: Material, glass: RGB = GLASS, floor_h: float = 3.2, roof: str = "flat",
             roof_color: RGB = (0.35, 0.33, 0.32), shop: RGB | None = None) -> None:
    """Block with ribbon windows on every side, an optional shop front and a flat or gabled roof.

    +x of the yaw is the front (shop front and awning side).
    """
    hx, hy = width / 2, depth / 2
    b.box((x, y, height / 2), (hy, hx, height / 2), wall, yaw=yaw)
    top = height - 0.6 if roof == "flat" else height - 0.3
    base = floor_h if shop is not None else 1.0
    if top - base > 1.5:
        win = M(shade(wall.color, 0.95), glass, "stripes", floor_h / 2)
        zc = 0.5 * (base + top)
        b.box((x, y, zc), (hy + 0.04, hx - 0.5, 0.5 * (top - base)), win, yaw=yaw)
        b.box((x, y, zc), (hy - 0.5, hx + 0.04, 0.5 * (top - base)), win, yaw=yaw)
    if shop is not None:
        fx, fy = local(x, y, yaw, hy + 0.02, 0.0)
        b.box((fx, fy, 1.3), (0.06, hx - 0.7, 1.2), M(glass, glass, "flat", gloss=0.8), yaw=yaw)
        ax, ay = local(x, y, yaw, hy + 0.8, 0.0)
        b.box((ax, ay, floor_h - 0.35), (0.8, hx - 0.5, 0.08), M(shop, WHITE, "stripes", 0.4), yaw=yaw)
    rm = M(roof_color, shade(roof_color, 0.75), "stripes" if roof == "gable" else "noise", 0.3)
    if roof == "gable":
        gable_roof(b, x, y, yaw, hy, hx, height, wall, rm)
    else:
        b.box((x, y, height + 0.3), (hy + 0.15, hx + 0.15, 0.3), rm, yaw=yaw)


def tower_block(b: PrimitiveBuilder, x: float, y: float, width: float, depth: float, height: float,
                color: RGB, glass: RGB = (0.25, 0.35, 0.48), base: float = 0.0) -> None:
    """Distant skyline tower from `base` up to `height`: a glass-banded box and a roof cap (2 primitives)."""
    h = height - base
    b.box((x, y, base + h / 2), (depth / 2, width / 2, h / 2), M(color, glass, "stripes", 1.6, gloss=0.3))
    b.box((x, y, height + 0.8), (depth / 2 - 0.5, width / 2 - 0.5, 0.8), M(shade(color, 0.7)))


def gable_house(b: PrimitiveBuilder, x: float, y: float, yaw: float, width: float, depth: float, height: float,
                wall: RGB, roof: RGB, timber: RGB | None = None, door: RGB = DARK_WOOD) -> None:
    """House with a pitched roof; `timber` adds dark half-timbering beams on the front."""
    hx, hy = width / 2, depth / 2
    b.box((x, y, height / 2), (hy, hx, height / 2), M(wall, shade(wall, 0.9), "noise", 0.8), yaw=yaw)
    gable_roof(b, x, y, yaw, hy, hx, height, M(wall, shade(wall, 0.9), "noise", 0.8), M(roof, shade(roof, 0.7), "bricks", 0.45))
    fx, fy = local(x, y, yaw, hy + 0.03, 0.0)
    b.box((fx, fy, 1.1), (0.05, 0.55, 1.1), M(door), yaw=yaw)
    if timber is not None:
        tm = M(timber)
        for dz in (0.42, 0.78):
            b.box((fx, fy, dz * height), (0.07, hx + 0.01, 0.12), tm, yaw=yaw)
        for dy in (-0.8, 0.8):
            px, py = local(x, y, yaw, hy + 0.05, dy * hx)
            b.box((px, py, height / 2), (0.07, 0.12, height / 2), tm, yaw=yaw)
    # two windows on the front, one each side of the door
    for dy in (-0.5, 0.5):
        px, py = local(x, y, yaw, hy + 0.04, dy * hx)
        b.box((px, py, 0.62 * height), (0.05, 0.45, 0.55), M(GLASS, GLASS, "flat", gloss=0.8), yaw=yaw)


def gable_roof(b: PrimitiveBuilder, x: float, y: float, yaw: float, half_len: float, half_w: float, eave: float,
               wall: Material, roof: Material, overhang: float = 0.35, thickness: float = 0.16) -> None:
    """Pitched roof over a box whose top is at `eave`: a wall-coloured gable prism (its lower half
    hides inside the walls) and two slabs at 45° meeting at the ridge, which runs along +x of the yaw."""
    a = half_w / np.sqrt(2.0)
    b.box((x, y, eave), (half_len - 0.01, a, a), wall, rot=yaw_rot(yaw) @ roll_rot(np.pi / 4))
    slope = (half_w + overhang) * np.sqrt(2.0)
    for s in (1.0, -1.0):
        my = s * 0.5 * (half_w + overhang)
        mz = eave + 0.5 * (half_w - overhang)
        ny, nz = s / np.sqrt(2.0), 1.0 / np.sqrt(2.0)
        cx, cy = local(x, y, yaw, 0.0, my + ny * thickness / 2)
        b.box((cx, cy, mz + nz * thickness / 2), (half_len + overhang, slope / 2, thickness / 2), roof,
              rot=yaw_rot(yaw) @ roll_rot(-s * np.pi / 4))


def fence(b: PrimitiveBuilder, p0, p1, height: float = 1.2, color: RGB = (0.55, 0.40, 0.25), posts: int = 5) -> None:
    """Two rails between p0 and p1 (ground points) and evenly spaced posts."""
    p0, p1 = np.asarray(p0, dtype=float), np.asarray(p1, dtype=float)
    d = p1 - p0
    length = float(np.hypot(*d))
    yaw = float(np.arctan2(d[1], d[0]))
    mid = 0.5 * (p0 + p1)
    m = M(color, shade(color, 0.7), "noise", 0.3)
    for z in (0.45 * height, 0.85 * height):
        b.box((mid[0], mid[1], z), (length / 2, 0.04, 0.06), m, yaw=yaw)
    for t in np.linspace(0.0, 1.0, posts):
        p = p0 + t * d
        b.box((p[0], p[1], height / 2), (0.07, 0.07, height / 2), m, yaw=yaw)


def arcade_wall(b: PrimitiveBuilder, x: float, y: float, yaw: float, length: float, height: float,
                wall: RGB, arches: int, shadow: RGB = (0.10, 0.09, 0.08)) -> None:
    """A thick wall whose front face (+x of the yaw) shows dark arched openings."""
    b.box((x, y, height / 2), (0.6, length / 2, height / 2), M(wall, shade(wall, 0.85), "bricks", 0.9), yaw=yaw)
    dark = M(shadow)
    span = length / arches
    w = 0.32 * span
    for k in range(arches):
        dy = -length / 2 + (k + 0.5) * span
        px, py = local(x, y, yaw, 0.61, dy)
        spring = min(0.55 * height, 3.2)
        b.box((px, py, spring / 2), (0.02, w, spring / 2), dark, yaw=yaw)
        ax, ay = local(0.0, 0.0, yaw, 0.02, 0.0)
        b.cylinder((px - ax, py - ay, spring), (px + ax, py + ay, spring), w, dark)


def stacked_cliff(b: PrimitiveBuilder, x: float, y: float, yaw: float, length: float, height: float,
                  colors: list[RGB], depth: float = 8.0, step: float = 1.2) -> None:
    """Layered rock wall whose face is its local -x side: strata boxes, each set back (+x) as it rises."""
    n = len(colors)
    for k, c in enumerate(colors):
        z0, z1 = height * k / n, height * (k + 1) / n
        px, py = local(x, y, yaw, k * step, 0.0)
        b.box((px, py, 0.5 * (z0 + z1)), (depth / 2, length / 2 - 0.3 * k, 0.5 * (z1 - z0) + 0.02),
              M(c, shade(c, 0.78), "noise", 2.0), yaw=yaw)


def mountain(b: PrimitiveBuilder, x: float, y: float, radius: float, height: float, color: RGB,
             cap: RGB | None = None) -> None:
    b.cone((x, y, -2.0), (x, y, height), radius, 0.0, M(color, shade(color, 0.8), "noise", radius / 6))
    if cap is not None:
        f = 0.72
        b.cone((x, y, f * height - 0.05 * height), (x, y, height + 0.4), (1 - f) * radius * 1.22, 0.0,
               M(cap, shade(cap, 0.9), "noise", radius / 10))


def hill(b: PrimitiveBuilder, x: float, y: float, rx: float, ry: float, height: float, color: RGB,
         color2: RGB | None = None, yaw: float = 0.0) -> None:
    b.ellipsoid((x, y, 0.0), (rx, ry, height), M(color, color2 or shade(color, 0.8), "noise", max(rx, ry) / 8), yaw=yaw)


# --------------------------------------------------------------------------- helpers


def roll_rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def pitch_rot(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _frame_along(d: np.ndarray) -> np.ndarray:
    x = d / np.linalg.norm(d)
    y = np.cross((0.0, 0.0, 1.0), x)
    y = y / max(np.linalg.norm(y), 1e-9)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def push_along(x: float, y: float, hx: float, hy: float, yaw: float, radius: float, dx: float, dy: float
               ) -> tuple[float, float]:
    """Slide a footprint along (dx, dy) until it keeps `radius` clear of the origin (keeps street lines)."""
    n = float(np.hypot(dx, dy))
    dx, dy = dx / n, dy / n
    for _ in range(400):
        if rect_distance(x, y, hx, hy, yaw) >= radius:
            break
        x, y = x + 0.25 * dx, y + 0.25 * dy
    return float(x), float(y)


def sun_cap(x: float, y: float, elevation_deg: float, azimuth_deg: float, reach: float = 14.0) -> float:
    """Tallest a prop at (x, y) may be before its shadow falls within `reach` of the origin."""
    r = float(np.hypot(x, y))
    toward_sun = np.cos(np.arctan2(y, x) - np.radians(azimuth_deg))
    if toward_sun < 0.3:
        return float("inf")
    return max((r - reach) * np.tan(np.radians(elevation_deg)) / toward_sun, 3.0)
