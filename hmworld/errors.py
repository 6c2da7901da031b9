"""The one exception type that means "the user gave us something we cannot use".

The CLI turns it into a one-line message and exit code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from a user: message names the bad value and what is allowed."""


class DamagedClip(UserError):
    """A clip folder whose files cannot be read (truncated JSON, undecodable video, missing folder).

    The message names the clip and the problem; stages skip it with --keep-going or stop.
    """


class BadArgumentType(UserError, TypeError):
    """A Python API argument of the wrong type (a bool where a count goes, a string where a flag goes).

    Both a TypeError (what Python code expects) and a UserError (one line at the CLI).
    """


def check_choice(kind: str, value: str, allowed: list[str] | tuple[str, ...]) -> str:
    """Return `value` if it is one of `allowed`, else raise a one-line UserError."""
    if value not in allowed:
        shown = ", ".join(allowed) if len(allowed) <= 60 else ", ".join(allowed[:60]) + ", …"
        raise UserError(f"unknown {kind} {value!r}; allowed: {shown}")
    return value
