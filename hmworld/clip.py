"""The clip folder: the contract between render backends and everything downstream.

    clips/<clip_id>/rgb.mp4         H.264, yuv420p, the shot's fps and size
    clips/<clip_id>/instances.npz   `ids` uint8 [T,H,W]; 0 = no subject, k = subject k-1
    clips/<clip_id>/depth.npz       optional: float16 metres along the optical axis, one member per frame
                                    (hmworld.depth; +inf = no surface); listed in clip.json "files" when present
    clips/<clip_id>/clip.json       shot + backend + measurements; written LAST, atomically
    clips/<clip_id>/events.json     added by `hmworld filter-events` (hmworld.events)
    clips/<clip_id>/caption.json    added by `hmworld caption`: `Caption`, read and written here

A folder without clip.json is incomplete and is redone by a resumed render.
instances.npz stores frame t as its own deflated member `ids_{t:05d}` (hmworld.frame_arrays), so a
window inflates only its frames; clips written before hold one `ids` stack, which is read too.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hmworld.atomic import fsync_path, write_json
from hmworld.depth import read_depth
from hmworld.errors import DamagedClip, UserError
from hmworld.frame_arrays import read_frames
from hmworld.shot import Shot

CLIP_FORMAT = 1
CLIPS_DIR = "clips"
VIDEO_FILE = "rgb.mp4"
INSTANCES_FILE = "instances.npz"
DEPTH_FILE = "depth.npz"
NO_DEPTH_WHY = "rendered with --no-depth or by a backend that writes none"  # why a clip may lack depth
CLIP_JSON = "clip.json"
EVENTS_JSON = "events.json"
CAPTION_JSON = "caption.json"
INSTANCES_KEY = "ids"  # the instances.npz stack: members ids_00000 … (or one `ids` written before)


@dataclass(frozen=True, eq=False)
class Measured:
    """What a backend measured while rendering, per subject and frame [N,T].

    visible_pixels: pixels where the subject is the nearest surface.
    silhouette_pixels: pixels the subject covers when rendered alone (in frame,
    hidden or not); None when a backend cannot know it (it then falls back to
    projecting the subject's 3-D bounds, see hmworld.events).
    """

    visible_pixels: np.ndarray
    silhouette_pixels: np.ndarray | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "visible_pixels": self.visible_pixels.astype(int).tolist(),
            "silhouette_pixels": None
            if self.silhouette_pixels is None
            else self.silhouette_pixels.astype(int).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], n: int, t: int) -> Measured:
        vis = np.asarray(d["visible_pixels"], dtype=np.int64).reshape(n, t)
        sil = d.get("silhouette_pixels")
        return cls(vis, None if sil is None else np.asarray(sil, dtype=np.int64).reshape(n, t))


def read_instances(path: str | Path, frames: ArrayLike | None = None) -> np.ndarray:
    """Instance ids uint8 [len(frames),H,W] (all T frames when None) of an instances.npz.

    Inflates only the members of the frames asked for; an archive of the layout written before
    (one `ids` stack) is read too. Raises KeyError for a frame the file does not hold, OSError,
    ValueError or zipfile.BadZipFile for an unreadable file.
    """
    return read_frames(path, INSTANCES_KEY, frames)


@dataclass(frozen=True, eq=False)
class ClipRecord:
    """A complete clip folder's clip.json, parsed."""

    path: Path
    shot: Shot
    measured: Measured
    backend: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # clip.json "files": role → file name

    @property
    def video_path(self) -> Path:
        return self.path / VIDEO_FILE

    @property
    def instances_path(self) -> Path:
        return self.path / INSTANCES_FILE

    def load_instances(self, frames: ArrayLike | None = None) -> np.ndarray:
        """Instance ids uint8 [T,H,W] (see `read_instances`); only `frames` when given."""
        return read_instances(self.instances_path, frames)

    @property
    def depth_path(self) -> Path:
        return self.path / DEPTH_FILE

    @property
    def has_depth(self) -> bool:
        """Whether the backend wrote depth (clip.json lists it); a clip without depth is complete too."""
        return self.files.get("depth") == DEPTH_FILE

    def load_depth(self, frames: np.ndarray | None = None) -> np.ndarray:
        """Depth float32 [T,H,W] in metres along the optical axis (+inf: no surface); `frames` only if given.

        Raises DamagedClip naming the clip when it has no depth or its depth.npz cannot be read.
        """
        name = f"clip {self.path.name}"
        if not self.has_depth:
            raise DamagedClip(f"{name}: has no depth (its {CLIP_JSON} lists no {DEPTH_FILE}: {NO_DEPTH_WHY})")
        try:
            return read_depth(self.depth_path, frames)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            detail = " ".join(str(e).split()) or type(e).__name__
            raise DamagedClip(f"{name}: {DEPTH_FILE} cannot be read ({type(e).__name__}: {detail})") from None


def clip_dir(root: str | Path, clip_id: str) -> Path:
    return Path(root) / CLIPS_DIR / clip_id


def is_complete(path: str | Path) -> bool:
    return (Path(path) / CLIP_JSON).is_file()


def write_clip_json(
    path: str | Path, shot: Shot, measured: Measured, backend: dict[str, Any], stats: dict[str, Any]
) -> None:
    """Write clip.json last and atomically: its presence means the clip is complete.

    The clip's other files are flushed to disk first and clip.json durably, so
    not even a power cut leaves a clip.json beside half-written files.
    A depth.npz in the folder is listed in "files" (the clip then has depth).
    """
    files = {"video": VIDEO_FILE, "instances": INSTANCES_FILE}
    if (Path(path) / DEPTH_FILE).is_file():
        files["depth"] = DEPTH_FILE
    for name in files.values():
        if (Path(path) / name).is_file():
            fsync_path(Path(path) / name)
    write_json(
        Path(path) / CLIP_JSON,
        {
            "format": CLIP_FORMAT,
            "clip_id": shot.clip_id,
            "files": files,
            "backend": backend,
            "stats": stats,
            "measured": measured.to_dict(),
            "shot": shot.to_dict(),
        },
        indent=None,
        durable=True,
    )


def _counts(x: Any, key: str, name: str, n: int, t: int) -> np.ndarray:
    """A [subjects][frames] array of whole pixel counts, or a UserError naming the clip and key."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise DamagedClip(f"{name}: {key} is not a [subjects][frames] array of numbers") from None
    if a.size == 0 and n == 0:
        a = a.reshape(0, t)
    if a.shape != (n, t):
        raise DamagedClip(f"{name}: {key} has shape {a.shape}, expected {(n, t)} (subjects, frames)")
    if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
        raise DamagedClip(f"{name}: {key} must hold whole numbers of pixels")
    return a.astype(np.int64)


def read_clip(path: str | Path) -> ClipRecord:
    """The one reader of clip.json: a DamagedClip (a UserError) naming the clip when it is
    missing, truncated, or not a clip record (no shot, an unreadable shot, no or malformed counts)."""
    path = Path(path)
    name = f"clip {path.name}"
    try:
        with open(path / CLIP_JSON, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        raise DamagedClip(f"{name}: {str(path / CLIP_JSON)!r} is missing") from None
    except (OSError, ValueError) as e:
        detail = " ".join(str(e).split()) or type(e).__name__
        raise DamagedClip(f"{name}: {CLIP_JSON} is damaged ({type(e).__name__}: {detail})") from None
    if not isinstance(d, dict) or not isinstance(d.get("shot"), dict):
        raise DamagedClip(f"{name}: {CLIP_JSON} is damaged (it has no shot)")
    try:
        shot = Shot.from_dict(d["shot"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise DamagedClip(f"{name}: {CLIP_JSON} is damaged (its shot is unreadable, {type(e).__name__}: {e})") from None
    m = d.get("measured")
    if not isinstance(m, dict) or m.get("visible_pixels") is None:
        raise DamagedClip(f"{name}: {CLIP_JSON} is damaged (it has no measured visible_pixels)")
    n, t = shot.n_subjects, shot.frames
    vis = _counts(m["visible_pixels"], "visible_pixels", name, n, t)
    sil = None if m.get("silhouette_pixels") is None else _counts(m["silhouette_pixels"], "silhouette_pixels", name, n, t)
    backend, stats, files = d.get("backend", {}), d.get("stats", {}), d.get("files", {})
    files = {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    return ClipRecord(path, shot, Measured(vis, sil), backend if isinstance(backend, dict) else {},
                      stats if isinstance(stats, dict) else {}, files)


def list_clip_dirs(root: str | Path) -> list[Path]:
    """Complete clip folders under root/clips, sorted by id (hidden temporary folders skipped)."""
    base = Path(root) / CLIPS_DIR
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and is_complete(p))


@dataclass(frozen=True)
class Caption:
    """The contents of clips/<clip_id>/caption.json.

    caption: the text; captioner: registry name of what wrote it; prompt: the
    exact instruction a model was given (None for the template captioner);
    model: model id or local path (None when no model was used).
    """

    caption: str
    captioner: str
    prompt: str | None = None
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"caption": self.caption, "captioner": self.captioner, "prompt": self.prompt, "model": self.model}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Caption:
        """Raises ValueError naming the field that is not what `to_dict` writes."""
        if not isinstance(d, dict):
            raise ValueError(f"expected a JSON object, found {type(d).__name__}")
        text, who = d.get("caption"), d.get("captioner")
        if not isinstance(text, str) or not text.strip() or not isinstance(who, str) or not who:
            raise ValueError("caption and captioner must be non-empty strings")
        prompt, model = d.get("prompt"), d.get("model")
        if prompt is not None and not isinstance(prompt, str):
            raise ValueError("prompt must be a string or null")
        if model is not None and not isinstance(model, str):
            raise ValueError("model must be a string or null")
        return cls(text, who, prompt, model)


def read_caption(clip_dir: str | Path) -> Caption | None:
    """A clip's caption.json; None when it has none. A damaged one is a UserError naming the file."""
    path = Path(clip_dir) / CAPTION_JSON
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: damaged ({type(e).__name__}: {' '.join(str(e).split())})") from None
    try:
        return Caption.from_dict(d)
    except ValueError as e:
        raise UserError(f"{path}: damaged (not a caption file written by hmworld caption: {e})") from None


def write_caption(clip_dir: str | Path, caption: Caption) -> None:
    """clips/<id>/caption.json, atomically."""
    write_json(Path(clip_dir) / CAPTION_JSON, caption.to_dict())
