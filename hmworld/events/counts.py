"""Pixel counts in: everything the state rule needs, for many clips at once, as arrays.

`CountsBatch` holds C clips padded to [C,S,T]; `batch_from_records` builds one
from clip folders. For a packaged dataset, hmworld.dataset.pixel_counts builds
one from the packager's meta/pixel_counts.parquet and the tables (reading 59k
clip.json files takes minutes; the table takes a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hmworld.clip import ClipRecord
from hmworld.events.detect import box_view, check_measured

# --------------------------------------------------------------------------- counts batch


@dataclass(frozen=True, eq=False)
class CountsBatch:
    """Everything the state rule needs for C clips, padded to [C,S,T].

    visible -1 marks padding; silhouette -1 marks padding or "not measured";
    box_px (the projected body box's pixels, see events.box_view) is only
    filled where the silhouette was not measured.
    """

    clip_ids: list[str]
    scene: list[str]
    camera: list[str]
    fps: np.ndarray
    frames: np.ndarray
    n_subjects: np.ndarray
    width: np.ndarray
    height: np.ndarray
    visible: np.ndarray
    silhouette: np.ndarray
    box_px: np.ndarray

    def __len__(self) -> int:
        return len(self.clip_ids)

    @property
    def area(self) -> np.ndarray:
        return self.width.astype(np.float64) * self.height

    @property
    def has_silhouette(self) -> np.ndarray:
        """[C] bool: the clip's backend measured silhouettes."""
        if self.silhouette.size == 0:
            return np.ones(len(self), bool)
        return (self.silhouette >= 0).reshape(len(self), -1).any(axis=1) | (self.n_subjects == 0)

    def sources(self) -> list[str]:
        return ["silhouette" if h else "geometry" for h in self.has_silhouette]

    def subset(self, keep: np.ndarray) -> CountsBatch:
        keep = np.asarray(keep, bool)
        if keep.all():
            return self
        idx = np.flatnonzero(keep)
        return CountsBatch(
            [self.clip_ids[i] for i in idx],
            [self.scene[i] for i in idx],
            [self.camera[i] for i in idx],
            *(
                a[idx]
                for a in (
                    self.fps,
                    self.frames,
                    self.n_subjects,
                    self.width,
                    self.height,
                    self.visible,
                    self.silhouette,
                    self.box_px,
                )
            ),
        )


def pad_to(a: np.ndarray, s: int, t: int, fill: float | bool) -> np.ndarray:
    if a.shape[1:] == (s, t):
        return a
    out = np.full((a.shape[0], s, t), fill, dtype=a.dtype)
    out[:, : a.shape[1], : a.shape[2]] = a[:, :s, :t]
    return out


def empty_batch() -> CountsBatch:
    z = np.zeros(0, np.int32)
    e = np.zeros((0, 0, 0), np.int32)
    return CountsBatch([], [], [], z, z, z, z, z, e, e, np.zeros((0, 0, 0), np.float32))


def concat_batches(batches: Sequence[CountsBatch]) -> CountsBatch:
    """Join batches, padding subjects and frames to the largest."""
    batches = [b for b in batches if len(b)]
    if not batches:
        return empty_batch()
    if len(batches) == 1:
        return batches[0]
    s = max(b.visible.shape[1] for b in batches)
    t = max(b.visible.shape[2] for b in batches)

    def cat(name: str, fill: float) -> np.ndarray:
        return np.concatenate([pad_to(getattr(b, name), s, t, fill) for b in batches])

    def cat1(name: str) -> np.ndarray:
        return np.concatenate([getattr(b, name) for b in batches])

    return CountsBatch(
        [i for b in batches for i in b.clip_ids],
        [x for b in batches for x in b.scene],
        [x for b in batches for x in b.camera],
        cat1("fps"),
        cat1("frames"),
        cat1("n_subjects"),
        cat1("width"),
        cat1("height"),
        cat("visible", -1),
        cat("silhouette", -1),
        cat("box_px", 0.0),
    )


def batch_from_records(records: Sequence[ClipRecord]) -> CountsBatch:
    """Counts (and, without silhouettes, box geometry) of clips read from their folders."""
    if not records:
        return empty_batch()
    s = max(r.shot.n_subjects for r in records)
    t = max(r.shot.frames for r in records)
    c = len(records)
    vis = np.full((c, s, t), -1, np.int32)
    sil = np.full((c, s, t), -1, np.int32)
    px = np.zeros((c, s, t), np.float32)
    for i, r in enumerate(records):  # per clip; the per-frame work inside is vectorised
        check_measured(r)
        n, f = r.shot.n_subjects, r.shot.frames
        vis[i, :n, :f] = r.measured.visible_pixels
        if r.measured.silhouette_pixels is not None:
            sil[i, :n, :f] = r.measured.silhouette_pixels
        else:
            px[i, :n, :f] = box_view(r.shot)[1]
    shots = [r.shot for r in records]
    ints = (
        np.array([getattr(sh, k) for sh in shots], np.int32)
        for k in ("fps", "frames", "n_subjects", "width", "height")
    )
    return CountsBatch(
        [sh.clip_id for sh in shots],
        [sh.scene for sh in shots],
        [sh.camera for sh in shots],
        *ints,
        vis,
        sil,
        px,
    )
