"""Events of a counts batch, all clips at once, and the per-clip results split from them.

`batch_events` is the whole state rule and event detection over a
`CountsBatch` ([C,S,T] arrays); `clip_results` splits its `EventArrays` into one
`ClipEvents` per clip, naming each from the same batch; `clip_events` is the
one-clip case (a rendered clip folder's record). filter-events over a dataset
(hmworld.dataset.filter_events) and a single clip both run through here, so
they agree by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

from hmworld.clip import ClipRecord
from hmworld.events.counts import CountsBatch, batch_from_records
from hmworld.events.detect import (
    EVENT_KINDS,
    ClipEvents,
    Event,
    EventArrays,
    EventParams,
    Pair,
    compute_states,
    detect_events,
    in_frame_from_geometry,
)


def batch_events(batch: CountsBatch, params: EventParams = EventParams()) -> EventArrays:
    """States (silhouette, or the projected box where none was measured), events and pairs of a batch."""
    geom = in_frame_from_geometry(batch.box_px, batch.area, params)
    states = compute_states(batch.visible, batch.silhouette, geom, batch.area, params)
    return detect_events(states, batch.fps, params)


def clip_results(
    arrays: EventArrays,
    batch: CountsBatch,
    params: EventParams,
    indices: Sequence[int] | None = None,
) -> list[ClipEvents]:
    """Split `arrays` (= batch_events(batch, params)) into one ClipEvents per clip, padding removed.

    Clip c's id, subjects, frames, fps, scene, camera and in-frame source come
    from `batch`; `indices`: only these clips (positions in the batch), in that
    order. Raises ValueError if `arrays` does not hold as many clips as `batch`.
    """
    if arrays.n_clips != len(batch):
        raise ValueError(f"event arrays hold {arrays.n_clips} clips, the batch {len(batch)}")
    eo, po = arrays.event_offsets(), arrays.pair_offsets()
    sources = batch.sources()
    out = []
    for c in range(len(batch)) if indices is None else indices:
        e0, e1, p0, p1 = eo[c], eo[c + 1], po[c], po[c + 1]
        events = tuple(
            Event(int(s), EVENT_KINDS[k], int(f), float(tm))
            for s, k, f, tm in zip(
                arrays.event_subject[e0:e1],
                arrays.event_kind[e0:e1],
                arrays.event_frame[e0:e1],
                arrays.event_time[e0:e1],
                strict=True,
            )
        )
        pairs = tuple(
            Pair(int(s), int(x), int(n), int(h))
            for s, x, n, h in zip(
                arrays.pair_subject[p0:p1],
                arrays.pair_exit[p0:p1],
                arrays.pair_entry[p0:p1],
                arrays.pair_hidden[p0:p1],
                strict=True,
            )
        )
        out.append(
            ClipEvents(
                clip_id=batch.clip_ids[c],
                states=arrays.states[c, : int(batch.n_subjects[c]), : int(batch.frames[c])].copy(),
                events=events,
                pairs=pairs,
                passed=bool(arrays.passed[c]),
                params=params,
                fps=int(batch.fps[c]),
                scene=str(batch.scene[c]),
                camera=str(batch.camera[c]),
                in_frame_source=sources[c],
            )
        )
    return out


def clip_events(record: ClipRecord, params: EventParams = EventParams()) -> ClipEvents:
    """States, events and verdict of one rendered clip (see hmworld.events.detect).

    Raises UserError naming the clip if its pixel counts cannot be right.
    """
    batch = batch_from_records([record])
    return clip_results(batch_events(batch, params), batch, params)[0]


__all__ = ["batch_events", "clip_events", "clip_results"]
