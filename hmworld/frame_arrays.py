"""Per-frame arrays in one .npz: a reader takes only the frames it asks for.

A clip's per-frame ground truth (instance ids, depth) is a stack [T,H,W]. One
compressed array forces every reader of a 16-frame window to inflate all T
frames; here each frame is its own deflated zip member named
``{key}_{t:05d}``, so `read_frames` opens the archive's directory and inflates
only the requested members. The file stays a plain .npz (``numpy.load`` lists
the members). Archives written before this layout hold one member ``{key}``
with the whole stack; `read_frames` reads those too (then all frames are
inflated, as they were).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hmworld.atomic import atomic_path
from hmworld.errors import DamagedClip


def member(key: str, t: int) -> str:
    """The member name of frame ``t`` (0-based) of stack ``key``."""
    return f"{key}_{t:05d}"


def write_frames(path: str | Path, key: str, stack: np.ndarray) -> Path:
    """Write ``stack`` [T,...] as T deflated members of one .npz, atomically.

    The dtype is kept as given (callers choose it: uint8 ids, uint16 depth).
    Raises ValueError for a 0-d array.
    """
    stack = np.asarray(stack)
    if stack.ndim < 1:
        raise ValueError(f"a frame stack needs a leading frame axis, got shape {stack.shape}")
    path = Path(path)
    arrays = {member(key, t): np.ascontiguousarray(stack[t]) for t in range(stack.shape[0])}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def frame_count(path: str | Path, key: str) -> int:
    """How many frames of ``key`` the archive holds (either layout)."""
    with np.load(path) as z:
        if key in z.files:
            return int(z[key].shape[0])
        prefix = f"{key}_"
        return sum(1 for name in z.files if name.startswith(prefix))


def read_frames(path: str | Path, key: str, frames: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Frames ``frames`` (all when None) of stack ``key`` as one array [len(frames),...].

    Reads only the named members. Raises ValueError for a negative or non-integer frame index
    (a caller's mistake) and DamagedClip (a UserError, so one line at the CLI) naming the file for
    everything the file itself gets wrong: missing, not a zip archive (numpy would otherwise
    suggest unpickling it), truncated, a frame it does not hold, frames of different shapes.
    """
    idx = None
    if frames is not None:
        idx = np.asarray(frames).reshape(-1)
        if idx.size and (idx.dtype.kind not in "iu" or int(idx.min()) < 0):
            raise ValueError(f"frame indices must be integers >= 0, got {idx.tolist()[:8]}")
    try:
        return _read(Path(path), key, idx)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        detail = " ".join(str(e).split()) or type(e).__name__
        raise DamagedClip(f"{path}: cannot be read ({type(e).__name__}: {detail})") from None


def _read(path: Path, key: str, idx: np.ndarray | None) -> np.ndarray:
    if path.is_file() and not zipfile.is_zipfile(path):
        raise zipfile.BadZipFile("not an .npz (zip) archive")
    with np.load(path, allow_pickle=False) as z:
        if key in z.files:  # the whole-stack layout
            stack = z[key]
            if idx is not None and idx.size and int(idx.max()) >= stack.shape[0]:
                raise KeyError(f"holds {stack.shape[0]} frames, frame {int(idx.max())} asked for")
            return stack if idx is None else stack[idx.astype(np.int64)]
        if idx is None:
            prefix = f"{key}_"
            names = sorted(name for name in z.files if name.startswith(prefix))
        else:
            names = [member(key, int(t)) for t in idx]
        missing = [n for n in names if n not in z.files]
        if missing:
            raise KeyError(f"no frame {missing[0]!r} (holds {len(z.files)} members)")
        if not names:
            raise KeyError(f"holds no frames of {key!r}" if idx is None else "no frames asked for")
        arrays = [z[n] for n in names]
        bad = next((i for i, a in enumerate(arrays) if a.shape != arrays[0].shape or a.dtype != arrays[0].dtype), None)
        if bad is not None:
            raise ValueError(f"member {names[bad]} is {arrays[bad].dtype} {list(arrays[bad].shape)}, "
                             f"{names[0]} is {arrays[0].dtype} {list(arrays[0].shape)}")
        return np.stack(arrays)


__all__ = ["frame_count", "member", "read_frames", "write_frames"]
