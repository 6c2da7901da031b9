"""The `hmworld` command: one thin command per stage, no logic inside.

Each command parses options, calls the stage's module, and prints. A
`UserError` from any stage becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from hmworld.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Make HM-World-style hybrid-memory video datasets and train memory models on them.",
)


def main() -> None:
    """Console-script entry: user mistakes exit 2 with one line, never a traceback."""
    try:
        app(standalone_mode=False)
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as e:  # click usage errors carry their own exit code
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        raise


# Commands are added below, one per stage. Keep each thin: parse, call, print.


@app.command("catalog")
def catalog_cmd(
    section: Annotated[str | None, typer.Argument(help="scenes, subjects, paths or cameras (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Stable JSON (documented in docs/FORMAT.md).")] = False,
) -> None:
    """List the scenes, subjects, subject paths and camera trajectories."""
    import json

    from rich.console import Console
    from rich.table import Table

    from hmworld.catalog import SECTIONS, catalog_json, catalog_rows
    from hmworld.errors import check_choice

    if section is not None:
        check_choice("catalog section", section, SECTIONS)
    if as_json:
        typer.echo(json.dumps(catalog_json(section), indent=1))
        return
    console = Console()
    for name in [section] if section else SECTIONS:
        headers, rows = catalog_rows(name)
        table = Table(title=f"{name} ({len(rows)})", show_lines=False)
        for h in headers:
            table.add_column(h, overflow="fold")
        for r in rows:
            table.add_row(*r)
        console.print(table)


@app.command("plan")
def plan_cmd(
    out: Annotated[Path, typer.Option("--out", help="Manifest to write (parquet).")],
    scenes: Annotated[list[str] | None, typer.Option("--scenes", help="Scene ids, comma-separated or repeated (default: all).")] = None,
    clips: Annotated[int, typer.Option(help="Number of shots (ignored with --full).")] = 64,
    seed: Annotated[int, typer.Option(help="Same seed, same manifest, byte for byte.")] = 0,
    frames: Annotated[int, typer.Option(help="Frames per clip.")] = 150,
    fps: Annotated[int, typer.Option(help="Frames per second.")] = 15,
    resolution: Annotated[str, typer.Option(help="WIDTHxHEIGHT, even numbers.")] = "416x240",
    group_sizes: Annotated[list[str] | None, typer.Option("--group-sizes", help="Allowed group sizes, e.g. 1,2,3.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Enumerate the full design (≥ 59,225 shots, as the paper).")] = False,
) -> None:
    """Write the procedural plan of shots as a parquet manifest."""
    from hmworld import plan
    from hmworld.catalog import SCENES
    from hmworld.options import parse_group_sizes, parse_ids, parse_resolution

    width, height = parse_resolution(resolution)
    settings = plan.PlanSettings(frames=frames, fps=fps, width=width, height=height)
    if full:
        table = plan.full_plan(seed=seed, settings=settings)
    else:
        table = plan.make_plan(
            scenes=parse_ids("scene", scenes, list(SCENES)),
            clips=clips,
            seed=seed,
            settings=settings,
            group_sizes=parse_group_sizes(group_sizes) or (1, 2, 3),
        )
    plan.write_plan(table, out)
    s = plan.summarize(table)
    typer.echo(
        f"wrote {out}: {s['clips']} shots over {s['scenes']} scenes, {s['subjects']} subjects, "
        f"{s['paths']} paths, {s['cameras']} camera trajectories, {s['placements']} placements; "
        f"group sizes {s['group_sizes']}"
    )
