"""Fixtures for the UE5 backend tests: small shots, a mapped asset map, the fake editor's world."""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import stat
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from hmworld.catalog import SUBJECTS
from hmworld.geometry import intrinsics, look_at
from hmworld.render.ue5 import JOB_FORMAT, build_job
from hmworld.render.ue5_assets import AssetMap, parse_asset_map
from hmworld.shot import Shot

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCRIPTS = REPO / "ue_scripts"
FAKE_UNREAL = HERE / "fake_unreal" / "unreal.py"
FAKE_EDITOR = HERE / "fake_editor.py"
LEVEL = "/Game/Test/Maps/Street"


def run_script(tmp_path: Path, monkeypatch: Any, version="5.4", mode="ok", shot=None, assets=None, world=None, patch=None):
    """Write the host's batch job (one shot), run render_batch.py as the editor would, tick until it quits."""
    shot = shot or make_shot()
    assets = assets or asset_map()
    frames = tmp_path / "frames"
    frames.mkdir(exist_ok=True)
    job = build_job(shot, assets, frames, tmp_path / "status.json")
    (tmp_path / "job.json").write_text(json.dumps({"format": JOB_FORMAT, "shots": [job]}))
    monkeypatch.setenv("HMWORLD_UE_JOB", str(tmp_path / "job.json"))
    monkeypatch.setenv("HMWORLD_UE_STATUS", str(tmp_path / "batch_status.json"))
    monkeypatch.setenv("HMWORLD_FAKE_UE_WORLD", str(world or world_file(tmp_path, shot.subjects)))
    fake = load_fake_unreal(version, mode)
    monkeypatch.setitem(sys.modules, "unreal", fake)
    if patch is not None:
        patch(fake)
    runpy.run_path(str(SCRIPTS / "render_batch.py"), run_name="__main__")
    outcome = fake._engine.run_loop(max_seconds=30)
    status_file = tmp_path / "status.json"
    status = json.loads(status_file.read_text()) if status_file.is_file() else {"done": False}
    return fake, job, status, outcome, shot, assets



def make_shot(
    frames: int = 10, width: int = 64, height: int = 48, fps: int = 15, subjects: tuple[str, ...] = ("man_red_jacket", "labrador"),
    clip_id: str = "city_street-test000001",
) -> Shot:
    """Subjects walk across the view of a camera that pans a little and rises; all stay in frame."""
    n = len(subjects)
    t = np.arange(frames) / fps
    pos = np.zeros((n, frames, 3))
    heading = np.zeros((n, frames))
    speed = np.zeros((n, frames))
    for k in range(n):
        v = 1.2 + 0.4 * k
        direction = 0.3 + 1.9 * k  # radians; subject 1 walks at an angle
        start = np.array([-1.0 + 1.5 * k, -0.8 + 1.2 * k])
        xy = start + v * t[:, None] * np.array([np.cos(direction), np.sin(direction)])
        pos[k, :, :2] = xy
        heading[k] = direction
        speed[k] = v * (1.0 - 0.5 * (t / t[-1]) * (k == 1))  # subject 1 slows down
    eye = np.stack([-7.0 + 0.2 * t, -4.0 + 0.1 * t, 1.6 + 0.05 * t], axis=-1)
    target = np.stack([0.3 * np.sin(t), 0.2 * t, np.full_like(t, 0.8)], axis=-1)
    c2w = look_at(eye, target)
    sizes = np.array([SUBJECTS[s].size for s in subjects])
    return Shot(
        clip_id=clip_id, scene="city_street", subjects=subjects, paths=("straight",) * n,
        gaits=tuple(SUBJECTS[s].gaits[0].name for s in subjects), camera="test_pan", placement=0, seed=0,
        fps=fps, frames=frames, width=width, height=height, hfov_deg=62.0, c2w=c2w,
        K=intrinsics(62.0, width, height), subject_pos=pos, subject_heading=heading,
        subject_phase=np.cumsum(speed, axis=1) / fps / 1.5, subject_speed=speed, subject_size=sizes,
    )


def mesh_path(sid: str) -> str:
    return f"/Game/Test/Chars/SK_{sid}"


def anim_path(sid: str, gait: str) -> str:
    return f"/Game/Test/Anims/A_{sid}_{gait}"


def asset_map(
    subjects: tuple[str, ...] = ("man_red_jacket", "labrador"), anchor_cm=(1000.0, -500.0, 20.0),
    anchor_yaw_deg: float = 30.0, warmup: int = 2, spatial_samples: int = 1,
) -> AssetMap:
    """A fully mapped asset map for `subjects` in city_street (anchored off-origin and turned)."""
    data = {
        "format": 1,
        "render": {"warmup_frames": warmup, "spatial_samples": spatial_samples, "sensor_width_mm": 36.0},
        "scenes": {"city_street": {"level": LEVEL, "anchor_cm": list(anchor_cm), "anchor_yaw_deg": anchor_yaw_deg}},
        "subjects": {
            s: {"mesh": mesh_path(s), "yaw_offset_deg": -90.0, "scale": 1.0 + 0.1 * i, "z_offset_cm": 2.0,
                **{g.name: {"anim": anim_path(s, g.name), "speed_cm_s": 100.0 * (g.speed_min + g.speed_max) / 2}
                   for g in SUBJECTS[s].gaits}}
            for i, s in enumerate(subjects)
        },
    }
    return parse_asset_map(data)


def world_file(tmp: Path, subjects: tuple[str, ...] = ("man_red_jacket", "labrador")) -> Path:
    """The fake editor's content: the level, each mesh with its box (length, width, height cm), each anim."""
    world = {
        "levels": [LEVEL],
        "meshes": {mesh_path(s): [100 * SUBJECTS[s].length, 100 * SUBJECTS[s].width, 100 * SUBJECTS[s].height]
                   for s in subjects},
        "anims": {anim_path(s, g.name): 1.1 for s in subjects for g in SUBJECTS[s].gaits},
    }
    path = tmp / "fake_world.json"
    path.write_text(json.dumps(world))
    return path


def fake_editor_executable(tmp: Path) -> Path:
    """An executable named like the real one that runs the fake editor on this interpreter."""
    exe = tmp / "UnrealEditor-Cmd"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_EDITOR}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def project_file(tmp: Path) -> Path:
    p = tmp / "HMTest.uproject"
    p.write_text('{"FileVersion": 3, "EngineAssociation": "5.4"}\n')
    return p


def load_fake_unreal(version: str = "5.4", mode: str = "ok") -> ModuleType:
    """A fresh stand-in module (its own engine state) for one in-process run."""
    os.environ["HMWORLD_FAKE_UE_VERSION"] = version
    os.environ["HMWORLD_FAKE_UE_MODE"] = mode
    spec = importlib.util.spec_from_file_location("unreal", FAKE_UNREAL)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def full_asset_map_toml(tmp: Path, scene: str = "city_street", warmup: int = 1) -> Path:
    """An asset-map file mapping `scene` and every catalog subject and gait to the fake editor's assets."""
    from hmworld.catalog import SUBJECT_LIST

    lines = ["format = 1", "", "[render]", f"warmup_frames = {warmup}", "spatial_samples = 1", "",
             f"[scenes.{scene}]", f'level = "{LEVEL}"', "anchor_cm = [500.0, 250.0, 0.0]", "anchor_yaw_deg = -20.0"]
    for spec in SUBJECT_LIST:
        lines += ["", f"[subjects.{spec.id}]", f'mesh = "{mesh_path(spec.id)}"']
        lines += [f'{g.name} = {{ anim = "{anim_path(spec.id, g.name)}", speed_cm_s = 150.0 }}' for g in spec.gaits]
    path = tmp / "assets.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def full_world_file(tmp: Path) -> Path:
    from hmworld.catalog import SUBJECT_LIST

    return world_file(tmp, tuple(s.id for s in SUBJECT_LIST))
