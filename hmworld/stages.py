"""One callable per pipeline stage that does everything its CLI command does.

`hmworld.cli` only parses options, calls one of these and prints the result,
so a Python caller gets exactly the dataset the command would leave (tables,
meta/, card; tests/test_stages.py compares the two byte for byte).

    plan            hmworld.plan.write_plan (via the CLI's option parsing)
    render          hmworld.render.runner.select_rows (checked PlanRows) → render_rows
    filter_events   events for every clip; tables, pixel counts, info.json, card
    caption         captions; a packaged dataset's caption columns and meta/
    package         clip folders → versioned tables + meta/ + card
    import_hmworld  the official HM-World layout → clip folders (→ package)
    export          our dataset → the official HM-World layout
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hmworld.caption import CaptionSettings, CaptionSummary, caption_dataset
from hmworld.dataset.filter_events import FilterSummary, filter_events
from hmworld.dataset.official_hmworld.exporter import export_hmworld
from hmworld.dataset.official_hmworld.importer import DEFAULT_HFOV_DEG, ImportReport
from hmworld.dataset.official_hmworld.importer import import_hmworld as _import_clips
from hmworld.dataset.versions import sweep_dataset_temporaries
from hmworld.dataset.writer import PackageReport, package, sync_captions
from hmworld.options import check_flags
from hmworld.ray_cluster import RaySettings

__all__ = [
    "CaptionResult", "FilterSummary", "ImportResult", "PackageReport", "caption", "export_hmworld", "filter_events",
    "import_hmworld", "package",
]


@dataclass(frozen=True)
class CaptionResult:
    """What `caption` did: the captioning summary and how many table rows it changed."""

    summary: CaptionSummary
    tables_updated: int


def caption(
    dataset_dir: str | Path,
    captioner: str = "template",
    settings: CaptionSettings | None = None,
    *,
    batch_size: int = 8,
    overwrite: bool = False,
    progress: bool = False,
    keep_going: bool = False,
    executor: str = "local",
    ray_settings: RaySettings | None = None,
) -> CaptionResult:
    """`hmworld caption`: caption every clip still without one; then, in a packaged dataset,
    switch the caption columns, info.json and the card to the new captions at once.

    The table sync runs on every call, so a run killed after captioning (or a
    dataset whose meta/ a killed run left stale) is brought in line by the next one.
    """
    sweep_dataset_temporaries(dataset_dir)
    summary = caption_dataset(
        dataset_dir, captioner, settings or CaptionSettings(), batch_size=batch_size, overwrite=overwrite,
        progress=progress, keep_going=keep_going, executor=executor, ray_settings=ray_settings,
    )
    return CaptionResult(summary, sync_captions(dataset_dir))


@dataclass(frozen=True)
class ImportResult:
    """What `import_hmworld` did: the import report and, if it packaged, the package report."""

    imported: ImportReport
    packaged: PackageReport | None


def import_hmworld(
    src: str | Path,
    out_dir: str | Path,
    *,
    hfov_deg: float = DEFAULT_HFOV_DEG,
    keep_going: bool = False,
    limit: int | None = None,
    package_after: bool = True,
) -> ImportResult:
    """`hmworld import-hmworld`: the official layout into clip folders, then (by default) packaged."""
    check_flags(package_after=package_after)
    report = _import_clips(src, out_dir, hfov_deg=hfov_deg, keep_going=keep_going, limit=limit)
    packaged = package(out_dir, keep_going=keep_going) if package_after and report.clips else None
    return ImportResult(report, packaged)
