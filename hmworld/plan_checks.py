"""Checks of plan rows before anything renders: every bad value named with its row, column and what is allowed.

A plan manifest may be hand-written or edited, so `hmworld render --plan` checks
it whole: the column types (`type_problems`), each row's ids and numbers
(`row_problems`), and clip ids that two different rows share (`plan_problems`).
A row that passes renders exactly what it says.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from hmworld.catalog import PATHS, PLACEMENTS, SCENES, SUBJECTS, TRAJECTORIES
from hmworld.errors import UserError
from hmworld.options import MAX_SIDE

MAX_SUBJECTS = 3
SHOWN = 8  # problems quoted in the one-line error; the rest are counted
PER_SUBJECT = ("subjects", "paths", "gaits", "speeds")
_FLOATS = ("hfov_deg", "group_heading_deg", "group_offset_x", "group_offset_y")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _value_ok(v: Any, t: pa.DataType) -> bool:
    if pa.types.is_integer(t):
        return _is_int(v)
    if pa.types.is_floating(t):
        return _is_number(v)
    if pa.types.is_string(t):
        return isinstance(v, str)
    if pa.types.is_list(t):
        return isinstance(v, list) and all(_value_ok(x, t.value_type) for x in v)
    return True


def _number_text(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _allowed(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "an integer"
    if pa.types.is_floating(t):
        return "a number"
    if pa.types.is_string(t):
        return "text"
    return f"a list of {_allowed(t.value_type).removeprefix('a ').removeprefix('an ')}s"


def type_problems(table: pa.Table, schema: pa.Schema) -> list[str]:
    """Values whose type the schema does not allow (a word in an integer column, a null)."""
    problems: list[str] = []
    for field in schema:
        col = table.column(field.name)
        if col.type.equals(field.type) and col.null_count == 0:
            continue
        bad = [(i, v) for i, v in enumerate(col.to_pylist()) if not _value_ok(v, field.type)]
        if bad:  # one per column is enough to fix the file: the worst (a word rather than '8')
            i, v = min(bad, key=lambda b: (_number_text(b[1]), b[0]))
            problems.append(f"row {i}: {field.name} {v!r}; allowed: {_allowed(field.type)}")
    return problems


def _where(i: int, row: Mapping[str, Any]) -> str:
    return f"row {i} ({row.get('clip_id')})"


def row_problems(row: Mapping[str, Any]) -> list[str]:
    """Everything wrong with one plan row, each as 'column value; allowed: …'."""
    out: list[str] = []
    cid = row.get("clip_id")
    if not isinstance(cid, str) or not cid or cid.startswith(".") or "/" in cid or "\\" in cid:
        out.append(f"clip_id {cid!r}; allowed: a non-empty folder name without '/' that does not start with '.'")
    if row.get("scene") not in SCENES:
        out.append(f"scene {row.get('scene')!r}; allowed: {', '.join(SCENES)}")
    lists = {k: row.get(k) for k in PER_SUBJECT}
    if not all(isinstance(v, list) for v in lists.values()):
        return out + [f"{k} {v!r}; allowed: a list" for k, v in lists.items() if not isinstance(v, list)]
    n = len(lists["subjects"])
    if not 1 <= n <= MAX_SUBJECTS:
        out.append(f"subjects {lists['subjects']!r}; allowed: 1 to {MAX_SUBJECTS} subjects")
    for k in PER_SUBJECT[1:]:
        if len(lists[k]) != n:
            out.append(f"{k} {lists[k]!r}; allowed: one per subject ({n})")
    if row.get("n_subjects") != n:
        out.append(f"n_subjects {row.get('n_subjects')!r}; allowed: the number of subjects ({n})")
    for s in lists["subjects"]:
        if s not in SUBJECTS:
            out.append(f"subject {s!r}; allowed: {', '.join(SUBJECTS)}")
    for p in lists["paths"]:
        if p not in PATHS:
            out.append(f"path {p!r}; allowed: {', '.join(PATHS)}")
    for s, g in zip(lists["subjects"], lists["gaits"], strict=False):
        if s in SUBJECTS and g not in [x.name for x in SUBJECTS[s].gaits]:
            out.append(f"gait {g!r} of {s}; allowed: {', '.join(x.name for x in SUBJECTS[s].gaits)}")
    for v in lists["speeds"]:
        if not (_is_number(v) and math.isfinite(v) and v > 0):
            out.append(f"speed {v!r}; allowed: a finite number of metres per second above 0")
    if row.get("camera") not in TRAJECTORIES:
        out.append(f"camera {row.get('camera')!r}; allowed: {', '.join(TRAJECTORIES)}")
    placement = row.get("placement")
    if not (_is_int(placement) and 0 <= placement < len(PLACEMENTS)):
        out.append(f"placement {placement!r}; allowed: 0 to {len(PLACEMENTS) - 1}")
    for k in _FLOATS:
        v = row.get(k)
        if not (_is_number(v) and math.isfinite(v)):
            out.append(f"{k} {v!r}; allowed: a finite number")
    hfov = row.get("hfov_deg")
    if _is_number(hfov) and math.isfinite(hfov) and not 1.0 <= hfov <= 179.0:
        out.append(f"hfov_deg {hfov!r}; allowed: 1 to 179 degrees")
    for k, lo, hi in (("index", 0, None), ("frames", 2, None), ("fps", 1, None), ("width", 16, MAX_SIDE), ("height", 16, MAX_SIDE),
                      ("seed", 0, None), ("scene_seed", 0, None)):
        v = row.get(k)
        even = k in ("width", "height")
        if not (_is_int(v) and v >= lo and (hi is None or v <= hi) and (not even or v % 2 == 0)):
            allowed = f"an {'even ' if even else ''}integer from {lo}" + (f" to {hi}" if hi else " up")
            out.append(f"{k} {v!r}; allowed: {allowed}")
    return out


def plan_problems(rows: Sequence[Mapping[str, Any]], each: bool = True) -> list[str]:
    """Every bad row (with its index and clip id) and every clip id two different rows share.

    `each=False` skips the per-row checks, for rows already checked one by one
    (every `PlanRow` is): only clip ids shared by different rows are looked for.
    """
    problems: list[str] = []
    first: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, row in enumerate(rows):
        if each:
            problems += [f"{_where(i, row)}: {p}" for p in row_problems(row)]
        cid = row.get("clip_id")
        if not isinstance(cid, str):
            continue
        if cid in first:
            j, other = first[cid]
            differ = sorted(k for k in row if k != "index" and row[k] != other.get(k))
            if differ:
                problems.append(f"row {i}: clip_id {cid!r} is also row {j}'s, which differs in {', '.join(differ)}; "
                                "allowed: one clip id per shot")
        else:
            first[cid] = (i, row)
    return problems


def refuse(source: str, problems: list[str]) -> UserError:
    """One line: how many problems, the first few in full."""
    shown = "; ".join(problems[:SHOWN])
    more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return UserError(f"{source}: {len(problems)} problem(s): {shown}{more}")


def check_rows(rows: Sequence[Mapping[str, Any]], source: str = "plan", each: bool = True) -> None:
    """Raise one UserError naming every bad row (see `plan_problems`); nothing is rendered before this passes."""
    problems = plan_problems(rows, each)
    if problems:
        raise refuse(source, problems)
