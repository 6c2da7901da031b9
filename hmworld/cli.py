"""The `hmworld` command: one thin command per stage, no logic inside.

Each command parses options, calls the stage's module, and prints. A
`UserError` from any stage becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
import sys
import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hmworld.errors import UserError, check_choice
from hmworld.lock import folder_lock
from hmworld.options import at_least, parse_group_sizes, parse_ids, parse_resolution
from hmworld.outputs import check_dir, check_file, os_error_line
from hmworld.ray_cluster import RaySettings
from hmworld.usage import usage_error

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Make HM-World-style hybrid-memory video datasets and train memory models on them.",
)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: user mistakes exit 2 with one line, never a traceback.

    argv: the arguments after the program name (default: sys.argv[1:]).
    """
    try:
        code = app(args=argv, standalone_mode=False)  # click returns (not raises) a command's typer.Exit code here
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except OSError as e:  # an output the file system refuses (read-only, not a folder) or a full disk
        failure = os_error_line(e)
        if failure is None:
            raise
        typer.echo(f"error: {failure.message}", err=True)
        sys.exit(failure.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Abort:  # click turns Ctrl-C inside a command into Abort
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:  # click's or typer's own usage errors: one line, exit 2, whichever typer
        usage = usage_error(e)
        if usage is None:
            raise
        if usage.help_text:
            typer.echo(usage.help_text, err=True)
        typer.echo(f"error: {usage.message}", err=True)
        sys.exit(usage.exit_code)


# Commands are added below, one per stage. Keep each thin: parse, call, print.
# Each command imports its stage where it runs, not above: the stages pull in numpy, pyarrow, numba,
# matplotlib and the optional extras (torch, transformers, Ray), which `hmworld --help` and every
# other command should not pay for or need installed. These are lazy loads, not cycle dodges
# (tests/test_import_graph.py counts them in the graph).


@app.command("catalog")
def catalog_cmd(
    section: Annotated[str | None, typer.Argument(help="scenes, subjects, paths or cameras (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Stable JSON (documented in docs/FORMAT.md).")] = False,
) -> None:
    """List the scenes, subjects, subject paths and camera trajectories."""


    from hmworld.catalog import SECTIONS, catalog_json, catalog_rows

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

    check_file(out, "plan manifest")

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


@app.command("render")
def render_cmd(
    out: Annotated[Path, typer.Option("--out", help="Dataset folder; clips go to OUT/clips/<clip_id>/.")],
    scene: Annotated[str | None, typer.Option("--scene", help="Render a fresh plan of this scene (see `hmworld catalog scenes`).")] = None,
    plan_file: Annotated[Path | None, typer.Option("--plan", help="Render rows of this plan manifest (parquet) instead.")] = None,
    clips: Annotated[int | None, typer.Option(help="Clips to plan (default 8), or the first N rows of --plan.")] = None,
    resolution: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT, even numbers (default 416x240; HM-World is 832x480).")] = None,
    fps: Annotated[int | None, typer.Option(help="Frames per second (default 15).")] = None,
    frames: Annotated[int | None, typer.Option(help="Frames per clip (default 150).")] = None,
    seed: Annotated[int, typer.Option(help="Plan seed for --scene.")] = 0,
    workers: Annotated[int, typer.Option(help="Local worker processes, each rendering whole clips.")] = 1,
    backend: Annotated[str, typer.Option(help="Render backend: builtin or ue5.")] = "builtin",
    antialias: Annotated[bool, typer.Option("--antialias/--no-antialias", help="builtin: 4-sample anti-aliasing of edges.")] = True,
    depth: Annotated[bool, typer.Option("--depth/--no-depth", help="builtin: write depth.npz (metres; 7-9x the video's size).")] = True,
    ue_project: Annotated[Path | None, typer.Option("--ue-project", help="ue5: the .uproject with the levels, meshes and animations.")] = None,
    ue_assets: Annotated[Path | None, typer.Option("--ue-assets", help="ue5: asset map TOML (template: manifests/ue5_assets.toml).")] = None,
    ue_editor: Annotated[Path | None, typer.Option("--ue-editor", help="ue5: the UnrealEditor-Cmd executable (default: $UE_EDITOR).")] = None,
    ue_timeout: Annotated[float, typer.Option("--ue-timeout", help="ue5: seconds without progress (no new frame, no status) before a hung editor is ended.")] = 1800.0,
    ue_retries: Annotated[int, typer.Option("--ue-retries", help="ue5: extra attempts per shot when the editor crashes or hangs while rendering it.")] = 2,
    ue_batch: Annotated[int, typer.Option("--ue-batch", help="ue5: shots per editor session (start-up is paid once per batch).")] = 16,
    executor: Annotated[str, typer.Option(help="Where the work runs: local (processes here) or ray (a Ray cluster; pip install 'hmworld[ray]').")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="ray: auto, ray://HOST:PORT or HOST:PORT of a running cluster (default: start a local Ray).")] = None,
    ray_cpus: Annotated[float, typer.Option("--ray-cpus", help="ray: CPUs each clip task (or editor actor) declares.")] = 1.0,
    ray_gpus: Annotated[float, typer.Option("--ray-gpus", help="ray: GPUs each session actor (ue5 editor) declares.")] = 1.0,
    ray_actors: Annotated[int | None, typer.Option("--ray-actors", help="ray: session actors (editors) to run (default: one per GPU it may have).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Render clips (rgb.mp4, instances.npz, depth.npz with builtin, clip.json); a re-run skips complete clips and redoes partial ones."""
    from hmworld.render.runner import render_rows, select_rows

    size = parse_resolution(resolution) if resolution is not None else None
    rows = select_rows(scene=scene, plan_file=plan_file, clips=clips, seed=seed, frames=frames, fps=fps, size=size)
    options = {"antialias": antialias, "depth": depth} if backend == "builtin" else {}
    if backend == "ue5":
        from hmworld.render.ue5 import backend_options

        options = backend_options(rows, ue_project=ue_project, ue_assets=ue_assets, ue_editor=ue_editor,
                                  ue_timeout=ue_timeout, ue_retries=ue_retries, ue_batch=ue_batch)
    ray_settings = RaySettings(ray_address, ray_cpus, ray_gpus, ray_actors)
    with folder_lock(out, "render"):
        summary = render_rows(rows, out, backend=backend, workers=workers, progress=progress, backend_options=options,
                              executor=executor, ray_settings=ray_settings)
    typer.echo(summary.format())
    if summary.failed:
        raise typer.Exit(1)


@app.command("ue5-assets")
def ue5_assets_cmd(
    check: Annotated[Path | None, typer.Option("--check", help="Validate an asset map and list the ids it leaves unmapped.")] = None,
    template: Annotated[Path | None, typer.Option("--template", help="Write the template (all scenes and subjects) here.")] = None,
) -> None:
    """The UE5 asset map: write the template to fill in, or check a filled-in one."""
    from hmworld.render.ue5_assets import check_report, write_template

    if template is not None:
        check_file(template, "asset map template")

    if check is None and template is None:
        raise UserError("give --check FILE (validate a map) or --template FILE (write the template)")
    if template is not None:
        typer.echo(f"wrote {write_template(template)}")
    if check is not None:
        typer.echo(check_report(check))


@app.command("preview")
def preview_cmd(
    clip: Annotated[Path, typer.Argument(help="A clip folder (OUT/clips/<clip_id>).")],
    out: Annotated[Path | None, typer.Option("--out", help="Contact sheet to write (.png).")] = None,
    video: Annotated[Path | None, typer.Option("--video", help="Annotated video to write (.mp4): masks outlined, state labels, a top-down inset.")] = None,
    frames: Annotated[int, typer.Option(help="Frames on the sheet, spread over the clip.")] = 12,
    columns: Annotated[int, typer.Option(help="Frames per row.")] = 4,
    scale: Annotated[float, typer.Option(help="Size of each frame relative to the video.")] = 1.0,
    depth: Annotated[bool, typer.Option("--depth", help="Put each frame's depth (colour-mapped, with a scale in metres) under it on the contact sheet.")] = False,
) -> None:
    """Write a contact sheet (--out) and/or an annotated video (--video) of one clip."""
    from hmworld.render.preview import write_contact_sheet
    from hmworld.report.preview import check_video_path, write_preview_video

    if out is None and video is None:
        raise UserError("give --out SHEET.png (contact sheet), --video OUT.mp4 (annotated video), or both")
    if depth and out is None:
        raise UserError("--depth draws depth on the contact sheet; give --out SHEET.png too")
    if video is not None:
        check_file(check_video_path(video), "preview video")
    if out is not None:
        check_file(out, "contact sheet")
    if out is not None:
        typer.echo(f"wrote {write_contact_sheet(clip, out, frames=frames, columns=columns, scale=scale, depth=depth)}")
    if video is not None:
        typer.echo(f"wrote {write_preview_video(clip, video)}")


@app.command("report")
def report_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="A packaged dataset folder (hmworld package).")],
    out: Annotated[Path | None, typer.Option("--out", help="Report folder to write (default: DATASET_DIR/report); an earlier report there is replaced.")] = None,
    clips: Annotated[str, typer.Option("--clips", help="Clip pages to write: the first N clips of the table, or 'all'. The index lists every clip.")] = "all",
    workers: Annotated[int, typer.Option("--workers", help="Processes writing clip pages.")] = 1,
    open_: Annotated[bool, typer.Option("--open", help="Open the overview in the default web browser when done.")] = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip damaged clips (named; their pages name the problem) instead of stopping.")] = False,
) -> None:
    """Write a static, offline HTML report: overview plots, a page per clip (video, masks, top-down map, timeline), a clip index."""

    from hmworld.report import build_report, parse_clips

    summary = build_report(dataset_dir, out, parse_clips(clips), workers=workers, keep_going=keep_going)
    for problem in summary.skipped:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(summary.format())
    if open_:
        webbrowser.open((summary.out / "index.html").resolve().as_uri())


@app.command("filter-events")
def filter_events_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset folder (clips/<clip_id>/clip.json, or a packaged dataset).")],
    min_frames: Annotated[int, typer.Option("--min-frames", help="K: frames a state must hold to count (hysteresis).")] = 3,
    min_hidden_frames: Annotated[int, typer.Option("--min-hidden-frames", help="A clip passes with an exit–entry pair hidden at least this many frames.")] = 1,
    visible_frac: Annotated[float, typer.Option("--visible-frac", help="Visible with at least this fraction of the image area in visible pixels.")] = 2e-4,
    in_frame_frac: Annotated[float, typer.Option("--in-frame-frac", help="In frame (occluded when unseen) with at least this fraction of the image area in silhouette pixels.")] = 2e-4,
    box_fill: Annotated[float, typer.Option("--box-fill", help="Without silhouettes (UE5): share of its projected box a subject covers.")] = 0.5,
    drop: Annotated[bool, typer.Option("--drop", help="Remove clips without an exit–entry pair (default: mark them passed=false).")] = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip clips with bad data (named on stderr) and process the others.")] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Also print the full statistics tables.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary (with statistics) as JSON.")] = False,
) -> None:
    """Find when each subject leaves the frame and comes back; keep clips with an exit–entry pair."""

    from hmworld.dataset.filter_events import filter_events
    from hmworld.events import EventParams
    from hmworld.events.stats import format_stats

    check_dir(dataset_dir, "dataset folder", create=False)
    params = EventParams(
        visible_frac=visible_frac, in_frame_frac=in_frame_frac, box_fill=box_fill,
        min_frames=min_frames, min_hidden_frames=min_hidden_frames,
    )
    with folder_lock(dataset_dir, "filter-events", create=False):
        summary = filter_events(dataset_dir, params, drop=drop, keep_going=keep_going)
    for _, problem in summary.errors:
        typer.echo(f"error: {problem}", err=True)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=1))
    else:
        typer.echo(summary.format())
        if stats:
            typer.echo(format_stats(summary.stats))
    if summary.errors:
        raise UserError(f"{len(summary.errors)} clip(s) skipped for bad data (named above); the others were processed")


@app.command("event-stats")
def event_stats_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset folder that filter-events has run on.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the statistics as JSON.")] = False,
) -> None:
    """Statistics of exit/entry events: kept fraction, pairs per clip, hidden intervals, per scene and camera."""

    from hmworld.dataset.filter_events import dataset_stats
    from hmworld.events.stats import format_stats

    s = dataset_stats(dataset_dir)
    typer.echo(json.dumps(s.to_dict(), indent=1) if as_json else format_stats(s))


@app.command("caption")
def caption_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="Dataset folder with rendered clips.")],
    captioner: Annotated[str, typer.Option(help="template (offline, from metadata) or minicpm-v (reads the frames).")] = "template",
    model: Annotated[str | None, typer.Option(help="minicpm-v: hub id or local folder (default openbmb/MiniCPM-V-4.6).")] = None,
    device: Annotated[str, typer.Option(help="minicpm-v: auto, cpu, cuda, cuda:N or mps.")] = "auto",
    dtype: Annotated[str, typer.Option(help="minicpm-v: auto, bfloat16, float16 or float32.")] = "auto",
    max_frames: Annotated[int, typer.Option(help="minicpm-v: frames per clip, sampled uniformly.")] = 16,
    max_new_tokens: Annotated[int, typer.Option(help="minicpm-v: longest caption, in tokens.")] = 256,
    batch_size: Annotated[int, typer.Option(help="Clips per batch; captions are written after every batch.")] = 8,
    prompt: Annotated[str | None, typer.Option(help="minicpm-v: replace the HM-World-style instruction ({n} frames, {seconds} s).")] = None,
    download: Annotated[bool, typer.Option("--download", help="minicpm-v: fetch the model from the hub if it is not cached.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Caption again clips that already have caption.json.")] = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip damaged clips (named) instead of stopping.")] = False,
    executor: Annotated[str, typer.Option(help="Where the work runs: local (processes here) or ray (a Ray cluster; pip install 'hmworld[ray]').")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="ray: auto, ray://HOST:PORT or HOST:PORT of a running cluster (default: start a local Ray).")] = None,
    ray_actors: Annotated[int, typer.Option("--ray-actors", help="ray: captioner actors (each loads the model once).")] = 1,
    ray_gpus: Annotated[float, typer.Option("--ray-gpus", help="ray: GPUs each captioner actor declares (0 for the template captioner).")] = 0.0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Give every clip an HM-World-style caption (clips/<id>/caption.json); resumes where it stopped."""
    from hmworld import stages
    from hmworld.caption import CaptionSettings

    check_dir(dataset_dir, "dataset folder", create=False)

    settings = CaptionSettings(
        model=model, device=device, dtype=dtype, max_frames=max_frames, max_new_tokens=max_new_tokens,
        download=download, prompt=prompt,
    )
    ray_settings = RaySettings(ray_address, gpus_per_actor=ray_gpus, actors=ray_actors)
    with folder_lock(dataset_dir, "caption", create=False):
        r = stages.caption(dataset_dir, captioner, settings, batch_size=batch_size, overwrite=overwrite,
                           progress=progress, keep_going=keep_going, executor=executor, ray_settings=ray_settings)
    typer.echo(r.summary.format(captioner))
    if r.tables_updated:
        typer.echo(f"packaged tables updated: {r.tables_updated} caption(s)")
    if r.summary.empty:
        typer.echo(f"error: {r.summary.empty} clip(s) got an empty caption and still have none; run again to retry", err=True)
        raise typer.Exit(1)


# --------------------------------------------------------------------------- dataset (hmworld.dataset)


def _held_out(kind: str, values: list[str] | None, default: tuple[str, ...], allowed: list[str]) -> tuple[str, ...]:
    """Comma lists of catalog ids; none → the default; the word 'none' → nothing held out."""

    if values is None:
        return default
    if [v.strip().lower() for v in values] == ["none"]:
        return ()
    return tuple(parse_ids(kind, values, allowed))


@app.command("package")
def package_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="Folder holding clips/<clip_id>/ (rendered, events optional).")],
    test_scenes: Annotated[list[str] | None, typer.Option("--test-scenes", help="Held-out scene ids for the test split, comma-separated; 'none' for none (default: village_square).")] = None,
    test_subjects: Annotated[list[str] | None, typer.Option("--test-subjects", help="Held-out subject ids; 'none' for none (default: woman_tennis,goose).")] = None,
    test_fraction: Annotated[float, typer.Option("--test-fraction", help="Share of the other clips also put in test, by a seeded hash of the clip id.")] = 0.02,
    split_seed: Annotated[int, typer.Option("--split-seed", help="Seed of that hash.")] = 0,
    shard_rows: Annotated[int, typer.Option("--shard-rows", help="Clips per parquet shard.")] = 1000,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip broken or incomplete clips (listed) instead of refusing.")] = False,
    passed_only: Annotated[bool, typer.Option("--passed-only", help="Leave out clips without an exit–entry pair.")] = False,
    license: Annotated[str, typer.Option("--license", help="Licence stated in the dataset card.")] = "apache-2.0",
    name: Annotated[str | None, typer.Option("--name", help="Dataset name in the card (default: the folder name).")] = None,
    workers: Annotated[int, typer.Option("--workers", help="Processes reading clip folders.")] = 1,
) -> None:
    """Write parquet tables, meta/info.json and a dataset card so `datasets.load_dataset(DIR)` opens the clips."""
    from hmworld.catalog import SCENES, SUBJECTS
    from hmworld.dataset import SplitRule, package
    from hmworld.dataset.splits import DEFAULT_TEST_SCENES, DEFAULT_TEST_SUBJECTS

    at_least("--workers", workers, 1)
    check_dir(dataset_dir, "dataset folder", create=False)
    rule = SplitRule(
        _held_out("scene", test_scenes, DEFAULT_TEST_SCENES, list(SCENES)),
        _held_out("subject", test_subjects, DEFAULT_TEST_SUBJECTS, list(SUBJECTS)),
        test_fraction,
        split_seed,
    )
    with folder_lock(dataset_dir, "package", create=False):
        report = package(dataset_dir, rule, shard_rows=shard_rows, keep_going=keep_going, passed_only=passed_only,
                         license=license, name=name, workers=workers)
    typer.echo(report.format())


@app.command("validate")
def validate_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="A packaged dataset folder.")],
    quick: Annotated[bool, typer.Option("--quick", help="Count video packets instead of decoding every frame.")] = False,
    workers: Annotated[int, typer.Option("--workers", help="Processes checking videos.")] = 1,
) -> None:
    """Check that every video decodes with its stated frames and size, arrays agree, and paths exist."""
    from hmworld.dataset.validate import validate

    at_least("--workers", workers, 1)
    report = validate(dataset_dir, quick=quick, workers=workers)
    typer.echo(report.format())
    if not report.ok:
        raise typer.Exit(1)


@app.command("export")
def export_cmd(
    dataset_dir: Annotated[Path, typer.Argument(help="A packaged dataset folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the samples and caption.txt into.")],
    format: Annotated[str, typer.Option("--format", help="hmworld: sample<i>/ folders as the HM-World dataset; hydra-examples: <i>.mp4 + cam<i>.json as the HyDRA release's examples/, which its infer_hydra.py --examples_dir reads.")] = "hmworld",
    split: Annotated[str | None, typer.Option("--split", help="train or test (default: both, train first).")] = None,
    size: Annotated[str, typer.Option("--size", help="WIDTHxHEIGHT of the exported videos and masks.")] = "832x480",
    passed_only: Annotated[bool, typer.Option("--passed-only", help="Only clips with an exit–entry pair.")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Export at most this many clips.")] = None,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip damaged clips (named) instead of stopping.")] = False,
) -> None:
    """Write clips in the official HM-World dataset layout or the HyDRA release's examples layout."""
    from hmworld.dataset.official_hmworld.exporter import export_examples, export_hmworld

    check_choice("export format", format, ["hmworld", "hydra-examples"])
    width, height = parse_resolution(size)
    with folder_lock(dataset_dir, "export", create=False), folder_lock(out, "export"):
        check_dir(out, "export folder")
        export = export_hmworld if format == "hmworld" else export_examples
        r = export(dataset_dir, out, split=split, width=width, height=height, passed_only=passed_only, limit=limit,
                   keep_going=keep_going)
    for problem in r.skipped:
        typer.echo(f"skipped {problem}", err=True)
    files = f"sample1..{r.samples}" if format == "hmworld" else f"1..{r.samples}.mp4, cam1..{r.samples}.json"
    typer.echo(f"wrote {r.written} and kept {r.kept} of {r.samples} samples in {r.out_dir} ({files}, caption.txt)")


@app.command("import-hmworld")
def import_hmworld_cmd(
    src: Annotated[Path, typer.Argument(help="HM-World folder: sample<i>/ folders + caption.txt, or HyDRA examples (<i>.mp4 + cam<i>.json).")],
    out: Annotated[Path, typer.Option("--out", help="Dataset folder to create clips/<clip_id>/ in.")],
    hfov: Annotated[float, typer.Option("--hfov", help="Horizontal field of view in degrees (HM-World publishes none).")] = 90.0,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Skip samples that cannot be read (listed).")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="Import at most this many samples.")] = None,
    do_package: Annotated[bool, typer.Option("--package/--no-package", help="Package the imported clips afterwards.")] = True,
) -> None:
    """Read the official HM-World layout into our clip folders (and package them)."""
    from hmworld import stages

    with folder_lock(out, "import-hmworld"):
        r = stages.import_hmworld(src, out, hfov_deg=hfov, keep_going=keep_going, limit=limit, package_after=do_package)
    typer.echo(
        f"imported {len(r.imported.clips) - r.imported.kept} and kept {r.imported.kept} clip(s) "
        f"from the {r.imported.layout} layout into {out}/clips"
    )
    for p in r.imported.skipped:
        typer.echo(f"skipped {p.clip}: {p.message}", err=True)
    if r.packaged is not None:
        typer.echo(r.packaged.format())


@app.command("encode")
def encode_cmd(
    data: Annotated[Path, typer.Option("--data", help="Packaged hmworld dataset folder.")],
    vae: Annotated[Path, typer.Option("--vae", help="Local diffusers AutoencoderKLWan folder.")],
    out: Annotated[Path, typer.Option("--out", help="Cache folder (index.json + safetensors shards); resumed if it exists.")],
    text_encoder: Annotated[Path | None, typer.Option("--text-encoder", help="Local transformers text encoder (UMT5EncoderModel for Wan): caption embeddings are cached too.")] = None,
    config: Annotated[str, typer.Option("--config", help="Named size whose frames and frame size to encode at: tiny, small, base.")] = "base",
    frames: Annotated[int | None, typer.Option(help="Frames sampled per clip (default: the config's).")] = None,
    size: Annotated[str | None, typer.Option(help="Frame size WIDTHxHEIGHT (default: the config's).")] = None,
    split: Annotated[str, typer.Option(help="Dataset split to encode.")] = "train",
    text_len: Annotated[int, typer.Option("--text-len", help="Text tokens kept per caption (Wan: 512).")] = 512,
    shard_clips: Annotated[int, typer.Option("--shard-clips", help="Clips per safetensors shard (the unit of resuming).")] = 16,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Precompute Wan VAE latents, cameras (and umT5 caption embeddings) once, for `train --cache`."""
    from hmworld.hydra.cache import EncodeOptions, encode
    from hmworld.hydra.config import model_config, parse_size
    from hmworld.hydra.train import resolve_device

    check_dir(out, "cache folder")
    cfg = model_config(config, "hydra", latent="wan-vae", vae_path=str(vae), frames=frames,
                       frame_size=parse_size(size) if size is not None else None)  # fmt: skip
    opts = EncodeOptions(out=out, split=split, text_encoder=text_encoder, text_len=text_len, shard_clips=shard_clips,
                         device=str(resolve_device(device)))  # fmt: skip
    index = encode(data, cfg, opts, log=typer.echo)
    typer.echo(f"{out}: {sum(len(s['clips']) for s in index['splits'].get(split, []))} {split} clip(s) cached")


@app.command("train")
def train_cmd(
    out: Annotated[Path, typer.Option("--out", help="Run folder: run.json, checkpoints/, log.csv, tb/. Resumed if it holds checkpoints.")],
    data: Annotated[Path | None, typer.Option("--data", help="Packaged hmworld dataset folder.")] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="A cache from `hmworld encode` instead of --data: no video decoding, no VAE, no text encoder.")] = None,
    model: Annotated[str, typer.Option("--model", help="hydra, full-context or fov-retrieval.")] = "hydra",
    config: Annotated[str, typer.Option("--config", help="Named size: tiny (CPU smoke run), small (one GPU), base (paper; needs --vae).")] = "tiny",
    steps: Annotated[int, typer.Option(help="Total optimizer steps (a resumed run continues up to this).")] = 1000,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Clips per step per process.")] = 2,
    lr: Annotated[float | None, typer.Option(help="AdamW learning rate (default: tiny 1e-3, small 3e-4, base 1e-4).")] = None,
    warmup: Annotated[int, typer.Option(help="Linear learning-rate warm-up steps.")] = 0,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same run: init, data order, noise.")] = 0,
    save_every: Annotated[int, typer.Option("--save-every", help="Checkpoint every N steps (and at the end).")] = 500,
    log_every: Annotated[int, typer.Option("--log-every", help="Log every N steps.")] = 10,
    keep: Annotated[int, typer.Option(help="Checkpoints to keep.")] = 3,
    grad_checkpoint: Annotated[bool, typer.Option("--grad-checkpoint", help="Recompute block activations in backward to save memory.")] = False,
    workers: Annotated[int, typer.Option(help="DataLoader worker processes.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    split: Annotated[str, typer.Option(help="Dataset split to train on.")] = "train",
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue from the newest checkpoint in --out.")] = True,
    latent: Annotated[str | None, typer.Option(help="pixel or wan-vae (default: the config's).")] = None,
    vae: Annotated[Path | None, typer.Option(help="Local diffusers AutoencoderKLWan folder (latent wan-vae).")] = None,
    text: Annotated[str | None, typer.Option(help="Caption conditioning: none, hash, or a local transformers text-encoder folder.")] = None,
    frames: Annotated[int | None, typer.Option(help="Frames sampled per clip; first half is context.")] = None,
    size: Annotated[str | None, typer.Option(help="Frame size WIDTHxHEIGHT, e.g. 160x96.")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="hydra: compressed memory frames retrieved per query frame.")] = None,
    local_window: Annotated[int | None, typer.Option("--local-window", help="hydra: full-resolution frames around each query frame.")] = None,
    tokenizer_kernel: Annotated[str | None, typer.Option("--tokenizer-kernel", help="hydra: memory tokenizer kernel TxHxW in tokens (2x2x2, 1x4x4, 2x8x8).")] = None,
    fov_k: Annotated[int | None, typer.Option("--fov-k", help="fov-retrieval: context frames added per query frame.")] = None,
    ablate: Annotated[list[str] | None, typer.Option("--ablate", help="NAME=VALUE: leave the released method on one point (docs/HYDRA.md), e.g. affinity=per-head; repeatable.")] = None,
    cfg_scale: Annotated[float | None, typer.Option("--cfg-scale", help="Classifier-free guidance scale at sampling when text is on (default 5.0; 1 = off).")] = None,
    backbone: Annotated[str, typer.Option(help="none or wan2.1-t2v-1.3b (fine-tune a local diffusers WanTransformer3DModel, --weights).")] = "none",
    weights: Annotated[Path | None, typer.Option(help="Local diffusers WanTransformer3DModel folder for --backbone.")] = None,
    trainable: Annotated[str, typer.Option(help="auto (the release's set with a backbone: self-attention, cameras, projector; else all), released or all.")] = "auto",
) -> None:
    """Train a HyDRA model or a baseline on an hmworld dataset (multi-GPU: torchrun --nproc_per_node N -m hmworld train …)."""
    from hmworld.hydra.cache import cache_overrides
    from hmworld.hydra.config import model_config, parse_ablations, parse_kernel, parse_size
    from hmworld.hydra.train import TrainOptions, train

    check_dir(out, "run folder")
    if (data is None) == (cache is None):
        raise UserError("give one of --data DATASET or --cache CACHE")
    fields = dict(
        latent=latent, vae_path=str(vae) if vae else None, text=text, frames=frames,
        frame_size=parse_size(size) if size is not None else None, top_k=top_k, local_window=local_window,
        tokenizer_kernel=parse_kernel(tokenizer_kernel) if tokenizer_kernel is not None else None, fov_k=fov_k,
        cfg_scale=cfg_scale, **parse_ablations(ablate),
    )  # fmt: skip
    if cache is not None:  # the cache fixes latent, VAE, frames, frame size and text
        fields.update(cache_overrides(cache))
    cfg = model_config(config, model, **fields)
    opts = TrainOptions(
        out=out, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, seed=seed, save_every=save_every,
        log_every=log_every, keep=keep, grad_checkpoint=grad_checkpoint, workers=workers, device=device,
        split=split, resume=resume, backbone=backbone, weights=weights, trainable=trainable,
    )  # fmt: skip
    train(cache if cache is not None else data, cfg, opts, log=typer.echo)


@app.command("evaluate")
def evaluate_cmd(
    run: Annotated[list[Path], typer.Option("--run", help="Run folder; repeat for a side-by-side table.")],
    data: Annotated[Path, typer.Option("--data", help="Packaged hmworld dataset folder.")],
    split: Annotated[str, typer.Option(help="Dataset split to score.")] = "test",
    out: Annotated[Path | None, typer.Option("--out", help="Folder for eval.json, eval.md and samples/.")] = None,
    steps: Annotated[int | None, typer.Option(help="Euler sampling steps (default: the run's config).")] = None,
    max_clips: Annotated[int | None, typer.Option("--max-clips", help="Score at most this many clips.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Clips generated at once.")] = 1,
    seed: Annotated[int, typer.Option(min=0, help="Noise seed (the same for every run).")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    lpips: Annotated[Path | None, typer.Option(help="Folder with alexnet-owt-7be5be79.pth and lpips' alex.pth.")] = None,
    clip: Annotated[Path | None, typer.Option(help="Local transformers CLIP folder for the subject-feature score.")] = None,
    samples: Annotated[int, typer.Option(help="Clips per run saved to OUT/samples as PNG (truth over generated).")] = 0,
    dsc_clip: Annotated[Path | None, typer.Option("--dsc-clip", help="Local transformers CLIP folder (ViT-B/16 for the paper's numbers): adds DSC_con / DSC_tgt.")] = None,
    dsc_boxes: Annotated[str, typer.Option("--dsc-boxes", help="release (boxes scaled as if CLIP saw the full frame, as eval_dsc.py does) or corrected (mapped through CLIP's centre crop).")] = "release",
    dsc_detector: Annotated[Path | None, typer.Option("--dsc-detector", help="Local Ultralytics YOLOv8/YOLO11 detector exported to ONNX (yolo export format=onnx): boxes the subject in generated frames for DSC instead of the template tracker (needs onnxruntime: pip install 'hmworld[yolo]').")] = None,
    text_encoder: Annotated[Path | None, typer.Option("--text-encoder", help="For runs trained with --cache on text embeddings: the text encoder folder the cache used.")] = None,
) -> None:
    """Generate target frames from context + cameras and print quality and subject-consistency per run."""
    from hmworld.hydra.evaluate import EvalOptions, evaluate

    if out is not None:
        check_dir(out, "evaluation folder")

    opts = EvalOptions(
        split=split, steps=steps, max_clips=max_clips, batch_size=batch_size, seed=seed, device=device,
        lpips=lpips, clip=clip, out=out, samples=samples, dsc_clip=dsc_clip, dsc_boxes=dsc_boxes,
        dsc_detector=dsc_detector, text_encoder=text_encoder,
    )  # fmt: skip
    evaluate(run, data, opts, log=typer.echo)
