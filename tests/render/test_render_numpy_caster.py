"""The plain numpy caster (the benchmark's yardstick) sees the same world as the compiled one."""

from __future__ import annotations

import numpy as np

from hmworld.render.builtin.numpy_caster import numpy_cast
from hmworld.render.builtin.primitives import concat
from hmworld.render.builtin.raycast import RenderOptions, SunSky, render_frame
from hmworld.render.builtin.reference import reference_pose, reference_scene, reference_shot


def test_numpy_caster_agrees_with_the_compiled_caster_on_depth_and_ids() -> None:
    shot = reference_shot(6, 96, 72)
    scene = reference_scene()
    light = SunSky.of(scene)
    for t in (0, 3, 5):
        prims = concat(scene.prims, reference_pose(shot, t))
        want = render_frame(prims, shot.c2w[t], shot.K, 96, 72, light, RenderOptions(antialias=False))
        rgb, depth, ids = numpy_cast(prims, shot.c2w[t], shot.K, 96, 72, light)
        assert np.mean(ids == want.ids) > 0.999
        both = np.isfinite(depth) & np.isfinite(want.depth)
        assert np.array_equal(np.isfinite(depth), np.isfinite(want.depth))
        assert np.allclose(depth[both], want.depth[both], rtol=1e-4, atol=1e-4)
        assert rgb.shape == want.rgb.shape and rgb.dtype == np.uint8
