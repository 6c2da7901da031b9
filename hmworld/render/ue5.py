"""The Unreal Engine 5 backend: drive UnrealEditor-Cmd to realise a shot, then check what came back.

One clip = one editor process (parallel clips = parallel processes, one per
worker). For each clip the host

1. writes a job JSON with every pose already in Unreal units (geometry.py
   conversions, the scene's anchor in the level, warm-up frames prepended);
2. launches the editor on ue_scripts/render_shot.py, streaming its output to a
   kept log, under a watchdog; a crashed or hung editor is retried a bounded
   number of times;
3. trusts nothing but the status file and the files on disk: the status must
   say done and successful, every frame of both passes must exist at the
   output size, and the transforms Sequencer evaluated must match the shot
   (position, rotation, focal length, filmback) within tolerance;
4. encodes the RGB frames into rgb.mp4, decodes the mask pass (colour channel
   k = subject k) into instances.npz, and writes clip.json last.

A failed clip raises Ue5RenderError and leaves no clip.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hmworld.atomic import write_json
from hmworld.clip import ClipRecord, Measured
from hmworld.errors import UserError
from hmworld.geometry import (
    ue_c2w_to_world,
    ue_rotator_to_axes,
    ue_to_world_points,
    ue_yaw_deg_to_world_heading,
    world_c2w_to_ue_transform,
    world_heading_to_ue_yaw_deg,
    world_to_ue_points,
)
from hmworld.render import register_backend
from hmworld.render.base import backend_info, finish_clip, measure_ids
from hmworld.render.ue5_assets import (
    DEFAULT_ASSET_MAP,
    AssetMap,
    SceneAsset,
    SubjectAsset,
    load_asset_map,
)
from hmworld.shot import Shot
from hmworld.video import write_video

UE5_BACKEND_VERSION = "1"
JOB_FORMAT = 1
JOB_ENV = "HMWORLD_UE_JOB"
EDITOR_ENV = "UE_EDITOR"
SCRIPTS_ENV = "HMWORLD_UE_SCRIPTS"
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "ue_scripts"
MIN_PLAY_RATE = 0.05  # a stop holds the pose almost still; a zero rate is not a play rate in 5.5+
RATE_STEP = 0.05  # a new animation section starts when the play rate moves by 5 %
MASK_THRESHOLD = 128
ZERO_PAD = 4
EDITOR_FLAGS = ("-unattended", "-nosplash", "-nosound", "-NoLoadingScreen", "-RenderOffscreen",
                "-stdout", "-FullStdOutLogOutput")


class Ue5RenderError(RuntimeError):
    """A clip could not be rendered or did not pass verification; no clip.json was written."""


class Ue5SetupError(UserError, Ue5RenderError):
    """The editor could not set the shot up (a level or asset the map names is missing): the user's to fix."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Tolerances:
    """How far Sequencer's evaluated transforms may be from the shot before a clip fails."""

    position_cm: float = 0.5
    rotation_deg: float = 0.05
    focal_rel: float = 1e-4
    scale_rel: float = 1e-4


@dataclass(frozen=True)
class Ue5Config:
    project: Path
    editor: Path
    assets: AssetMap
    timeout_s: float = 1800.0
    retries: int = 2
    quit_grace_s: float = 60.0
    work_dir: Path | None = None
    keep_frames: bool = False
    scripts_dir: Path = SCRIPTS_DIR
    extra_args: tuple[str, ...] = ()
    tolerances: Tolerances = field(default_factory=Tolerances)


def resolve_editor(editor: str | os.PathLike[str] | None) -> Path:
    """--ue-editor, else $UE_EDITOR; must be an executable file."""
    value = editor if editor not in (None, "") else os.environ.get(EDITOR_ENV, "")
    if not value:
        raise UserError(
            f"no Unreal Editor given; pass --ue-editor PATH/TO/UnrealEditor-Cmd or set {EDITOR_ENV}"
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise UserError(f"Unreal Editor {str(path)!r} does not exist; expected UnrealEditor-Cmd(.exe) (UnrealEditor on Linux)")
    if not os.access(path, os.X_OK):
        raise UserError(f"Unreal Editor {str(path)!r} is not executable")
    return path.resolve()


def make_config(
    ue_project: str | os.PathLike[str] | None,
    ue_assets: str | os.PathLike[str] | AssetMap | None = None,
    ue_editor: str | os.PathLike[str] | None = None,
    ue_timeout: float = 1800.0,
    ue_retries: int = 2,
    **more: Any,
) -> Ue5Config:
    """Validate the user's UE5 options (one-line UserError each) into a config."""
    if not ue_project:
        raise UserError("the ue5 backend needs --ue-project PATH/TO/Project.uproject")
    project = Path(ue_project).expanduser()
    if project.suffix.lower() != ".uproject" or not project.is_file():
        raise UserError(f"--ue-project {str(project)!r} is not an existing .uproject file")
    if not ue_timeout > 0:
        raise UserError(f"--ue-timeout must be a positive number of seconds, got {ue_timeout}")
    if isinstance(ue_retries, bool) or not isinstance(ue_retries, int) or ue_retries < 0:
        raise UserError(f"--ue-retries must be a whole number ≥ 0, got {ue_retries!r}")
    assets = ue_assets if isinstance(ue_assets, AssetMap) else load_asset_map(ue_assets or DEFAULT_ASSET_MAP)
    scripts = Path(more.pop("scripts_dir", None) or os.environ.get(SCRIPTS_ENV) or SCRIPTS_DIR)
    if more.get("work_dir") is not None:
        more["work_dir"] = Path(more["work_dir"])
    if not (scripts / "render_shot.py").is_file():
        raise UserError(f"ue_scripts folder {str(scripts)!r} has no render_shot.py; set {SCRIPTS_ENV}")
    if any(c.isspace() for c in str(scripts.resolve())):
        # the editor reads -ExecutePythonScript=PATH up to the first space on its command line
        raise UserError(f"ue_scripts folder {str(scripts.resolve())!r} has a space in its path; the editor cannot "
                        f"run a script there: move the checkout or copy ue_scripts elsewhere and set {SCRIPTS_ENV}")
    return Ue5Config(
        project=project.resolve(),
        editor=resolve_editor(ue_editor),
        assets=assets,
        timeout_s=float(ue_timeout),
        retries=ue_retries,
        scripts_dir=scripts.resolve(),
        **more,
    )


# --------------------------------------------------------------------------- shot → UE units (pure)


def _rot_z(yaw_deg: float) -> np.ndarray:
    a = np.radians(yaw_deg)
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


def anchor_points(p_cm: np.ndarray, scene: SceneAsset) -> np.ndarray:
    """Place UE-unit points (our origin at 0) into the level: turn by the anchor yaw, move to the anchor."""
    return np.asarray(p_cm, dtype=float) @ _rot_z(scene.anchor_yaw_deg).T + np.asarray(scene.anchor_cm)


def unanchor_points(p_cm: np.ndarray, scene: SceneAsset) -> np.ndarray:
    return (np.asarray(p_cm, dtype=float) - np.asarray(scene.anchor_cm)) @ _rot_z(scene.anchor_yaw_deg)


def _hold_first(a: np.ndarray, warmup: int) -> np.ndarray:
    """Prepend `warmup` copies of frame 0 (the camera and subjects wait in their first pose)."""
    return np.concatenate([np.repeat(a[:1], warmup, axis=0), a], axis=0)


def _unwrap_deg(a: np.ndarray) -> np.ndarray:
    """Angles continuous over time, so linear interpolation never spins the long way round."""
    return np.unwrap(a, period=360.0, axis=0)


def camera_keys(shot: Shot, scene: SceneAsset, warmup: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sequence frame: UE location cm [n,3] and rotator (roll, pitch, yaw) deg [n,3]."""
    loc, rot = world_c2w_to_ue_transform(shot.c2w)
    rot = rot.copy()
    rot[:, 2] += scene.anchor_yaw_deg
    rot[:, [0, 2]] = _unwrap_deg(rot[:, [0, 2]])
    return _hold_first(anchor_points(loc, scene), warmup), _hold_first(rot, warmup)


def subject_keys(
    shot: Shot, k: int, subject: SubjectAsset, scene: SceneAsset, warmup: int
) -> tuple[np.ndarray, np.ndarray]:
    """Subject k's actor root: UE location cm [n,3] and rotator deg [n,3] (yaw only)."""
    loc = world_to_ue_points(shot.subject_pos[k])
    loc[:, 2] += subject.z_offset_cm
    yaw = world_heading_to_ue_yaw_deg(shot.subject_heading[k]) + subject.yaw_offset_deg + scene.anchor_yaw_deg
    rot = np.zeros((shot.frames, 3))
    rot[:, 2] = _unwrap_deg(yaw)
    return _hold_first(anchor_points(loc, scene), warmup), _hold_first(rot, warmup)


def anim_sections(
    speed_m_s: np.ndarray, fps: float, anim_speed_cm_s: float, warmup: int, step: float = RATE_STEP
) -> list[dict[str, float | int]]:
    """Split the clip where the play rate (speed / the animation's own speed) moves by `step`.

    Each section carries its rate and the animation time at its start, so the
    gait is continuous across sections: anim time = Σ rate × duration.
    """
    rate = np.maximum(np.asarray(speed_m_s, dtype=float) * 100.0 / anim_speed_cm_s, MIN_PLAY_RATE)
    rate = _hold_first(rate, warmup)
    band = np.round(np.log(rate) / np.log1p(step)).astype(np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(band)) + 1])
    ends = np.append(starts[1:], rate.shape[0])
    seg_rate = np.add.reduceat(rate, starts) / (ends - starts)
    anim_time = np.concatenate([[0.0], np.cumsum(seg_rate * (ends - starts) / fps)[:-1]])
    return [
        {"start": int(s), "end": int(e), "play_rate": float(r), "anim_time_s": float(a)}
        for s, e, r, a in zip(starts, ends, seg_rate, anim_time, strict=True)
    ]


def filmback(sensor_width_mm: float, width: int, height: int, hfov_deg: float) -> tuple[float, float, float]:
    """(sensor width, sensor height, focal length) in mm: the output aspect, the shot's horizontal FOV."""
    focal = sensor_width_mm / (2.0 * np.tan(np.radians(hfov_deg) / 2.0))
    return float(sensor_width_mm), float(sensor_width_mm * height / width), float(focal)


def sequence_name(clip_id: str) -> str:
    return "HMW_" + re.sub(r"[^A-Za-z0-9_]", "_", clip_id)


def build_job(shot: Shot, assets: AssetMap, output_dir: Path, status_path: Path) -> dict[str, Any]:
    """Everything render_shot.py needs, in Unreal units and sequence frames (warm-up first)."""
    assets.require(shot.scene, shot.subjects, shot.gaits)
    scene = assets.scenes[shot.scene]
    warm = assets.render.warmup_frames
    sw, sh, focal = filmback(assets.render.sensor_width_mm, shot.width, shot.height, shot.hfov_deg)
    cam_loc, cam_rot = camera_keys(shot, scene, warm)
    subjects = []
    for k, (sid, gait) in enumerate(zip(shot.subjects, shot.gaits, strict=True)):
        asset = assets.subjects[sid]
        anim = asset.gait(gait)
        assert anim is not None  # require() checked it
        loc, rot = subject_keys(shot, k, asset, scene, warm)
        subjects.append({
            "index": k, "id": sid, "gait": gait, "stencil": k + 1, "mesh": asset.mesh,
            "scale": asset.scale, "anim": anim.anim, "location_cm": loc.tolist(), "rotation_deg": rot.tolist(),
            "anim_sections": anim_sections(shot.subject_speed[k], shot.fps, anim.speed_cm_s, warm),
        })
    return {
        "format": JOB_FORMAT,
        "clip_id": shot.clip_id,
        "level": scene.level,
        "fps": shot.fps,
        "frames": shot.frames,
        "warmup_frames": warm,
        "width": shot.width,
        "height": shot.height,
        "spatial_samples": assets.render.spatial_samples,
        "mask_material": assets.render.mask_material,
        "sequence_dir": assets.render.work_path,
        "sequence_name": sequence_name(shot.clip_id),
        "output_dir": str(output_dir),
        "status_path": str(status_path),
        "camera": {"sensor_width_mm": sw, "sensor_height_mm": sh, "focal_length_mm": focal,
                   "location_cm": cam_loc.tolist(), "rotation_deg": cam_rot.tolist()},
        "subjects": subjects,
    }


# --------------------------------------------------------------------------- the editor process


def editor_command(config: Ue5Config) -> list[str]:
    script = str(config.scripts_dir / "render_shot.py")
    return [str(config.editor), str(config.project), f"-ExecutePythonScript={script}",
            *EDITOR_FLAGS, *config.extra_args]


@dataclass(frozen=True)
class EditorRun:
    returncode: int | None
    timed_out: bool
    killed_after_done: bool
    wall_s: float
    status: dict[str, Any] | None


def read_status(path: Path) -> dict[str, Any] | None:
    """The status file, or None if absent or unreadable (a crash mid-write leaves only the .tmp)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """End the editor we started and its children (shader workers), by process id."""
    if proc.poll() is not None:
        return
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
    else:  # pragma: no cover - Windows
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(proc.pid)], capture_output=True, check=False)
    proc.wait()


def run_editor(
    cmd: list[str], env: dict[str, str], log_path: Path, status_path: Path, timeout_s: float, quit_grace_s: float
) -> EditorRun:
    """Run one editor process under a watchdog, its stdout/stderr streamed into `log_path`.

    The watchdog ends the editor when it runs past `timeout_s`, or when the
    status says done but the editor has not exited `quit_grace_s` later
    (a render that finished is kept; a hang at shutdown is not a failure).
    """
    start = time.monotonic()
    deadline = start + timeout_s
    timed_out = killed_after_done = False
    done_at: float | None = None
    kwargs: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {
        "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    with open(log_path, "wb") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, **kwargs)
        try:
            while proc.poll() is None:
                now = time.monotonic()
                if done_at is None:
                    status = read_status(status_path)
                    if status is not None and status.get("done"):
                        done_at = now
                if done_at is not None and now - done_at > quit_grace_s:
                    killed_after_done = True
                    _kill_tree(proc)
                    break
                if now > deadline:
                    timed_out = True
                    _kill_tree(proc)
                    break
                time.sleep(0.1)
        except BaseException:
            _kill_tree(proc)
            raise
    return EditorRun(proc.returncode, timed_out, killed_after_done, time.monotonic() - start,
                     read_status(status_path))


class _AttemptFailed(Exception):
    def __init__(self, message: str, retry: bool, setup: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.setup = setup


def _frame_paths(frames_dir: Path, pass_name: str, n: int) -> list[Path]:
    return [frames_dir / pass_name / f"{i:0{ZERO_PAD}d}.png" for i in range(n)]


def check_run(run: EditorRun, job: dict[str, Any], frames_dir: Path, log_path: Path) -> dict[str, list[Path]]:
    """Decide from the status file and the disk, never from the exit code, whether the render worked."""
    status, n = run.status, job["warmup_frames"] + job["frames"]
    where = f"(log: {log_path})"
    stage = status.get("stage", "?") if status else "?"
    if run.timed_out:
        raise _AttemptFailed(f"editor hung: still running after the {run.wall_s:.0f} s watchdog, "
                             f"in stage {stage!r} {where}", retry=True)
    if status is None:
        raise _AttemptFailed(f"editor exited with code {run.returncode} without writing a status file; "
                             f"is the Python Editor Script Plugin enabled? {where}", retry=True)
    if not status.get("done"):
        raise _AttemptFailed(f"editor exited with code {run.returncode} during stage {stage!r} "
                             f"without finishing (crash?) {where}", retry=True)
    if not status.get("success"):
        error = str(status.get("error") or "no error text").strip().splitlines()
        rendering = stage in ("render", "finished")
        raise _AttemptFailed(f"render script failed in stage {stage!r}: {error[-1] if error else ''} {where}",
                             retry=rendering, setup=stage == "setup")
    passes = status.get("passes") or {}
    if set(passes) != {"rgb", "mask"}:
        raise _AttemptFailed(f"status file names passes {passes!r}; expected rgb and mask {where}", retry=False)
    paths = {key: _frame_paths(frames_dir, name, n) for key, name in passes.items()}
    for key, files in paths.items():
        have = sum(p.is_file() for p in files)
        if have != n:
            raise _AttemptFailed(f"{key} pass has {have} of {n} frames in {files[0].parent} {where}", retry=True)
    return paths


# --------------------------------------------------------------------------- frames and verification


def load_frames(paths: list[Path], width: int, height: int) -> np.ndarray:
    """Decode PNG frames into uint8 RGB [T,H,W,3]; every frame must have the output size."""
    out = np.empty((len(paths), height, width, 3), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            if im.size != (width, height):
                raise Ue5RenderError(f"frame {p} is {im.size[0]}x{im.size[1]}, the shot is {width}x{height}")
            out[i] = np.asarray(im.convert("RGB"))
    return out


def decode_masks(mask_rgb: np.ndarray, n_subjects: int) -> np.ndarray:
    """Mask pass [T,H,W,3] (channel k lit on subject k) → instance ids uint8 [T,H,W], 0 = none."""
    ids = np.zeros(mask_rgb.shape[:-1], dtype=np.uint8)
    best = np.full(mask_rgb.shape[:-1], MASK_THRESHOLD - 1, dtype=np.uint8)
    for k in range(n_subjects):  # ≤ 3 channels; each step is whole-array
        channel = mask_rgb[..., k]
        wins = channel > best  # lit, and brighter than any channel before it
        ids[wins] = k + 1
        np.maximum(best, channel, out=best)
    return ids


def _rotation_error_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle of the rotation between 3×3 rotation stacks a and b."""
    cos = (np.einsum("...ij,...ij->...", a, b) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def compare_readback(shot: Shot, job: dict[str, Any], assets: AssetMap, readback: dict[str, Any]) -> dict[str, float]:
    """Worst differences between what Sequencer evaluated and the shot, in cm / degrees / relative."""
    scene = assets.scenes[shot.scene]
    warm, t = job["warmup_frames"], shot.frames
    if list(readback.get("frames", [])) != list(range(warm, warm + t)):
        raise Ue5RenderError("the read-back does not cover exactly the shot's frames")
    cam = readback["camera"]
    loc = unanchor_points(np.asarray(cam["location_cm"], dtype=float), scene)
    rot = np.asarray(cam["rotation_deg"], dtype=float)
    axes = _rot_z(-scene.anchor_yaw_deg) @ ue_rotator_to_axes(rot[:, 0], rot[:, 1], rot[:, 2])
    m = np.zeros((t, 4, 4))
    m[:, :3, :3], m[:, :3, 3], m[:, 3, 3] = axes, loc, 1.0
    c2w = ue_c2w_to_world(m)
    j = job["camera"]
    errors = {
        "camera_position_cm": float(np.max(np.linalg.norm(c2w[:, :3, 3] - shot.c2w[:, :3, 3], axis=-1)) * 100.0),
        "camera_rotation_deg": float(np.max(_rotation_error_deg(c2w[:, :3, :3], shot.c2w[:, :3, :3]))),
        "focal_rel": float(np.max(np.abs(np.asarray(cam["focal_length_mm"]) / j["focal_length_mm"] - 1.0))),
        "filmback_rel": float(max(
            np.max(np.abs(np.asarray(cam["sensor_width_mm"]) / j["sensor_width_mm"] - 1.0)),
            np.max(np.abs(np.asarray(cam["sensor_height_mm"]) / j["sensor_height_mm"] - 1.0)))),
        "subject_position_cm": 0.0,
        "subject_rotation_deg": 0.0,
        "subject_scale_rel": 0.0,
    }
    for k, rec in enumerate(readback["subjects"]):
        asset = assets.subjects[shot.subjects[k]]
        sl = unanchor_points(np.asarray(rec["location_cm"], dtype=float), scene)
        sl[:, 2] -= asset.z_offset_cm
        pos = ue_to_world_points(sl)
        sr = np.asarray(rec["rotation_deg"], dtype=float)
        heading = ue_yaw_deg_to_world_heading(sr[:, 2] - asset.yaw_offset_deg - scene.anchor_yaw_deg)
        dh = np.degrees(np.angle(np.exp(1j * (heading - shot.subject_heading[k]))))
        tilt = np.max(np.abs((sr[:, :2] + 180.0) % 360.0 - 180.0))
        errors["subject_position_cm"] = max(errors["subject_position_cm"],
                                            float(np.max(np.linalg.norm(pos - shot.subject_pos[k], axis=-1)) * 100.0))
        errors["subject_rotation_deg"] = max(errors["subject_rotation_deg"], float(np.max(np.abs(dh))), float(tilt))
        errors["subject_scale_rel"] = max(errors["subject_scale_rel"],
                                          float(np.max(np.abs(np.asarray(rec["scale"]) / asset.scale - 1.0))))
    return errors


def check_errors(errors: dict[str, float], tol: Tolerances) -> None:
    """Fail the clip if any evaluated transform is further from the shot than the tolerance."""
    limits = {"camera_position_cm": tol.position_cm, "subject_position_cm": tol.position_cm,
              "camera_rotation_deg": tol.rotation_deg, "subject_rotation_deg": tol.rotation_deg,
              "focal_rel": tol.focal_rel, "filmback_rel": tol.focal_rel, "subject_scale_rel": tol.scale_rel}
    bad = [f"{k} {errors[k]:.4g} > {v:g}" for k, v in limits.items() if not errors[k] <= v]
    if bad:
        raise Ue5RenderError("Sequencer's evaluated transforms differ from the shot: " + ", ".join(bad))


# --------------------------------------------------------------------------- one clip


def work_dir_for(out_dir: Path, config: Ue5Config, clip_id: str) -> Path:
    """Jobs, status files, frames and kept logs: beside the clip folders, hidden, never a clip itself."""
    root = config.work_dir if config.work_dir is not None else out_dir.parent / ".ue5-work"
    return Path(root) / clip_id


def render_clip(shot: Shot, out_dir: str | os.PathLike[str], config: Ue5Config) -> ClipRecord:
    """Render `shot` in Unreal Editor into the clip folder `out_dir`; clip.json is written last."""
    out_dir = Path(out_dir)
    config.assets.require(shot.scene, shot.subjects, shot.gaits)
    work = work_dir_for(out_dir, config, shot.clip_id)
    work.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for attempt in range(1, config.retries + 2):
        frames_dir = work / f"attempt-{attempt}" / "frames"
        status_path = work / f"attempt-{attempt}" / "status.json"
        log_path = work / f"attempt-{attempt}.log"
        shutil.rmtree(frames_dir.parent, ignore_errors=True)
        frames_dir.mkdir(parents=True)
        job = build_job(shot, config.assets, frames_dir, status_path)
        job_path = work / f"attempt-{attempt}" / "job.json"
        write_json(job_path, job, indent=None)
        env = {**os.environ, JOB_ENV: str(job_path)}
        run = run_editor(editor_command(config), env, log_path, status_path, config.timeout_s, config.quit_grace_s)
        try:
            paths = check_run(run, job, frames_dir, log_path)
        except _AttemptFailed as e:
            failures.append(f"attempt {attempt}: {e}")
            if e.retry and attempt <= config.retries:
                continue
            error = Ue5SetupError if e.setup else Ue5RenderError
            raise error(f"clip {shot.clip_id} failed after {attempt} attempt(s): " + " | ".join(failures)) from None
        try:
            record = _assemble(shot, out_dir, config, job, run, paths, attempt, log_path)
        except Ue5RenderError as e:  # verification failed: deterministic, not retried
            raise Ue5RenderError(f"clip {shot.clip_id}: {e} (frames kept in {frames_dir}; log: {log_path})") from None
        if not config.keep_frames:
            shutil.rmtree(frames_dir, ignore_errors=True)
        return record
    raise AssertionError("unreachable: the loop returns or raises")


def _assemble(
    shot: Shot, out_dir: Path, config: Ue5Config, job: dict[str, Any], run: EditorRun,
    paths: dict[str, list[Path]], attempts: int, log_path: Path,
) -> ClipRecord:
    status = run.status or {}
    errors = compare_readback(shot, job, config.assets, status.get("readback") or {})
    check_errors(errors, config.tolerances)
    warm = job["warmup_frames"]
    rgb = load_frames(paths["rgb"][warm:], shot.width, shot.height)
    ids = decode_masks(load_frames(paths["mask"][warm:], shot.width, shot.height), shot.n_subjects)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_video(out_dir / "rgb.mp4", rgb, shot.fps)
    backend = backend_info(Ue5Backend, engine=status.get("engine_version", "unknown"),
                           warmup_frames=warm, spatial_samples=job["spatial_samples"],
                           sensor_width_mm=job["camera"]["sensor_width_mm"])
    stats = {"attempts": attempts, "editor_s": round(run.wall_s, 3), "log": str(log_path),
             "killed_after_done": run.killed_after_done,
             **{f"max_{k}": round(v, 6) for k, v in errors.items()}}
    return finish_clip(out_dir, shot, ids, Measured(measure_ids(ids, shot.n_subjects), None), backend, stats)


def backend_options(rows: Iterable[Mapping[str, Any]], **flags: Any) -> dict[str, Any]:
    """What `hmworld render --backend ue5` hands the runner, checked up front in the main process.

    The --ue-* flags become a validated config, and every planned row must be
    fully mapped: a missing asset stops the run before any editor starts,
    with one line listing every gap.
    """
    config = make_config(**flags)
    config.assets.require_all((r["scene"], r["subjects"], r["gaits"]) for r in rows)
    return {"config": config}


# --------------------------------------------------------------------------- backend


@register_backend("ue5")
class Ue5Backend:
    """Backend protocol adapter: options are the CLI's --ue-* flags (ue_project, ue_assets, ...)."""

    name = "ue5"
    version = UE5_BACKEND_VERSION

    def __init__(self, **options: Any) -> None:
        known = ("config", "ue_project", "ue_assets", "ue_editor", "ue_timeout", "ue_retries", "work_dir",
                 "keep_frames", "quit_grace_s", "scripts_dir", "extra_args", "tolerances")
        unknown = [k for k in options if k not in known]
        if unknown:
            raise UserError(f"the ue5 backend has no option {unknown[0]!r}; allowed: {', '.join(known)}")
        config = options.pop("config", None)
        if config is not None and not isinstance(config, Ue5Config):
            raise TypeError(f"config must be a Ue5Config, got {type(config).__name__}")
        self.config = config or make_config(**{k: v for k, v in options.items() if v is not None})

    def render_clip(self, shot: Shot, out_dir: Path) -> ClipRecord:
        return render_clip(shot, out_dir, self.config)


__all__ = [
    "Tolerances", "Ue5Backend", "Ue5Config", "Ue5RenderError", "Ue5SetupError", "anim_sections", "backend_options",
    "build_job", "camera_keys",
    "compare_readback", "decode_masks", "editor_command", "filmback", "make_config", "render_clip",
    "resolve_editor", "run_editor", "subject_keys",
]
