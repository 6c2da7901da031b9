"""Exit/entry events: when each subject leaves the frame, and when it comes back.

Per subject and frame a *state* (int8):

    VISIBLE       visible_pixels >= visible threshold
    OCCLUDED      not visible, but in frame: it would be seen were nothing in
                  front of it. In frame = silhouette_pixels (the subject rendered
                  alone) >= in-frame threshold; for backends that measure no
                  silhouette (UE5), the subject's 3-D body box projected through
                  the camera covers >= in-frame threshold / box_fill pixels
    OUT_OF_FRAME  otherwise: outside the image, behind the camera, or with too
                  little of it inside the image to be seen
    -1            padding (no such subject or frame)

Thresholds are fractions of the image area (`EventParams`), so they mean the
same at any resolution. Pixel counts alone cannot tell "left the frame" from
"hidden behind a box"; the silhouette (or the projected box) tells them apart.

Hysteresis: a state counts only once it has held for `min_frames` (K) frames
in a row; shorter runs (flicker at the frame border) take the state that held
before them (or, at the very start, the first state that holds K frames). An
event's frame is the FIRST frame of the new K-frame run, so a subject whose
last visible frame is 39 exits at frame 40. A run still shorter than K at the
end of the clip is not confirmed and makes no event; a subject none of whose
states ever holds K frames makes no events at all.

Events are the transitions of the stable states:
    exit      -> OUT_OF_FRAME (from visible or occluded)
    entry     -> VISIBLE, when the subject was out of frame since it was last visible
    occluded  -> OCCLUDED
    revealed  -> VISIBLE, after being occluded in frame
An exit–entry pair joins an entry with the first exit after the subject was
last visible; hidden_frames = entry_frame - exit_frame (frames from leaving the
frame to being seen again). A clip passes when a pair has hidden_frames >=
min_hidden_frames.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hmworld.atomic import write_text
from hmworld.clip import EVENTS_JSON, ClipRecord
from hmworld.errors import UserError
from hmworld.geometry import box_corners, world_to_camera

if TYPE_CHECKING:
    from hmworld.shot import Shot

OUT_OF_FRAME, OCCLUDED, VISIBLE = 0, 1, 2
PAD = -1
STATE_NAMES = ("out_of_frame", "occluded", "visible")

EXIT, ENTRY, OCCLUDE, REVEAL = 0, 1, 2, 3
EVENT_KINDS = ("exit", "entry", "occluded", "revealed")

EVENTS_FORMAT = 1
NEAR_M = 0.05  # near plane for the box test: closer than 5 cm counts as behind the camera


@dataclass(frozen=True)
class EventParams:
    """Thresholds of the state and event rules (see the module docstring).

    visible_frac: a subject is visible with at least this fraction of the image
        area of visible pixels (2e-4: 80 px at 832×480, a 9×9 patch).
    in_frame_frac: in frame (hence occluded, not out of frame, when unseen) with
        at least this fraction of silhouette pixels inside the image. Equal to
        visible_frac by default: "it would be seen were nothing in front of it".
    box_fill: without silhouette counts, the share of its projected box's
        bounding rectangle a subject is assumed to cover.
    min_frames: K, frames a state must hold to count (hysteresis).
    min_hidden_frames: a clip passes with an exit–entry pair hidden at least this long.
    """

    visible_frac: float = 2e-4
    in_frame_frac: float = 2e-4
    box_fill: float = 0.5
    min_frames: int = 3
    min_hidden_frames: int = 1

    def __post_init__(self) -> None:
        for name in ("visible_frac", "in_frame_frac"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise UserError(f"{name.replace('_', '-')} must be in [0, 1), got {v}")
        if not 0.0 < self.box_fill <= 1.0:
            raise UserError(f"box-fill must be in (0, 1], got {self.box_fill}")
        if self.min_frames < 1:
            raise UserError(f"min-frames must be >= 1, got {self.min_frames}")
        if self.min_hidden_frames < 1:
            raise UserError(f"min-hidden-frames must be >= 1, got {self.min_hidden_frames}")

    def visible_threshold(self, image_area: np.ndarray | float) -> np.ndarray:
        """Visible-pixel threshold in pixels (at least 1)."""
        return np.maximum(1, np.ceil(self.visible_frac * np.asarray(image_area, dtype=np.float64)))

    def in_frame_threshold(self, image_area: np.ndarray | float) -> np.ndarray:
        """Silhouette-pixel threshold in pixels (at least 1)."""
        return np.maximum(1, np.ceil(self.in_frame_frac * np.asarray(image_area, dtype=np.float64)))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EventParams:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Event:
    subject: int
    kind: str  # "exit" | "entry" | "occluded" | "revealed"
    frame: int
    time_s: float


@dataclass(frozen=True)
class Pair:
    subject: int
    exit_frame: int
    entry_frame: int
    hidden_frames: int


@dataclass(frozen=True, eq=False)
class ClipEvents:
    """One clip's states [N,T] (after hysteresis), events, exit–entry pairs and verdict."""

    clip_id: str
    states: np.ndarray
    events: tuple[Event, ...]
    pairs: tuple[Pair, ...]
    passed: bool
    params: EventParams
    fps: int = 15
    scene: str = ""
    camera: str = ""
    in_frame_source: str = "silhouette"  # or "geometry" (projected 3-D box)

    @property
    def n_pairs(self) -> int:
        return len(self.pairs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": EVENTS_FORMAT,
            "clip_id": self.clip_id,
            "scene": self.scene,
            "camera": self.camera,
            "fps": self.fps,
            "frames": int(self.states.shape[1]),
            "n_subjects": int(self.states.shape[0]),
            "in_frame_source": self.in_frame_source,
            "params": self.params.to_dict(),
            "passed": self.passed,
            "n_pairs": self.n_pairs,
            "pairs": [
                {
                    "subject": p.subject,
                    "exit_frame": p.exit_frame,
                    "entry_frame": p.entry_frame,
                    "hidden_frames": p.hidden_frames,
                }
                for p in self.pairs
            ],
            "events": [
                {"subject": e.subject, "kind": e.kind, "frame": e.frame, "time_s": e.time_s}
                for e in self.events
            ],
            "states": self.states.astype(int).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClipEvents:
        n = int(d.get("n_subjects", len(d["states"])))
        t = int(d.get("frames", len(d["states"][0]) if d["states"] else 0))
        return cls(
            clip_id=str(d["clip_id"]),
            states=np.asarray(d["states"], dtype=np.int8).reshape(n, t),
            events=tuple(
                Event(int(e["subject"]), str(e["kind"]), int(e["frame"]), float(e["time_s"]))
                for e in d["events"]
            ),
            pairs=tuple(
                Pair(
                    int(p["subject"]),
                    int(p["exit_frame"]),
                    int(p["entry_frame"]),
                    int(p["hidden_frames"]),
                )
                for p in d["pairs"]
            ),
            passed=bool(d["passed"]),
            params=EventParams.from_dict(d.get("params", {})),
            fps=int(d.get("fps", 15)),
            scene=str(d.get("scene", "")),
            camera=str(d.get("camera", "")),
            in_frame_source=str(d.get("in_frame_source", "silhouette")),
        )


# --------------------------------------------------------------------------- geometry


_BOX_EDGES = np.array([(i, i | b) for b in (1, 2, 4) for i in range(8) if not i & b])


def box_view_arrays(
    c2w: np.ndarray,
    K: np.ndarray,
    centers: np.ndarray,
    size: np.ndarray,
    heading: np.ndarray,
    width: np.ndarray | float,
    height: np.ndarray | float,
    near: float = NEAR_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes against cameras, vectorised: (in_front [...], box_px [...]) over centers' leading axes.

    centers [..., 3] box centres, size [..., 3] (length, width, height), heading [...];
    c2w [..., 4, 4] and K [..., 3, 3] broadcast against them (e.g. c2w [C,1,T,4,4]
    with centers [C,S,T,3]); width, height broadcast to [...].
    in_front: some part of the box lies in front of the near plane. box_px: area in
    pixels of the image covered by the bounding rectangle of the projected box,
    clipped at the near plane (so a box straddling the camera plane still counts).
    """
    centers = np.asarray(centers, dtype=np.float64)
    half = np.broadcast_to(np.asarray(size, dtype=np.float64) / 2.0, centers.shape)
    corners = box_corners(
        centers, half, np.broadcast_to(heading, centers.shape[:-1])
    )  # [..., 8, 3]
    cam = world_to_camera(corners, c2w)
    a, b = cam[..., _BOX_EDGES[:, 0], :], cam[..., _BOX_EDGES[:, 1], :]  # [..., 12, 3]
    za, zb = a[..., 2], b[..., 2]
    crosses = (za > near) != (zb > near)
    s = np.where(crosses, (near - za) / np.where(crosses, zb - za, 1.0), 0.0)
    cut = a + s[..., None] * (b - a)  # points on the near plane where edges cross it
    pts = np.concatenate([cam, cut], axis=-2)  # [..., 20, 3]
    ok = np.concatenate([cam[..., 2] > near, crosses], axis=-1)
    z = np.where(ok, pts[..., 2], 1.0)
    K = np.asarray(K, dtype=np.float64)
    u = K[..., 0, 0, None] * pts[..., 0] / z + K[..., 0, 2, None]
    v = K[..., 1, 1, None] * pts[..., 1] / z + K[..., 1, 2, None]
    u0 = np.where(ok, u, np.inf).min(-1)
    u1 = np.where(ok, u, -np.inf).max(-1)
    v0 = np.where(ok, v, np.inf).min(-1)
    v1 = np.where(ok, v, -np.inf).max(-1)
    in_front = ok.any(-1)
    w = np.clip(np.minimum(u1, width) - np.maximum(u0, 0.0), 0.0, None)
    h = np.clip(np.minimum(v1, height) - np.maximum(v0, 0.0), 0.0, None)
    return in_front, np.where(in_front, w * h, 0.0)


def box_view(shot: Shot, near: float = NEAR_M) -> tuple[np.ndarray, np.ndarray]:
    """Each subject's 3-D body box against the shot's camera: (in_front [N,T], box_px [N,T])."""
    n, t = shot.n_subjects, shot.frames
    if n == 0:
        return np.zeros((0, t), bool), np.zeros((0, t))
    return box_view_arrays(
        shot.c2w[None],
        shot.K,
        shot.subject_centers(),
        shot.subject_size[:, None, :],
        shot.subject_heading,
        shot.width,
        shot.height,
        near,
    )


def in_frame_from_geometry(
    box_px: np.ndarray, image_area: np.ndarray | float, params: EventParams = EventParams()
) -> np.ndarray:
    """The geometric in-frame test `compute_states` uses where silhouettes were not measured.

    The projected box's rectangle, times box_fill, must cover the in-frame
    threshold. `image_area` is a scalar or per clip [C] against box_px [C,S,T].
    """
    box_px = np.asarray(box_px)
    area = _lead(np.asarray(image_area, dtype=np.float64), box_px.ndim)
    return box_px * params.box_fill >= params.in_frame_threshold(area)


# --------------------------------------------------------------------------- states


def _lead(a: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a per-clip array [C] to broadcast against [C, ...] with `ndim` axes."""
    return a.reshape(a.shape + (1,) * (ndim - a.ndim)) if a.ndim else a


def compute_states(
    visible: np.ndarray,
    silhouette: np.ndarray | None,
    in_frame_geom: np.ndarray,
    image_area: np.ndarray | float,
    params: EventParams = EventParams(),
) -> np.ndarray:
    """Per-frame states int8 [C,S,T] (any [..., T] works) from pixel counts.

    visible: visible pixels; negative = padding (state -1).
    silhouette: silhouette pixels, or None; negative entries = not measured
        (a backend without silhouettes), where `in_frame_geom` decides instead.
    in_frame_geom: bool, from `in_frame_from_geometry` (only read where the
        silhouette was not measured).
    image_area: pixels, scalar or per clip [C].
    """
    visible = np.asarray(visible)
    area = _lead(np.asarray(image_area, dtype=np.float64), visible.ndim)
    seen = visible >= params.visible_threshold(area)
    in_frame = np.asarray(in_frame_geom, bool)
    if silhouette is not None:
        sil = np.asarray(silhouette)
        in_frame = np.where(sil >= 0, sil >= params.in_frame_threshold(area), in_frame)
    states = np.where(
        seen, np.int8(VISIBLE), np.where(in_frame, np.int8(OCCLUDED), np.int8(OUT_OF_FRAME))
    )
    states[visible < 0] = PAD
    return states.astype(np.int8, copy=False)


def _index_dtype(t: int) -> type[np.signedinteger[Any]]:
    return np.int16 if t < np.iinfo(np.int16).max - 1 else np.int32


def _rev_min_acc(a: np.ndarray) -> np.ndarray:
    """Minimum over each position and everything after it, along the last axis."""
    return np.minimum.accumulate(a[..., ::-1], axis=-1)[..., ::-1]


def stable_states(states: np.ndarray, min_frames: int) -> np.ndarray:
    """Hysteresis: runs shorter than `min_frames` take the state that held before them.

    Frames before the first long-enough run take that run's state; a row with
    no run of `min_frames` keeps its raw states (and makes no events). Padding
    (-1) stays -1.
    """
    return _stabilise(states, min_frames)[0]


def _stabilise(states: np.ndarray, min_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(stable states, [...] bool: the row has a run of `min_frames`)."""
    x = np.asarray(states, dtype=np.int8)
    t = x.shape[-1]
    if t == 0 or min_frames <= 1:
        return x.copy(), (x >= 0).any(axis=-1)
    x2 = x.reshape(-1, t)
    it = _index_dtype(t)
    ar = np.arange(t, dtype=it)
    start = np.empty(x2.shape, bool)
    start[:, 0] = True
    np.not_equal(x2[:, 1:], x2[:, :-1], out=start[:, 1:])
    run_start = np.maximum.accumulate(np.where(start, ar, it(0)), axis=1)
    nxt = np.full(x2.shape, t, dtype=it)
    nxt[:, :-1] = np.where(start[:, 1:], ar[1:], it(t))
    run_end = _rev_min_acc(nxt)
    stable = (run_end - run_start >= min_frames) & (x2 >= 0)
    del nxt, run_end, run_start
    # carry the nearest stable state forwards (and, before the first, backwards) as
    # position * 4 + state, so a running maximum finds it without a gather
    it = _index_dtype(4 * t + 4)
    ar4 = np.arange(t, dtype=it) * it(4)
    xs = x2.astype(it)
    last = np.maximum.accumulate(np.where(stable, ar4 + xs, it(-1)), axis=1)
    first = np.maximum.accumulate(
        np.where(stable, (it(4 * t) - ar4) + xs, it(-1))[:, ::-1], axis=1
    )[:, ::-1]
    out = np.where(last >= 0, last & 3, np.where(first >= 0, first & 3, xs)).astype(np.int8)
    out[x2 < 0] = PAD
    return out.reshape(x.shape), (first[:, 0] >= 0).reshape(x.shape[:-1])


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, eq=False)
class EventArrays:
    """Events and pairs of C clips as flat arrays; the vectorised form of many ClipEvents.

    states: int8 [C,S,T] after hysteresis. Events sorted by (clip, frame, subject):
    event_clip, event_subject, event_frame [E] int32, event_kind [E] int8 (index in
    EVENT_KINDS), event_time [E] seconds. Pairs sorted by (clip, entry, subject):
    pair_clip, pair_subject, pair_exit, pair_entry, pair_hidden [P] int32.
    n_pairs [C] int32 (all pairs), passed [C] bool (a pair >= min_hidden_frames).
    """

    states: np.ndarray
    event_clip: np.ndarray
    event_subject: np.ndarray
    event_frame: np.ndarray
    event_kind: np.ndarray
    event_time: np.ndarray
    pair_clip: np.ndarray
    pair_subject: np.ndarray
    pair_exit: np.ndarray
    pair_entry: np.ndarray
    pair_hidden: np.ndarray
    n_pairs: np.ndarray
    passed: np.ndarray

    @property
    def n_clips(self) -> int:
        return int(self.states.shape[0])

    def event_offsets(self) -> np.ndarray:
        """[C+1]: clip c's events are [off[c], off[c+1])."""
        return np.searchsorted(self.event_clip, np.arange(self.n_clips + 1)).astype(np.int64)

    def pair_offsets(self) -> np.ndarray:
        return np.searchsorted(self.pair_clip, np.arange(self.n_clips + 1)).astype(np.int64)


def detect_events(
    states: np.ndarray, fps: np.ndarray | float, params: EventParams = EventParams()
) -> EventArrays:
    """Events and exit–entry pairs of raw states [C,S,T], all clips at once.

    fps: scalar or per clip [C]. Applies `stable_states` first (hysteresis).
    """
    st, holds = _stabilise(states, params.min_frames)
    if st.ndim != 3:
        raise ValueError(f"states must be [clips, subjects, frames], got shape {st.shape}")
    c_n, _, t = st.shape
    it = _index_dtype(t)
    ar = np.arange(t, dtype=it)
    prev, cur = st[..., :-1], st[..., 1:]
    change = (prev != cur) & (prev >= 0) & (cur >= 0) & holds[..., None]
    ec, es, ef = np.nonzero(change)
    ef = ef + 1  # the frame the new state starts
    # the last state other than OCCLUDED before each event, to tell entry from revealed
    last_no = np.maximum.accumulate(np.where((st != OCCLUDED) & (st >= 0), ar, it(-1)), axis=-1)
    before_idx = last_no[ec, es, ef - 1]
    before = np.where(before_idx >= 0, st[ec, es, np.maximum(before_idx, 0)], PAD)
    new = st[ec, es, ef]
    kind = np.select(
        [new == OUT_OF_FRAME, new == OCCLUDED, before == OUT_OF_FRAME],
        [EXIT, OCCLUDE, ENTRY],
        REVEAL,
    ).astype(np.int8)
    del last_no

    # pairs: each entry with the first exit after the subject was last visible
    is_entry = kind == ENTRY
    pc, ps, pe = ec[is_entry], es[is_entry], ef[is_entry]
    if pc.size:
        last_vis = np.maximum.accumulate(np.where(st == VISIBLE, ar, it(-1)), axis=-1)
        lv = last_vis[pc, ps, pe - 1].astype(np.int64)
        del last_vis
        exits = np.full(st.shape, t, dtype=it)
        is_exit = kind == EXIT
        exits[ec[is_exit], es[is_exit], ef[is_exit]] = ef[is_exit]
        next_exit = _rev_min_acc(exits)
        px = next_exit[pc, ps, lv + 1].astype(np.int64)
        del exits, next_exit
        ok = px < pe
        pc, ps, pe, px = pc[ok], ps[ok], pe[ok], px[ok]
    else:
        px = np.zeros(0, np.int64)
    order = np.lexsort((ps, pe, pc))
    pc, ps, pe, px = (a[order].astype(np.int32) for a in (pc, ps, pe, px))
    hidden = pe - px
    n_pairs = np.bincount(pc, minlength=c_n).astype(np.int32)
    passed = np.bincount(pc[hidden >= params.min_hidden_frames], minlength=c_n) > 0

    order = np.lexsort((es, ef, ec))
    ec, es, ef, kind = (
        ec[order].astype(np.int32),
        es[order].astype(np.int32),
        ef[order].astype(np.int32),
        kind[order],
    )
    fps_c = np.broadcast_to(np.asarray(fps, dtype=np.float64), (c_n,))
    etime = ef / fps_c[ec] if ec.size else np.zeros(0)
    return EventArrays(st, ec, es, ef, kind, etime, pc, ps, px, pe, hidden, n_pairs, passed)


# --------------------------------------------------------------------------- one clip


def check_measured(record: ClipRecord) -> None:
    """Raise UserError naming the clip if its pixel counts cannot be right."""
    shot, m = record.shot, record.measured
    name = f"clip {shot.clip_id}"
    want = (shot.n_subjects, shot.frames)
    area = shot.width * shot.height
    arrays = {"visible_pixels": m.visible_pixels, "silhouette_pixels": m.silhouette_pixels}
    for key, a in arrays.items():
        if a is None:
            continue
        if a.shape != want:
            raise UserError(
                f"{name}: {key} has shape {a.shape}, expected {want} (subjects, frames)"
            )
        bad = np.argwhere((a < 0) | (a > area))
        if bad.size:
            s, f = bad[0]
            raise UserError(
                f"{name}: {key} at subject {s}, frame {f} is {a[s, f]}, allowed 0..{area} (image {shot.width}x{shot.height})"
            )
    if m.silhouette_pixels is not None:
        bad = np.argwhere(m.visible_pixels > m.silhouette_pixels)
        if bad.size:
            s, f = bad[0]
            raise UserError(
                f"{name}: visible_pixels exceed silhouette_pixels at subject {s}, frame {f} "
                f"({m.visible_pixels[s, f]} > {m.silhouette_pixels[s, f]})"
            )


# --------------------------------------------------------------------------- events.json


def dumps_events(d: dict[str, Any]) -> str:
    """events.json text: one key per line, one event / pair / subject's states per line."""
    lines = []
    for k, v in d.items():
        if isinstance(v, list) and v and isinstance(v[0], (dict, list)):
            inner = ",\n".join("  " + json.dumps(x) for x in v)
            lines.append(f" {json.dumps(k)}: [\n{inner}\n ]")
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read events ({e})") from None
    if not isinstance(d, dict):
        raise UserError(f"{path}: expected a JSON object, found {type(d).__name__}")
    return d


def write_events(clip_dir: str | Path, result: ClipEvents | dict[str, Any]) -> None:
    """Write clips/<id>/events.json atomically, keeping any fields others added to it."""
    path = Path(clip_dir) / EVENTS_JSON
    new = result.to_dict() if isinstance(result, ClipEvents) else result
    old: dict[str, Any] = {}
    if path.is_file():
        try:
            old = _read_json(path)
        except UserError:
            old = {}  # a broken file holds nothing to keep; it is replaced whole
    merged = {**old, **new}
    text = dumps_events(merged)
    if old and path.read_text(encoding="utf-8") == text:
        return  # unchanged: leave the file (and its mtime) alone
    write_text(path, text)


def read_events(clip_dir: str | Path) -> ClipEvents | None:
    """clips/<id>/events.json as written by `hmworld filter-events`; None if there is none."""
    path = Path(clip_dir) / EVENTS_JSON
    if not path.is_file():
        return None
    d = _read_json(path)
    try:
        return ClipEvents.from_dict(d)
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(
            f"{path}: not an events file written by filter-events ({type(e).__name__}: {e})"
        ) from None


__all__ = [
    "EVENT_KINDS",
    "OCCLUDED",
    "OUT_OF_FRAME",
    "PAD",
    "STATE_NAMES",
    "VISIBLE",
    "ClipEvents",
    "Event",
    "EventArrays",
    "EventParams",
    "Pair",
    "box_view",
    "box_view_arrays",
    "check_measured",
    "compute_states",
    "detect_events",
    "in_frame_from_geometry",
    "read_events",
    "stable_states",
    "write_events",
]
