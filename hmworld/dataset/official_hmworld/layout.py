"""The official HM-World folder layout: file names, masks, and the three JSON files.

    OUT/caption.txt                      line i (1-based) is the caption of sample i
    OUT/sample<i>/cond.mp4, tgt.mp4      context / target streams, 77 frames each (75 + padding)
    OUT/sample<i>/cond_mask.mp4, tgt_mask.mp4   subjects red on black
    OUT/sample<i>/cond_depth.npz, tgt_depth.npz depth of the streams (ours; only for clips with depth): float16
                                         metres along the optical axis, one member per frame (hmworld.depth)
    OUT/sample<i>/camera.json            UE camera-to-world, stream form {"cond_cam": {"0".."76"}, "tgt_cam": …},
                                         4×4 numbers padded as the videos (what the release's infer_hydra.py reads)
    OUT/sample<i>/character.json         subjects and their per-frame poses, UE units (our fields)
    OUT/sample<i>/check.json             exit/entry frames, events, states, stream layout (our fields)

HM-World does not publish character.json and check.json fields; the ones we
write are documented in docs/FORMAT.md, and readers here ignore fields they
do not know. All unit conversions go through hmworld.geometry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from hmworld.geometry import (
    HYDRA_STREAM_LEN,
    UE_CM_PER_M,
    format_ue_rowvec_string,
    hmworld_raw_to_frames,
    parse_ue_rowvec_string,
    split_streams,
    ue_c2w_to_world,
    ue_to_world_points,
    ue_yaw_deg_to_world_heading,
    world_c2w_to_ue,
    world_heading_to_ue_yaw_deg,
    world_to_ue_points,
)

COND_MP4, TGT_MP4 = "cond.mp4", "tgt.mp4"
COND_MASK_MP4, TGT_MASK_MP4 = "cond_mask.mp4", "tgt_mask.mp4"
COND_DEPTH_NPZ, TGT_DEPTH_NPZ = "cond_depth.npz", "tgt_depth.npz"
CAMERA_JSON, CHARACTER_JSON, CHECK_JSON = "camera.json", "character.json", "check.json"
CAPTION_TXT = "caption.txt"
SAMPLE_PREFIX = "sample"
SAMPLE_RE = re.compile(r"^sample(\d+)$")
EXAMPLE_RE = re.compile(r"^(\d+)\.mp4$")

CHARACTER_FORMAT = "hmworld-character"
CHECK_FORMAT = "hmworld-check"
FORMAT_VERSION = 1
DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_FPS = 832, 480, 15
OFFICIAL_RAW_FRAMES = 149  # a raw HM-World camera.json has keys "0".."148"
OFFICIAL_STREAM_FRAMES = 75  # each 77-frame stream holds 75 clip frames, padded 1 + 1
MASK_LEVELS = (255, 200, 150)  # red value of subject 0, 1, 2: all read as red by HSV thresholds
LUMA = (0.299, 0.587, 0.114)  # BT.601 weights


# --------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class StreamLayout:
    """Where a 77-frame stream's frames come from in the clip: `frames` clip frames from
    `first_frame`, with `pad_front` copies of the first and `pad_back` copies of the last."""

    first_frame: int
    frames: int
    pad_front: int
    pad_back: int

    def to_dict(self) -> dict[str, int]:
        return {"first_frame": self.first_frame, "frames": self.frames, "pad_front": self.pad_front,
                "pad_back": self.pad_back}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamLayout:
        return cls(int(d["first_frame"]), int(d["frames"]), int(d["pad_front"]), int(d["pad_back"]))

    def unpad(self, stream: np.ndarray) -> np.ndarray:
        return stream[self.pad_front : self.pad_front + self.frames]


def stream_layouts(total: int, length: int = HYDRA_STREAM_LEN) -> tuple[StreamLayout, StreamLayout]:
    """As geometry.split_streams: half the clip each, padded front//2 + rest (a last odd frame is dropped)."""
    half = total // 2
    missing = length - half
    front = missing // 2
    return StreamLayout(0, half, front, missing - front), StreamLayout(half, half, front, missing - front)


OFFICIAL_LAYOUT = stream_layouts(2 * OFFICIAL_STREAM_FRAMES)


# --------------------------------------------------------------------------- masks


def mask_rgb(ids: np.ndarray) -> np.ndarray:
    """Instance ids [T,H,W] → red-on-black RGB [T,H,W,3]; subject k at red MASK_LEVELS[k]."""
    lut = np.zeros((256, 3), np.uint8)
    for k, level in enumerate(MASK_LEVELS):
        lut[k + 1, 0] = level
    return lut[ids]


def is_red(rgb: np.ndarray) -> np.ndarray:
    """Pixels a red-on-black mask marks as subject (hue near red, strong enough)."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    return (r >= 100) & (r - np.maximum(g, b) >= 60)


def mask_ids(rgb: np.ndarray, n_subjects: int, levels: tuple[int, ...] | None = MASK_LEVELS) -> np.ndarray:
    """Decoded mask video [T,H,W,3] → instance ids [T,H,W] (0 none, k subject k-1).

    With our red levels each pixel takes the nearest of black and the levels in
    luma, which H.264 keeps at full resolution (its colour planes are halved, so
    red alone blurs at subject edges). Without them (foreign masks) every red
    pixel is subject 0.
    """
    if n_subjects == 0:
        return np.zeros(rgb.shape[:-1], np.uint8)
    if levels is None:
        return is_red(rgb).astype(np.uint8)
    luma = rgb.astype(np.float32) @ np.array(LUMA, np.float32)
    classes = np.array([0.0, *levels[:n_subjects]], np.float32) * LUMA[0]
    return np.argmin(np.abs(luma[..., None] - classes), axis=-1).astype(np.uint8)


# --------------------------------------------------------------------------- camera.json


def camera_json(c2w: np.ndarray) -> dict[str, str]:
    """Our c2w [T,4,4] → raw camera.json: key per clip frame, UE row-vector matrix string (cm).

    The raw form the full HM-World release stores; its readers take keys '0'..'148'
    as a 150-frame clip, so `export` writes `camera_streams_json` instead.
    """
    ue = world_c2w_to_ue(c2w)
    return {str(t): format_ue_rowvec_string(m) for t, m in enumerate(ue)}


def camera_streams_json(c2w: np.ndarray) -> dict[str, dict[str, list[list[float]]]]:
    """Our c2w [T,4,4] (T even) → stream-form camera.json: the two 77-frame streams, padded as the videos.

    {"cond_cam": {"0".."76": 4×4 UE camera-to-world, cm, columns forward/right/up/translation}, "tgt_cam": …},
    the form of the HyDRA release's examples: its `load_condition_json` turns this into exactly our
    [20,12] `hydra_cond_cam` / `hydra_tgt_cam` for every clip length export accepts.
    """
    cond, tgt = split_streams(world_c2w_to_ue(c2w))
    return {name: {str(i): m.tolist() for i, m in enumerate(stream)} for name, stream in (("cond_cam", cond),
                                                                                          ("tgt_cam", tgt))}


RIGID_TOLERANCE = 1e-3  # |RᵀR − I| and |det R − 1| of a camera rotation; real UE exports are off by ~1e-7


def rigid_error(c2w: np.ndarray) -> np.ndarray:
    """How far each pose's rotation [T,4,4] is from a rotation: max |RᵀR − I|, |det R − 1| per frame [T]."""
    r = np.asarray(c2w, dtype=np.float64)[..., :3, :3]
    gram = np.einsum("...ji,...jk->...ik", r, r) - np.eye(3)
    return np.maximum(np.abs(gram).max(axis=(-2, -1)), np.abs(np.linalg.det(r) - 1.0))


def check_rigid(c2w: np.ndarray, where: str) -> None:
    """ValueError naming the first frame whose rotation is not rigid (scaled, sheared, mirrored)."""
    err = rigid_error(c2w)
    bad = np.flatnonzero(~(err <= RIGID_TOLERANCE))
    if bad.size:
        f = int(bad[0])
        raise ValueError(f"{where}: frame {f} is not a rigid camera pose: its rotation is off a rotation by "
                         f"{float(err[f]):.3g} (allowed {RIGID_TOLERANCE:g}); {bad.size} frame(s) like it")


def _ue_matrix(value: Any) -> np.ndarray:
    """A raw entry: a bracketed row-vector string, or a 4×4 list in column form."""
    if isinstance(value, str):
        return parse_ue_rowvec_string(value)
    m = np.asarray(value, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"camera matrix must be 4x4, got shape {m.shape}")
    return m


def _stream(d: dict[str, Any], name: str) -> np.ndarray:
    keys = sorted((k for k in d if k.isdigit()), key=int)
    if [int(k) for k in keys] != list(range(len(keys))) or not keys:
        raise ValueError(f"{name} must have keys '0'..'N-1'")
    return np.stack([_ue_matrix(d[k]) for k in keys])


@dataclass(frozen=True)
class CameraTrack:
    """Our c2w per clip frame, read from either camera.json form."""

    c2w: np.ndarray  # [T,4,4]
    form: str  # "raw" (keys "0".."N") or "streams" (cond_cam / tgt_cam)
    cond: np.ndarray | None = None  # stream form: the 77-frame streams as written, ours
    tgt: np.ndarray | None = None


def read_camera_json(d: dict[str, Any], layouts: tuple[StreamLayout, StreamLayout] | None, exact_raw: bool) -> CameraTrack:
    """Parse camera.json in either form, tolerating keys we do not know.

    Raw form: keys "0".."N-1". With `exact_raw` (our check.json says every clip
    frame is stored) the keys are the clip; otherwise an official 149-key file
    gets the official fix-up (frame 0 := frame 1, last repeated → 150).
    Stream form: {"cond_cam": {"0".."76"}, "tgt_cam": {...}}, unpadded with `layouts`
    (default: the official 75 + 75, padded 1 + 1).
    """
    if "cond_cam" in d and "tgt_cam" in d:
        cond = ue_c2w_to_world(_stream(d["cond_cam"], "cond_cam"))
        tgt = ue_c2w_to_world(_stream(d["tgt_cam"], "tgt_cam"))
        lc, lt = layouts or OFFICIAL_LAYOUT
        return CameraTrack(np.concatenate([lc.unpad(cond), lt.unpad(tgt)]), "streams", cond, tgt)
    raw = _stream(d, "camera.json")
    if not exact_raw and raw.shape[0] == OFFICIAL_RAW_FRAMES:
        raw = hmworld_raw_to_frames(raw)
    return CameraTrack(ue_c2w_to_world(raw), "raw")


# --------------------------------------------------------------------------- character.json


@dataclass(frozen=True)
class Character:
    id: str
    kind: str
    path: str
    gait: str
    size: np.ndarray  # [3] metres (length, width, height)
    pos: np.ndarray  # [T,3] metres, ours
    heading: np.ndarray  # [T] radians, ours
    speed: np.ndarray  # [T] m/s
    phase: np.ndarray  # [T] gait cycles


def character_json(
    subjects: list[str], kinds: list[str], paths: list[str], gaits: list[str], size: np.ndarray,
    pos: np.ndarray, heading: np.ndarray, speed: np.ndarray, phase: np.ndarray, fps: int,
) -> dict[str, Any]:
    """Subjects and their per-clip-frame root poses in UE units (cm, left-handed, yaw in degrees)."""
    chars = []
    for k, sid in enumerate(subjects):
        chars.append({
            "index": k,
            "instance_id": k + 1,
            "mask_red": MASK_LEVELS[k],
            "id": sid,
            "kind": kinds[k],
            "path": paths[k],
            "gait": gaits[k],
            "size_cm": (np.asarray(size[k], float) * UE_CM_PER_M).tolist(),
            "location": world_to_ue_points(pos[k]).tolist(),
            "yaw": world_heading_to_ue_yaw_deg(heading[k]).tolist(),
            "speed_cm_s": (np.asarray(speed[k], float) * UE_CM_PER_M).tolist(),
            "phase": np.asarray(phase[k], float).tolist(),
        })
    return {
        "format": CHARACTER_FORMAT,
        "format_version": FORMAT_VERSION,
        "units": {
            "location": "cm, UE world (left-handed: X forward, Y right, Z up); the subject's root on the ground",
            "yaw": "degrees, UE yaw (about Z, from X towards Y)",
            "speed_cm_s": "cm/s",
            "size_cm": "cm: length, width, height",
            "phase": "gait cycles, unwrapped",
        },
        "fps": fps,
        "frames": int(pos.shape[1]) if pos.ndim == 3 else 0,
        "frame_index": "clip frames 0..frames-1 (not the padded streams; see check.json 'streams')",
        "characters": chars,
    }


def read_character_json(d: dict[str, Any], frames: int) -> list[Character] | None:
    """Our character.json → characters; None when the file is not in our form (foreign data)."""
    if d.get("format") != CHARACTER_FORMAT or not isinstance(d.get("characters"), list):
        return None
    out = []
    for c in sorted(d["characters"], key=lambda c: int(c.get("index", 0))):
        pos = ue_to_world_points(np.asarray(c["location"], float).reshape(frames, 3))
        out.append(Character(
            id=str(c["id"]),
            kind=str(c.get("kind", "unknown")),
            path=str(c.get("path", "unknown")),
            gait=str(c.get("gait", "unknown")),
            size=np.asarray(c["size_cm"], float).reshape(3) / UE_CM_PER_M,
            pos=pos,
            heading=ue_yaw_deg_to_world_heading(np.asarray(c["yaw"], float).reshape(frames)),
            speed=np.asarray(c.get("speed_cm_s", np.zeros(frames)), float).reshape(frames) / UE_CM_PER_M,
            phase=np.asarray(c.get("phase", np.zeros(frames)), float).reshape(frames),
        ))
    return out


# --------------------------------------------------------------------------- check.json


def _per_subject_frames(events: list[dict[str, Any]], n: int, kind: str) -> list[list[int]]:
    return [[int(e["frame"]) for e in events if e["subject"] == k and e["kind"] == kind] for k in range(n)]


def check_json(
    meta: dict[str, Any], subjects: list[str], events: list[dict[str, Any]], pairs: list[dict[str, Any]],
    states: np.ndarray, passed: bool, visible: np.ndarray, silhouette: np.ndarray | None,
    layouts: tuple[StreamLayout, StreamLayout], event_params: dict[str, Any] | None,
) -> dict[str, Any]:
    """Exit/entry frames per subject (clip frames), the events and states behind them, and the stream layout."""
    n = len(subjects)
    return {
        "format": CHECK_FORMAT,
        "format_version": FORMAT_VERSION,
        **meta,
        "camera_json": "stream form: cond_cam and tgt_cam, 77 UE 4x4 matrices each, padded as the videos (streams)",
        "streams": {"length": HYDRA_STREAM_LEN, "cond": layouts[0].to_dict(), "tgt": layouts[1].to_dict()},
        "mask_red_levels": list(MASK_LEVELS[:n]),
        "subjects": [{"index": k, "id": s, "instance_id": k + 1} for k, s in enumerate(subjects)],
        "leave_frames": _per_subject_frames(events, n, "exit"),
        "enter_frames": _per_subject_frames(events, n, "entry"),
        "n_pairs": len(pairs),
        "passed": bool(passed),
        "pairs": pairs,
        "events": events,
        "event_params": event_params,
        "states": np.asarray(states, int).tolist(),
        "visible_pixels": np.asarray(visible, int).tolist(),
        "silhouette_pixels": None if silhouette is None else np.asarray(silhouette, int).tolist(),
    }


def is_our_check(d: dict[str, Any]) -> bool:
    return d.get("format") == CHECK_FORMAT
