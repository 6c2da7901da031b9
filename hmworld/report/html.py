"""The report's HTML pages: plain templates filled with escaped values (no script from the web)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from hmworld.clip import VIDEO_FILE
from hmworld.report.style import STATE_STYLE, subject_hex

ASSETS = "assets"


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def page(title: str, body: str, root: str, scripts: Sequence[str] = ()) -> str:
    """A whole page; `root` is the relative path from the page to the report folder ('' or '../../')."""
    js = "".join(f'<script src="{_e(root + s)}"></script>\n' for s in scripts)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{_e(root)}{ASSETS}/report.css">
</head>
<body>
<header><span class="title">hmworld report</span>
<a href="{_e(root)}index.html">overview</a> <a href="{_e(root)}clips.html">clips</a></header>
<main>
{body}
</main>
{js}</body>
</html>
"""


def kv_table(rows: Sequence[tuple[str, Any]], table_id: str = "") -> str:
    ident = f' id="{_e(table_id)}"' if table_id else ""
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv"{ident}>{cells}</table>'


def figure(src: str, alt: str, caption: str) -> str:
    return (f'<figure><img class="plot" src="{_e(src)}" alt="{_e(alt)}" loading="eager">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def overview_page(name: str, n_clips: int, n_pages: int, figures: Sequence[tuple[str, str, str]],
                  settings: Sequence[tuple[str, Any]], damaged: Sequence[str] = ()) -> str:
    """figures: (src, alt, caption) each; settings: key/value rows from meta/info.json and the table;
    damaged: ids of clips whose pages --keep-going replaced by a page naming the damage."""
    figs = "\n".join(figure(*f) for f in figures)
    links = ", ".join(f'<a href="clips/{_e(c)}/index.html">{_e(c)}</a>' for c in damaged)
    skipped = f' <span class="note">Damaged, page names the problem: {links}.</span>' if damaged else ""
    body = f"""<h1>{_e(name)}: {n_clips} clips</h1>
<p>Clip pages: {n_pages} of {n_clips} (<a href="clips.html">clip index</a>).{skipped}</p>
<h2>Render settings and versions</h2>
{kv_table(settings, "settings")}
<h2>Overview</h2>
<div class="grid">
{figs}
</div>"""
    return page(f"{name}: overview", body, "")


def clips_page(name: str) -> str:
    body = f"""<h1>{_e(name)}: clips</h1>
<div class="filters">
<label>scene <select id="f-scene"><option value="">all</option></select></label>
<label>camera trajectory <select id="f-trajectory"><option value="">all</option></select></label>
<label>split <select id="f-split"><option value="">all</option></select></label>
<label>passed <select id="f-passed"><option value="">all</option><option value="true">yes</option><option value="false">no</option></select></label>
<label>pairs at least <input id="f-pairs" type="number" min="0" value="0" style="width:4em"></label>
<label>clip or subject <input id="f-text" type="search" placeholder="text"></label>
<span id="count"></span>
</div>
<div class="pager"><button id="prev" type="button">previous</button><span id="page"></span><button id="next" type="button">next</button></div>
<table class="clips"><thead><tr id="clip-head"></tr></thead><tbody id="clip-rows"></tbody></table>"""
    return page(f"{name}: clips", body, "", [f"{ASSETS}/clips-data.js", f"{ASSETS}/clips.js"])


def clips_data_js(rows: Sequence[dict[str, Any]]) -> str:
    """The index rows as a script (file:// pages may not fetch JSON, but may load scripts)."""
    return "window.HMW_CLIPS = " + json.dumps(list(rows), separators=(",", ":")) + ";\n"


def _prev_next(prev_next: tuple[str | None, str | None]) -> tuple[str, str]:
    prev, nxt = prev_next
    prev_a = f'<a id="prev-clip" href="../{_e(prev)}/index.html">← {_e(prev)}</a>' if prev else "<span></span>"
    next_a = f'<a id="next-clip" href="../{_e(nxt)}/index.html">{_e(nxt)} →</a>' if nxt else "<span></span>"
    return prev_a, next_a


def damaged_page(clip_id: str, problem: str, prev_next: tuple[str | None, str | None]) -> str:
    """The page of a clip that `report --keep-going` could not read: the problem, and prev/next."""
    prev_a, next_a = _prev_next(prev_next)
    body = f"""<h1>{_e(clip_id)}</h1>
<div class="prevnext">{prev_a}{next_a}</div>
<p class="note" id="damaged">This clip's page could not be made: {_e(problem)}.</p>
<p>Run <code>hmworld validate</code> on the dataset for everything that is wrong with it.</p>
<div class="prevnext">{prev_a}{next_a}</div>"""
    return page(clip_id, body, "../../")


def clip_page(
    clip_id: str,
    meta: Sequence[tuple[str, Any]],
    subjects: Sequence[str],
    player: dict[str, Any],
    strips: Sequence[str],
    caption: str,
    events: Sequence[tuple[str, str, int, str]],
    prev_next: tuple[str | None, str | None],
    note: str,
    depth_sheet: str | None = None,
) -> str:
    """One clip: video with mask switch, map, timeline, caption, contact sheet, depth sheet, events, prev/next.

    player: fps, frames, width, height, tile_width, tile_height, cols; events: (subject, kind, frame, time) rows;
    depth_sheet: the depth contact sheet's file name (None: the clip has no depth).
    """
    boxes = "".join(
        f'<label><input type="checkbox" class="mask-subject" data-strip="{_e(s)}" checked>'
        f'<span class="swatch" style="background:{subject_hex(k)}"></span>S{k + 1} {_e(name)}</label>'
        for k, (name, s) in enumerate(zip(subjects, strips, strict=True))
    )
    states = " ".join(
        f'<span class="swatch" style="background:{c}"></span>{_e(label)}' for label, c in STATE_STYLE.values()
    )
    ev_rows = "".join(
        f"<tr><td>{_e(s)}</td><td>{_e(k)}</td><td>{f}</td><td>{_e(t)}</td></tr>" for s, k, f, t in events
    ) or '<tr><td colspan="4">no events</td></tr>'
    prev_a, next_a = _prev_next(prev_next)
    note_html = f'<p class="note">{_e(note)}</p>' if note else ""
    depth_html = (
        '<h2 id="depth">Depth</h2>\n'
        + figure(depth_sheet, "depth contact sheet", "The same frames with their depth under each: metres along the "
                 "optical axis, coloured by inverse depth (near red, far blue, scale at the bottom); black: no surface.")
        + "\n"
    ) if depth_sheet else ""
    p = player
    body = f"""<h1>{_e(clip_id)}</h1>
<div class="prevnext">{prev_a}{next_a}</div>
{note_html}
<div class="clip-top">
<div>
<div class="player" id="player" data-fps="{p['fps']}" data-frames="{p['frames']}" data-tile-width="{p['tile_width']}"
 data-tile-height="{p['tile_height']}" data-cols="{p['cols']}">
<video src="{VIDEO_FILE}" poster="poster.jpg" width="{p['width']}" height="{p['height']}" controls muted playsinline preload="auto"></video>
<canvas width="{p['width']}" height="{p['height']}"></canvas>
</div>
<div class="masks"><label><input type="checkbox" id="mask-all">mask overlay</label>{boxes}</div>
</div>
<div>{kv_table(meta, "clip-meta")}</div>
</div>
<h2>Caption</h2>
<p class="caption" id="caption">{_e(caption) if caption else "<em>no caption yet (run hmworld caption)</em>"}</p>
<h2>Top-down map and state timeline</h2>
<p>States: {states}</p>
<div class="grid">
{figure("map.png", "top-down map", "Subjects' paths coloured by state, heading arrows every second; the camera's path and what it sees at each exit and entry frame (metres).")}
{figure("timeline.png", "state timeline", "Each subject's state per frame with exit (▼) and entry (▲) events.")}
</div>
<h2>Events</h2>
<table class="kv" id="events"><tr><th>subject</th><th>event</th><th>frame</th><th>time</th></tr>{ev_rows}</table>
<h2>Contact sheet</h2>
{figure("sheet.jpg", "contact sheet", "Frames across the clip with each subject's visible mask outlined; labels: vis(ible), hid(den), out (of frame).")}
{depth_html}<div class="prevnext">{prev_a}{next_a}</div>"""
    return page(clip_id, body, "../../", [f"{ASSETS}/clip.js"])
