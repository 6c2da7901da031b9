"""`hmworld report`: write a dataset's static, offline report folder.

    OUT/index.html              overview: counts, event statistics, settings
    OUT/clips.html              clip index (sortable, filterable, 100 rows a page)
    OUT/clips/<clip_id>/        one page per clip: index.html, rgb.mp4, poster.jpg, thumb.jpg,
                                map.png, timeline.png, sheet.jpg, mask-s<k>.png,
                                depth.jpg (clips with depth: each sheet frame's depth, colour-mapped)
    OUT/figures/*.png           overview figures
    OUT/assets/                 report.css, clips.js, clips-data.js, clip.js
    OUT/report.json             what was reported (and the mark that OUT is a report folder)

The folder is written beside OUT under a temporary name and swapped in at
the end, so a killed run leaves the previous report whole. Every script and
style is in the folder; nothing is fetched from the web.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import av
import matplotlib
import numpy as np

from hmworld import __version__
from hmworld.atomic import write_text
from hmworld.catalog import SCENES, SUBJECTS
from hmworld.clip import CLIPS_DIR, NO_DEPTH_WHY, VIDEO_FILE
from hmworld.errors import DamagedClip, UserError
from hmworld.options import check_flags, check_path, check_whole_type
from hmworld.outputs import os_error_line, with_path
from hmworld.processes import process_pool
from hmworld.report import figures as F
from hmworld.report.data import (
    ClipView,
    DatasetView,
    exit_entry_counts,
    hidden_seconds,
    load_clip,
    load_dataset,
)
from hmworld.report.html import (
    ASSETS,
    clip_page,
    clips_data_js,
    clips_page,
    damaged_page,
    overview_page,
)
from hmworld.report.media import link_or_copy, poster_and_thumb, write_mask_strips, write_sheet
from hmworld.report.timeline import timeline_figure
from hmworld.report.topdown import topdown_figure

REPORT_FORMAT = 1
REPORT_JSON = "report.json"
REPORT_DIR = "report"  # default OUT: DATASET_DIR/report
ASSET_FILES = ("report.css", "clips.js", "clip.js")
DEPTH_SHEET = "depth.jpg"


@dataclass(frozen=True)
class ReportSummary:
    """What a report run wrote: folder, clips in the index, clip pages, seconds (total and per page)."""

    out: Path
    clips: int
    pages: int
    seconds: float
    page_seconds: float
    skipped: tuple[str, ...] = ()  # damaged clips --keep-going gave a page naming the problem, "clip <id>: …"

    def format(self) -> str:
        per = f", {self.page_seconds / self.pages:.2f} s per clip page" if self.pages else ""
        return (f"wrote {self.out / 'index.html'}: {self.clips} clips in the index, {self.pages} clip pages "
                f"in {self.seconds:.1f} s{per}")


def parse_clips(value: str) -> int | None:
    """--clips: a positive number of clip pages, or 'all' (None)."""
    v = value.strip().lower()
    if v == "all":
        return None
    try:
        n = int(v)
    except ValueError:
        n = -1
    if n < 1:
        raise UserError(f"--clips must be a positive number or 'all', got {value!r}")
    return n


def check_out(out: Path, dataset_dir: Path) -> None:
    """OUT may be new, empty, or an earlier report (it is replaced); anything else is refused."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / REPORT_JSON).is_file():
        raise UserError(f"--out {str(out)!r} holds files that are not an hmworld report; give a new or empty folder")
    o, d = out.resolve(), dataset_dir.resolve()
    if o == d or d.is_relative_to(o):
        raise UserError(f"--out {str(out)!r} would replace the dataset folder; give a folder inside or beside it")


def _versions_row(view: DatasetView, backends: Counter[str]) -> list[tuple[str, Any]]:
    info = view.info
    rows: list[tuple[str, Any]] = [
        ("dataset", info.name or view.root.name),
        ("licence", info.license),
        ("made with", f"hmworld {info.hmworld_version} (dataset format {info.format_version})"),
        ("frames", f"{info.frames} at {info.fps} fps ({(info.frames or 0) / (info.fps or 1):.1f} s)"),
        ("resolution", f"{info.width}×{info.height} px"),
        ("horizontal field of view", ", ".join(f"{v:g}°" for v in sorted(set(view.rows["hfov_deg"])))),
    ]
    bv = Counter(f"{b} {v}" for b, v in zip(view.rows["backend"], view.rows["backend_version"], strict=True))
    rows.append(("render backends (clips)", ", ".join(f"{k} ({n})" for k, n in sorted(bv.items()))))
    for text, n in sorted(backends.items()):
        rows.append((f"render settings ({n} clip page{'s' * (n != 1)})", text))
    cap = Counter(c or "(none)" for c in view.rows["captioner"])
    rows.append(("captioners (clips)", ", ".join(f"{k} ({n})" for k, n in sorted(cap.items()))))
    rule = info.split_rule
    rows.append(("test split", f"scenes {', '.join(rule.test_scenes) or 'none'}; subjects "
                               f"{', '.join(rule.test_subjects) or 'none'}; plus "
                               f"{100 * rule.test_fraction:g}% of the rest (seed {rule.seed})"))
    c = info.counts
    rows.append(("counts", f"{c.get('clips', view.n_clips)} clips, {c.get('passed', '?')} passed, "
                           f"{c.get('exit_entry_pairs', '?')} exit–entry pairs, {c.get('captioned', '?')} captioned"))
    rows.append(("report made with", f"hmworld {__version__}, matplotlib {matplotlib.__version__}, "
                                      f"numpy {np.__version__}, PyAV {av.__version__}"))
    return rows


def overview_figures(view: DatasetView, fig_dir: Path) -> list[tuple[str, str, str]]:
    """Write the overview PNGs; (src relative to OUT, alt, caption) for each."""
    r = view.rows
    subject_slots = [s for row in r["subjects"] for s in row]
    kinds = {s: SUBJECTS[s].kind for s in set(subject_slots) if s in SUBJECTS}
    for row_s, row_k in zip(r["subjects"], r["subject_kinds"], strict=True):
        for s, k in zip(row_s, row_k, strict=True):
            kinds.setdefault(s, k)
    figs = [
        ("scenes", F.count_bars("Clips per scene", r["scene"], "scene"), "Clips per scene."),
        ("subjects", F.count_bars("Clips per subject (each subject slot)", subject_slots, "subject",
                                  F.KIND_COLORS, kinds), "Subjects, coloured by kind."),
        ("paths", F.count_bars("Clips per subject path (each subject slot)",
                               [p for row in r["subject_paths"] for p in row], "subject path"), "Subject paths."),
        ("cameras", F.count_bars("Clips per camera trajectory", r["camera_trajectory"], "camera trajectory"),
         "Camera trajectories."),
        ("group_sizes", F.int_hist("Group size: subjects per clip", [len(s) for s in r["subjects"]], "subjects in the clip"),
         "Group sizes."),
        ("kept", F.kept_fraction(r["split"], r["passed"]), "Clips kept by the event filter, per split."),
        ("pairs", F.int_hist("Exit–entry pairs per clip", r["n_pairs"], "exit–entry pairs in the clip"),
         "Exit–entry pairs per clip."),
        ("hidden", F.hidden_hist(hidden_seconds(view)), "How long subjects stay out of view between exit and entry."),
        ("event_density", F.event_heatmap(r["scene"], r["camera_trajectory"], exit_entry_counts(view)),
         "Exit and entry events per clip, by scene and camera trajectory."),
        ("splits", F.split_composition(r["split"], r["scene"], r["subject_kinds"]), "Train/test split composition."),
    ]
    out = []
    for name, fig, caption in figs:
        F.save_png(fig, fig_dir / f"{name}.png")
        out.append((f"figures/{name}.png", fig.axes[0].get_title() or name, caption))
    return out


def _meta_rows(c: ClipView) -> list[tuple[str, Any]]:
    shot, row = c.record.shot, c.row
    pairs = ", ".join(f"S{p.subject + 1}: exit {p.exit_frame} → entry {p.entry_frame} "
                      f"({p.hidden_frames / shot.fps:.1f} s)" for p in c.events.pairs) or "none"
    return [
        ("scene", shot.scene),
        ("subjects", ", ".join(f"S{k + 1} {s} ({p}, {g})" for k, (s, p, g) in
                                enumerate(zip(shot.subjects, shot.paths, shot.gaits, strict=True)))),
        ("camera trajectory", f"{shot.camera} (placement {shot.placement})"),
        ("split", row["split"]),
        ("frames", f"{shot.frames} at {shot.fps} fps, {shot.width}×{shot.height} px, hfov {shot.hfov_deg:g}°"),
        ("backend", f"{c.record.backend.get('name', '?')} {c.record.backend.get('version', '')}"),
        ("depth", "yes (metres along the optical axis, float16)" if c.record.has_depth else f"none ({NO_DEPTH_WHY})"),
        ("passed", "yes" if c.events.passed else "no"),
        ("exit–entry pairs", pairs),
    ]


def write_clip(c: ClipView, folder: Path, prev_next: tuple[str | None, str | None]) -> None:
    """Everything of one clip page into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rec, shot, ev = c.record, c.record.shot, c.events
    link_or_copy(rec.video_path, folder / VIDEO_FILE)
    poster_and_thumb(rec, folder / "poster.jpg", folder / "thumb.jpg")
    write_sheet(rec, folder / "sheet.jpg")
    if rec.has_depth:
        write_sheet(rec, folder / DEPTH_SHEET, depth=True)
    grid, strips = write_mask_strips(rec, folder)
    scene = SCENES.get(shot.scene)
    F.save_png(topdown_figure(shot, ev.states, ev.events, scene.walk_half if scene else None), folder / "map.png")
    F.save_png(timeline_figure(ev.states, ev.events, shot.fps, shot.subjects), folder / "timeline.png")
    note = ("filter-events has not run on this clip: states and events were computed by the report "
            "with the default thresholds") if c.events_computed else ""
    events = [(f"S{e.subject + 1}", e.kind, e.frame, f"{e.time_s:.2f} s") for e in ev.events]
    player = {"fps": shot.fps, "frames": shot.frames, "width": shot.width, "height": shot.height,
              "tile_width": grid.width, "tile_height": grid.height, "cols": grid.cols}
    html = clip_page(shot.clip_id, _meta_rows(c), shot.subjects, player, strips, c.row["caption"] or "",
                     events, prev_next, note, DEPTH_SHEET if rec.has_depth else None)
    write_text(folder / "index.html", html)


def _page(root: Path, row: dict[str, Any], folder: Path, prev_next: tuple[str | None, str | None],
          keep_going: bool = False) -> tuple[str | None, str | None]:
    """Write one clip page (in a worker process or here); (its render settings as text, None).

    A damaged clip folder (missing, unreadable video, masks, depth or clip.json) is a DamagedClip
    naming the clip, or with `keep_going` a page naming the problem and (None, "clip <id>: problem").
    A failure to write the page itself (a full disk) is never skipped.
    """
    try:
        c = load_clip(root, row)
        write_clip(c, folder, prev_next)
    except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile) as e:
        if isinstance(e, OSError) and e.filename and Path(e.filename).is_relative_to(folder):
            raise  # writing the report failed, not reading the clip
        detail = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {' '.join(str(e).split())}"
        problem = f"clip {row['clip_id']}: cannot make its page ({detail})"
        if not keep_going:
            raise DamagedClip(f"{problem}; pass --keep-going to skip damaged clips") from None
        shutil.rmtree(folder, ignore_errors=True)  # what the page had written before it failed
        folder.mkdir(parents=True)
        write_text(folder / "index.html", damaged_page(row["clip_id"], detail, prev_next))
        return None, problem
    return ", ".join(f"{k}={v}" for k, v in c.record.backend.items()), None


def _index_rows(view: DatasetView, pages: set[str], damaged: set[str]) -> list[dict[str, Any]]:
    """One row per clip; `page` for clips with a page, `thumb` unless the clip is damaged (no thumbnail)."""
    r = view.rows
    return [
        {
            "id": cid, "split": r["split"][i], "scene": r["scene"][i], "subjects": list(r["subjects"][i]),
            "trajectory": r["camera_trajectory"][i], "n": len(r["subjects"][i]), "pairs": int(r["n_pairs"][i] or 0),
            "passed": bool(r["passed"][i]),
            **({"page": f"{CLIPS_DIR}/{cid}/index.html"} if cid in pages else {}),
            **({"thumb": f"{CLIPS_DIR}/{cid}/thumb.jpg"} if cid in pages and cid not in damaged else {}),
        }
        for i, cid in enumerate(r["clip_id"])
    ]


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace `out` by the finished `tmp` folder (rename, so readers never see half a report)."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def build_report(
    dataset_dir: str | Path,
    out: str | Path | None = None,
    clips: int | None = None,
    workers: int = 1,
    on_clip: Callable[[int, int], None] | None = None,
    keep_going: bool = False,
) -> ReportSummary:
    """Write the report of a packaged dataset; clips = pages for the first N clips of the table (None: all).

    workers > 1 writes clip pages in that many processes. on_clip(done, total)
    is called after each clip page. Raises UserError for a folder that is not a
    packaged dataset or an unsafe OUT, and DamagedClip for a clip whose folder is
    missing or unreadable; with `keep_going` that clip's page names the problem
    instead, and the summary's `skipped` lists it. A refused run leaves OUT as it was.
    """
    check_whole_type("clips", clips, none="every clip")
    check_whole_type("workers", workers)
    check_flags(keep_going=keep_going)
    start = time.perf_counter()
    root = check_path("dataset_dir", dataset_dir)
    view = load_dataset(root)
    out = Path(out) if out is not None else root / REPORT_DIR
    check_out(out, root)
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    n_pages = view.n_clips if clips is None else min(clips, view.n_clips)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / ASSETS).mkdir(parents=True)
        (tmp / "figures").mkdir()
    except OSError as e:
        raise UserError(f"cannot write the report to {str(out)!r}: {e.strerror or e}") from None
    try:
        ids = view.rows["clip_id"][:n_pages]
        jobs = [(root, view.row(i), tmp / CLIPS_DIR / cid, (ids[i - 1] if i > 0 else None,
                                                          ids[i + 1] if i + 1 < len(ids) else None))
                for i, cid in enumerate(ids)]
        backends: Counter[str] = Counter()
        problems: dict[str, str] = {}  # clip id → what kept its page from being made (keep_going)
        page_start = time.perf_counter()

        def tally(i: int, cid: str, result: tuple[str | None, str | None]) -> None:
            settings, problem = result
            if problem is None:
                backends[settings] += 1
            else:
                problems[cid] = problem
            if on_clip:
                on_clip(i + 1, n_pages)

        if workers == 1 or len(jobs) < 2:
            for i, (cid, job) in enumerate(zip(ids, jobs, strict=True)):
                tally(i, cid, _page(*job, keep_going))
        else:
            with process_pool(min(workers, len(jobs))) as pool:
                futures = {pool.submit(_page, *job, keep_going): cid for cid, job in zip(ids, jobs, strict=True)}
                for i, f in enumerate(as_completed(futures)):
                    tally(i, futures[f], f.result())
        damaged = [cid for cid in ids if cid in problems]  # table order, however the workers finished
        skipped = [problems[cid] for cid in damaged]
        page_s = time.perf_counter() - page_start
        for name in ASSET_FILES:
            text = resources.files("hmworld.report").joinpath("assets", name).read_text(encoding="utf-8")
            write_text(tmp / ASSETS / name, text)
        write_text(tmp / ASSETS / "clips-data.js", clips_data_js(_index_rows(view, set(ids), set(damaged))))
        name = view.info.name or root.resolve().name
        figs = overview_figures(view, tmp / "figures")
        write_text(tmp / "index.html", overview_page(name, view.n_clips, n_pages, figs, _versions_row(view, backends),
                                                     damaged))
        write_text(tmp / "clips.html", clips_page(name))
        meta = {"format": "hmworld-report", "format_version": REPORT_FORMAT, "hmworld_version": __version__,
                "dataset": str(root.resolve()), "clips": view.n_clips, "pages": n_pages}
        write_text(tmp / REPORT_JSON, json.dumps(meta, indent=1) + "\n")
        _swap_in(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if os_error_line(e) is not None:  # refused or disk full: the CLI's one line (exit 2 or 1) names the path
            raise with_path(e, out) from None
        raise UserError(f"cannot write the report to {str(out)!r}: {e}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportSummary(out, view.n_clips, n_pages, time.perf_counter() - start, page_s, tuple(skipped))
