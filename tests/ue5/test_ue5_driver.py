"""The host driver against a fake UnrealEditor-Cmd run as a real subprocess.

The fake behaves like the editor as far as the driver can tell: it runs
ue_scripts/render_batch.py on the recording `unreal` stand-in, writes PNG
frames and the status file, or crashes, hangs, writes too few frames, or
exits 0 after a Python error (HMWORLD_FAKE_UE_MODE).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import CLIP_JSON, read_clip
from hmworld.errors import UserError
from hmworld.geometry import in_image, project
from hmworld.render import get_backend
from hmworld.render.ue5 import Ue5Backend, Ue5RenderError, Ue5SetupError, make_config, render_clip
from hmworld.video import read_video, video_info
from ue5.support import asset_map, make_shot


def out_dir(editor, shot):
    return editor.tmp / "data" / "clips" / shot.clip_id


def test_a_rendered_clip_is_a_complete_clip_folder_whose_masks_sit_on_the_subjects(editor):
    shot = make_shot(frames=10)
    rec = render_clip(shot, out_dir(editor, shot), editor.config(assets=asset_map(warmup=6)))
    again = read_clip(out_dir(editor, shot))
    assert again.backend["name"] == "ue5" and again.backend["engine"].startswith("5.4")
    assert again.measured.silhouette_pixels is None  # UE gives visibility only
    info = video_info(rec.video_path)
    assert (info.frames, info.width, info.height, info.codec) == (10, 64, 48, "h264")
    ids = rec.load_instances()
    assert ids.shape == (10, 48, 64) and ids.dtype == np.uint8
    # the video frames are the mask frames: the fake paints subjects green, the ground is not
    rgb = read_video(rec.video_path).astype(int)
    green = rgb[..., 1] > rgb[..., 0] + 60
    assert green[ids > 0].mean() > 0.8 and green[ids == 0].mean() < 0.02
    np.testing.assert_array_equal(rec.measured.visible_pixels, [(ids == k + 1).sum(axis=(1, 2)) for k in range(2)])
    # where the shot projects each subject's body centre, that subject's mask is
    centres = project(shot.subject_centers().transpose(1, 0, 2), shot.c2w, shot.K)
    hits = 0
    for t in range(shot.frames):
        for k in range(shot.n_subjects):
            u, v = centres.uv[t, k]
            if centres.in_front[t, k] and in_image(centres.uv[t, k], shot.width, shot.height):
                ys, xs = np.nonzero(ids[t] == k + 1)
                assert xs.size, (t, k)
                assert xs.min() - 1 <= u <= xs.max() + 2 and ys.min() - 1 <= v <= ys.max() + 2, (t, k, u, v)
                hits += 1
    assert hits >= 15
    stats = again.stats
    assert stats["attempts"] == 1 and stats["failures"] == 0 and stats["max_camera_position_cm"] < 0.01
    log = Path(stats["log"])
    assert log.is_file() and "Running engine" in log.read_text()
    work = out_dir(editor, shot).parent / ".ue5-work" / shot.clip_id / "try-1"
    assert (work / "status.json").is_file() and not (work / "frames").exists()  # frames removed, status kept


def test_the_editor_is_started_like_the_real_one(editor):
    shot = make_shot(frames=4)
    render_clip(shot, out_dir(editor, shot), editor.config())
    (run,) = editor.runs()
    args = run[1:]
    assert args[0] == str(editor.project.resolve())
    script = [a for a in args if a.startswith("-ExecutePythonScript=")]
    assert len(script) == 1 and script[0].endswith("ue_scripts/render_batch.py")
    for flag in ("-unattended", "-nosplash", "-RenderOffscreen", "-stdout"):
        assert flag in args


def test_a_crash_is_retried_and_the_retry_succeeds(editor):
    editor.mode("crash_once")
    shot = make_shot(frames=9)
    rec = render_clip(shot, out_dir(editor, shot), editor.config(ue_retries=2))
    assert rec.stats["attempts"] == 2 and rec.stats["failures"] == 1 and len(editor.runs()) == 2
    sessions = sorted(Path(rec.stats["log"]).parents[1].iterdir())
    assert len(sessions) == 2 and "Fatal error" in (sessions[0] / "editor.log").read_text()


def test_a_crash_every_time_fails_after_the_bounded_retries_and_leaves_no_clip_json(editor):
    editor.mode("crash")
    shot = make_shot(frames=9)
    with pytest.raises(Ue5RenderError) as e:
        render_clip(shot, out_dir(editor, shot), editor.config(ue_retries=1))
    msg = str(e.value)
    assert "after 2 attempt(s)" in msg and "exited with code 3" in msg and msg.count("editor.log") == 2
    assert len(editor.runs()) == 2
    assert not (out_dir(editor, shot) / CLIP_JSON).exists()


def test_a_hung_editor_is_killed_by_the_watchdog(editor):
    editor.mode("hang")
    shot = make_shot(frames=4)
    with pytest.raises(Ue5RenderError, match=r"editor hung: nothing new for 2.5 s \(no frame, no status\) in stage 'render'"):
        render_clip(shot, out_dir(editor, shot), editor.config(ue_timeout=2.5, ue_retries=0))
    (run,) = editor.runs()
    with pytest.raises(ProcessLookupError):
        os.kill(int(run[0]), 0)  # the editor we started is gone
    assert not (out_dir(editor, shot) / CLIP_JSON).exists()


def test_too_few_frames_is_a_failed_render_even_when_the_status_says_success(editor):
    editor.mode("few_frames")
    shot = make_shot(frames=10)
    with pytest.raises(Ue5RenderError, match=r"rgb pass has 6 of 12 frames") as e:
        render_clip(shot, out_dir(editor, shot), editor.config(ue_retries=1))
    assert "after 2 attempt(s)" in str(e.value)
    assert not (out_dir(editor, shot) / CLIP_JSON).exists()


def test_an_asset_missing_in_the_project_is_a_setup_error_not_retried(editor, monkeypatch):
    world = editor.tmp / "empty_world.json"
    world.write_text('{"levels": ["/Game/Test/Maps/Street"]}')
    monkeypatch.setenv("HMWORLD_FAKE_UE_WORLD", str(world))
    shot = make_shot(frames=4)
    with pytest.raises(Ue5SetupError) as e:
        render_clip(shot, out_dir(editor, shot), editor.config(ue_retries=3))
    msg = str(e.value)
    assert "stage 'setup'" in msg and "/Game/Test/Chars/SK_man_red_jacket" in msg and "\n" not in msg
    assert len(editor.runs()) == 1


def test_evaluated_transforms_that_differ_from_the_shot_fail_the_clip(editor):
    editor.mode("offset_camera")
    shot = make_shot(frames=4)
    with pytest.raises(Ue5RenderError, match=r"camera_position_cm 5 > 0.5"):
        render_clip(shot, out_dir(editor, shot), editor.config())
    assert not (out_dir(editor, shot) / CLIP_JSON).exists()


def test_an_editor_that_hangs_after_a_finished_render_is_ended_and_the_clip_kept(editor):
    editor.mode("hang_at_quit")
    shot = make_shot(frames=4)
    rec = render_clip(shot, out_dir(editor, shot), editor.config(quit_grace_s=1.0))
    assert rec.stats["attempts"] == 1
    (run,) = editor.runs()
    with pytest.raises(ProcessLookupError):
        os.kill(int(run[0]), 0)  # ended after the grace period


def test_an_editor_that_never_runs_the_script_points_at_the_python_plugin(editor):
    editor.mode("no_python")
    shot = make_shot(frames=4)
    with pytest.raises(Ue5RenderError, match="without writing a status file; is the Python Editor Script Plugin enabled"):
        render_clip(shot, out_dir(editor, shot), editor.config())


@pytest.mark.parametrize("version", ["5.2", "5.5", "5.6"])
def test_every_supported_engine_profile_renders_through_the_compat_paths(editor, version):
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_VERSION", version)
    shot = make_shot(frames=5)
    rec = render_clip(shot, out_dir(editor, shot), editor.config())
    assert rec.backend["engine"].startswith(version) and rec.measured.visible_pixels.sum() > 0


@pytest.mark.parametrize("version", ["5.0", "5.1"])
def test_5_0_and_5_1_are_refused_with_one_line_not_retried(editor, version):
    """Fault 6: those editors close one tick after the startup script returns; no render could run."""
    editor.monkeypatch.setenv("HMWORLD_FAKE_UE_VERSION", version)
    shot = make_shot(frames=4)
    with pytest.raises(Ue5SetupError, match=r"hmworld needs 5\.2 or newer") as e:
        render_clip(shot, out_dir(editor, shot), editor.config(ue_retries=3))
    assert "\n" not in str(e.value) and len(editor.runs()) == 1


def test_the_backend_registry_builds_it_from_cli_style_options(editor):
    backend = get_backend("ue5", ue_project=str(editor.project), ue_assets=asset_map(), ue_editor=str(editor.exe),
                          ue_timeout=60, ue_retries=0)
    assert isinstance(backend, Ue5Backend) and backend.name == "ue5"
    shot = make_shot(frames=3)
    rec = backend.render_clip(shot, out_dir(editor, shot))
    assert rec.shot.clip_id == shot.clip_id
    with pytest.raises(UserError, match="the ue5 backend has no option 'ue_colour'"):
        get_backend("ue5", ue_project=str(editor.project), ue_colour="red")


def test_an_unmapped_shot_fails_before_any_editor_starts(editor):
    shot = make_shot(frames=3, subjects=("zebra",))
    with pytest.raises(UserError, match=r"does not map subject 'zebra' \(mesh, walk anim\)"):
        render_clip(shot, out_dir(editor, shot), editor.config())
    assert editor.runs() == []


def test_bad_options_are_one_line_user_errors(editor, tmp_path, monkeypatch):
    monkeypatch.delenv("UE_EDITOR", raising=False)
    cases = [
        (dict(ue_project=None), "needs --ue-project"),
        (dict(ue_project=tmp_path / "nope.uproject"), "is not an existing .uproject file"),
        (dict(ue_project=editor.exe), "is not an existing .uproject file"),
        (dict(ue_editor=None), "pass --ue-editor PATH/TO/UnrealEditor-Cmd or set UE_EDITOR"),
        (dict(ue_editor=tmp_path / "missing-editor"), "does not exist"),
        (dict(ue_editor=editor.project), "is not executable"),
        (dict(ue_timeout=0), "--ue-timeout must be a positive finite number of seconds, got 0"),
        (dict(ue_timeout=float("inf")), "--ue-timeout must be a positive finite number of seconds, got inf"),
        (dict(ue_retries=-1), "--ue-retries must be a whole number ≥ 0, got -1"),
    ]
    for override, message in cases:
        kw = {"ue_project": editor.project, "ue_assets": asset_map(), "ue_editor": editor.exe, **override}
        with pytest.raises(UserError) as e:
            make_config(**kw)
        assert message in str(e.value) and "\n" not in str(e.value)
    monkeypatch.setenv("UE_EDITOR", str(editor.exe))
    assert make_config(editor.project, asset_map()).editor == editor.exe.resolve()


def test_a_scripts_folder_with_a_space_is_refused_up_front(editor, tmp_path):
    import shutil

    from ue5.support import SCRIPTS

    spaced = tmp_path / "my scripts"
    shutil.copytree(SCRIPTS, spaced)
    with pytest.raises(UserError, match="has a space in its path"):
        editor.config(scripts_dir=spaced)
