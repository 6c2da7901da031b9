"""The UE5 asset map: shipped template, loader validation, what is still unmapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmworld.catalog import SCENE_LIST, SUBJECT_LIST, SUBJECTS
from hmworld.errors import UserError
from hmworld.render.ue5_assets import (
    DEFAULT_ASSET_MAP,
    PLACEHOLDER_ROOT,
    load_asset_map,
    parse_asset_map,
    template_text,
)
from ue5.support import asset_map


def test_shipped_template_is_the_generated_one_and_covers_the_catalog():
    shipped = DEFAULT_ASSET_MAP.read_text(encoding="utf-8")
    assert shipped == template_text(), "regenerate with: hmworld ue5-assets --template manifests/ue5_assets.toml"
    m = load_asset_map(DEFAULT_ASSET_MAP)
    assert set(m.scenes) == {s.id for s in SCENE_LIST} and len(m.scenes) == 17
    assert set(m.subjects) == {s.id for s in SUBJECT_LIST} and len(m.subjects) == 49
    for spec in SUBJECT_LIST:  # every gait of every subject has its own entry
        assert [g for g, _ in m.subjects[spec.id].gaits] == [g.name for g in spec.gaits]
    # nothing in the template is usable yet: it is all the user's to fill in
    unmapped = m.unmapped()
    assert len(unmapped["scenes"]) == 17 and len(unmapped["subjects"]) == 49
    assert "labrador (mesh, walk anim, trot anim, run anim)" in unmapped["subjects"]


def test_rendering_needs_every_entry_of_the_shot_and_the_error_lists_them_all():
    m = load_asset_map(DEFAULT_ASSET_MAP)
    with pytest.raises(UserError) as e:
        m.require("city_street", ["labrador", "man_red_jacket"], ["trot", "walk"])
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("scene 'city_street' (level)", "subject 'labrador' (mesh, trot anim)",
                 "subject 'man_red_jacket' (mesh, walk anim)", PLACEHOLDER_ROOT):
        assert part in msg


def test_a_filled_in_map_passes_and_a_half_filled_one_names_only_the_gap():
    m = asset_map(("man_red_jacket", "labrador"))
    m.require("city_street", ["man_red_jacket", "labrador"], ["walk", "trot"])  # no error
    assert m.unmapped()["scenes"] == [s.id for s in SCENE_LIST if s.id != "city_street"]
    with pytest.raises(UserError, match=r"scene 'park' \(level\)") as e:
        m.require("park", ["labrador"], ["run"])
    assert "labrador" not in str(e.value)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "map.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[scenes.atlantis]\nlevel = "/Game/A"\n', "unknown scene id(s) 'atlantis'; allowed: park"),
        ('[subjects.unicorn]\nmesh = "/Game/U"\n', "unknown subject id(s) 'unicorn'; allowed:"),
        ('[subjects.labrador]\ngallop = { anim = "/Game/A", speed_cm_s = 1.0 }\n',
         "unknown key 'gallop' in [subjects.labrador]; allowed: mesh, yaw_offset_deg, scale, z_offset_cm, walk, trot, run"),
        ('[subjects.labrador]\nscale = 0\n', "subjects.labrador.scale must be positive, got 0"),
        ('[scenes.park]\nlevel = "Maps/Park"\n', "must be a UE object path starting with '/'"),
        ('[scenes.park]\nanchor_cm = [1, 2]\n', "scenes.park.anchor_cm must be [x, y, z]"),
        ("[render]\nwarmup_frames = -1\n", "render.warmup_frames must be an integer ≥ 0"),
        ("[render]\nspatial_samples = 0\n", "render.spatial_samples must be an integer ≥ 1"),
        ("format = 2\n", "format 2 is not supported; allowed: 1"),
        ("[render\n", "is not valid TOML"),
    ],
)
def test_bad_asset_maps_get_one_line_errors_naming_the_value(tmp_path, text, expected):
    with pytest.raises(UserError) as e:
        load_asset_map(_write(tmp_path, text))
    assert expected in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_file_points_at_the_template(tmp_path):
    with pytest.raises(UserError, match=r"does not exist; start from .*ue5_assets\.toml"):
        load_asset_map(tmp_path / "nope.toml")


def test_values_are_read_as_written():
    m = parse_asset_map({
        "render": {"warmup_frames": 3, "sensor_width_mm": 24.0},
        "scenes": {"park": {"level": "/Game/Maps/Park", "anchor_cm": [1, 2, 3], "anchor_yaw_deg": 45}},
        "subjects": {"labrador": {"mesh": "/Game/Dog/SK", "yaw_offset_deg": 0, "scale": 1.5,
                                  "trot": {"anim": "/Game/Dog/Trot", "speed_cm_s": 240}}},
    })
    assert m.render.warmup_frames == 3 and m.render.sensor_width_mm == 24.0 and m.render.spatial_samples == 4
    assert m.scenes["park"].anchor_cm == (1.0, 2.0, 3.0) and m.scenes["park"].anchor_yaw_deg == 45.0
    dog = m.subjects["labrador"]
    assert dog.scale == 1.5 and dog.yaw_offset_deg == 0.0 and dog.gait("trot").speed_cm_s == 240.0
    assert dog.gait("walk") is None
    assert m.missing_for("park", ["labrador", "labrador"], ["trot", "walk"]) == ["subject 'labrador' (walk anim)"]
    assert {g.name for g in SUBJECTS["labrador"].gaits} == {"walk", "trot", "run"}
