"""Run as a script: feed every command of the `hmworld` CLI usage mistakes, print what came back as JSON.

Run in a subprocess so that PYTHONPATH can put another typer first (tests/test_cli_usage.py).
Each case: the arguments, the exit code, and stderr.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import typing

import typer

from hmworld.cli import app, main


def _number_kind(annotation: object) -> str | None:
    kinds = {t for t in typing.get_args(annotation) or (annotation,) if t in (int, float)}
    return {int: "integer", float: "float"}.get(next(iter(kinds))) if len(kinds) == 1 else None


def _cases() -> list[list[str]]:
    """Per command (from its signature): an unknown option, nothing given, and a word for each number."""
    cases: list[list[str]] = [["no-such-command"]]
    for info in app.registered_commands:
        name = info.name or info.callback.__name__
        cases.append([name, "--no-such-option"])
        hints = typing.get_type_hints(info.callback, include_extras=True)
        params = inspect.signature(info.callback).parameters
        if any(p.default is inspect.Parameter.empty for p in params.values()):
            cases.append([name])
        for pname, hint in hints.items():
            if pname == "return":
                continue
            base, *extras = typing.get_args(hint)
            option = next((e for e in extras if isinstance(e, typer.models.OptionInfo)), None)
            if option is None or _number_kind(base) is None:
                continue
            decls = [d for d in (option.param_decls or ()) if d.startswith("--")] or ["--" + pname.replace("_", "-")]
            cases.append([name, max(decls, key=len).split("/")[0], "abc"])
    return cases


def _run(args: list[str]) -> dict:
    err = io.StringIO()
    code: object = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args)
        except SystemExit as e:
            code = e.code
        except BaseException as e:  # a traceback: report it as such
            code = f"raised {type(e).__name__}: {e}"
    return {"args": args, "code": code, "stderr": err.getvalue()}


if __name__ == "__main__":
    print(json.dumps({"typer": typer.__version__, "results": [_run(a) for a in _cases()]}))
