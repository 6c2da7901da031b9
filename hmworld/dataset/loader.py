"""`ClipDataset`: a packaged split as PyTorch samples ready for a world model.

Annotations come from the parquet tables, read one small row group at a time
(constant memory however large the dataset); frames come from the clip's
H.264 video, decoded from the keyframe before the first index asked for and
converted to RGB only at those indices, and instance masks inflate only those
frames. Safe to use with `DataLoader(num_workers>0)`: nothing open is pickled.
"""

from __future__ import annotations

import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

from hmworld.clip import NO_DEPTH_WHY, read_instances
from hmworld.dataset.arrays import fixed_dims, fixed_numpy, ragged_numpy, valid_mask
from hmworld.dataset.resize import resize_labels
from hmworld.dataset.schema import HYDRA_SAMPLES, MAX_SUBJECTS, table_schema
from hmworld.dataset.tables import check_split, require_dataset, require_depth_column, shard_paths
from hmworld.depth import read_depth
from hmworld.errors import BadArgumentType, DamagedClip, UserError
from hmworld.options import check_flag, check_path, check_text, check_whole, is_whole
from hmworld.video import read_video

COLUMNS = (
    "clip_id", "caption", "frames", "width", "height", "video_path", "instances_path", "camera_c2w", "K",
    "hydra_cond_cam", "hydra_tgt_cam", "subject_pos", "subject_xy", "states", "pairs", "n_pairs",
)
CACHED_GROUPS = 4
WINDOWS = ("spread", "contiguous")


def sample_indices(total: int, frames: int | None) -> np.ndarray:
    """`frames` indices spread uniformly over [0, total), first and last included; all if None."""
    check_whole("total", total, 1)
    if check_whole("frames", frames, 1, none="every frame") is None:
        return np.arange(total, dtype=np.int64)
    return np.round(np.linspace(0, total - 1, frames)).astype(np.int64)


def window_indices(total: int, frames: int | None, start: int) -> np.ndarray:
    """`frames` consecutive indices from `start` (all from 0 if None); ValueError if they leave [0, total)."""
    check_whole("total", total, 1)
    check_whole("start", start, 0)
    if check_whole("frames", frames, 1, none="every frame") is None:
        frames, start = total, 0
    if not 0 <= start <= total - frames:
        raise ValueError(f"a {frames}-frame window cannot start at frame {start} of {total}; allowed: 0..{total - frames}")
    return np.arange(start, start + frames, dtype=np.int64)


def _check_size(size: object) -> tuple[int, int] | None:
    """(height, width) of whole numbers >= 1, or None; one-line errors naming `size`."""
    if size is None:
        return None
    if isinstance(size, (str, bytes)) or not isinstance(size, Sequence) or len(size) != 2 \
            or not all(is_whole(v) for v in size):
        raise BadArgumentType(f"size must be (height, width), two whole numbers, or None (the clip's size), "
                              f"got {size!r} ({type(size).__name__})")
    if min(int(v) for v in size) < 1:
        raise UserError(f"size must be (height, width) with positive sides, got {size!r}")
    return int(size[0]), int(size[1])


def _check_clips(clips: object) -> list[str]:
    """A list of clip ids (strings); a bare string is refused (it would be read as its letters)."""
    if isinstance(clips, (str, bytes)) or not isinstance(clips, Iterable):
        raise BadArgumentType(f"clips must be a list of clip ids or None (every clip), got {clips!r} "
                              f"({type(clips).__name__})")
    out = list(clips)
    bad = next((c for c in out if not isinstance(c, str)), None)
    if bad is not None:
        raise BadArgumentType(f"clips must hold clip ids (strings), got {bad!r} ({type(bad).__name__})")
    return out


def _first_few(ids: list[str], n: int = 3) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


class _Group:
    """One decoded row group: numpy arrays per column, ragged columns as (values, offsets)."""

    def __init__(self, table: Any) -> None:
        schema = table_schema(1)
        self.cols: dict[str, Any] = {}
        for name in table.column_names:
            col = table.column(name)
            t = schema.field(name).type
            if name in ("hydra_cond_cam", "hydra_tgt_cam"):
                self.cols[name] = (fixed_numpy(col), valid_mask(col))
            elif fixed_dims(t) is not None and fixed_dims(t)[0]:
                self.cols[name] = fixed_numpy(col)
            elif name in ("subject_pos", "subject_xy", "states"):
                self.cols[name] = ragged_numpy(col)
            else:
                self.cols[name] = col.to_pylist()

    def ragged(self, name: str, r: int) -> np.ndarray:
        values, offs = self.cols[name]
        return values[offs[r] : offs[r + 1]]


class ClipDataset(torch.utils.data.Dataset):
    """One split of a packaged dataset; item i is a dict of tensors (see docs/FORMAT.md).

    frames: sample this many frames uniformly over each clip (None: all).
    size: (H, W) to resize video and masks to (None: the clip's size).
    window: "spread" (frames spread uniformly over the whole clip, first and last included) or
    "contiguous" (frames consecutive frames, a window, at most GOP-1 extra frames decoded).
    start: the first frame of every contiguous window; None draws one per item, uniformly over the
    starts that fit, from `seed` and the item's index when a seed is given (the same window every
    time), else from torch's generator (a new window on every read; DataLoader seeds each worker's).
    masks: also load instance masks (set False to skip the work when unused).
    depth: also load depth, item "depth" float32 [T,1,H,W] metres along the optical
    axis (+inf: no surface), resized by the nearest pixel as the masks are (never
    blended across an edge). A dataset packaged without depth, or a selection holding clips
    without it (rendered with --no-depth, or by a backend that writes none, e.g. ue5), is a
    UserError at construction naming them; `clips=clips_with_depth(root, split)` selects the others.
    clips: only these clip ids (in table order; None: every clip of the split); an id not in the
    split is a UserError.
    Arguments of the wrong type (frames=True, depth="yes", size=(1.5, 2)) raise BadArgumentType
    (a TypeError and a UserError), values out of range a UserError; each names the argument.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        frames: int | None = None,
        size: tuple[int, int] | None = None,
        masks: bool = True,
        window: str = "spread",
        start: int | None = None,
        seed: int | None = None,
        depth: bool = False,
        clips: Sequence[str] | None = None,
    ) -> None:
        self.root = require_dataset(check_path("root", root))
        self.split = check_split(split)
        self.frames = check_whole("frames", frames, 1, none="every frame")
        self.size = _check_size(size)
        self.masks = check_flag("masks", masks)
        self.window = check_text("window", window, WINDOWS)
        self.start = check_whole("start", start, 0, none="a start drawn per item")
        self.seed = check_whole("seed", seed, 0, none="no seed")
        self.depth = check_flag("depth", depth)
        selected = None if clips is None else _check_clips(clips)
        if self.start is not None and self.frames is None:
            raise UserError("start needs frames (the window's length); frames=None returns the whole clip")
        if self.window == "spread" and self.start is not None:
            raise UserError("start applies to window='contiguous' only; spread frames always start at frame 0")
        self.shards = shard_paths(self.root, split)
        index = []
        for s, path in enumerate(self.shards):
            meta = pq.ParquetFile(path).metadata
            for g in range(meta.num_row_groups):
                n = meta.row_group(g).num_rows
                index.append(np.stack([np.full(n, s), np.full(n, g), np.arange(n)], axis=1))
        self.index = np.concatenate(index) if index else np.zeros((0, 3), np.int64)
        self.columns = [*COLUMNS, *(["depth_path"] if self.depth else [])]
        if self.depth:
            require_depth_column(self.root, self.shards, "to load depth, or use depth=False")
        if selected is not None or self.depth:
            self.index = self._select(self.index, selected)
        self._groups: OrderedDict[tuple[int, int], _Group] = OrderedDict()
        if len(self) and self.frames is not None:
            total = int(self._group(0)[0].cols["frames"][self._group(0)[1]])
            if self.frames > total:
                raise UserError(f"frames={self.frames} but the clips have {total} frames; allowed: 1..{total}")
            if self.start is not None and self.start > total - self.frames:
                raise UserError(f"start={self.start} but a {self.frames}-frame window of a {total}-frame clip "
                                f"starts at 0..{total - self.frames}")

    def _select(self, index: np.ndarray, clips: list[str] | None) -> np.ndarray:
        """The rows of `index` whose clip is in `clips` (all when None), in table order; with depth, a
        UserError naming the selected clips whose depth_path is null, before any item is read."""
        columns = ["clip_id", *(["depth_path"] if self.depth else [])]
        tables = [pq.read_table(p, columns=columns) for p in self.shards]
        table = pa.concat_tables(tables) if tables else pa.table({c: pa.array([], pa.string()) for c in columns})
        ids = np.asarray(table.column("clip_id").to_pylist(), dtype=object)
        keep = np.ones(len(ids), bool)
        if clips is not None:
            unknown = sorted(set(clips) - set(ids.tolist()))
            if unknown:
                raise UserError(f"clips: {len(unknown)} id(s) not in the {self.split} split of {self.root}: "
                                f"{_first_few(unknown)}")
            keep = np.isin(ids, np.asarray(clips, dtype=object))
        if self.depth:
            lacking = ids[keep & table.column("depth_path").is_null().to_numpy(zero_copy_only=False)].tolist()
            if lacking:
                raise UserError(
                    f"depth=True, but the table has no depth for {len(lacking)} of the {int(keep.sum())} "
                    f"{self.split} clips (depth_path is null: {NO_DEPTH_WHY}): {_first_few(lacking)}; use depth=False, "
                    "or only the clips with depth: clips=clips_with_depth(root, split) from hmworld.dataset")
        return index[keep]

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_groups"] = OrderedDict()  # each worker reads its own row groups
        return state

    def _group(self, i: int) -> tuple[_Group, int]:
        s, g, r = (int(v) for v in self.index[i])
        key = (s, g)
        group = self._groups.get(key)
        if group is None:
            table = pq.ParquetFile(self.shards[s]).read_row_group(g, columns=self.columns)
            group = _Group(table)
            self._groups[key] = group
            while len(self._groups) > CACHED_GROUPS:
                self._groups.popitem(last=False)
        else:
            self._groups.move_to_end(key)
        return group, r

    def _indices(self, i: int, total: int, clip_id: str) -> np.ndarray:
        """The clip frames item `i` returns (see the class docstring)."""
        if self.window == "spread":
            return sample_indices(total, self.frames)
        start = self.start
        if start is None and self.frames is not None:
            starts = max(total - self.frames + 1, 1)
            if self.seed is None:
                start = int(torch.randint(starts, ()))
            else:
                start = int(np.random.default_rng([self.seed, i]).integers(starts))
        try:
            return window_indices(total, self.frames, start or 0)
        except ValueError as e:
            raise UserError(f"clip {clip_id}: {e}") from None

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} clips")
        group, r = self._group(i % len(self))
        c = group.cols
        total, width, height = int(c["frames"][r]), int(c["width"][r]), int(c["height"][r])
        idx = self._indices(i % len(self), total, c["clip_id"][r])
        out_h, out_w = self.size or (height, width)
        sx, sy = out_w / width, out_h / height

        rgb = read_video(self.root / c["video_path"][r], idx)  # uint8 [T,H,W,3]
        chw = np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)).astype(np.float32)  # numpy: 3x torch's strided copy here
        chw *= np.float32(1.0 / 255.0)
        video = torch.from_numpy(chw)
        if (out_h, out_w) != (height, width):
            video = F.interpolate(video, size=(out_h, out_w), mode="bilinear", antialias=True, align_corners=False)
            video = video.clamp_(0.0, 1.0)
        if self.masks:
            ids = read_instances(self.root / c["instances_path"][r], idx)  # inflates only these frames
            if (out_h, out_w) != (height, width):
                ids = resize_labels(ids, (out_h, out_w))
            masks = torch.from_numpy(np.ascontiguousarray(ids))
        else:
            masks = torch.zeros((idx.size, out_h, out_w), dtype=torch.uint8)

        K = c["K"][r].copy()
        extra = {"depth": self._depth(c["clip_id"][r], c["depth_path"][r], idx, (out_h, out_w))} if self.depth else {}
        K[0] *= sx
        K[1] *= sy
        pos = group.ragged("subject_pos", r)  # [N,T,3]
        xy = group.ragged("subject_xy", r)  # [N,T,2]
        states = group.ragged("states", r)  # [N,T]
        n = pos.shape[0]
        subject_pos = np.zeros((MAX_SUBJECTS, idx.size, 3), np.float32)
        subject_xy = np.zeros((MAX_SUBJECTS, idx.size, 2), np.float32)
        subject_state = np.full((MAX_SUBJECTS, idx.size), -1, np.int8)
        subject_pos[:n] = pos[:, idx]
        subject_xy[:n] = xy[:, idx] * np.array([sx, sy], np.float32)
        subject_state[:n] = states[:, idx]
        reentry = np.full(MAX_SUBJECTS, -1, np.int64)
        for p in sorted(c["pairs"][r], key=lambda p: p["entry_frame"], reverse=True):
            if 0 <= p["subject"] < MAX_SUBJECTS:
                reentry[p["subject"]] = p["entry_frame"]
        cams = {}
        for name in ("hydra_cond_cam", "hydra_tgt_cam"):
            values, ok = c[name]
            cams[name] = values[r] if ok[r] else np.full((HYDRA_SAMPLES, 12), np.nan, np.float32)
        return {
            "clip_id": c["clip_id"][r],
            "caption": c["caption"][r],
            "video": video,
            "frame_index": torch.from_numpy(idx),
            "masks": masks,
            "c2w": torch.from_numpy(c["camera_c2w"][r][idx].astype(np.float32)),
            "K": torch.from_numpy(K.astype(np.float32)),
            "hydra_cond_cam": torch.from_numpy(cams["hydra_cond_cam"].astype(np.float32)),
            "hydra_tgt_cam": torch.from_numpy(cams["hydra_tgt_cam"].astype(np.float32)),
            "subject_valid": torch.arange(MAX_SUBJECTS) < n,
            "subject_pos": torch.from_numpy(subject_pos),
            "subject_xy": torch.from_numpy(subject_xy),
            "subject_state": torch.from_numpy(subject_state),
            "n_pairs": int(c["n_pairs"][r]),
            "reentry_frame": torch.from_numpy(reentry),
            **extra,
        }

    def _depth(self, clip_id: str, path: str | None, idx: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
        """Frames `idx` of a clip's depth.npz as float32 [T,1,h,w] metres, nearest-resized to `size`."""
        if path is None:
            raise UserError(f"clip {clip_id} has no depth ({NO_DEPTH_WHY}); use depth=False "
                            "or a dataset of clips that all have depth")
        try:
            depth = read_depth(self.root / path, idx)  # only these frames' members are inflated
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise DamagedClip(f"clip {clip_id}: {path} cannot be read ({type(e).__name__}: {e})") from None
        if depth.shape[1:] != size:
            depth = resize_labels(depth, size)
        return torch.from_numpy(np.ascontiguousarray(depth)[:, None])
