"""The report in a real headless Chromium: pages load clean, plots are drawn, the mask switch works.

A full-page screenshot of each page is saved under build/test-artifacts/report/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hmworld.clip import read_instances
from hmworld.dataset.tables import read_all
from tests.report.browser_support import (
    PageLog,
    find_chromium,
    is_blank,
    save_artifact,
    screenshot_array,
    unavailable,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    exe = find_chromium()
    if exe is None:
        unavailable("no Chromium found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[tuple[object, PageLog]]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    log = PageLog()
    log.attach(pg)
    yield pg, log
    ctx.close()


def _open(pg, path: Path) -> None:
    pg.goto(path.resolve().as_uri())
    pg.wait_for_load_state("load")
    pg.wait_for_function("Array.from(document.images).every(i => i.complete)")


def _check_plots(pg, selector: str, expect: int) -> None:
    plots = pg.locator(selector)
    assert plots.count() == expect
    for i in range(expect):
        img = plots.nth(i)
        assert img.evaluate("i => i.naturalWidth > 0 && i.naturalHeight > 0"), img.get_attribute("src")
        img.scroll_into_view_if_needed()
        assert not is_blank(screenshot_array(img.screenshot())), f"{img.get_attribute('src')} looks blank"


def _first_clip(report: Path) -> tuple[str, dict]:
    meta = json.loads((report / "report.json").read_text())
    ds = Path(meta["dataset"])
    ids = read_all(ds, columns=["clip_id"]).column("clip_id").to_pylist()
    clip = json.loads((ds / "clips" / ids[0] / "clip.json").read_text())
    return ids[0], clip


def test_overview_loads_clean_with_every_plot_drawn(page, report: Path) -> None:
    pg, log = page
    _open(pg, report / "index.html")
    _check_plots(pg, "img.plot", 10)
    assert pg.locator("#settings tr").count() >= 8
    save_artifact("overview.png", pg.screenshot(full_page=True))
    assert log.errors == []


def test_clip_page_loads_clean_and_the_mask_switch_changes_the_overlay(page, report: Path) -> None:
    pg, log = page
    cid, clip = _first_clip(report)
    _open(pg, report / "clips" / cid / "index.html")
    _check_plots(pg, "img.plot", 4)  # map, timeline, contact sheet, depth sheet
    video = pg.locator("video")
    pg.wait_for_function("document.querySelector('video').readyState >= 2", timeout=15000)
    assert video.evaluate("v => v.error === null && v.videoWidth > 0")
    # the frame where subject 1 shows most
    t = int(np.argmax(clip["measured"]["visible_pixels"][0]))
    fps = clip["shot"]["fps"]
    video.evaluate(f"v => new Promise(r => {{ v.addEventListener('seeked', r, {{once: true}}); v.currentTime = {(t + 0.5) / fps}; }})")
    player = pg.locator("#player")
    off = screenshot_array(player.screenshot())
    pg.locator("#mask-all").check()
    pg.wait_for_function(f"document.getElementById('player').dataset.frame === '{t}'")
    on = screenshot_array(player.screenshot())
    changed = np.abs(on - off).max(axis=-1) > 30
    ds = Path(json.loads((report / "report.json").read_text())["dataset"])
    masked = int((read_instances(ds / "clips" / cid / "instances.npz", [t]) > 0).sum())
    # the overlay covers the subjects' pixels (the player shows the video at its own size)
    assert masked > 0 and changed.sum() >= 0.6 * masked, (changed.sum(), masked)
    save_artifact("clip.png", pg.screenshot(full_page=True))
    pg.locator("input.mask-subject").first.uncheck()
    one_off = screenshot_array(player.screenshot())
    assert (np.abs(one_off - off).max(axis=-1) > 30).sum() < changed.sum(), "subject 1's switch did not hide its mask"
    pg.locator("#mask-all").uncheck()
    assert np.abs(screenshot_array(player.screenshot()) - off).max() <= 2
    assert log.errors == []


def test_clip_index_sorts_filters_and_links_to_pages(page, report: Path) -> None:
    pg, log = page
    _open(pg, report / "clips.html")
    rows = pg.locator("#clip-rows tr")
    n = rows.count()
    meta = json.loads((report / "report.json").read_text())
    assert n == min(100, meta["clips"])
    thumbs = pg.locator("#clip-rows img.thumb")
    assert thumbs.count() == meta["pages"]
    for i in range(thumbs.count()):
        assert thumbs.nth(i).evaluate("i => i.complete && i.naturalWidth > 0")
    save_artifact("clips.png", pg.screenshot(full_page=True))
    pg.locator("#clip-head th", has_text="scene").click()
    scenes = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(n)]
    assert scenes == sorted(scenes)
    pg.locator("#clip-head th", has_text="scene").click()
    assert [rows.nth(i).locator("td").nth(3).inner_text() for i in range(n)] == sorted(scenes, reverse=True)
    pg.select_option("#f-scene", "park")
    shown = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert shown and set(shown) == {"park"} and len(shown) == scenes.count("park")
    pg.select_option("#f-scene", "")
    pg.locator("#clip-rows a").first.click()
    pg.wait_for_load_state("load")
    assert pg.url.endswith("/index.html") and "/clips/" in pg.url
    assert log.errors == []


def test_next_link_walks_the_clip_pages(page, report: Path) -> None:
    pg, log = page
    cid, _ = _first_clip(report)
    _open(pg, report / "clips" / cid / "index.html")
    pg.locator("#next-clip").first.click()
    pg.wait_for_load_state("load")
    assert pg.locator("h1").inner_text() != cid
    pg.locator("#prev-clip").first.click()
    pg.wait_for_load_state("load")
    assert pg.locator("h1").inner_text() == cid
    assert log.errors == []
