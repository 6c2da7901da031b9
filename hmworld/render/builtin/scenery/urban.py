"""Recipes for the built-up scenes: city street, plaza, warehouse, parking lot, courtyard,
rooftop, harbour, stadium and village square."""

from __future__ import annotations

import numpy as np

from hmworld.catalog.scenes import SceneSpec
from hmworld.render.builtin.primitives import PrimitiveBuilder
from hmworld.render.builtin.scenery import props as P
from hmworld.render.builtin.scenery.base import Atmosphere, Recipe
from hmworld.render.builtin.scenery.props import M

Rng = np.random.Generator

BRICKS = [(0.62, 0.26, 0.18), (0.70, 0.40, 0.28), (0.55, 0.30, 0.24), (0.78, 0.62, 0.46), (0.60, 0.56, 0.52)]
AWNINGS = [(0.80, 0.15, 0.15), (0.15, 0.45, 0.25), (0.15, 0.30, 0.65), (0.90, 0.60, 0.10), (0.50, 0.20, 0.45)]
CARS = [(0.75, 0.08, 0.08), (0.10, 0.20, 0.55), (0.85, 0.85, 0.85), (0.12, 0.12, 0.13), (0.55, 0.57, 0.60),
        (0.10, 0.40, 0.22), (0.90, 0.70, 0.10)]
WHITE = (0.93, 0.93, 0.90)
YELLOW = (0.95, 0.78, 0.10)


def _asphalt() -> object:
    return M((0.24, 0.24, 0.25), (0.17, 0.17, 0.18), "noise", 0.7)


def city_street(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    road = spec.walk_half[1] + 1.5  # the carriageway's half width; subjects walk on it
    b.plane(_asphalt())
    paving = M((0.66, 0.64, 0.60), (0.48, 0.47, 0.45), "tiles", 1.5)
    for s in (1.0, -1.0):
        b.box((0.0, s * (road + 150.0), 0.075), (400.0, 150.0, 0.075), paving)
        b.box((0.0, s * (road - 0.35), 0.004), (400.0, 0.08, 0.004), M(WHITE))
    for x in np.arange(-48.0, 49.0, 6.0):
        b.box((x, 0.0, 0.004), (1.5, 0.08, 0.004), M(WHITE))
    cx = rng.uniform(-6.0, 6.0)
    b.box((cx, 0.0, 0.005), (1.8, road - 0.6, 0.005), M((0.24, 0.24, 0.25), WHITE, "stripes", 0.5))
    for s in (1.0, -1.0):
        x = -82.0 + rng.uniform(0, 4)
        yaw = -s * np.pi / 2  # fronts face the street
        while x < 82.0:
            w, d, h = rng.uniform(13, 20), 14.0, rng.uniform(10, 26)
            xc, yc = x + w / 2, s * (road + 6.5 + d / 2)
            xc, yc = P.push_along(xc, yc, d / 2 + 1.7, w / 2, yaw, R + 0.3, 0.0, s)  # awnings reach 1.6 m out
            wall_c = BRICKS[int(rng.integers(0, len(BRICKS)))]
            wall = M(P.jitter(rng, wall_c, 0.06), (0.72, 0.70, 0.66), "bricks", 0.9)
            shop = AWNINGS[int(rng.integers(0, len(AWNINGS)))] if rng.uniform() < 0.7 else None
            P.building(b, xc, yc, yaw, w, d, h, wall, shop=shop, roof_color=(0.3, 0.3, 0.32))
            x += w + rng.uniform(0.0, 1.0)
    for x in (-84.0, -57.0, -30.0, 30.0, 57.0, 84.0):
        for s in (1.0, -1.0):
            P.street_light(b, x + rng.uniform(-2, 2), s * (road + 0.7), -s * np.pi / 2)
    for s in (1.0, -1.0):
        for x in np.arange(-78.0, 79.0, 5.6):
            if abs(x) < 26 or rng.uniform() < 0.35:
                continue
            y = s * (road - 1.3)
            if P.rect_distance(x, y, 2.3, 1.0, 0.0) < R + 0.3:
                continue
            P.car(b, x, y, 0.0 if s < 0 else np.pi, CARS[int(rng.integers(0, len(CARS)))], wheels=abs(x) < 50.0)
    for x in (-70.0, -43.0, 43.0, 70.0):
        for s in (1.0, -1.0):
            P.tree(b, x, s * (road + 2.2), rng, height=6.5)
    for s in (1.0, -1.0):  # the cross street's facades close the view at both ends
        P.building(b, s * 118.0, 0.0, -np.pi / 2 - s * np.pi / 2, 60.0, 14.0, 28.0,
                   M((0.58, 0.52, 0.46), (0.7, 0.68, 0.64), "bricks", 0.7), roof_color=(0.3, 0.3, 0.3))


def plaza(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.62, 0.60, 0.57), (0.46, 0.44, 0.42), "tiles", 1.5))
    b.cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 0.01), 13.0, M((0.40, 0.39, 0.42), (0.3, 0.3, 0.32), "tiles", 0.75))
    b.cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 0.012), 11.5, M((0.70, 0.66, 0.58), (0.55, 0.52, 0.47), "tiles", 1.5))
    a0 = rng.uniform(0, 2 * np.pi)
    fx, fy = (R + 6.0) * np.cos(a0), (R + 6.0) * np.sin(a0)
    stone = M((0.80, 0.78, 0.72), (0.68, 0.66, 0.6), "noise", 0.4)
    water = M((0.30, 0.55, 0.70), (0.55, 0.75, 0.85), "noise", 0.5, gloss=0.8)
    b.cylinder((fx, fy, 0.0), (fx, fy, 0.6), 4.5, stone)
    b.cylinder((fx, fy, 0.0), (fx, fy, 0.62), 4.1, water)
    b.cylinder((fx, fy, 0.0), (fx, fy, 2.2), 0.45, stone)
    b.cone((fx, fy, 2.0), (fx, fy, 2.5), 0.5, 1.8, stone)
    b.capsule((fx, fy, 2.5), (fx, fy, 4.2), 0.22, M((0.85, 0.92, 0.98), gloss=0.6))
    for k in range(9):  # glass-and-stone office facades around the square
        a = a0 + 2 * np.pi * (k + 0.5) / 9 + rng.uniform(-0.1, 0.1)
        r = rng.uniform(48, 62)
        x, y = r * np.cos(a), r * np.sin(a)
        yaw = P.facing_origin(x, y)
        w, d = rng.uniform(22, 30), 16.0
        x, y = P.push_out(x, y, d / 2, w / 2, yaw, R + 14.0)
        h = min(rng.uniform(18, 48), P.sun_cap(x, y, spec.lighting.sun_elevation_deg, spec.lighting.sun_azimuth_deg))
        wall = M(P.jitter(rng, (0.78, 0.78, 0.80), 0.05), (0.6, 0.6, 0.62), "tiles", 3.2)
        P.building(b, x, y, yaw, w, d, h, wall, glass=(0.22, 0.38, 0.52), floor_h=3.6, roof_color=(0.45, 0.45, 0.47))
    for k in range(5):  # flag poles on an arc
        a = a0 + np.pi + (k - 2) * 0.13
        P.flag_pole(b, (R + 2.0) * np.cos(a), (R + 2.0) * np.sin(a), AWNINGS[k], 9.0, yaw=a + np.pi / 2)
    for x, y in P.ring(rng, 8, R + 2.0, R + 6.0):
        P.planter(b, x, y, rng, 1.1)
    for x, y in P.ring(rng, 6, R + 1.0, R + 3.0):
        P.bench(b, x, y, P.facing_origin(x, y), color=(0.35, 0.28, 0.22))
    for x, y in P.ring(rng, 10, R + 1.0, R + 10.0):
        P.lamp_post(b, x, y, 5.0, color=(0.2, 0.2, 0.22))
    for x, y in P.ring(rng, 6, R + 10.0, R + 16.0):
        P.tree(b, x, y, rng, height=7.0)


def warehouse(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.56, 0.56, 0.54), (0.47, 0.47, 0.45), "noise", 2.5))
    yellow = M(YELLOW)
    for s in (1.0, -1.0):
        b.box((0.0, s * 5.0, 0.004), (44.0, 0.1, 0.004), yellow)
        b.box((s * 15.0, 0.0, 0.004), (0.1, 44.0, 0.004), yellow)
    for x, y in ((rng.uniform(-8, 8), rng.choice([-1, 1]) * 9.0), (rng.choice([-1, 1]) * 20.0, rng.uniform(-8, 8))):
        b.box((x, y, 0.005), (2.5, 1.6, 0.005), M(YELLOW, (0.1, 0.1, 0.1), "stripes", 0.35), yaw=0.6)
    hall = 46.0
    wall = M((0.66, 0.70, 0.74), (0.55, 0.58, 0.62), "stripes", 0.12)
    for k in range(4):
        a = k * np.pi / 2
        x, y = P.local(0.0, 0.0, a, hall, 0.0)
        b.box((x, y, 7.0), (0.5, hall + 0.5, 7.0), wall, yaw=a)
        wx, wy = P.local(0.0, 0.0, a, hall - 0.52, 0.0)
        b.box((wx, wy, 11.0), (0.02, hall - 2.0, 1.2), M((0.8, 0.85, 0.9), (0.5, 0.55, 0.6), "tiles", 2.4, gloss=0.5), yaw=a)
    roof = M((0.40, 0.42, 0.45), (0.3, 0.32, 0.35), "stripes", 0.4)
    for y in np.arange(-hall + 4.0, hall, 13.0):  # roof panels with skylight gaps between them
        b.box((0.0, y + 4.5, 14.3), (hall, 4.5, 0.25), roof)
    beam = M((0.22, 0.32, 0.55))
    for x in np.arange(-36.0, 37.0, 18.0):
        for y in np.arange(-36.0, 37.0, 18.0):
            if np.hypot(x, y) < R + 1.0:
                continue
            b.box((x, y, 7.0), (0.3, 0.3, 7.0), beam)
            b.box((x, y, 0.6), (0.36, 0.36, 0.6), M(YELLOW, (0.1, 0.1, 0.1), "stripes", 0.15))
    blue, orange = M((0.15, 0.30, 0.62), gloss=0.3), M((0.95, 0.45, 0.08), gloss=0.3)
    goods = [(0.62, 0.46, 0.26), (0.30, 0.45, 0.65), (0.75, 0.72, 0.62), (0.55, 0.20, 0.15)]
    a0 = rng.uniform(0, np.pi / 2)
    for k in range(10):  # pallet racking in rows facing the centre
        a = a0 + 2 * np.pi * k / 10
        r = rng.uniform(R + 4.0, R + 12.0)
        x, y = r * np.cos(a), r * np.sin(a)
        yaw = P.facing_origin(x, y)
        x, y = P.push_out(x, y, 0.8, 5.0, yaw, R + 0.5)
        for dy in (-4.6, 4.6):
            px, py = P.local(x, y, yaw, 0.0, dy)
            b.box((px, py, 3.0), (0.6, 0.08, 3.0), blue, yaw=yaw)
        for z in (0.15, 2.1, 4.1):
            b.box((x, y, z), (0.6, 4.6, 0.08), orange, yaw=yaw)
            if z < 5.0:
                c = goods[int(rng.integers(0, 4))]
                b.box((x, y, z + 0.78), (0.55, rng.uniform(2.5, 4.3), 0.7), M(c, P.shade(c, 0.7), "tiles", 0.6), yaw=yaw)
    for x, y in P.ring(rng, 12, R + 1.5, 40.0):
        yaw = rng.uniform(0, np.pi)
        x, y = P.push_out(x, y, 1.2, 1.2, yaw, R + 0.3)
        for j in range(int(rng.integers(1, 4))):
            P.crate(b, x, y, 1.4 * j, 1.4, yaw + 0.1 * j)
    for x, y in P.ring(rng, 4, 8.0, R - 3.0):  # empty pallets lie low on the floor
        b.box((x, y, 0.07), (0.6, 0.5, 0.07), M((0.7, 0.55, 0.35), (0.5, 0.38, 0.22), "stripes", 0.12), yaw=rng.uniform(0, 3))
    fx, fy = P.ring(rng, 1, R + 3.0, R + 5.0)[0]
    fyaw = P.facing_origin(fx, fy) + 0.5
    P.car(b, fx, fy, fyaw, YELLOW)
    mx, my = P.local(fx, fy, fyaw, 2.4, 0.0)
    b.box((mx, my, 1.8), (0.1, 0.5, 1.8), M((0.2, 0.2, 0.2)), yaw=fyaw)
    tx, ty = P.local(fx, fy, fyaw, 3.1, 0.0)
    b.box((tx, ty, 0.15), (0.6, 0.45, 0.04), M((0.25, 0.25, 0.25)), yaw=fyaw)


def parking_lot(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.27, 0.27, 0.28), (0.20, 0.20, 0.21), "noise", 0.9))
    line = M(WHITE)
    slots = []
    for y0 in (-22.0, -6.0, 10.0, 26.0):  # each row: a spine and bays either side
        b.box((0.0, y0, 0.004), (60.0, 0.07, 0.004), line)
        for x in np.arange(-14.3, 14.4, 2.6):
            b.box((x, y0, 0.004), (0.07, 5.0, 0.004), line)
        for x in np.arange(-44.2, 44.3, 2.6):
            for side in (1.0, -1.0):
                cx, cy = x + 1.3, y0 + side * 2.5
                if P.rect_distance(cx, cy, 1.0, 2.3, 0.0) >= R + 0.3:
                    slots.append((cx, cy, side))
    for i in np.sort(rng.choice(len(slots), size=min(44, len(slots)), replace=False)):
        cx, cy, side = slots[i]
        P.car(b, cx, cy, np.pi / 2 if side > 0 else -np.pi / 2, CARS[int(rng.integers(0, len(CARS)))],
              wheels=abs(cx) < 34.0)
    for x in (-40.0, -14.0, 14.0, 40.0):
        for y0 in (-14.0, 18.0):
            if np.hypot(x, y0) > R + 1.0:
                P.street_light(b, x, y0, 0.0, 9.0)
    for y0 in (-14.0, 18.0):  # planted islands between rows: low kerbs
        b.box((rng.uniform(-6, 6), y0, 0.12), (9.0, 1.0, 0.12), M((0.3, 0.5, 0.2), (0.24, 0.4, 0.15), "grass", 0.8))
    for x, y in P.ring(rng, 16, 50.0, 62.0):  # a tree belt round the lot
        P.tree(b, x, y, rng, height=rng.uniform(7.0, 10.0))
    for x, y in P.ring(rng, 5, R + 4.0, R + 12.0):  # trolley shelters
        yaw = P.facing_origin(x, y)
        x, y = P.push_out(x, y, 1.2, 3.0, yaw, R + 0.5)
        b.box((x, y, 2.3), (1.3, 3.2, 0.06), M((0.8, 0.82, 0.85), gloss=0.4), yaw=yaw)
        for dy in (-3.0, 3.0):
            px, py = P.local(x, y, yaw, 0.0, dy)
            b.box((px, py, 1.15), (1.2, 0.05, 1.15), M((0.6, 0.7, 0.8), gloss=0.6), yaw=yaw)
    a = rng.uniform(0, 2 * np.pi)
    sx, sy = 80 * np.cos(a), 80 * np.sin(a)
    P.building(b, sx, sy, P.facing_origin(sx, sy), 70.0, 40.0, 11.0, M((0.82, 0.80, 0.74), (0.7, 0.68, 0.64), "tiles", 2.0),
               shop=(0.85, 0.15, 0.12), roof_color=(0.5, 0.5, 0.5))


def courtyard(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.60, 0.57, 0.52), (0.36, 0.34, 0.31), "tiles", 0.4))
    b.cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 0.01), 4.0, M((0.45, 0.42, 0.38), (0.3, 0.28, 0.26), "tiles", 0.4))
    wall = P.jitter(rng, (0.82, 0.74, 0.60), 0.05)
    d = R + 6.0
    for k in range(4):
        a = k * np.pi / 2
        x, y = P.local(0.0, 0.0, a, d, 0.0)
        P.arcade_wall(b, x, y, a + np.pi, 2 * d, 9.0, wall, arches=9)
        rx, ry = P.local(0.0, 0.0, a, d + 0.4, 0.0)
        aa = 1.6 / np.sqrt(2.0)
        b.box((rx, ry, 9.0), (aa, d + 1.0, aa), M((0.70, 0.32, 0.20), (0.55, 0.24, 0.16), "stripes", 0.25),
              rot=P.yaw_rot(a) @ P.pitch_rot(np.pi / 4))
    for sx in (1.0, -1.0):  # corner towers
        for sy in (1.0, -1.0):
            b.box((sx * d, sy * d, 7.5), (2.6, 2.6, 7.5), M(P.shade(wall, 0.95), P.shade(wall, 0.8), "bricks", 0.9))
            b.cone((sx * d, sy * d, 15.0), (sx * d, sy * d, 19.0), 3.4, 0.0, M((0.70, 0.32, 0.20), (0.55, 0.24, 0.16), "stripes", 0.3))
    pot = M((0.72, 0.38, 0.22))
    for k in range(12):
        a = 2 * np.pi * (k + 0.5) / 12 + rng.uniform(-0.1, 0.1)
        r = min(d - 1.6, (d - 1.6) / max(abs(np.cos(a)), abs(np.sin(a))) - 0.4)
        x, y = r * np.cos(a), r * np.sin(a)
        x, y = P.push_out(x, y, 0.6, 0.6, 0.0, R + 0.3)
        b.cylinder((x, y, 0.0), (x, y, 0.8), 0.55, pot)
        P.bush(b, x, y, rng, 0.9, flowers=[(0.9, 0.2, 0.3), (0.95, 0.85, 0.3), (0.7, 0.4, 0.9)][k % 3], z=0.6)
    a = rng.integers(0, 4) * np.pi / 2 + np.pi / 4
    wx, wy = (R + 2.2) * np.cos(a), (R + 2.2) * np.sin(a)
    stone = M((0.62, 0.60, 0.56), (0.45, 0.44, 0.41), "bricks", 0.5)
    b.cylinder((wx, wy, 0.0), (wx, wy, 0.9), 1.1, stone)
    b.cylinder((wx, wy, 0.0), (wx, wy, 0.92), 0.85, M((0.05, 0.08, 0.1), gloss=0.6))
    for s in (1.0, -1.0):
        px, py = P.local(wx, wy, a, 0.0, s * 1.0)
        b.box((px, py, 1.4), (0.09, 0.09, 1.4), M((0.4, 0.28, 0.16)))
    b.cone((wx, wy, 2.7), (wx, wy, 3.6), 1.7, 0.0, M((0.70, 0.32, 0.20), (0.55, 0.24, 0.16), "stripes", 0.2))
    bx, by = P.local(0.0, 0.0, a + np.pi, d + 14.0, 0.0)
    b.box((bx, by, 14.0), (3.5, 3.5, 14.0), M(P.shade(wall, 0.9), P.shade(wall, 0.75), "bricks", 0.9))
    b.cone((bx, by, 28.0), (bx, by, 34.0), 4.2, 0.0, M((0.3, 0.35, 0.4)))
    for k in range(6):  # rooftops of the town beyond the walls
        a2 = 2 * np.pi * k / 6 + rng.uniform(0, 0.6)
        r = rng.uniform(d + 25, d + 45)
        x, y = r * np.cos(a2), r * np.sin(a2)
        P.gable_house(b, x, y, P.facing_origin(x, y), 14.0, 10.0, rng.uniform(10, 14), (0.85, 0.8, 0.7), (0.68, 0.30, 0.18))


def rooftop(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    street = -32.0
    b.plane(M((0.30, 0.30, 0.31), (0.24, 0.24, 0.25), "noise", 2.0), height=street)
    half = R + 6.0
    b.box((0.0, 0.0, street / 2), (half, half, -street / 2), M((0.42, 0.42, 0.44), (0.34, 0.34, 0.36), "noise", 1.5))
    b.box((0.0, 0.0, 0.005), (half - 1.0, half - 1.0, 0.005), M((0.46, 0.46, 0.48), (0.38, 0.38, 0.4), "tiles", 2.0))
    parapet = M((0.62, 0.56, 0.50), (0.5, 0.46, 0.42), "bricks", 0.6)
    rail = M((0.3, 0.3, 0.32), gloss=0.4)
    for k in range(4):
        a = k * np.pi / 2
        x, y = P.local(0.0, 0.0, a, half - 0.3, 0.0)
        b.box((x, y, 0.55), (0.3, half, 0.55), parapet, yaw=a)
        rx, ry = P.local(0.0, 0.0, a, half - 0.3, 0.0)
        b.box((rx, ry, 1.6), (0.04, half, 0.04), rail, yaw=a)
    steel = M((0.72, 0.73, 0.75), (0.6, 0.61, 0.63), "stripes", 0.08, gloss=0.3)
    for x, y in P.ring(rng, 9, R + 1.0, R + 4.0):  # air-conditioning units with fans
        yaw = rng.uniform(0, np.pi)
        x, y = P.push_out(x, y, 1.2, 0.9, yaw, R + 0.3)
        b.box((x, y, 0.7), (1.1, 0.8, 0.7), steel, yaw=yaw)
        b.cylinder((x, y, 1.4), (x, y, 1.5), 0.6, M((0.15, 0.15, 0.16)))
    for sx, sy in ((1, 1), (-1, -1), (1, -1)):  # water tanks on stilts in the corners
        x, y = sx * (half - 4.0), sy * (half - 4.0)
        if rng.uniform() < 0.2:
            continue
        wood = M((0.55, 0.38, 0.22), (0.42, 0.28, 0.16), "stripes", 0.3)
        for dx, dy in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
            b.box((x + 1.3 * dx, y + 1.3 * dy, 1.5), (0.1, 0.1, 1.5), M((0.2, 0.2, 0.2)))
        b.cylinder((x, y, 3.0), (x, y, 7.0), 2.0, wood)
        b.cone((x, y, 7.0), (x, y, 8.2), 2.2, 0.1, M((0.3, 0.3, 0.32)))
    a = rng.uniform(0, 2 * np.pi)
    hx, hy = P.push_out((R + 2.0) * np.cos(a), (R + 2.0) * np.sin(a), 2.0, 1.8, a, R + 0.3)
    b.box((hx, hy, 1.4), (2.0, 1.8, 1.4), M((0.7, 0.66, 0.6)), yaw=a)
    dx_, dy_ = P.local(hx, hy, a, -2.02, 0.0)
    b.box((dx_, dy_, 1.05), (0.03, 0.5, 1.05), M((0.45, 0.2, 0.15)), yaw=a)
    for x, y in P.ring(rng, 5, R + 1.0, R + 5.0):
        b.cylinder((x, y, 0.0), (x, y, rng.uniform(1.2, 2.2)), 0.18, M((0.6, 0.6, 0.62), gloss=0.5))
    for k in range(10):  # neighbouring roofs, some below, some above this one
        a2 = 2 * np.pi * (k + rng.uniform(0, 1)) / 10
        r = rng.uniform(half + 16, half + 34)
        x, y = r * np.cos(a2), r * np.sin(a2)
        top = rng.uniform(-12.0, 9.0)
        c = BRICKS[k % len(BRICKS)]
        b.box((x, y, 0.5 * (street + top)), (9.0, 9.0, 0.5 * (top - street)), M(c, (0.3, 0.35, 0.45), "stripes", 1.6), yaw=a2)
        b.box((x, y, top + 0.3), (9.2, 9.2, 0.3), M((0.35, 0.35, 0.36)), yaw=a2)
    for k in range(22):  # the skyline
        a2 = 2 * np.pi * (k + rng.uniform(0, 1)) / 22
        r = rng.uniform(90, 200)
        c = P.jitter(rng, (0.6, 0.62, 0.66), 0.15)
        P.tower_block(b, r * np.cos(a2), r * np.sin(a2), rng.uniform(14, 26), rng.uniform(14, 26), rng.uniform(15, 90), c,
                      base=street)


def harbour(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    sea = -0.9
    b.plane(M((0.10, 0.32, 0.42), (0.05, 0.22, 0.32), "noise", 2.5), height=sea)
    edge = R + 1.0
    planks = M((0.54, 0.44, 0.32), (0.42, 0.34, 0.24), "bricks", 1.8)
    b.box((0.0, edge - 300.0, sea / 2), (400.0, 300.0, -sea / 2 + 0.0), planks)
    b.box((0.0, edge - 0.2, sea / 2), (400.0, 0.25, -sea / 2 + 0.02), M((0.45, 0.44, 0.42), (0.35, 0.34, 0.32), "noise", 0.6))
    iron = M((0.12, 0.12, 0.13), gloss=0.3)
    for x in (-64.0, -48.0, -32.0, 32.0, 48.0, 64.0):  # quayside lamps and cargo beyond the clear disc
        P.lamp_post(b, x, edge - 1.5, 5.0, color=(0.15, 0.2, 0.3))
        for j in range(int(rng.integers(1, 4))):
            P.crate(b, x + 5.0 + 1.3 * j, edge - 4.0 - rng.uniform(0, 2), 0.0, 1.2, rng.uniform(0, 0.3))
        P.barrel(b, x - 4.0, edge - 3.0, (0.2, 0.35, 0.6))
    for x in np.arange(-60.0, 61.0, 10.0):  # bollards along the quay edge
        b.cylinder((x, edge - 0.6, 0.0), (x, edge - 0.6, 0.6), 0.22, iron)
        b.sphere((x, edge - 0.6, 0.62), 0.26, iron)
    hulls = [(0.85, 0.15, 0.12), (0.12, 0.25, 0.55), (0.95, 0.95, 0.93), (0.15, 0.45, 0.3), (0.9, 0.7, 0.15)]
    for k, x in enumerate(np.sort(rng.uniform(-55, 55, 6))):  # moored boats
        y = edge + rng.uniform(4.0, 8.0)
        length = rng.uniform(7, 12)
        c = hulls[k % len(hulls)]
        b.ellipsoid((x, y, sea + 0.2), (length / 2, 1.7, 1.4), M(c, (0.95, 0.95, 0.95), "stripes", 0.6), yaw=rng.uniform(-0.05, 0.05))
        b.box((x - 0.5, y, sea + 2.2), (1.6, 1.1, 0.8), M((0.95, 0.95, 0.93)))
        b.cylinder((x + 0.8, y, sea + 1.4), (x + 0.8, y, sea + rng.uniform(8, 12)), 0.09, M((0.85, 0.85, 0.85)))
    colours = [(0.75, 0.18, 0.12), (0.12, 0.35, 0.65), (0.15, 0.55, 0.35), (0.85, 0.55, 0.12), (0.55, 0.55, 0.58)]
    for k in range(8):  # container stacks on the land side
        x = -60.0 + 15.0 * k + rng.uniform(-2, 2)
        y = -(R + 6.0) - rng.uniform(0, 8)
        x, y = P.push_out(x, y, 3.2, 1.4, 0.0, R + 0.5)
        for j in range(int(rng.integers(1, 4))):
            P.container(b, x, y, 2.6 * j, 0.0, colours[int(rng.integers(0, 5))])
    for s in (1.0, -1.0):  # sheds at both ends of the quay
        x, y = s * rng.uniform(38, 46), rng.uniform(-8, 8)
        x, y = P.push_out(x, y, 7.0, 12.0, 0.0, R + 1.0)
        P.building(b, x, y, np.pi if s > 0 else 0.0, 20.0, 14.0, 8.0,
                   M((0.55, 0.60, 0.62), (0.45, 0.5, 0.52), "stripes", 0.15), roof="gable", roof_color=(0.35, 0.25, 0.22))
    gx = rng.choice([-1.0, 1.0]) * rng.uniform(48, 60)  # gantry crane at the quay edge
    red = M((0.80, 0.25, 0.12), gloss=0.3)
    for dx in (-5.0, 5.0):
        for y in (edge - 3.0, edge + 8.0):
            b.box((gx + dx, y, 10.0 + sea / 2), (0.35, 0.35, 10.0 - sea / 2), red)
    b.box((gx, edge + 2.5, 20.0), (5.5, 18.0, 0.8), red)
    px = rng.uniform(55, 75)  # pier with the lighthouse at its end
    b.box((px, edge + 40.0, sea / 2), (3.0, 40.0, -sea / 2), planks)
    ly = edge + 78.0
    b.cone((px, ly, 0.0), (px, ly, 16.0), 2.6, 1.6, M((0.92, 0.92, 0.90), (0.80, 0.12, 0.10), "stripes", 2.0))
    b.cylinder((px, ly, 16.0), (px, ly, 16.4), 2.4, M((0.2, 0.2, 0.2)))
    b.cylinder((px, ly, 16.4), (px, ly, 18.2), 1.2, M((0.95, 0.92, 0.70), gloss=0.8))
    b.cone((px, ly, 18.2), (px, ly, 19.8), 1.6, 0.1, M((0.80, 0.12, 0.10)))
    for _ in range(4):  # the far shore
        P.hill(b, rng.uniform(-250, 250), edge + rng.uniform(260, 360), rng.uniform(80, 120), 40, rng.uniform(20, 45),
               (0.36, 0.45, 0.32), (0.45, 0.5, 0.38))
    for k in range(6):
        x = -90.0 + 36.0 * k + rng.uniform(-4, 4)
        P.gable_house(b, x, -(R + 30.0) - rng.uniform(0, 10), np.pi / 2, 12.0, 9.0, rng.uniform(8, 12),
                      P.jitter(rng, (0.85, 0.82, 0.74), 0.1), (0.55, 0.25, 0.18))


def stadium(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    b.plane(M((0.30, 0.60, 0.23), (0.24, 0.50, 0.19), "stripes", 5.25))
    chalk = M((0.95, 0.95, 0.93))
    L, W = 52.5, 34.0
    for s in (1.0, -1.0):
        b.box((0.0, s * W, 0.006), (L, 0.06, 0.006), chalk)
        b.box((s * L, 0.0, 0.006), (0.06, W, 0.006), chalk)
        px = s * (L - 16.5)
        b.box((px, 0.0, 0.006), (0.06, 20.15, 0.006), chalk)
        for sy in (1.0, -1.0):
            b.box((s * (L - 8.25), sy * 20.15, 0.006), (8.25, 0.06, 0.006), chalk)
    b.box((0.0, 0.0, 0.006), (0.06, W, 0.006), chalk)
    b.cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 0.007), 9.15, chalk)
    b.cylinder((0.0, 0.0, 0.0), (0.0, 0.0, 0.008), 9.03, M((0.30, 0.60, 0.23), (0.24, 0.50, 0.19), "stripes", 5.25))
    post = M((0.97, 0.97, 0.97), gloss=0.4)
    net = M((0.9, 0.9, 0.9), (0.25, 0.45, 0.2), "checker", 0.15)
    for s in (1.0, -1.0):
        for sy in (1.0, -1.0):
            b.cylinder((s * L, sy * 3.66, 0.0), (s * L, sy * 3.66, 2.44), 0.06, post)
        b.cylinder((s * L, -3.72, 2.44), (s * L, 3.72, 2.44), 0.06, post)
        b.box((s * (L + 1.0), 0.0, 1.2), (0.02, 3.66, 1.2), net)
    ads = [(0.85, 0.1, 0.1), (0.1, 0.3, 0.8), (0.95, 0.8, 0.1), (0.1, 0.6, 0.3)]
    for s in (1.0, -1.0):
        for k in range(6):
            x = -45.0 + 18.0 * k
            b.box((x, s * (W + 3.0), 0.5), (8.8, 0.1, 0.5), M(ads[(k + (s > 0)) % 4], WHITE, "stripes", 0.25))
    seats = [(0.75, 0.12, 0.12), (0.85, 0.85, 0.85)] if rng.uniform() < 0.5 else [(0.12, 0.25, 0.65), (0.85, 0.85, 0.85)]
    for a, half_len, dist in ((0.0, 44.0, L + 12.0), (np.pi, 44.0, L + 12.0),
                              (np.pi / 2, 62.0, W + 10.0), (-np.pi / 2, 62.0, W + 10.0)):
        for t in range(5):  # tiers stepping up and back
            x, y = P.local(0.0, 0.0, a, dist + 2.2 * t, 0.0)
            b.box((x, y, 1.2 + 1.6 * t), (1.2, half_len, 1.2 + 1.6 * t),
                  M(seats[t % 2], P.shade(seats[t % 2], 0.6), "stripes", 0.4), yaw=a)
        x, y = P.local(0.0, 0.0, a, dist + 13.0, 0.0)
        b.box((x, y, 7.5), (1.5, half_len + 2.0, 7.5), M((0.55, 0.55, 0.58), (0.45, 0.45, 0.48), "tiles", 2.0), yaw=a)
        rx, ry = P.local(0.0, 0.0, a, dist + 6.0, 0.0)
        b.box((rx, ry, 15.5), (8.0, half_len + 2.0, 0.3), M((0.8, 0.8, 0.82), gloss=0.3), yaw=a)
    for sx in (1.0, -1.0):
        for sy in (1.0, -1.0):
            x, y = sx * (L + 14.0), sy * (W + 14.0)
            b.cylinder((x, y, 0.0), (x, y, 34.0), 0.5, M((0.6, 0.6, 0.62)))
            b.box((x, y, 35.0), (0.4, 3.0, 1.6), M((1.0, 0.98, 0.85), (0.6, 0.6, 0.6), "tiles", 0.8, gloss=0.8),
                  yaw=float(np.arctan2(-y, -x)))
    for k in range(8):
        a = 2 * np.pi * k / 8 + rng.uniform(0, 0.5)
        P.tower_block(b, 170 * np.cos(a), 170 * np.sin(a), 20, 20, rng.uniform(20, 45), (0.5, 0.5, 0.55))


def village_square(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.64, 0.57, 0.48), (0.42, 0.37, 0.31), "tiles", 0.32))
    walls = [(0.93, 0.90, 0.82), (0.90, 0.80, 0.62), (0.85, 0.88, 0.80), (0.95, 0.85, 0.78), (0.82, 0.84, 0.90)]
    roofs = [(0.62, 0.28, 0.17), (0.45, 0.22, 0.15), (0.35, 0.32, 0.35)]
    a0 = rng.uniform(0, 2 * np.pi)
    tower_k = int(rng.integers(0, 11))
    for k in range(11):
        a = a0 + 2 * np.pi * k / 11
        r = R + rng.uniform(6.0, 9.0)
        x, y = r * np.cos(a), r * np.sin(a)
        yaw = P.facing_origin(x, y)
        if k == tower_k:  # the clock tower takes one house's place
            x, y = P.push_out(x, y, 3.0, 3.0, yaw, R + 1.0)
            stone = M((0.72, 0.68, 0.60), (0.55, 0.52, 0.46), "bricks", 0.9)
            b.box((x, y, 11.0), (3.0, 3.0, 11.0), stone, yaw=yaw)
            fx, fy = P.local(x, y, yaw, 3.05, 0.0)
            bx, by = P.local(x, y, yaw, -3.05, 0.0)
            b.cylinder((bx, by, 17.0), (fx, fy, 17.0), 1.6, M((0.96, 0.95, 0.9)))
            hx, hy = P.local(x, y, yaw, 3.1, 0.0)
            b.box((hx, hy, 17.5), (0.03, 0.08, 0.6), M((0.1, 0.1, 0.1)), yaw=yaw)
            b.box((hx, hy, 17.0), (0.03, 0.45, 0.07), M((0.1, 0.1, 0.1)), yaw=yaw)
            b.box((x, y, 22.4), (3.3, 3.3, 0.4), stone, yaw=yaw)
            b.cone((x, y, 22.8), (x, y, 30.0), 3.4, 0.0, M((0.25, 0.42, 0.38), (0.2, 0.33, 0.3), "noise", 1.0))
            continue
        w, d, h = rng.uniform(8, 12), rng.uniform(7, 9), rng.uniform(6.5, 9.0)
        x, y = P.push_out(x, y, d / 2 + 0.5, w / 2 + 0.5, yaw, R + 0.5)  # roof overhang included
        P.gable_house(b, x, y, yaw, w, d, h, walls[k % 5], roofs[k % 3], timber=(0.25, 0.16, 0.10))
    for k in range(3):  # market stalls with striped awnings
        a = a0 + np.pi / 11 + 2 * np.pi * (k * 3 + 1) / 11
        x, y = (R + 2.5) * np.cos(a), (R + 2.5) * np.sin(a)
        yaw = P.facing_origin(x, y)
        x, y = P.push_out(x, y, 1.2, 2.0, yaw, R + 0.3)
        wood = M((0.5, 0.34, 0.2))
        b.box((x, y, 0.85), (0.8, 1.8, 0.05), wood, yaw=yaw)
        b.box((x, y, 0.42), (0.7, 1.7, 0.4), M((0.45, 0.3, 0.18), (0.35, 0.24, 0.14), "stripes", 0.15), yaw=yaw)
        for dx in (-0.8, 0.8):
            for dy in (-1.8, 1.8):
                px, py = P.local(x, y, yaw, dx, dy)
                b.box((px, py, 1.2), (0.05, 0.05, 1.2), wood, yaw=yaw)
        c = AWNINGS[k]
        b.box((x, y, 2.45), (1.0, 2.0, 0.08), M(c, WHITE, "checker", 0.5), yaw=yaw)
        for j, fruit in enumerate(((0.9, 0.2, 0.1), (0.95, 0.7, 0.1), (0.3, 0.6, 0.2))):
            px, py = P.local(x, y, yaw, 0.0, -1.1 + 1.1 * j)
            b.ellipsoid((px, py, 0.98), (0.45, 0.45, 0.15), M(fruit, P.shade(fruit, 0.7), "noise", 0.08), yaw=yaw)
    for x, y in P.ring(rng, 6, R + 1.0, R + 3.5):
        P.lamp_post(b, x, y, 3.8, color=(0.1, 0.1, 0.1), globe=(1.0, 0.9, 0.7))
    for x, y in P.ring(rng, 4, R + 1.0, R + 3.0):
        P.bench(b, x, y, P.facing_origin(x, y))
    for x, y in P.ring(rng, 10, R + 22.0, 70.0):
        P.tree(b, x, y, rng, height=9.0)
    for k in range(4):
        a = a0 + 2 * np.pi * k / 4
        P.hill(b, 200 * np.cos(a), 200 * np.sin(a), 100, 70, 30, (0.35, 0.5, 0.25), yaw=a)


RECIPES: dict[str, Recipe] = {
    "city_street": city_street, "plaza": plaza, "warehouse": warehouse, "parking_lot": parking_lot,
    "courtyard": courtyard, "rooftop": rooftop, "harbour": harbour, "stadium": stadium,
    "village_square": village_square,
}
ATMOSPHERES: dict[str, Atmosphere] = {
    "city_street": Atmosphere(fog=0.005),
    "plaza": Atmosphere(fog=0.004),
    "warehouse": Atmosphere(fog=0.008, sky_top=(0.85, 0.87, 0.9), sky_horizon=(0.72, 0.74, 0.77)),
    "parking_lot": Atmosphere(fog=0.004),
    "courtyard": Atmosphere(fog=0.003),
    "rooftop": Atmosphere(fog=0.005),
    "harbour": Atmosphere(fog=0.005, sky_horizon=(0.78, 0.84, 0.90)),
    "stadium": Atmosphere(fog=0.003, ambient_tint=(1.35, 1.35, 1.25)),  # floodlights on at dusk
    "village_square": Atmosphere(fog=0.004),
}
