"""numpy ⇄ arrow for the table's nested columns, without a Python object per number.

Fixed-shape columns (nested fixed-size lists of numbers) go to and from one
numpy array [rows, *dims]; per-subject columns (a list over subjects of a fixed
shape) to and from (values [sum N, *dims], offsets [rows + 1]).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


def fixed_dims(t: pa.DataType) -> tuple[tuple[int, ...], pa.DataType] | None:
    """(dims, leaf type) when `t` is nested fixed-size lists of numbers (or a number), else None."""
    dims: list[int] = []
    while pa.types.is_fixed_size_list(t):
        dims.append(t.list_size)
        t = t.value_type
    return (tuple(dims), t) if _is_number(t) else None


def _build_fixed(flat: np.ndarray, t: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """Nest a flat numpy array into fixed-size lists of type `t` (mask: nulls at the outer level)."""
    if not pa.types.is_fixed_size_list(t):
        return pa.array(flat, type=t)
    child = _build_fixed(flat, t.value_type)
    m = None if mask is None else pa.array(mask, type=pa.bool_())
    return pa.FixedSizeListArray.from_arrays(child, type=t, mask=m)


def to_arrow(values: Sequence[Any], t: pa.DataType) -> pa.Array:
    """Column values (numpy arrays, None for null, or plain Python values) → an arrow array of type t."""
    fixed = fixed_dims(t)
    if fixed is not None and fixed[0]:
        dims, leaf = fixed
        dtype = leaf.to_pandas_dtype()
        mask = np.array([v is None for v in values], dtype=bool)
        out = np.zeros((len(values), *dims), dtype=dtype)
        for i, v in enumerate(values):  # one copy per row, not per number
            if v is not None:
                out[i] = np.asarray(v).reshape(dims)
        return _build_fixed(out.reshape(-1), t, mask if mask.any() else None)
    if pa.types.is_list(t) and fixed_dims(t.value_type) is not None:
        dims, leaf = fixed_dims(t.value_type)  # type: ignore[misc]
        dtype = leaf.to_pandas_dtype()
        mask = np.array([v is None for v in values], dtype=bool)
        rows = [np.zeros((0, *dims), dtype) if v is None else np.asarray(v, dtype=dtype).reshape(-1, *dims) for v in values]
        counts = np.array([r.shape[0] for r in rows], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        flat = np.concatenate(rows).reshape(-1) if rows else np.zeros(0, dtype)
        child = _build_fixed(flat, t.value_type)
        m = pa.array(mask, type=pa.bool_()) if mask.any() else None
        return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), child, type=t, mask=m)
    return pa.array(list(values), type=t)


def _as_array(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def _leaf_values(arr: pa.Array) -> tuple[pa.Array, tuple[int, ...]]:
    """Strip fixed-size list levels, honouring slices and keeping null slots."""
    dims: list[int] = []
    while pa.types.is_fixed_size_list(arr.type):
        size = arr.type.list_size
        dims.append(size)
        arr = arr.values.slice(arr.offset * size, len(arr) * size)
    return arr, tuple(dims)


def _leaf_numpy(leaf: pa.Array) -> np.ndarray:
    if leaf.null_count:
        if pa.types.is_floating(leaf.type):
            leaf = leaf.fill_null(float("nan"))
        else:
            leaf = leaf.fill_null(0)
    return leaf.to_numpy(zero_copy_only=False)


def fixed_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A fixed-shape column → numpy [rows, *dims] (null rows hold whatever the file stored)."""
    a = _as_array(arr)
    leaf, dims = _leaf_values(a)
    return _leaf_numpy(leaf).reshape(len(a), *dims)


def valid_mask(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    a = _as_array(arr)
    return a.is_valid().to_numpy(zero_copy_only=False)


def ragged_numpy(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A per-subject column → (values [sum N, *dims], offsets [rows + 1] starting at 0)."""
    a = _as_array(arr)
    offs = a.offsets.to_numpy().astype(np.int64)
    child = a.values.slice(int(offs[0]), int(offs[-1] - offs[0]))
    leaf, dims = _leaf_values(child)
    values = _leaf_numpy(leaf).reshape(len(child), *dims)
    return values, offs - offs[0]


def ragged_rows(arr: pa.Array | pa.ChunkedArray) -> list[np.ndarray]:
    """A per-subject column → one numpy array [N, *dims] per row."""
    values, offs = ragged_numpy(arr)
    return [values[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
