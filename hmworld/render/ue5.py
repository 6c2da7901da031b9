"""The Unreal Engine 5 backend: drive UnrealEditor-Cmd to realise batches of shots, then check what came back.

One editor session renders a batch of shots (`--ue-batch N`), so the
editor's start-up (tens of seconds to minutes with a real project) is paid
once per batch, not once per clip. For a batch the host

1. writes a batch job JSON: per shot every pose already in Unreal units
   (geometry.py conversions, the scene's anchor in the level, warm-up frames
   prepended), its frames folder and its status file;
2. launches the editor on ue_scripts/render_batch.py under a progress-based
   watchdog (hmworld.render.ue5_editor), its output kept in a log;
3. as each shot's status says done, trusts nothing but that status and the
   files on disk: every frame of both passes must exist at the output size,
   and the transforms Sequencer evaluated must match the shot (position,
   rotation, focal length, filmback) within tolerance; then encodes
   rgb.mp4, decodes the mask pass into instances.npz and writes clip.json
   last, while the editor already renders the next shot;
4. when the editor crashes or hangs, charges the shot in flight only and
   starts a new editor on the shots not yet done; a shot fails after
   `retries + 1` charged attempts.

A failed shot leaves no clip.json; a setup problem the user must fix (a
level or asset missing from the project, a stencil clash, an engine older
than 5.2, a job file the scripts cannot read) raises Ue5SetupError.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hmworld.atomic import write_json
from hmworld.clip import VIDEO_FILE, ClipRecord, Measured, read_clip
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
from hmworld.plan_row import PlanRow
from hmworld.render import register_backend
from hmworld.render.base import ShotResult, backend_info, finish_clip, measure_ids
from hmworld.render.ue5_assets import (
    DEFAULT_ASSET_MAP,
    AssetMap,
    SceneAsset,
    SubjectAsset,
    load_asset_map,
)
from hmworld.render.ue5_editor import EditorSession, SessionShot
from hmworld.shot import Shot
from hmworld.video import write_video

UE5_BACKEND_VERSION = "2"
JOB_FORMAT = 2
JOB_ENV = "HMWORLD_UE_JOB"
STATUS_ENV = "HMWORLD_UE_STATUS"
DEFAULT_BATCH = 16  # 60 s start-up over 16 clips of ~5 min is ~1 %: well under the 10 % the issue allows
EDITOR_ENV = "UE_EDITOR"
SCRIPTS_ENV = "HMWORLD_UE_SCRIPTS"
SCRIPTS_DIR = Path(__file__).resolve().parents[2] / "ue_scripts"
MIN_PLAY_RATE = 0.05  # a stop holds the pose almost still; a zero rate is not a play rate in 5.5+
RATE_STEP = 0.05  # a new animation section starts when the play rate moves by 5 %
MASK_LINEAR_THRESHOLD = 0.5  # a pixel belongs to subject k when over half of it is (linear coverage)
RGB_PASS = "FinalImage"
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
    timeout_s: float = 1800.0  # seconds without progress (no frame, no status) before the editor is ended
    retries: int = 2
    batch: int = DEFAULT_BATCH
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
    ue_batch: int = DEFAULT_BATCH,
    **more: Any,
) -> Ue5Config:
    """Validate the user's UE5 options (one-line UserError each) into a config."""
    if not ue_project:
        raise UserError("the ue5 backend needs --ue-project PATH/TO/Project.uproject")
    project = Path(ue_project).expanduser()
    if project.suffix.lower() != ".uproject" or not project.is_file():
        raise UserError(f"--ue-project {str(project)!r} is not an existing .uproject file")
    if not 0 < ue_timeout < float("inf"):
        raise UserError(f"--ue-timeout must be a positive finite number of seconds, got {ue_timeout}")
    if isinstance(ue_retries, bool) or not isinstance(ue_retries, int) or ue_retries < 0:
        raise UserError(f"--ue-retries must be a whole number ≥ 0, got {ue_retries!r}")
    if isinstance(ue_batch, bool) or not isinstance(ue_batch, int) or ue_batch < 1:
        raise UserError(f"--ue-batch must be a whole number ≥ 1 (shots per editor session), got {ue_batch!r}")
    assets = ue_assets if isinstance(ue_assets, AssetMap) else load_asset_map(ue_assets or DEFAULT_ASSET_MAP)
    scripts = Path(more.pop("scripts_dir", None) or os.environ.get(SCRIPTS_ENV) or SCRIPTS_DIR)
    if more.get("work_dir") is not None:
        more["work_dir"] = Path(more["work_dir"])
    if not (scripts / "render_batch.py").is_file():
        raise UserError(f"ue_scripts folder {str(scripts)!r} has no render_batch.py; set {SCRIPTS_ENV}")
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
        batch=ue_batch,
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
    """One shot of a batch job: everything render_batch.py needs, in Unreal units and sequence frames."""
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
            "index": k, "id": sid, "gait": gait, "stencil": assets.render.stencil_values[k], "mesh": asset.mesh,
            "scale": asset.scale, "anim": anim.anim, "location_cm": loc.tolist(), "rotation_deg": rot.tolist(),
            "anim_sections": anim_sections(shot.subject_speed[k], shot.fps, anim.speed_cm_s, warm),
        })
    return {
        "clip_id": shot.clip_id,
        "level": scene.level,
        "fps": shot.fps,
        "frames": shot.frames,
        "warmup_frames": warm,
        "width": shot.width,
        "height": shot.height,
        "spatial_samples": assets.render.spatial_samples,
        "mask_material": assets.render.mask_material,
        "stencils": list(assets.render.stencil_values),
        "depth_tolerance_cm": assets.render.depth_tolerance_cm,
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
    script = str(config.scripts_dir / "render_batch.py")
    return [str(config.editor), str(config.project), f"-ExecutePythonScript={script}",
            *EDITOR_FLAGS, *config.extra_args]


def _frame_paths(frames_dir: Path, pass_name: str, n: int) -> list[Path]:
    return [frames_dir / pass_name / f"{i:0{ZERO_PAD}d}.png" for i in range(n)]


class _ShotFailed(Exception):
    def __init__(self, message: str, retry: bool, setup: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.setup = setup


def check_status(status: dict[str, Any], job: dict[str, Any], frames_dir: Path, where: str) -> dict[str, list[Path]]:
    """Decide from a done shot status and the disk, never from an exit code, whether the render worked."""
    n = job["warmup_frames"] + job["frames"]
    stage = status.get("stage", "?")
    if not status.get("success"):
        error = str(status.get("error") or "no error text").strip().splitlines()
        raise _ShotFailed(f"render script failed in stage {stage!r}: {error[-1] if error else ''} {where}",
                          retry=stage in ("render", "finished"), setup=stage == "setup")
    passes = status.get("passes") or {}
    want = {"rgb": RGB_PASS, "mask": RGB_PASS + mask_pass_suffix(job)}
    if passes != want:
        raise _ShotFailed(f"status file names passes {passes!r}; expected {want!r} {where}", retry=False)
    paths = {key: _frame_paths(frames_dir, name, n) for key, name in passes.items()}
    for key, files in paths.items():
        have = sum(p.is_file() for p in files)
        if have != n:
            raise _ShotFailed(f"{key} pass has {have} of {n} frames in {files[0].parent} {where}", retry=True)
    return paths


def mask_pass_suffix(job: dict[str, Any]) -> str:
    """The mask material's asset name, which MRQ appends to "FinalImage" for the pass folder.

    A user-supplied material is named by the last part of its path;
    otherwise ue_scripts name it by the stencil values and depth tolerance.
    """
    if job.get("mask_material"):
        return job["mask_material"].rsplit("/", 1)[-1].split(".")[0]
    stencils = "_".join(str(int(v)) for v in job["stencils"])
    return f"M_HMWorldSubjectIds_{stencils}_T{round(float(job['depth_tolerance_cm']) * 10)}"


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


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] → linear (IEC 61966-2-1 transfer function)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


# The smallest 8-bit sRGB code whose linear value reaches the threshold (188 for 0.5): MRQ's PNG
# writer sRGB-encodes the post-process pass, so code 128 is only ~22 % linear coverage.
MASK_THRESHOLD = int(np.argmax(srgb_to_linear(np.arange(256) / 255.0) >= MASK_LINEAR_THRESHOLD))


def decode_masks(mask_rgb: np.ndarray, n_subjects: int) -> np.ndarray:
    """Mask pass [T,H,W,3] (channel k lit on subject k, sRGB-encoded PNG) → instance ids uint8 [T,H,W].

    A pixel is subject k's when channel k's linear value is at least
    MASK_LINEAR_THRESHOLD and the highest of the lit channels; 0 = none.
    """
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


# --------------------------------------------------------------------------- batches


def work_root(out_dir: Path, config: Ue5Config) -> Path:
    """Jobs, status files, frames and kept logs: beside the clip folders, hidden, never a clip itself."""
    return Path(config.work_dir) if config.work_dir is not None else out_dir.parent / ".ue5-work"


@dataclass
class _Pending:
    shot: Shot
    out_dir: Path
    failures: list[str] = field(default_factory=list)
    tries: int = 0


def render_batch(items: Sequence[tuple[Shot, Path]], config: Ue5Config) -> Iterator[ShotResult]:
    """Render shots in as few editor sessions as crashes allow; one ShotResult per shot as it finishes.

    A crash or hang costs the shot in flight one attempt; the editor is
    started again on the shots not yet done. Raises Ue5SetupError (a
    UserError) for problems no retry can fix.
    """
    if not items:
        return
    for shot, _ in items:
        config.assets.require(shot.scene, shot.subjects, shot.gaits)
    todo = [_Pending(shot, Path(out)) for shot, out in items]
    root = work_root(todo[0].out_dir, config)
    sessions = 0
    while todo:
        sessions += 1
        session_dir = root / "sessions" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{sessions}"
        session_dir.mkdir(parents=True, exist_ok=True)
        shots, jobs = [], []
        for p in todo:
            p.tries += 1
            attempt = root / p.shot.clip_id / f"try-{p.tries}"
            shutil.rmtree(attempt, ignore_errors=True)
            (attempt / "frames").mkdir(parents=True)
            shots.append(SessionShot(p.shot.clip_id, attempt / "status.json", attempt / "frames"))
            jobs.append(build_job(p.shot, config.assets, attempt / "frames", attempt / "status.json"))
        job_path = session_dir / "batch.json"
        write_json(job_path, {"format": JOB_FORMAT, "shots": jobs}, indent=None)
        env = {**os.environ, JOB_ENV: str(job_path), STATUS_ENV: str(session_dir / "status.json")}
        session = EditorSession(editor_command(config), env, session_dir / "editor.log", session_dir / "status.json",
                                shots, config.timeout_s, config.quit_grace_s)
        retry: list[_Pending] = []
        finished = session.finished()
        try:
            yield from _finish_shots(finished, session, todo, jobs, shots, config, retry)
        finally:
            finished.close()  # ends the editor now if we stop early (an error, the consumer gone)
        last = time.perf_counter()
        if session.fatal is not None:
            raise Ue5SetupError(f"the editor session could not start the batch: {session.fatal}")
        rest = todo[session.reported:]
        if rest and session.lost is not None:
            lost = rest[0]
            lost.failures.append(f"try {lost.tries}: {session.lost}")
            if len(lost.failures) > config.retries:
                yield _failed(lost, last)
                rest = rest[1:]
        todo = retry + rest


def _finish_shots(
    finished: Iterator[tuple[int, dict[str, Any]]], session: EditorSession, todo: list[_Pending],
    jobs: list[dict[str, Any]], shots: list[SessionShot], config: Ue5Config, retry: list[_Pending],
) -> Iterator[ShotResult]:
    """Verify and finish each shot the session reports done; failed ones are retried or reported."""
    last = time.perf_counter()
    for index, status in finished:
        p, job = todo[index], jobs[index]
        where = f"(log: {session.log_path})"
        try:
            paths = check_status(status, job, shots[index].frames_dir, where)
            _assemble(p.shot, p.out_dir, config, job, status, paths, p.tries, len(p.failures), session.log_path)
        except _ShotFailed as e:
            if e.setup:
                raise Ue5SetupError(f"clip {p.shot.clip_id}: {e}") from None
            p.failures.append(f"try {p.tries}: {e}")
            if e.retry and len(p.failures) <= config.retries:
                retry.append(p)
                continue
            yield _failed(p, last)
        except Ue5RenderError as e:  # verification failed: deterministic, not retried
            p.failures.append(f"try {p.tries}: {e} (frames kept in {shots[index].frames_dir}; log: "
                              f"{session.log_path})")
            yield _failed(p, last)
        else:
            if not config.keep_frames:
                shutil.rmtree(shots[index].frames_dir, ignore_errors=True)
            yield ShotResult(p.shot.clip_id, p.shot.frames, time.perf_counter() - last)
        last = time.perf_counter()


def _failed(p: _Pending, since: float) -> ShotResult:
    error = Ue5RenderError(f"clip {p.shot.clip_id} failed after {len(p.failures)} attempt(s): "
                           + " | ".join(p.failures))
    text = "".join(traceback.format_exception_only(type(error), error))
    return ShotResult(p.shot.clip_id, 0, time.perf_counter() - since, text)


def render_clip(shot: Shot, out_dir: str | os.PathLike[str], config: Ue5Config) -> ClipRecord:
    """Render one shot (a batch of one) into the clip folder `out_dir`; raise if it failed."""
    (result,) = list(render_batch([(shot, Path(out_dir))], config))
    if result.error is not None:
        raise Ue5RenderError(result.error.strip().split(": ", 1)[-1])
    return read_clip(Path(out_dir))


def _assemble(
    shot: Shot, out_dir: Path, config: Ue5Config, job: dict[str, Any], status: dict[str, Any],
    paths: dict[str, list[Path]], tries: int, failures: int, log_path: Path,
) -> ClipRecord:
    errors = compare_readback(shot, job, config.assets, status.get("readback") or {})
    check_errors(errors, config.tolerances)
    warm = job["warmup_frames"]
    rgb = load_frames(paths["rgb"][warm:], shot.width, shot.height)
    ids = decode_masks(load_frames(paths["mask"][warm:], shot.width, shot.height), shot.n_subjects)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_video(out_dir / VIDEO_FILE, rgb, shot.fps)
    backend = backend_info(Ue5Backend, engine=status.get("engine_version", "unknown"),
                           warmup_frames=warm, spatial_samples=job["spatial_samples"],
                           sensor_width_mm=job["camera"]["sensor_width_mm"],
                           stencil_values=job["stencils"], depth_tolerance_cm=job["depth_tolerance_cm"])
    editor_s = float(status.get("updated", 0.0)) - float(status.get("started", 0.0))
    stats = {"attempts": tries, "failures": failures, "editor_s": round(editor_s, 3), "log": str(log_path),
             **{f"max_{k}": round(v, 6) for k, v in errors.items()}}
    return finish_clip(out_dir, shot, ids, Measured(measure_ids(ids, shot.n_subjects), None), backend, stats)


def backend_options(rows: Iterable[PlanRow], **flags: Any) -> dict[str, Any]:
    """What `hmworld render --backend ue5` hands the runner, checked up front in the main process.

    The --ue-* flags become a validated config, and every planned row must be
    fully mapped: a missing asset stops the run before any editor starts,
    with one line listing every gap.
    """
    config = make_config(**flags)
    config.assets.require_all((r.scene, r.subjects, r.gaits) for r in rows)
    return {"config": config}


# --------------------------------------------------------------------------- backend


@register_backend("ue5")
class Ue5Backend:
    """Backend protocol adapter: options are the CLI's --ue-* flags (ue_project, ue_assets, ...)."""

    name = "ue5"
    version = UE5_BACKEND_VERSION
    session = True  # an editor per worker: Ray runs it on long-lived actors (hmworld.render.executors.ray)

    def __init__(self, **options: Any) -> None:
        known = ("config", "ue_project", "ue_assets", "ue_editor", "ue_timeout", "ue_retries", "ue_batch", "work_dir",
                 "keep_frames", "quit_grace_s", "scripts_dir", "extra_args", "tolerances")
        unknown = [k for k in options if k not in known]
        if unknown:
            raise UserError(f"the ue5 backend has no option {unknown[0]!r}; allowed: {', '.join(known)}")
        config = options.pop("config", None)
        if config is not None and not isinstance(config, Ue5Config):
            raise TypeError(f"config must be a Ue5Config, got {type(config).__name__}")
        self.config = config or make_config(**{k: v for k, v in options.items() if v is not None})

    @property
    def batch_size(self) -> int:
        """Shots per editor session (--ue-batch)."""
        return self.config.batch

    def render_batch(self, items: Sequence[tuple[Shot, Path]]) -> Iterator[ShotResult]:
        return render_batch(items, self.config)

    def render_clip(self, shot: Shot, out_dir: Path) -> ClipRecord:
        return render_clip(shot, out_dir, self.config)


__all__ = [
    "Tolerances", "Ue5Backend", "Ue5Config", "Ue5RenderError", "Ue5SetupError", "anim_sections", "backend_options",
    "build_job", "camera_keys",
    "compare_readback", "decode_masks", "editor_command", "filmback", "make_config", "render_batch", "render_clip",
    "resolve_editor", "subject_keys",
]
