"""The packager's meta/pixel_counts.parquet, read into a `CountsBatch` for the event stage.

meta/pixel_counts.parquet: one row per clip with clip_id, n_subjects, fps,
frames, width, height, and visible / silhouette [3][T] (subject slots past
n_subjects padded; silhouette -1 throughout when the backend measured none).
Scene, camera trajectory and, for clips without silhouettes, the shot geometry
come from the dataset's tables (`tables.shard_paths`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hmworld.dataset.layout import META_DIR, PIXEL_COUNTS
from hmworld.dataset.tables import shard_paths
from hmworld.errors import UserError
from hmworld.events.counts import CountsBatch, pad_to
from hmworld.events.detect import box_view_arrays

COUNTS_COLUMNS = (
    "clip_id",
    "n_subjects",
    "fps",
    "frames",
    "width",
    "height",
    "visible",
    "silhouette",
)
GEOMETRY_COLUMNS = (
    "clip_id",
    "width",
    "height",
    "camera_c2w",
    "K",
    "subject_pos",
    "subject_heading",
    "subject_size",
)
GEOMETRY_CHUNK = 1024  # clips per vectorised box projection (bounds memory)


def pixel_counts_path(dataset_dir: str | Path) -> Path:
    return Path(dataset_dir) / META_DIR / PIXEL_COUNTS


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, columns=list(columns) if columns else None)
    except (OSError, pa.ArrowException) as e:
        raise UserError(
            f"{path}: not a readable parquet table with columns {', '.join(columns or ())} ({e})"
        ) from None


# --------------------------------------------------------------------------- nested columns


class _Unnested(NamedTuple):
    dense: np.ndarray  # [C,S,T] padded with the fill value
    n_lists: np.ndarray  # [C] lists (subject slots) per clip; 0 where null
    lens: np.ndarray  # [L] values (frames) per list
    null: np.ndarray  # [C] the clip's cell is null
    list_clip: np.ndarray  # [L] clip of each list


def _unnest(col: pa.ChunkedArray | pa.Array, fill: float, dtype: type) -> _Unnested:
    """A list-of-lists column (fixed-size or not) → a dense padded array, without per-value Python."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    null = ~np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool)
    outer_len = np.where(null, 0, pc.fill_null(pc.list_value_length(arr), 0).to_numpy()).astype(
        np.int64
    )
    inner = arr.flatten()
    inner_len = pc.fill_null(pc.list_value_length(inner), 0).to_numpy().astype(np.int64)
    flat = inner.flatten()
    if flat.null_count:
        flat = pc.fill_null(flat, fill)
    values = flat.to_numpy(zero_copy_only=False)
    c, n_l = len(arr), inner_len.size
    list_clip = np.repeat(np.arange(c), outer_len)
    s = int(outer_len.max()) if c else 0
    t = int(inner_len.max()) if n_l else 0
    dense = np.full((c, s, t), fill, dtype=dtype)
    if values.size:
        list_subj = np.arange(n_l) - np.repeat(np.cumsum(outer_len) - outer_len, outer_len)
        if (inner_len == t).all():  # the usual case: every slot has every frame; copy whole rows
            dense.reshape(c * s, t)[list_clip * s + list_subj] = values.reshape(-1, t)
        else:
            val_list = np.repeat(np.arange(n_l), inner_len)
            frame = np.arange(values.size) - np.repeat(np.cumsum(inner_len) - inner_len, inner_len)
            dense[list_clip[val_list], list_subj[val_list], frame] = values
    return _Unnested(dense, outer_len, inner_len, null, list_clip)


def _per_subject(col: pa.ChunkedArray, inner: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """A list-over-subjects column of fixed-shape values → (values [sum N, *inner], N per row)."""
    arr = col.combine_chunks()
    n = pc.fill_null(pc.list_value_length(arr), 0).to_numpy().astype(np.int64)
    vals = arr.flatten()
    while isinstance(vals, (pa.ListArray, pa.FixedSizeListArray, pa.LargeListArray)):
        vals = vals.flatten()
    return vals.to_numpy(zero_copy_only=False).astype(np.float64).reshape(int(n.sum()), *inner), n


def _fixed(col: pa.ChunkedArray, inner: tuple[int, ...]) -> np.ndarray:
    """A fixed-shape column → [rows, *inner]."""
    vals = col.combine_chunks()
    while isinstance(vals, (pa.ListArray, pa.FixedSizeListArray, pa.LargeListArray)):
        vals = vals.flatten()
    return vals.to_numpy(zero_copy_only=False).astype(np.float64).reshape(len(col), *inner)


# --------------------------------------------------------------------------- reading a packaged dataset


def _from_tables(dataset_dir: Path, ids: Sequence[str], columns: Sequence[str]) -> pa.Table:
    """Rows of `ids` (in that order; missing ones left out) from the dataset tables."""
    parts = [
        read_parquet(p, ["clip_id", *[c for c in columns if c != "clip_id"]])
        for p in shard_paths(dataset_dir)
    ]
    parts = [t for t in parts if len(t)]
    if not parts:
        return pa.table({c: pa.array([], pa.string()) for c in ["clip_id"]})
    table = pa.concat_tables(parts, promote_options="permissive")
    idx = pc.index_in(pa.array(list(ids), pa.string()), value_set=table["clip_id"])
    return table.take(pc.drop_null(idx))


def table_box_px(
    dataset_dir: Path, ids: Sequence[str], s: int, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Projected body-box pixels [len(ids), s, t] from the tables' shot columns → (box_px, found [len(ids)])."""
    out = np.zeros((len(ids), s, t), np.float32)
    found = np.zeros(len(ids), bool)
    if not ids:
        return out, found
    table = _from_tables(dataset_dir, ids, GEOMETRY_COLUMNS)
    if "camera_c2w" not in table.column_names or not len(table):
        return out, found
    where = {cid: i for i, cid in enumerate(ids)}
    rows = np.array([where[c] for c in table["clip_id"].to_pylist()], np.int64)
    found[rows] = True
    for a in range(0, len(table), GEOMETRY_CHUNK):
        part = table.slice(a, GEOMETRY_CHUNK)
        c = len(part)
        tt = len(part["camera_c2w"].combine_chunks().flatten()) // c
        c2w = _fixed(part["camera_c2w"], (tt, 4, 4))
        K = _fixed(part["K"], (3, 3))
        pos, n = _per_subject(part["subject_pos"], (tt, 3))
        heading, _ = _per_subject(part["subject_heading"], (tt,))
        size, _ = _per_subject(part["subject_size"], (3,))
        owner = np.repeat(np.arange(c), n)
        slot = np.arange(owner.size) - np.repeat(np.cumsum(n) - n, n)
        centers = pos.copy()
        centers[..., 2] += size[:, None, 2] / 2.0
        w = part["width"].to_numpy().astype(np.float64)[owner, None]
        h = part["height"].to_numpy().astype(np.float64)[owner, None]
        _, px = box_view_arrays(
            c2w[owner], K[owner, None], centers, size[:, None, :], heading, w, h
        )
        sel, ft = slot < s, min(tt, t)
        out[rows[a + owner[sel]], slot[sel], :ft] = px[sel, :ft]
    return out, found


def read_pixel_counts(path: str | Path) -> tuple[CountsBatch, list[tuple[str, str]]]:
    """The packager's meta/pixel_counts.parquet → (clips that check out, [(clip_id, problem)])."""
    path = Path(path)
    table = read_parquet(path)
    missing = [n for n in COUNTS_COLUMNS if n not in table.column_names]
    if missing:
        raise UserError(
            f"{path}: missing columns {', '.join(missing)}; expected {', '.join(COUNTS_COLUMNS)}"
        )
    ids = [str(x) for x in table["clip_id"].to_pylist()]
    c = len(ids)
    ints = {
        k: pc.fill_null(table[k], -1).to_numpy().astype(np.int32)
        for k in ("fps", "frames", "n_subjects", "width", "height")
    }
    n_sub, frames = ints["n_subjects"], ints["frames"]
    v = _unnest(table["visible"], -1, np.int32)
    u = _unnest(table["silhouette"], -1, np.int32)
    s = max(v.dense.shape[1], u.dense.shape[1])
    t = max(v.dense.shape[2], u.dense.shape[2])
    vis, sil = pad_to(v.dense, s, t, -1), pad_to(u.dense, s, t, -1)
    valid = (np.arange(s)[None, :, None] < n_sub[:, None, None]) & (
        np.arange(t)[None, None, :] < frames[:, None, None]
    )
    measured = ((sil != -1) & valid).reshape(c, -1).any(axis=1) & ~u.null
    area = (ints["width"].astype(np.int64) * ints["height"])[:, None, None]
    problems: dict[int, str] = {}

    def flag(mask: np.ndarray, text: str) -> None:
        for i in np.flatnonzero(mask):
            problems.setdefault(int(i), text)

    def any_c(mask: np.ndarray) -> np.ndarray:
        return mask.reshape(c, -1).any(axis=1)

    flag(
        (ints["fps"] <= 0)
        | (frames < 0)
        | (n_sub < 0)
        | (ints["width"] <= 0)
        | (ints["height"] <= 0),
        "fps, width and height must be positive, frames and n_subjects not negative",
    )
    for name, un, opt in (("visible", v, np.zeros(c, bool)), ("silhouette", u, ~measured)):
        flag(un.null & ~opt, f"{name} is missing")
        short = np.zeros(c, bool)
        if un.lens.size:
            slot = np.arange(un.lens.size) - np.repeat(
                np.cumsum(un.n_lists) - un.n_lists, un.n_lists
            )
            short_list = (slot < n_sub[un.list_clip]) & (un.lens < frames[un.list_clip])
            short = np.bincount(un.list_clip[short_list], minlength=c) > 0
        flag(
            ((un.n_lists < n_sub) | short) & ~opt & ~un.null,
            f"{name} has fewer subject slots or frames than n_subjects × frames",
        )
    flag(any_c((vis < 0) & valid), "visible has negative values")
    flag(
        any_c((sil < 0) & valid) & measured,
        "silhouette has negative values (and is not -1 throughout)",
    )
    flag(any_c((vis > area) & valid), "visible exceeds the image area (width × height)")
    flag(
        any_c((sil > area) & valid) & measured, "silhouette exceeds the image area (width × height)"
    )
    flag(any_c((vis > sil) & valid) & measured, "visible exceeds silhouette")
    bad = np.zeros(c, bool)
    bad[list(problems)] = True
    errors = [(ids[i], f"clip {ids[i]}: {problems[i]} (in {path.name})") for i in sorted(problems)]
    sil = np.where(valid & measured[:, None, None], sil, -1)
    vis = np.where(valid, vis, -1)
    batch = CountsBatch(
        ids,
        [""] * c,
        [""] * c,
        ints["fps"],
        frames,
        n_sub,
        ints["width"],
        ints["height"],
        vis,
        sil,
        np.zeros(vis.shape, np.float32),
    )
    return batch.subset(~bad), errors


def with_table_info(batch: CountsBatch, dataset_dir: Path) -> tuple[CountsBatch, np.ndarray]:
    """Scene, camera and (for clips without silhouettes) box geometry from the dataset tables.

    Returns the batch and a [C] bool: the clip lacks silhouettes and its geometry
    was not found in the tables (it must come from its clip folder).
    """
    if not len(batch):
        return batch, np.zeros(0, bool)
    info = _from_tables(dataset_dir, batch.clip_ids, ["scene", "camera_trajectory"])
    scene, camera = list(batch.scene), list(batch.camera)
    if "scene" in info.column_names and len(info):
        where = {cid: i for i, cid in enumerate(batch.clip_ids)}
        for cid, sc, cam in zip(
            info["clip_id"].to_pylist(),
            info["scene"].to_pylist(),
            info["camera_trajectory"].to_pylist(),
            strict=True,
        ):
            scene[where[cid]], camera[where[cid]] = str(sc), str(cam)
    need = ~batch.has_silhouette
    box_px = batch.box_px
    missing = np.zeros(len(batch), bool)
    if need.any():
        idx = np.flatnonzero(need)
        px, found = table_box_px(
            dataset_dir, [batch.clip_ids[i] for i in idx], *batch.visible.shape[1:]
        )
        box_px = box_px.copy()
        box_px[idx] = px
        missing[idx[~found]] = True
    out = CountsBatch(
        batch.clip_ids,
        scene,
        camera,
        batch.fps,
        batch.frames,
        batch.n_subjects,
        batch.width,
        batch.height,
        batch.visible,
        batch.silhouette,
        box_px,
    )
    return out, missing
