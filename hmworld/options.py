"""Validation of user-facing values shared by several commands: one-line errors, nothing else."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from hmworld.errors import UserError

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
