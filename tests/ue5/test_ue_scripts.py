"""ue_scripts run on the recording `unreal` stand-in: what they build is what the shot says.

The stand-in implements exactly the names in ue_scripts/API.md, under version
profiles (5.0 / 5.4 / 5.7) that remove what an engine lacks, so every branch
of compat.py runs here.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hmworld.geometry import (
    world_c2w_to_ue_transform,
    world_heading_to_ue_yaw_deg,
    world_to_ue_points,
)
from ue5.support import SCRIPTS, make_shot, run_script

VERSIONS = ("5.2", "5.5", "5.6")


def the_sequence(fake):
    seqs = [a for a in fake._engine.history if type(a).__name__ == "LevelSequence"]
    assert len(seqs) == 1
    return seqs[0]


def bindings(seq):
    cams = [b for b in seq._bindings if type(b._template).__name__ == "CineCameraActor"]
    subs = [b for b in seq._bindings if type(b._template).__name__ == "SkeletalMeshActor"]
    assert len(cams) == 1
    return cams[0], subs


def keys(binding, name):
    track = next(t for t in binding._tracks if type(t).__name__ == "MovieScene3DTransformTrack")
    (section,) = track._sections
    ch = next(c for c in section._channels if c.get_editor_property("channel_name") == name)
    return ch


def wrap(deg):
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("version", VERSIONS)
def test_keys_at_every_frame_equal_the_shot_in_ue_units(tmp_path, monkeypatch, version):
    fake, job, status, outcome, shot, assets = run_script(tmp_path, monkeypatch, version)
    assert outcome == "quit" and status["success"], status.get("error")
    seq = the_sequence(fake)
    cam, subs = bindings(seq)
    scene = assets.scenes["city_street"]
    warm, n = job["warmup_frames"], job["warmup_frames"] + shot.frames
    a = np.radians(scene.anchor_yaw_deg)
    turn = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])

    def placed(p):
        return np.asarray(p) @ turn.T + np.asarray(scene.anchor_cm)

    loc, rot = world_c2w_to_ue_transform(shot.c2w)
    want = {"Location.X": placed(loc)[:, 0], "Location.Y": placed(loc)[:, 1], "Location.Z": placed(loc)[:, 2],
            "Rotation.X": rot[:, 0], "Rotation.Y": rot[:, 1], "Rotation.Z": rot[:, 2] + scene.anchor_yaw_deg,
            "Scale.X": np.ones(shot.frames)}
    for name, values in want.items():
        ch = keys(cam, name)
        assert sorted(ch._keys) == list(range(n))  # a key on every sequence frame, warm-up included
        assert all(i is fake.MovieSceneKeyInterpolation.LINEAR for i in ch._interp.values())
        got = np.array([ch._keys[f] for f in range(n)])
        diff = wrap(got[warm:] - values) if name.startswith("Rotation") else got[warm:] - values
        np.testing.assert_allclose(diff, 0.0, atol=1e-9, err_msg=name)
        assert np.all(got[:warm] == got[warm])  # warm-up holds the first pose
    for k, binding in enumerate(subs):
        sub = assets.subjects[shot.subjects[k]]
        p = world_to_ue_points(shot.subject_pos[k]) + np.array([0.0, 0.0, sub.z_offset_cm])
        yaw = world_heading_to_ue_yaw_deg(shot.subject_heading[k]) + sub.yaw_offset_deg + scene.anchor_yaw_deg
        for name, values in {"Location.X": placed(p)[:, 0], "Location.Y": placed(p)[:, 1],
                             "Location.Z": placed(p)[:, 2], "Rotation.Z": yaw,
                             "Rotation.X": np.zeros(shot.frames), "Scale.Z": np.full(shot.frames, sub.scale)}.items():
            got = np.array([keys(binding, name)._keys[f] for f in range(n)])
            diff = wrap(got[warm:] - values) if name.startswith("Rotation") else got[warm:] - values
            np.testing.assert_allclose(diff, 0.0, atol=1e-9, err_msg=f"subject {k} {name}")


@pytest.mark.parametrize("version", VERSIONS)
def test_camera_filmback_has_the_output_aspect_and_focal_length_gives_the_fov(tmp_path, monkeypatch, version):
    fake, _, _, _, shot, _ = run_script(tmp_path, monkeypatch, version, shot=make_shot(width=96, height=40))
    cam, _ = bindings(the_sequence(fake))
    comp = cam._template.get_cine_camera_component()
    fb = comp.get_editor_property("filmback")
    w, h = fb.get_editor_property("sensor_width"), fb.get_editor_property("sensor_height")
    assert h / w == pytest.approx(40 / 96)
    focal = comp.get_editor_property("current_focal_length")
    assert np.degrees(2 * np.arctan(w / (2 * focal))) == pytest.approx(shot.hfov_deg)
    assert comp.get_editor_property("focus_settings").get_editor_property("focus_method") is fake.CameraFocusMethod.DISABLE


@pytest.mark.parametrize("version", VERSIONS)
def test_playback_range_rate_warmup_and_camera_cut(tmp_path, monkeypatch, version):
    fake, _, _, _, shot, assets = run_script(tmp_path, monkeypatch, version)
    seq = the_sequence(fake)
    n = assets.render.warmup_frames + shot.frames
    assert (seq._display_rate.numerator, seq._display_rate.denominator) == (shot.fps, 1)
    assert seq._tick_resolution.numerator % shot.fps == 0  # every frame on a whole tick
    assert (seq._start, seq._end) == (0, n)  # warm-up frames come first, then the shot's frames
    cam, subs = bindings(seq)
    for b in [cam, *subs]:
        for t in b._tracks:
            assert t._sections[0]._range[0] == 0 and t._sections[-1]._range[1] == n
    (cut_track,) = seq._root_tracks
    assert type(cut_track).__name__ == "MovieSceneCameraCutTrack"
    (cut,) = cut_track._sections
    assert cut._range == (0, n) and cut.get_editor_property("camera_binding_id")._guid == cam._guid


@pytest.mark.parametrize("version", VERSIONS)
def test_subjects_are_spawnable_meshes_with_stencils_and_speed_driven_animation(tmp_path, monkeypatch, version):
    fake, job, _, _, shot, assets = run_script(tmp_path, monkeypatch, version)
    _, subs = bindings(the_sequence(fake))
    assert len(subs) == shot.n_subjects
    for k, b in enumerate(subs):
        comp = b._template.get_editor_property("skeletal_mesh_component")
        assert comp._mesh._path == assets.subjects[shot.subjects[k]].mesh
        assert comp._custom_depth and comp._stencil == assets.render.stencil_values[k]
        anim_track = next(t for t in b._tracks if type(t).__name__ == "MovieSceneSkeletalAnimationTrack")
        want = job["subjects"][k]["anim_sections"]
        assert [s._range for s in anim_track._sections] == [(w["start"], w["end"]) for w in want]
        for section, w in zip(anim_track._sections, want, strict=True):
            params = section.get_editor_property("params")
            anim = params.get_editor_property("animation")
            assert anim._path == job["subjects"][k]["anim"]
            rate = params.get_editor_property("play_rate")
            rate = rate if isinstance(rate, float) else rate.to_fixed_play_rate()
            assert rate == pytest.approx(w["play_rate"])
            ticks = params.get_editor_property("first_loop_start_frame_offset").value
            assert ticks == round((w["anim_time_s"] % anim.get_play_length()) * shot.fps * 1000)
            assert params.get_editor_property("force_custom_mode") is True
    # subject 1 slows down over the clip: its play rate follows, section by section
    rates = [s["play_rate"] for s in job["subjects"][1]["anim_sections"]]
    assert len(rates) > 1 and rates[-1] < rates[0]


def readme_mrq_table():
    rows = []
    for line in (SCRIPTS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("MoviePipeline"):
            rows.append(tuple(cells[:3]))
    return rows


def literal(text):
    if text in ("True", "False"):
        return text == "True"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    return None  # a description, not a literal


@pytest.mark.parametrize("version", VERSIONS)
def test_movie_render_queue_settings_are_the_ones_the_readme_lists(tmp_path, monkeypatch, version):
    fake, job, _, _, shot, _ = run_script(tmp_path, monkeypatch, version)
    queue = fake.MoviePipelineQueueSubsystem._queue
    (mrq_job,) = queue._jobs
    config = mrq_job._config
    assert type(config).__name__ == "MoviePipelinePrimaryConfig"
    recorded = {(type(s).__name__, p): s._props[p] for s in config._settings for p in s.__dict__.get("_set_names", [])}
    table = readme_mrq_table()
    assert len(table) >= 15
    assert set(recorded) == {(c, p) for c, p, _ in table}
    for cls, prop, text in table:
        value = literal(text)
        if value is not None:
            assert recorded[(cls, prop)] == value, (cls, prop)
    out = {p: v for (c, p), v in recorded.items() if c == "MoviePipelineOutputSetting"}
    assert (out["output_resolution"].x, out["output_resolution"].y) == (shot.width, shot.height)
    assert out["output_frame_rate"].numerator == shot.fps
    assert out["output_directory"].path == job["output_dir"]
    aa = {p: v for (c, p), v in recorded.items() if c == "MoviePipelineAntiAliasingSetting"}
    assert aa["spatial_sample_count"] == job["spatial_samples"]
    cmds = recorded[("MoviePipelineConsoleVariableSetting", "start_console_commands")]
    assert cmds == ["r.MotionBlurQuality 0", "r.DepthOfFieldQuality 0", "r.AntiAliasingMethod 0", "r.CustomDepth 3"]
    # fault 4: game overrides, so PIE does not run the level's own game mode or stream textures in late
    game = {p: v for (c, p), v in recorded.items() if c == "MoviePipelineGameOverrideSetting"}
    assert game["game_mode_override"] is fake.MoviePipelineGameMode
    assert game["texture_streaming"] is fake.MoviePipelineTextureStreamingMethod.FULLY_LOAD
    assert game["cinematic_quality_settings"] and game["flush_grass_streaming"] and game["flush_streaming_managers"]
    (pp,) = recorded[("MoviePipelineDeferredPassBase", "additional_post_process_materials")]
    assert pp.get_editor_property("enabled") and pp.get_editor_property("material").get_name() == MASK
    assert mrq_job.get_editor_property("sequence")._path.endswith(".HMW_city_street_test000001")
    assert mrq_job.get_editor_property("map")._path == "/Game/Test/Maps/Street.Street"


MASK = "M_HMWorldSubjectIds_251_252_253_T20"


def test_mask_material_lights_channel_k_only_where_subject_k_is_visible(tmp_path, monkeypatch):
    """Fault 2: the stencil alone is a silhouette; custom depth vs scene depth makes it visibility."""
    fake, *_ = run_script(tmp_path, monkeypatch)
    (mat,) = [a for a in fake._engine.history if type(a).__name__ == "Material"]
    assert mat.get_editor_property("material_domain") is fake.MaterialDomain.MD_POST_PROCESS
    stencil = np.array([[0, 251, 252, 253, 254, 1, 251, 251, 252]], dtype=float)
    custom = np.array([[1e9, 500, 800, 900, 500, 300, 700, 501.5, 1000]])
    scene = np.array([[1e9, 500, 800, 900, 500, 300, 450, 500, 1000.0]])  # pixel 6: a wall at 4.5 m
    out = mat._evaluate({"PPI_CUSTOM_STENCIL": stencil, "PPI_CUSTOM_DEPTH": custom, "PPI_SCENE_DEPTH": scene})
    np.testing.assert_allclose(out[0], [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0],
                                        [0, 0, 0], [1, 0, 0], [0, 1, 0]], atol=1e-9)
    assert f"/Game/HMWorld/{MASK}" in fake._engine.saved


@pytest.mark.parametrize("version", VERSIONS)
def test_status_has_readback_frame_counts_and_the_script_cleans_up_and_quits(tmp_path, monkeypatch, version):
    fake, job, status, outcome, shot, _ = run_script(tmp_path, monkeypatch, version)
    n = job["warmup_frames"] + shot.frames
    assert outcome == "quit" and fake._engine.quit_requested
    assert status["done"] and status["success"] and status["stage"] == "finished"
    assert status["frames_written"] == {"rgb": n, "mask": n} and status["frames_expected"] == n
    assert status["passes"] == {"rgb": "FinalImage", "mask": "FinalImage" + MASK}
    assert status["engine_version"].startswith(version)
    batch = json.loads((tmp_path / "batch_status.json").read_text())
    assert batch["done"] and batch["success"] and batch["shots"] == 1
    rb = status["readback"]
    assert rb["frames"] == list(range(job["warmup_frames"], n))
    np.testing.assert_allclose(rb["camera"]["location_cm"], job["camera"]["location_cm"][job["warmup_frames"]:])
    assert "/Game/HMWorld/Generated/HMW_city_street_test000001" in fake._engine.deleted  # temp sequence removed
    frames = sorted((tmp_path / "frames" / "FinalImage").iterdir())
    assert [f.name for f in frames] == [f"{i:04d}.png" for i in range(n)]
    with Image.open(frames[0]) as im:
        assert im.size == (shot.width, shot.height)


def test_a_python_error_fails_the_shot_is_written_down_and_the_editor_quits(tmp_path, monkeypatch):
    world = tmp_path / "world.json"
    world.write_text(json.dumps({"levels": ["/Game/Test/Maps/Street"], "meshes": {}, "anims": {}}))
    fake, _, status, outcome, *_ = run_script(tmp_path, monkeypatch, world=world)
    assert outcome == "quit"  # not left running
    assert status["done"] and not status["success"] and status["stage"] == "setup"
    assert "/Game/Test/Chars/SK_man_red_jacket" in status["error"] and "Traceback" in status["error"]
    assert "/Game/HMWorld/Generated/HMW_city_street_test000001" in fake._engine.deleted


def test_a_movie_render_queue_failure_is_reported_as_a_failed_render(tmp_path, monkeypatch):
    _, _, status, outcome, *_ = run_script(tmp_path, monkeypatch, mode="mrq_error")
    assert outcome == "quit"
    assert status["done"] and not status["success"] and status["stage"] == "finished"
    assert "GPU crashed" in status["error"]


def test_a_failed_clean_up_does_not_fail_a_finished_render(tmp_path, monkeypatch):
    def broken_delete(fake):
        def delete(cls, path):
            raise RuntimeError("package is locked")

        monkeypatch.setattr(fake.EditorAssetLibrary, "delete_asset", classmethod(delete))

    fake, _, status, outcome, *_ = run_script(tmp_path, monkeypatch, patch=broken_delete)
    assert outcome == "quit" and status["success"]
    assert any("could not delete" in line for line in fake._engine.logs)


def test_channels_are_found_by_order_where_an_engine_reports_no_names(tmp_path, monkeypatch):
    def unnamed(fake):
        original = fake.MovieSceneScriptingDoubleChannel.__init__

        def init(self, name):
            original(self, name)
            self._props["channel_name"] = "None"

        monkeypatch.setattr(fake.MovieSceneScriptingDoubleChannel, "__init__", init)

    fake, job, status, *_ = run_script(tmp_path, monkeypatch, patch=unnamed)
    assert status["success"]
    cam, _ = bindings(the_sequence(fake))
    track = next(t for t in cam._tracks if type(t).__name__ == "MovieScene3DTransformTrack")
    by_name = {c._slot: c for c in track._sections[0]._channels}
    warm = job["warmup_frames"]
    assert by_name["Rotation.Z"]._keys[warm] == pytest.approx(job["camera"]["rotation_deg"][warm][2])
    assert by_name["Location.Y"]._keys[warm] == pytest.approx(job["camera"]["location_cm"][warm][1])


def test_without_the_keep_alive_flag_a_5_2_editor_closes_before_rendering(tmp_path, monkeypatch):
    """The pitfall compat.keep_script_alive() exists for, shown by taking the flag away."""

    def ignore_flag(fake):
        monkeypatch.setattr(fake.EditorPythonScripting, "set_keep_python_script_alive", classmethod(lambda cls, v: None))

    _, _, status, outcome, *_ = run_script(tmp_path, monkeypatch, "5.4", patch=ignore_flag)
    assert outcome == "closed_without_quit"
    assert not status["done"]  # the host sees an unfinished shot
    assert not any((tmp_path / "frames").iterdir())


def test_scripts_use_only_the_stdlib_and_unreal():
    allowed = set(sys.stdlib_module_names) | {"unreal"}
    for path in Path(SCRIPTS).glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(mods) <= allowed, (path.name, mods)


def test_the_readmes_say_what_the_engine_does():
    """Fault 7: the README's claims about folders, binaries, plugins, versions and pitfalls."""
    from hmworld.render.ue5 import RGB_PASS, mask_pass_suffix
    from hmworld.render.ue5_assets import RenderDefaults

    readme = (SCRIPTS / "README.md").read_text(encoding="utf-8")
    r = RenderDefaults()
    folder = RGB_PASS + mask_pass_suffix({"stencils": list(r.stencil_values), "depth_tolerance_cm": r.depth_tolerance_cm})
    assert f"`{folder}/`" in readme  # the mask frames' folder as MRQ names it
    assert "Engine/Binaries/Linux/UnrealEditor-Cmd" in readme and "no `-Cmd` variant" not in readme
    assert "5.2 or newer" in readme and "5.0 or newer" not in readme
    assert "5.2" in (SCRIPTS / "API.md").read_text(encoding="utf-8")
    assert re.search(r"enabling it also enables \*\*Editor Scripting Utilities\*\*", readme)
    assert re.search(r"unsaved\s+changes", readme) and "bThrottleCPUWhenNotForeground=False" in readme
    assert "*visible*" in readme or "visible" in readme.split("### How the masks work")[1]
    assert "sRGB" in readme.split("### How the masks work")[1]
