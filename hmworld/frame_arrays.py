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

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hmworld.atomic import atomic_path


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

    Reads only the named members. Raises KeyError when a frame is not in the
    archive, and OSError / ValueError / zipfile.BadZipFile for an unreadable file.
    """
    with np.load(path) as z:
        if key in z.files:  # the whole-stack layout
            stack = z[key]
            return stack if frames is None else stack[np.asarray(frames, dtype=np.int64)]
        if frames is None:
            prefix = f"{key}_"
            names = sorted(name for name in z.files if name.startswith(prefix))
        else:
            names = [member(key, int(t)) for t in np.asarray(frames, dtype=np.int64).reshape(-1)]
        missing = [n for n in names if n not in z.files]
        if missing:
            raise KeyError(f"{path}: no frame {missing[0]!r} (holds {len(z.files)} members)")
        if not names:
            raise KeyError(f"{path}: holds no frames of {key!r}")
        return np.stack([z[n] for n in names])


__all__ = ["frame_count", "member", "read_frames", "write_frames"]
