"""Benchmark `hmworld report`: generation time per clip, page weight, and load time in headless Chromium.

Timed on a real packaged dataset (default data/demo, made by `make demo`):
  1. build_report with a page for every clip: seconds per clip page and for the overview;
  2. page weight (bytes a browser loads): a clip page with and without its video, the
     overview, the clip index's first page (HTML, scripts, 100 thumbnails);
  3. the clip index at 100 and at 10,000 clips: the report's index rows repeated under new
     ids (thumbnails hard-linked under new names, so the browser loads each one anew),
     opened in Chromium (when installed): median of 3 fresh page loads, time to the `load` event with the first page of
     rows drawn and the thumbnails on screen decoded (the others load lazily as they scroll
     into view), then to sort by scene and to filter one scene.

    .venv/bin/python tools/bench_report.py [DATASET_DIR] [--index-sizes 100,10000] [--workers 1]

Last line: one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hmworld.report import build_report
from hmworld.report.html import clips_data_js

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.report.browser_support import find_chromium  # noqa: E402  (the tests' browser finder)

REPEATS = 3  # page loads per figure (median)
PAGE_ROWS = 100  # rows the index draws per page (hmworld/report/assets/clips.js)


def read_rows(report: Path) -> list[dict]:
    text = (report / "assets" / "clips-data.js").read_text()
    return json.loads(text.removeprefix("window.HMW_CLIPS = ").removesuffix(";\n"))


def files_bytes(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def clip_page_bytes(report: Path, folder: Path) -> tuple[int, int]:
    """(with video, without video) bytes a clip page loads."""
    shared = [report / "assets" / "report.css", report / "assets" / "clip.js"]
    own = [p for p in folder.iterdir() if p.name != "thumb.jpg"]
    total = files_bytes(own + shared)
    return total, total - (folder / "rgb.mp4").stat().st_size


def scaled_index(report: Path, n: int, dst: Path) -> Path:
    """A copy of `report` (hard links) whose index lists n clips: the real rows repeated under new ids."""
    shutil.copytree(report, dst, copy_function=os.link)
    rows = read_rows(report)
    with_page = [r for r in rows if "page" in r]
    out = []
    for i in range(n):
        r = dict(rows[i % len(rows)])
        r["id"] = f"{r['id']}-{i:05d}"
        if with_page and not ("page" in r and i < len(rows)):
            src = with_page[i % len(with_page)]
            thumb = dst / "clips" / f"thumb-{i:05d}.jpg"
            os.link(report / src["thumb"], thumb)
            r["page"], r["thumb"] = src["page"], thumb.relative_to(dst).as_posix()
        out.append(r)
    data = dst / "assets" / "clips-data.js"
    data.unlink()  # a hard link to the original's: replace it, never write through it
    data.write_text(clips_data_js(out))
    return dst


def index_first_page_bytes(report: Path) -> int:
    rows = read_rows(report)[:PAGE_ROWS]
    thumbs = [report / r["thumb"] for r in rows if "thumb" in r]
    assets = [report / "clips.html"] + [report / "assets" / n for n in ("report.css", "clips-data.js", "clips.js")]
    return files_bytes(assets + thumbs)


def browser_times(exe: str, report: Path, clip_page: Path) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        for name, page_path in (("overview", report / "index.html"), ("clip_page", clip_page)):
            times = []
            for _ in range(REPEATS):
                ctx = b.new_context()  # a fresh context each time: nothing cached from the last load
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(page_path.as_uri(), wait_until="load")
                page.wait_for_function("Array.from(document.images).every(i => i.complete)")
                times.append(time.perf_counter() - t0)
                ctx.close()
            out[f"{name}_load_s"] = statistics.median(times)
        loads = []
        for _ in range(REPEATS):  # the median of fresh loads: the browser's own start-up is not the figure
            ctx = b.new_context()
            page = ctx.new_page()
            t0 = time.perf_counter()
            page.goto((report / "clips.html").as_uri(), wait_until="load")
            # lazy thumbnails load as they scroll into view: wait for those on screen
            page.wait_for_function("document.querySelectorAll('#clip-rows tr').length > 0 && Array.from(document.images)"
                                   ".filter(i => i.getBoundingClientRect().top < innerHeight).every(i => i.complete && i.naturalWidth)")
            loads.append(time.perf_counter() - t0)
            ctx.close()
        out["index_load_s"] = statistics.median(loads)
        page = b.new_page()
        page.goto((report / "clips.html").as_uri(), wait_until="load")
        page.wait_for_function("document.querySelectorAll('#clip-rows tr').length > 0")
        t0 = time.perf_counter()
        page.locator("#clip-head th", has_text="scene").click()
        page.wait_for_function("document.querySelector('#clip-head th[data-key=scene]').getAttribute('aria-sort') === 'ascending'")
        out["index_sort_s"] = time.perf_counter() - t0
        scene = page.locator("#f-scene option").nth(1).get_attribute("value")
        t0 = time.perf_counter()
        page.select_option("#f-scene", scene)
        page.wait_for_function(f"Array.from(document.querySelectorAll('#clip-rows tr td:nth-child(4)')).every(td => td.textContent === {json.dumps(scene)})")
        out["index_filter_s"] = time.perf_counter() - t0
        b.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", nargs="?", default="data/demo", type=Path)
    ap.add_argument("--index-sizes", default="100,10000")
    ap.add_argument("--workers", type=int, default=1, help="processes writing clip pages")
    args = ap.parse_args()
    if not (args.dataset / "meta" / "info.json").is_file():
        sys.exit(f"error: {args.dataset} is not a packaged dataset; run `make demo` or give one")
    sizes = [int(s) for s in args.index_sizes.split(",")]
    exe = find_chromium()
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        report = Path(tmp) / "report"
        s = build_report(args.dataset, report, workers=args.workers)
        per_page = s.page_seconds / max(s.pages, 1)
        print(f"generation: {s.pages} clip pages in {s.page_seconds:.1f} s ({per_page:.2f} s per clip), "
              f"overview and index {s.seconds - s.page_seconds:.1f} s; total {s.seconds:.1f} s")
        weights = [clip_page_bytes(report, f) for f in sorted((report / "clips").iterdir()) if f.is_dir()]
        with_video = statistics.median(w[0] for w in weights)
        without = statistics.median(w[1] for w in weights)
        overview = files_bytes([report / "index.html", report / "assets" / "report.css",
                                *sorted((report / "figures").glob("*.png"))])
        print(f"page weight: clip page {with_video / 1e6:.2f} MB with its video, {without / 1e6:.2f} MB without (median); "
              f"overview {overview / 1e6:.2f} MB")
        result.update(clips=s.clips, pages=s.pages, workers=args.workers, seconds_per_clip_page=round(per_page, 3),
                      overview_index_s=round(s.seconds - s.page_seconds, 2),
                      clip_page_bytes=int(with_video), clip_page_bytes_without_video=int(without),
                      overview_bytes=overview, hours_for_10000_pages=round(per_page * 10000 / 3600, 2))
        clip_page = sorted(report.glob("clips/*/index.html"))[0]
        for n in sizes:
            scaled = scaled_index(report, n, Path(tmp) / f"index-{n}")
            data = (scaled / "assets" / "clips-data.js").stat().st_size
            first = index_first_page_bytes(scaled)
            line = f"index of {n} clips: rows data {data / 1e6:.2f} MB, first page {first / 1e6:.2f} MB"
            result[f"index_{n}_data_bytes"] = data
            result[f"index_{n}_first_page_bytes"] = first
            if exe:
                t = browser_times(exe, scaled, clip_page)
                line += (f"; Chromium: index loaded in {t['index_load_s']:.2f} s, sorted {t['index_sort_s']:.2f} s, "
                         f"filtered {t['index_filter_s']:.2f} s; overview {t['overview_load_s']:.2f} s, "
                         f"clip page {t['clip_page_load_s']:.2f} s")
                for k, v in t.items():
                    result[f"index_{n}_{k}" if k.startswith("index") else k] = round(v, 3)
            print(line)
        if not exe:
            print("no Chromium found: load times not measured (apt-get install chromium)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
