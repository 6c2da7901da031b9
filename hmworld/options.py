"""Validation of user-facing values shared by several commands: one-line errors, nothing else."""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from hmworld.errors import BadArgumentType, UserError

T = TypeVar("T")
_RES = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")
MAX_SIDE = 8192


def parse_resolution(text: str) -> tuple[int, int]:
    """'416x240' → (416, 240). H.264 with yuv420p needs even sides."""
    m = _RES.match(str(text))
    if not m:
        raise UserError(f"malformed resolution {text!r}; expected WIDTHxHEIGHT, e.g. 416x240")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE) or w % 2 or h % 2:
        raise UserError(
            f"impossible resolution {text!r}; width and height must be even numbers from 16 to {MAX_SIDE}"
        )
    return w, h


def parse_ids(kind: str, values: Iterable[str] | None, allowed: Sequence[str]) -> list[str]:
    """Comma-separated and/or repeated ids → validated list (empty input → empty list)."""
    out: list[str] = []
    for v in values or ():
        for item in str(v).split(","):
            item = item.strip()
            if not item:
                continue
            if item not in allowed:
                raise UserError(f"unknown {kind} {item!r}; allowed: {', '.join(allowed)}")
            if item not in out:
                out.append(item)
    return out


def parse_group_sizes(values: Iterable[str] | None) -> list[int]:
    sizes: list[int] = []
    for v in values or ():
        for item in str(v).split(","):
            item = item.strip()
            if not item:
                continue
            if not item.isdigit() or not 1 <= int(item) <= 3:
                raise UserError(f"group size {item!r} is not allowed; allowed: 1, 2, 3")
            sizes.append(int(item))
    return sorted(set(sizes))


def positive(name: str, value: float) -> float:
    if not value > 0:
        raise UserError(f"{name} must be positive, got {value}")
    return value


def at_least(name: str, value: int, low: int) -> int:
    """An option that counts something (workers, rows): refuse values below `low`, naming the option."""
    if value < low:
        raise UserError(f"{name} must be at least {low}, got {value}")
    return value


# --------------------------------------------------------------------------- Python API arguments
# bool is an int subclass and any non-empty string is truthy, so `frames=True` or `depth="no"` would
# pass silently; these refuse them in one line naming the argument, the value and what is allowed.


def _shown(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _is_bool(value: object) -> bool:
    """Python's bool or numpy's (numpy.bool_, named numpy.bool in numpy 2), without importing numpy."""
    return isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"))


def is_whole(value: object) -> bool:
    """A whole number: int or numpy integer, never a bool (True is 1 to Python, not a count)."""
    if _is_bool(value):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def check_flag(name: str, value: object) -> bool:
    """`value` as a bool when it is True or False (numpy's too); BadArgumentType for 1, "yes", None …"""
    if _is_bool(value):
        return bool(value)
    raise BadArgumentType(f"{name} must be True or False, got {_shown(value)}")


def check_whole(name: str, value: object, low: int, *, none: str | None = None) -> int | None:
    """A whole number >= `low` (None allowed when `none` says what it means). BadArgumentType for another
    type (a bool, a float, a string), UserError for a value below `low`."""
    allowed = f"a whole number >= {low}" + (f" or None ({none})" if none else "")
    if value is None and none:
        return None
    if not is_whole(value):
        raise BadArgumentType(f"{name} must be {allowed}, got {_shown(value)}")
    if operator.index(value) < low:  # type: ignore[arg-type]
        raise UserError(f"{name} must be {allowed}, got {value!r}")
    return operator.index(value)  # type: ignore[arg-type]


def check_whole_type(name: str, value: object, *, none: str | None = None) -> None:
    """BadArgumentType unless `value` is a whole number (int or numpy integer, never a bool) or, when
    `none` says what it means, None. Only the type: a caller with its own range message checks that."""
    if value is None and none:
        return
    if not is_whole(value):
        raise BadArgumentType(f"{name} must be a whole number" + (f" or None ({none})" if none else "") + f", got {_shown(value)}")


def check_flags(**flags: object) -> None:
    """check_flag for each keyword (name=value), in order."""
    for name, value in flags.items():
        check_flag(name, value)


def check_text(name: str, value: object, allowed: Sequence[str]) -> str:
    """One of `allowed` (strings); BadArgumentType for a non-string, UserError for another string."""
    if not isinstance(value, str):
        raise BadArgumentType(f"{name} must be one of {', '.join(allowed)}; got {_shown(value)}")
    if value not in allowed:
        raise UserError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_type(name: str, value: object, kind: type[T], allowed: str) -> T:
    """`value` when it is a `kind` (never a bool for int); BadArgumentType naming `allowed` otherwise."""
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    raise BadArgumentType(f"{name} must be {allowed}, got {_shown(value)}")


def check_path(name: str, value: object) -> Path:
    """A str or os.PathLike as a Path; BadArgumentType for anything else (an int, None, bytes)."""
    if isinstance(value, str) or (isinstance(value, os.PathLike) and isinstance(os.fspath(value), str)):
        return Path(value)
    raise BadArgumentType(f"{name} must be a folder path (str or pathlib.Path), got {_shown(value)}")
