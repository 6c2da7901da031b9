"""`hmworld render --backend ue5` and `hmworld ue5-assets`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from hmworld.clip import list_clip_dirs, read_clip
from hmworld.render.ue5_assets import DEFAULT_ASSET_MAP, template_text
from ue5.support import fake_editor_executable, full_asset_map_toml, full_world_file, project_file


def hmworld(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hmworld", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, check=False)


def test_render_with_the_ue5_backend_writes_clip_folders_and_resumes(tmp_path):
    exe, project = fake_editor_executable(tmp_path), project_file(tmp_path)
    env = {"HMWORLD_FAKE_UE_WORLD": str(full_world_file(tmp_path)), "HMWORLD_FAKE_UE_MODE": "ok",
           "HMWORLD_FAKE_UE_ARGV": str(tmp_path / "argv.log"), "UE_EDITOR": str(exe)}
    args = ["render", "--scene", "city_street", "--clips", "2", "--frames", "6", "--resolution", "64x48",
            "--out", str(tmp_path / "data"), "--backend", "ue5", "--ue-project", str(project),
            "--ue-assets", str(full_asset_map_toml(tmp_path)), "--workers", "2", "--no-progress"]
    run = hmworld(*args, env=env)
    assert run.returncode == 0, run.stderr
    assert "2 clip(s) rendered" in run.stdout
    clips = list_clip_dirs(tmp_path / "data")
    assert len(clips) == 2
    for c in clips:
        rec = read_clip(c)
        assert rec.backend["name"] == "ue5" and rec.shot.frames == 6 and rec.load_instances().shape == (6, 48, 64)
    pids = {line.split("\t")[0] for line in (tmp_path / "argv.log").read_text().splitlines()}
    assert len(pids) == 2  # one editor process per clip
    again = hmworld(*args, env=env)
    assert again.returncode == 0 and "0 clip(s) rendered, 2 already complete" in again.stdout


def test_unmapped_assets_stop_the_run_with_one_line_before_any_editor_starts(tmp_path):
    exe, project = fake_editor_executable(tmp_path), project_file(tmp_path)
    run = hmworld("render", "--scene", "park", "--clips", "3", "--out", str(tmp_path / "data"), "--backend", "ue5",
                  "--ue-project", str(project), "--ue-editor", str(exe), "--ue-assets", str(DEFAULT_ASSET_MAP),
                  env={"HMWORLD_FAKE_UE_ARGV": str(tmp_path / "argv.log")})
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: UE5 asset map") and "scene 'park' (level)" in line
    assert not (tmp_path / "argv.log").exists()


def test_ue5_assets_writes_the_template_and_checks_a_map(tmp_path):
    out = tmp_path / "mine.toml"
    run = hmworld("ue5-assets", "--template", str(out), "--check", str(full_asset_map_toml(tmp_path)))
    assert run.returncode == 0, run.stderr
    assert out.read_text() == template_text()
    assert "1/17 scenes and 49/49 subjects fully mapped" in run.stdout
    assert "unmapped scenes: park, plaza" in run.stdout
    bad = hmworld("ue5-assets", "--check", str(tmp_path / "missing.toml"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: UE5 asset map")


def test_ue_batch_renders_several_clips_per_editor_session(tmp_path):
    exe, project = fake_editor_executable(tmp_path), project_file(tmp_path)
    env = {"HMWORLD_FAKE_UE_WORLD": str(full_world_file(tmp_path)), "HMWORLD_FAKE_UE_MODE": "ok",
           "HMWORLD_FAKE_UE_ARGV": str(tmp_path / "argv.log"), "UE_EDITOR": str(exe)}
    base = ["render", "--scene", "city_street", "--clips", "4", "--frames", "4", "--resolution", "64x48",
            "--out", str(tmp_path / "data"), "--backend", "ue5", "--ue-project", str(project),
            "--ue-assets", str(full_asset_map_toml(tmp_path)), "--no-progress"]
    bad = hmworld(*base, "--ue-batch", "0", env=env)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: --ue-batch must be a whole number ≥ 1 (shots per editor session), got 0")
    run = hmworld(*base, "--ue-batch", "3", env=env)
    assert run.returncode == 0, run.stderr
    assert "4 clip(s) rendered" in run.stdout
    assert len((tmp_path / "argv.log").read_text().splitlines()) == 2  # 3 clips, then 1: two start-ups
    assert len(list_clip_dirs(tmp_path / "data")) == 4
