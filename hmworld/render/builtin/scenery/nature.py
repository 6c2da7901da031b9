"""Recipes for the open-country scenes: park, desert, snowfield, forest clearing, beach,
farmyard, canyon and garden."""

from __future__ import annotations

import numpy as np

from hmworld.catalog.scenes import SceneSpec
from hmworld.render.builtin.primitives import PrimitiveBuilder
from hmworld.render.builtin.scenery import props as P
from hmworld.render.builtin.scenery.base import Atmosphere, Recipe
from hmworld.render.builtin.scenery.props import M

Rng = np.random.Generator


def _towers(b: PrimitiveBuilder, rng: Rng, n: int, r0: float, r1: float, arc: tuple[float, float] | None = None) -> None:
    """A distant skyline of tower blocks."""
    for k in range(n):
        a = rng.uniform(*arc) if arc else 2 * np.pi * (k + rng.uniform(0, 1)) / n
        r = rng.uniform(r0, r1)
        c = P.jitter(rng, (0.62, 0.64, 0.68), 0.12)
        P.tower_block(b, r * np.cos(a), r * np.sin(a), rng.uniform(12, 24), rng.uniform(12, 24),
                      rng.uniform(18, 60), c)


def _path(b: PrimitiveBuilder, rng: Rng, width: float, mat, length: float = 120.0, segments: int = 10,
          wiggle: float = 6.0, yaw: float = 0.0) -> None:
    """A winding flat path (segments of thin boxes) through the origin."""
    xs = np.linspace(-length / 2, length / 2, segments + 1)
    phase = rng.uniform(0, 2 * np.pi)
    ys = wiggle * np.sin(xs / length * 2.5 * np.pi + phase)
    ys -= np.interp(0.0, xs, ys)
    c, s = np.cos(yaw), np.sin(yaw)
    for k in range(segments):
        x0, y0, x1, y1 = xs[k], ys[k], xs[k + 1], ys[k + 1]
        seg = float(np.hypot(x1 - x0, y1 - y0))
        a = float(np.arctan2(y1 - y0, x1 - x0)) + yaw
        mx, my = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        b.box((c * mx - s * my, s * mx + c * my, 0.012), (seg / 2 + width / 2, width / 2, 0.012), mat, yaw=a)


def park(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.30, 0.50, 0.17), (0.22, 0.40, 0.12), "grass", 2.5))
    _path(b, rng, 2.6, M((0.66, 0.60, 0.50), (0.55, 0.50, 0.41), "noise", 0.35))
    for k in range(4):  # low flower beds beside the path
        x, y = P.ring(rng, 1, 11.0, 20.0)[0]
        colour = [(0.9, 0.25, 0.3), (0.95, 0.8, 0.2), (0.6, 0.3, 0.8), (0.95, 0.5, 0.2)][k]
        b.box((x, y, 0.1), (1.6, 0.9, 0.1), M((0.22, 0.42, 0.14), colour, "noise", 0.25), yaw=rng.uniform(0, 3))
    for x, y in P.ring(rng, 26, R + 4.5, 58.0):
        P.tree(b, x, y, rng, height=rng.uniform(6.0, 9.0), leaf=P.jitter(rng, (0.22, 0.45, 0.14), 0.15))
    for x, y in P.ring(rng, 8, R + 1.2, R + 4.0):
        P.bench(b, x, y, P.facing_origin(x, y), color=(0.50, 0.32, 0.16))
    for x, y in P.ring(rng, 10, R + 1.0, R + 6.0):
        P.lamp_post(b, x, y, 4.2)
    for x, y in P.ring(rng, 6, R + 8.0, R + 18.0):
        yaw = P.facing_origin(x, y) + np.pi / 2
        x, y = P.push_out(x, y, 4.0, 0.5, yaw, R + 0.5)
        P.hedge(b, x, y, 8.0, yaw, 1.3)
    for _ in range(3):
        a = rng.uniform(0, 2 * np.pi)
        P.hill(b, 160 * np.cos(a), 160 * np.sin(a), 70, 50, 14, (0.28, 0.45, 0.20), yaw=a)
    _towers(b, rng, 12, 110.0, 170.0)


def desert(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    sand = (0.86, 0.70, 0.47)
    b.plane(M(sand, (0.76, 0.58, 0.38), "noise", 3.0))
    for x, y in P.ring(rng, 10, 4.0, R - 2.0):  # pebbles and low ripples stay under 0.3 m
        b.ellipsoid((x, y, 0.0), (rng.uniform(0.2, 0.5), rng.uniform(0.15, 0.35), 0.18),
                    M((0.62, 0.42, 0.30), (0.5, 0.33, 0.24), "noise", 0.2), yaw=rng.uniform(0, 3))
    for x, y in P.ring(rng, 12, 45.0, 120.0):
        rx, ry = rng.uniform(18, 35), rng.uniform(10, 20)
        x, y = P.push_out(x, y, rx, ry, 0.0, R + 2.0)
        P.hill(b, x, y, rx, ry, rng.uniform(4, 10), P.jitter(rng, sand, 0.05), (0.8, 0.62, 0.42),
               yaw=rng.uniform(0, np.pi))
    for x, y in P.ring(rng, 14, R + 1.5, 55.0):
        P.cactus(b, x, y, rng, height=rng.uniform(2.5, 4.5))
    red = [(0.70, 0.33, 0.20), (0.78, 0.42, 0.26), (0.62, 0.28, 0.18), (0.82, 0.50, 0.32)]
    for k, (x, y) in enumerate(P.ring(rng, 7, 55.0, 130.0)):  # mesas and buttes with banded strata
        w, h = rng.uniform(8, 25), rng.uniform(12, 30)
        x, y = P.push_out(x, y, 1.25 * w, 1.25 * w, 0.0, R + 2.0)
        c1, c2 = red[k % 4], red[(k + 1) % 4]
        b.cone((x, y, 0.0), (x, y, h), 1.25 * w, w, M(c1, c2, "stripes", h / 7))
        b.cone((x, y, h), (x, y, h + 1.5), w, 0.9 * w, M(P.shade(c1, 0.9)))
    for x, y in P.ring(rng, 6, R + 4.0, 45.0):  # hoodoos
        h = rng.uniform(4, 8)
        b.capsule((x, y, 0.0), (x, y, h), rng.uniform(0.6, 1.1), M(red[1], red[2], "stripes", 0.6))
        b.ellipsoid((x, y, h + 0.5), (1.5, 1.3, 0.6), M(red[2]))
    for x, y in P.ring(rng, 6, R + 1.0, 40.0):
        P.rock(b, x, y, rng, 1.2, color=(0.66, 0.36, 0.22))
    for k in range(5):
        a = 2 * np.pi * k / 5 + rng.uniform(0, 1)
        P.mountain(b, 260 * np.cos(a), 260 * np.sin(a), rng.uniform(70, 110), rng.uniform(35, 60), (0.72, 0.48, 0.36))


def snowfield(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.93, 0.95, 0.98), (0.80, 0.85, 0.92), "noise", 4.0))
    for x, y in P.ring(rng, 8, 5.0, R - 3.0):  # soft drifts, under 0.3 m
        b.ellipsoid((x, y, 0.0), (rng.uniform(2, 4), rng.uniform(1, 2), 0.12), M((0.96, 0.97, 1.0), (0.9, 0.92, 0.96), "noise", 1.0),
                    yaw=rng.uniform(0, 3))
    centres = P.ring(rng, 7, R + 10.0, 55.0)
    for cx, cy in centres:  # clumps of frosted pines
        for _ in range(4):
            x, y = cx + rng.normal(0, 4), cy + rng.normal(0, 4)
            x, y = P.push_out(x, y, 2.6, 2.6, 0.0, R + 0.3)
            P.pine(b, x, y, rng, height=rng.uniform(7, 12), snow=True)
    for x, y in P.ring(rng, 12, R + 3.5, R + 10.0):
        P.pine(b, x, y, rng, height=rng.uniform(4, 7), snow=True)
    for x, y in P.ring(rng, 6, R + 2.0, 50.0):
        rx, ry = rng.uniform(3, 6), rng.uniform(2, 4)
        x, y = P.push_out(x, y, rx, rx, 0.0, R + 0.3)
        b.ellipsoid((x, y, 0.0), (rx, ry, rng.uniform(0.8, 1.6)),
                    M((0.96, 0.97, 1.0), (0.86, 0.89, 0.95), "noise", 1.5), yaw=rng.uniform(0, 3))
    for x, y in P.ring(rng, 5, R + 2.0, 45.0):
        P.rock(b, x, y, rng, 1.4, color=(0.35, 0.36, 0.40))
    for k in range(8):
        a = 2 * np.pi * k / 8 + rng.uniform(0, 0.5)
        d = rng.uniform(200, 320)
        P.mountain(b, d * np.cos(a), d * np.sin(a), rng.uniform(80, 130), rng.uniform(60, 110), (0.55, 0.58, 0.66),
                   cap=(0.95, 0.96, 0.99))


def forest_clearing(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.32, 0.26, 0.15), (0.22, 0.30, 0.13), "noise", 1.4))
    for x, y in P.ring(rng, 10, 3.0, R - 2.0):  # moss patches and small ferns on the clearing floor
        b.ellipsoid((x, y, 0.0), (rng.uniform(0.8, 2.0), rng.uniform(0.6, 1.4), 0.2), M((0.25, 0.45, 0.15), (0.18, 0.34, 0.1), "noise", 0.3),
                    yaw=rng.uniform(0, 3))
    for x, y in P.ring(rng, 36, R + 1.5, R + 12.0, jitter_angle=0.9):
        P.tall_tree(b, x, y, rng, height=rng.uniform(16.5, 24))  # crowns overhang the clearing above 7 m
    for x, y in P.ring(rng, 26, R + 12.0, 75.0, jitter_angle=0.9):
        P.tall_tree(b, x, y, rng, height=rng.uniform(16, 24), leaf=(0.12, 0.28, 0.10), masses=1)
    for x, y in P.ring(rng, 26, R + 2.5, R + 14.0):
        P.bush(b, x, y, rng, rng.uniform(1.2, 2.0), leaf=(0.18, 0.36, 0.12))
    for x, y in P.ring(rng, 24, R + 1.5, R + 8.0):
        s = rng.uniform(0.5, 0.9)
        b.cone((x, y, 0.0), (x, y, s), 0.9 * s + 0.3, 0.2, M((0.22, 0.48, 0.16), (0.14, 0.32, 0.10), "stripes", 0.1))
    for x, y in P.ring(rng, 8, R + 1.5, 40.0):
        P.rock(b, x, y, rng, 1.3, color=(0.42, 0.44, 0.38), color2=(0.25, 0.42, 0.18))
    for x, y in P.ring(rng, 5, R + 4.0, 36.0):
        a = rng.uniform(0, np.pi)
        length = rng.uniform(5, 9)
        dx, dy = 0.5 * length * np.cos(a), 0.5 * length * np.sin(a)
        x, y = P.push_out(x, y, length / 2 + 0.5, 0.5, a, R + 0.5)
        b.cylinder((x - dx, y - dy, 0.4), (x + dx, y + dy, 0.45), 0.42, M((0.36, 0.27, 0.18), (0.25, 0.38, 0.15), "noise", 0.6))


def beach(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    shore = spec.walk_half[1] + 6.0  # the sea starts past the walkable strip
    b.plane(M((0.93, 0.84, 0.64), (0.85, 0.74, 0.54), "noise", 1.5))
    b.box((0.0, shore - 2.5, 0.01), (800.0, 3.0, 0.01), M((0.74, 0.63, 0.46), (0.66, 0.56, 0.40), "noise", 1.0))
    b.box((0.0, shore + 0.2, 0.025), (800.0, 0.35, 0.025), M((0.96, 0.97, 0.98)))
    b.box((0.0, shore + 400.0, -0.2), (800.0, 400.0, 0.235), M((0.08, 0.55, 0.62), (0.04, 0.36, 0.55), "noise", 3.0, gloss=0.7))
    towel = [(0.9, 0.2, 0.25), (0.2, 0.5, 0.9), (0.98, 0.8, 0.15), (0.3, 0.75, 0.4)]
    for k, (x, y) in enumerate(P.ring(rng, 5, 6.0, 18.0)):
        if y < shore - 6.0:
            b.box((x, y, 0.01), (0.9, 0.45, 0.01), M(towel[k % 4], P.shade(towel[k % 4], 0.6), "stripes", 0.2), yaw=rng.uniform(0, 3))
    pts = P.ring(rng, 26, R + 3.0, 52.0)
    for x, y in pts[pts[:, 1] < shore - 2.0][:14]:
        P.palm(b, x, y, rng, height=rng.uniform(6, 9))
    brolly = [(0.95, 0.25, 0.2), (0.15, 0.45, 0.9), (0.98, 0.75, 0.1), (0.2, 0.7, 0.35), (0.9, 0.4, 0.7)]
    pts = P.ring(rng, 20, R + 2.0, R + 9.0)
    for k, (x, y) in enumerate(pts[pts[:, 1] < shore - 1.0][:10]):
        P.umbrella(b, x, y, brolly[k % 5])
    # lifeguard tower on stilts
    tx, ty = P.push_out(rng.uniform(-12, 12), shore - 4.0, 1.5, 1.5, 0.0, R + 0.5)
    stilt = M((0.95, 0.95, 0.92))
    for dx in (-1.0, 1.0):
        for dy in (-1.0, 1.0):
            b.cylinder((tx + dx, ty + dy, 0.0), (tx + 0.8 * dx, ty + 0.8 * dy, 2.6), 0.09, stilt)
    b.box((tx, ty, 2.7), (1.4, 1.4, 0.1), stilt)
    b.box((tx, ty, 3.6), (1.1, 1.1, 0.8), M((0.9, 0.2, 0.15), (0.95, 0.95, 0.95), "stripes", 0.4))
    b.cone((tx, ty, 4.4), (tx, ty, 5.3), 1.7, 0.1, M((0.95, 0.95, 0.92)))
    sails = [(0.98, 0.96, 0.9), (0.9, 0.3, 0.25), (0.3, 0.5, 0.9), (0.98, 0.8, 0.2)]
    for k in range(7):  # sailing boats dotted over the bay
        a = np.pi * (k + rng.uniform(0.1, 0.9)) / 7
        r = rng.uniform(45, 140)
        x, y = r * np.cos(a), shore + r * np.sin(a)
        b.ellipsoid((x, y, 0.0), (3.5, 1.2, 0.8), M((0.95, 0.95, 0.95)), yaw=rng.uniform(-0.3, 0.3))
        b.cone((x, y, 0.5), (x, y, 7.0), 2.0, 0.05, M(sails[k % 4]))
    jx = rng.choice([-1.0, 1.0]) * rng.uniform(30, 40)  # a wooden jetty on stilts
    deck = M((0.55, 0.42, 0.28), (0.45, 0.34, 0.22), "stripes", 0.3)
    b.box((jx, shore + 30.0, 1.1), (1.5, 31.0, 0.12), deck)
    for yy in np.arange(shore + 4.0, shore + 61.0, 8.0):
        for dx in (-1.3, 1.3):
            b.cylinder((jx + dx, yy, -0.2), (jx + dx, yy, 1.0), 0.14, M((0.35, 0.26, 0.18)))
    for x in np.arange(-90.0, 91.0, 7.5):  # a boulder breakwater across the bay
        y = shore + 34.0 + 6.0 * np.cos(x / 40.0) + rng.uniform(-1.5, 1.5)
        P.rock(b, x + rng.uniform(-2, 2), y, rng, rng.uniform(2.2, 3.2), color=(0.45, 0.43, 0.40))
    for k in range(8):  # buoys marking the swimming area
        x = -28.0 + 8.0 * k
        b.sphere((x, shore + 22.0 + rng.uniform(-2, 2), 0.2), 0.45, M((0.95, 0.25, 0.1) if k % 2 else (0.98, 0.85, 0.1), gloss=0.5))
    for _ in range(3):  # headlands
        x = rng.choice([-1.0, 1.0]) * rng.uniform(90, 180)
        P.hill(b, x, shore + rng.uniform(60, 200), rng.uniform(40, 70), rng.uniform(30, 50), rng.uniform(15, 30),
               (0.35, 0.48, 0.25), (0.55, 0.5, 0.38))
    for x, y in P.ring(rng, 10, 60.0, 110.0):
        if y < shore - 10:
            P.hill(b, x, y, rng.uniform(14, 26), rng.uniform(8, 14), rng.uniform(4, 8), (0.88, 0.78, 0.56), yaw=rng.uniform(0, 3))


def farmyard(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.60, 0.50, 0.36), (0.50, 0.42, 0.30), "noise", 1.2))
    a0 = np.radians(spec.lighting.sun_azimuth_deg) + np.pi + rng.uniform(-1.0, 1.0)  # barn lit from behind the viewer
    # the red barn
    bx, by = (R + 9.0) * np.cos(a0), (R + 9.0) * np.sin(a0)
    yaw = P.facing_origin(bx, by)
    bx, by = P.push_out(bx, by, 6.5, 8.0, yaw, R + 1.0)
    barn_wall = M((0.62, 0.13, 0.09), (0.50, 0.10, 0.07), "stripes", 0.22)
    P.building(b, bx, by, yaw, 16.0, 13.0, 7.5, barn_wall, roof="gable", roof_color=(0.30, 0.30, 0.32))
    fx, fy = P.local(bx, by, yaw, 6.55, 0.0)
    b.box((fx, fy, 2.4), (0.06, 2.4, 2.4), M((0.40, 0.08, 0.06)), yaw=yaw)
    for s in (1, -1):
        b.box((fx + 0.04 * np.cos(yaw), fy + 0.04 * np.sin(yaw), 2.4), (0.05, 3.3, 0.14), M((0.95, 0.93, 0.88)),
              rot=P.yaw_rot(yaw) @ P.roll_rot(s * 0.78))
    # silo beside it
    sx, sy = P.local(bx, by, yaw, 1.0, 13.5)
    sx, sy = P.push_out(sx, sy, 3.5, 3.5, 0.0, R + 1.0)
    b.cylinder((sx, sy, 0.0), (sx, sy, 15.0), 3.2, M((0.72, 0.74, 0.76), (0.6, 0.62, 0.64), "stripes", 0.6, gloss=0.3))
    b.sphere((sx, sy, 15.0), 3.2, M((0.62, 0.64, 0.66), gloss=0.4))
    hay = M((0.86, 0.72, 0.36), (0.72, 0.58, 0.26), "noise", 0.3)
    hx_, hy_ = (R + 10.0) * np.cos(a0 + 1.3), (R + 10.0) * np.sin(a0 + 1.3)  # farmhouse
    P.gable_house(b, hx_, hy_, P.facing_origin(hx_, hy_), 12.0, 9.0, 6.5, (0.92, 0.88, 0.78), (0.45, 0.22, 0.15))
    trough = M((0.45, 0.47, 0.5), gloss=0.3)
    wx, wy = P.push_out((R + 2.0) * np.cos(a0 - 0.9), (R + 2.0) * np.sin(a0 - 0.9), 1.5, 0.5, a0, R + 0.3)
    b.box((wx, wy, 0.4), (1.5, 0.5, 0.4), trough, yaw=a0)
    for x, y in P.ring(rng, 12, R + 2.0, 40.0):
        yaw_b = rng.uniform(0, np.pi)
        dx, dy = 0.6 * np.cos(yaw_b), 0.6 * np.sin(yaw_b)
        x, y = P.push_out(x, y, 1.0, 1.0, 0.0, R + 0.5)
        b.cylinder((x - dx, y - dy, 0.75), (x + dx, y + dy, 0.75), 0.75, hay)
        if rng.uniform() < 0.4:
            b.cylinder((x - dx, y - dy, 2.2), (x + dx, y + dy, 2.2), 0.72, hay)
    # paddock fences in a broken ring
    for k in range(8):
        a = a0 + np.pi / 3 + k * 0.55
        r = R + 2.0 + rng.uniform(0, 2)
        p0 = (r * np.cos(a), r * np.sin(a))
        p1 = (r * np.cos(a + 0.5), r * np.sin(a + 0.5))
        P.fence(b, p0, p1, 1.25, posts=4)
    # a tractor
    tx, ty = P.local(bx, by, yaw, 12.0, -11.0)
    tx, ty = P.push_out(tx, ty, 2.0, 2.0, 0.0, R + 1.0)
    ty_ = yaw + 1.2
    green = M((0.15, 0.45, 0.15), gloss=0.5)
    b.box((tx, ty, 1.3), (1.6, 0.7, 0.6), green, yaw=ty_)
    cx, cy = P.local(tx, ty, ty_, -0.7, 0.0)
    b.box((cx, cy, 2.4), (0.7, 0.7, 0.6), M((0.2, 0.25, 0.3), gloss=0.7), yaw=ty_)
    for dx, r in ((-0.9, 0.85), (1.1, 0.5)):
        ax, ay = P.local(tx, ty, ty_, dx, 0.0)
        px, py = P.local(0.0, 0.0, ty_, 0.0, 1.0)
        b.cylinder((ax - px, ay - py, r), (ax + px, ay + py, r), r, M((0.1, 0.1, 0.1)))
    shx, shy = (R + 7.0) * np.cos(a0 - 1.5), (R + 7.0) * np.sin(a0 - 1.5)  # open-fronted shed
    shx, shy = P.push_out(shx, shy, 3.0, 5.0, P.facing_origin(shx, shy), R + 0.5)
    P.building(b, shx, shy, P.facing_origin(shx, shy), 10.0, 6.0, 3.6, M((0.48, 0.34, 0.22), (0.4, 0.28, 0.18), "stripes", 0.3),
               roof="gable", roof_color=(0.45, 0.45, 0.48))
    for x, y in P.ring(rng, 14, R + 7.0, 60.0):
        P.tree(b, x, y, rng, height=rng.uniform(7, 11))
    crop = [((0.45, 0.62, 0.22), (0.36, 0.30, 0.18)), ((0.85, 0.72, 0.30), (0.7, 0.58, 0.24))]
    for k in range(4):
        a = a0 + np.pi * 0.5 * k + 0.8
        x, y = 90 * np.cos(a), 90 * np.sin(a)
        c1, c2 = crop[k % 2]
        b.box((x, y, 0.05), (45, 45, 0.05), M(c1, c2, "stripes", 1.2), yaw=0.0)
    for k in range(4):
        a = a0 + 2 * np.pi * k / 4 + 0.3
        P.hill(b, 220 * np.cos(a), 220 * np.sin(a), 110, 70, 28, (0.40, 0.50, 0.25), yaw=a)


def canyon(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.68, 0.40, 0.25), (0.56, 0.31, 0.19), "noise", 1.6))
    strata = [(0.78, 0.40, 0.24), (0.88, 0.55, 0.34), (0.72, 0.36, 0.22), (0.92, 0.66, 0.44), (0.82, 0.46, 0.28)]
    # the two walls run along x (one faces the high sun, the other stands in its own shade),
    # stepping in and out at varied angles
    for side in (1.0, -1.0):
        for k, xc in enumerate(np.arange(-150.0, 151.0, 30.0)):
            y = side * (R + 7.0 + rng.uniform(-2, 6) + 0.0004 * xc * xc)
            height = rng.uniform(35, 55)
            yaw = side * np.pi / 2 + rng.uniform(-0.35, 0.35)
            colours = [strata[(k + j) % 5] for j in range(4)]
            cx, cy = P.push_out(xc, y + side * 4.0, 4.0, 17.0, yaw, R + 1.0)
            P.stacked_cliff(b, cx, cy, yaw, 34.0, height, colours, depth=8.0, step=1.5)
    for x, y in P.ring(rng, 18, R + 3.5, 60.0):
        if abs(y) < R + 6.0:
            P.rock(b, x, y, rng, rng.uniform(1.0, 2.5), color=(0.62, 0.34, 0.21))
    for x, y in P.ring(rng, 12, 4.0, R - 2.0):  # pebbles
        b.ellipsoid((x, y, 0.0), (rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.4), 0.22), M((0.55, 0.3, 0.2)), yaw=rng.uniform(0, 3))
    for x, y in P.ring(rng, 16, R + 0.8, 50.0):
        if abs(y) < R + 5.0:
            P.bush(b, x, y, rng, 0.8, leaf=(0.45, 0.42, 0.22), flowers=(0.35, 0.28, 0.16))
    for s in (1.0, -1.0):  # the canyon bends out of sight at both ends
        b.box((s * 210.0, s * 30.0, 30.0), (10.0, 60.0, 30.0), M(strata[1], strata[0], "noise", 4.0), yaw=s * 0.5)


def garden(b: PrimitiveBuilder, rng: Rng, spec: SceneSpec) -> None:
    R = spec.clear_radius
    b.plane(M((0.30, 0.54, 0.19), (0.25, 0.46, 0.15), "stripes", 1.8))
    stone = M((0.78, 0.74, 0.66), (0.6, 0.57, 0.5), "tiles", 0.6)
    b.box((0.0, 0.0, 0.015), (34.0, 1.2, 0.015), stone)
    b.box((0.0, 0.0, 0.016), (1.2, 34.0, 0.016), stone)
    flowers = [(0.92, 0.25, 0.35), (0.98, 0.82, 0.25), (0.65, 0.35, 0.85), (0.98, 0.55, 0.25), (0.95, 0.95, 0.95)]
    for k, (sx, sy) in enumerate(((1, 1), (-1, 1), (-1, -1), (1, -1))):
        for j, (dx, dy) in enumerate(((5.5, 2.6), (2.6, 5.5))):
            c = flowers[(k + j + int(rng.integers(0, 5))) % 5]
            hx, hy = (2.8, 0.8) if j == 0 else (0.8, 2.8)
            b.box((sx * (dx + 8 * (j == 0)), sy * (dy + 8 * (j == 1)), 0.12), (hx, hy, 0.12), M((0.2, 0.4, 0.12), c, "noise", 0.2))
    # a square hedge border with gaps at the paths
    for side in range(4):
        a = side * np.pi / 2
        for s in (-1.0, 1.0):
            cx, cy = P.local(0.0, 0.0, a, R + 2.5, s * 11.0)
            P.hedge(b, cx, cy, 17.0, a + np.pi / 2, 1.6, 1.0)
    for k in range(8):  # topiary balls on posts at the corners and gaps
        a = k * np.pi / 4 + np.pi / 8
        r = (R + 4.0) / np.cos(np.pi / 8) if k % 2 else R + 5.0
        x, y = r * np.cos(a), r * np.sin(a)
        b.cylinder((x, y, 0.0), (x, y, 1.0), 0.5, M((0.7, 0.62, 0.5)))
        b.sphere((x, y, 1.9), 0.9, M((0.12, 0.32, 0.10), (0.2, 0.45, 0.15), "noise", 0.4))
    for k in range(16):  # cypress columns outside the hedge
        a = 2 * np.pi * (k + 0.5) / 16
        r = (R + 6.0) / max(abs(np.cos(a)), abs(np.sin(a)))
        x, y = r * np.cos(a), r * np.sin(a)
        h = rng.uniform(5.0, 7.0)
        b.cylinder((x, y, 0.0), (x, y, 0.6), 0.15, M((0.35, 0.25, 0.15)))
        b.ellipsoid((x, y, 0.5 + h / 2), (0.9, 0.9, h / 2), M((0.12, 0.30, 0.12), (0.08, 0.22, 0.08), "noise", 0.5))
    # pergola over the far end of one path
    a = rng.integers(0, 4) * np.pi / 2
    px, py = P.local(0.0, 0.0, a, R + 8.0, 0.0)
    wood = M((0.85, 0.82, 0.76))
    for dx in (-2.0, 2.0):
        for dy in (-1.5, 1.5):
            qx, qy = P.local(px, py, a, dx, dy)
            b.box((qx, qy, 1.3), (0.12, 0.12, 1.3), wood, yaw=a)
    for dy in (-1.5, 1.5):
        qx, qy = P.local(px, py, a, 0.0, dy)
        b.box((qx, qy, 2.7), (2.6, 0.1, 0.14), wood, yaw=a)
    for dx in np.linspace(-2.2, 2.2, 5):
        qx, qy = P.local(px, py, a, dx, 0.0)
        b.box((qx, qy, 2.9), (0.08, 2.1, 0.08), wood, yaw=a)
    b.ellipsoid((px, py, 3.0), (2.4, 2.0, 0.35), M((0.25, 0.5, 0.18), (0.85, 0.35, 0.6), "noise", 0.3), yaw=a)
    # statues on plinths
    marble = M((0.90, 0.89, 0.86), (0.8, 0.79, 0.76), "noise", 0.3)
    for k in range(4):
        a = k * np.pi / 2 + np.pi / 4
        x, y = (R + 9.0) * np.cos(a), (R + 9.0) * np.sin(a)
        b.box((x, y, 0.6), (0.6, 0.6, 0.6), marble)
        b.capsule((x, y, 1.5), (x, y, 2.5), 0.32, marble)
        b.sphere((x, y, 2.95), 0.24, marble)
    for x, y in P.ring(rng, 14, R + 14.0, 60.0):
        P.tree(b, x, y, rng, height=rng.uniform(7, 11), leaf=(0.18, 0.40, 0.14))
    a = rng.uniform(0, 2 * np.pi)
    hx, hy = 85 * np.cos(a), 85 * np.sin(a)
    P.gable_house(b, hx, hy, P.facing_origin(hx, hy), 30.0, 14.0, 11.0, (0.88, 0.84, 0.74), (0.35, 0.32, 0.34))


RECIPES: dict[str, Recipe] = {
    "park": park, "desert": desert, "snowfield": snowfield, "forest_clearing": forest_clearing,
    "beach": beach, "farmyard": farmyard, "canyon": canyon, "garden": garden,
}
ATMOSPHERES: dict[str, Atmosphere] = {
    "park": Atmosphere(fog=0.004),
    "desert": Atmosphere(fog=0.004, sky_top=(0.42, 0.60, 0.86), sky_horizon=(0.92, 0.88, 0.80)),
    "snowfield": Atmosphere(fog=0.009, sky_horizon=(0.86, 0.88, 0.91), ambient_tint=(1.0, 1.02, 1.06)),
    "forest_clearing": Atmosphere(fog=0.018, sky_horizon=(0.70, 0.78, 0.70), ambient_tint=(0.9, 1.0, 0.88)),
    "beach": Atmosphere(fog=0.002, sky_top=(0.18, 0.48, 0.90), sky_horizon=(0.72, 0.86, 0.96)),
    "farmyard": Atmosphere(fog=0.004),
    "canyon": Atmosphere(fog=0.003, sky_horizon=(0.90, 0.82, 0.74), ambient_tint=(1.08, 0.96, 0.9)),
    "garden": Atmosphere(fog=0.004),
}
