"""Per-frame depth: metres along the camera's optical axis, stored as float16 in a clip's depth.npz.

Depth is the camera-space z of the surface seen at each pixel centre (OpenCV
axes, see hmworld.geometry: z forward), not the distance along the ray. The
builtin renderer gives it at each pixel's centre sample (anti-aliasing never
blends it). Stored as IEEE half floats in metres, one deflated member per frame
(hmworld.frame_arrays), so `numpy.load` reads metres with no decoding step and a
clip window inflates only its frames.

Error: round-to-nearest half precision keeps 11 significant bits, so a stored
depth differs from the rendered one by at most ``DEPTH_RELATIVE_ERROR`` = 2^-11
(0.049 %) of its value: 0.5 mm at 1 m, 4.9 mm at 10 m, 3.2 cm at 65 m
(IEEE 754 binary16; Higham, *Accuracy and Stability of Numerical Algorithms*,
2nd ed., §2.1: unit roundoff u = 2^-t with t = 11). No surface (sky) is +inf;
so is a surface beyond ``DEPTH_MAX_M`` = 65504 m, the largest half float.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hmworld.frame_arrays import read_frames, write_frames

DEPTH_KEY = "depth"  # member names depth_00000, depth_00001, … (hmworld.frame_arrays.member)
DEPTH_DTYPE = np.dtype(np.float16)
DEPTH_RELATIVE_ERROR = 2.0**-11  # |stored − rendered| ≤ this × rendered (half precision unit roundoff)
DEPTH_MAX_M = float(np.finfo(np.float16).max)  # 65504 m; farther (and no surface) is +inf
DEPTH_MIN_M = float(np.finfo(np.float16).tiny)  # 6.1e-5 m: nearer surfaces are stored at this (never 0)


def encode_depth(depth_m: np.ndarray) -> np.ndarray:
    """Depth in metres (any float array, inf or NaN = no surface) → float16 metres, +inf where no surface.

    Values ≤ 0 are not depths of anything in front of the camera and are
    refused with a ValueError (a renderer bug, not a far surface); positive ones
    below DEPTH_MIN_M are stored as DEPTH_MIN_M, so a stored depth is never 0.
    """
    d = np.asarray(depth_m, dtype=np.float32)
    finite = np.isfinite(d)
    if np.any(d[finite] <= 0):
        raise ValueError(f"depth must be positive metres (or inf for no surface); found {float(d[finite].min())}")
    with np.errstate(over="ignore"):  # beyond the half-float range becomes inf: no surface in range
        return np.where(finite, np.maximum(d, np.float32(DEPTH_MIN_M)), np.float32(np.inf)).astype(DEPTH_DTYPE)


def decode_depth(stored: np.ndarray) -> np.ndarray:
    """Stored float16 metres → float32 metres (+inf: no surface within DEPTH_MAX_M)."""
    return np.asarray(stored).astype(np.float32)


def write_depth(path: str | Path, depth_m: np.ndarray) -> Path:
    """Write a depth stack [T,H,W] (metres) as `path`, one float16 member per frame, atomically."""
    d = np.asarray(depth_m)
    if d.ndim != 3:
        raise ValueError(f"depth must be a stack [T,H,W], got shape {d.shape}")
    return write_frames(path, DEPTH_KEY, encode_depth(d))


def read_depth(path: str | Path, frames: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Frames `frames` (all when None) of a depth.npz as float32 metres [len(frames),H,W].

    Reads only those frames' members. Raises KeyError for a frame the file does
    not hold, OSError / ValueError / zipfile.BadZipFile for an unreadable file.
    """
    return decode_depth(read_frames(path, DEPTH_KEY, frames))


__all__ = [
    "DEPTH_DTYPE",
    "DEPTH_KEY",
    "DEPTH_MAX_M",
    "DEPTH_MIN_M",
    "DEPTH_RELATIVE_ERROR",
    "decode_depth",
    "encode_depth",
    "read_depth",
    "write_depth",
]
