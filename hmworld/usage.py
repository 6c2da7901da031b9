"""One line for a command-line usage mistake, whichever typer parses the command line.

typer up to 0.21 raises `click.exceptions.UsageError` subclasses; newer typer
vendors click as `typer._click` and coerces values with pydantic, so its
`BadParameter` is another class with another message ("Input should be a valid
integer, …"). `usage_error` recognises both families by their own classes and
gives the same line for both: ``--clips: 'abc' is not a valid integer``.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass

_PYDANTIC_KINDS = {
    "int_parsing": "integer",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_parsing": "float",
    "float_type": "float",
    "bool_parsing": "boolean",
    "bool_type": "boolean",
}


def _exception_modules() -> list:
    """The click exception modules present: click's own and typer's vendored copy."""
    mods = []
    for name in ("click.exceptions", "typer._click.exceptions"):
        with contextlib.suppress(ImportError):
            mods.append(importlib.import_module(name))
    return mods


def _is(exc: BaseException, cls_name: str) -> bool:
    return any(isinstance(exc, getattr(m, cls_name)) for m in _exception_modules() if hasattr(m, cls_name))


@dataclass(frozen=True)
class Usage:
    """A usage mistake: the line to print after ``error: ``, the exit code, and help text if any."""

    message: str
    exit_code: int = 2
    help_text: str | None = None


def _param_name(exc: BaseException) -> str | None:
    param = getattr(exc, "param", None)
    if param is None:
        hint = getattr(exc, "param_hint", None)
        return None if hint is None else str(hint if isinstance(hint, str) else " / ".join(hint)).strip("'\"")
    opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
    if opts:
        return max(opts, key=len)
    return str(getattr(param, "human_readable_name", None) or param.name).upper()


def _value_problem(exc: BaseException) -> str:
    """'abc' is not a valid integer — from click's message or from typer's pydantic error."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        with contextlib.suppress(Exception):
            first = errors()[0]
            kind = _PYDANTIC_KINDS.get(first.get("type", ""))
            if kind is not None:
                return f"{first['input']!r} is not a valid {kind}"
            return f"{first['input']!r}: {_sentence(first.get('msg', str(cause)))}"
    return _sentence(getattr(exc, "message", None) or str(exc))


def _sentence(text: str) -> str:
    """One line, no trailing period, lower-case first word unless it is a name."""
    text = " ".join(str(text).split()).rstrip(".")
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text


def usage_error(exc: BaseException) -> Usage | None:
    """The one-line report of a click/typer usage exception, or None when `exc` is not one."""
    if not _is(exc, "ClickException"):
        return None
    code = int(getattr(exc, "exit_code", 2) or 2)
    if _is(exc, "NoArgsIsHelpError"):  # click >= 8.2: a bare `hmworld` raises this instead of printing help
        return Usage("no command given; see the commands above", 2, exc.format_message())
    if _is(exc, "MissingParameter"):
        name = _param_name(exc)
        kind = getattr(exc, "param_type", None) or getattr(getattr(exc, "param", None), "param_type_name", "option")
        return Usage(f"missing {kind} {name}" if name else _sentence(exc.format_message()), code)
    if _is(exc, "BadParameter"):
        name = _param_name(exc)
        problem = _value_problem(exc)
        return Usage(f"{name}: {problem}" if name else problem, code)
    return Usage(_sentence(exc.format_message()), code)
