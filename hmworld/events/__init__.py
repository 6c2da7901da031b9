"""Exit/entry events: per subject and frame a state, from the states the events, per clip a verdict.

The one public door. Modules import only downward:

    detect   states (hysteresis), events, pairs, verdicts; events.json
    counts   pixel counts of many clips as one padded batch
    run      events of a batch, split per clip; one clip's events
    stats    event statistics of a results table (beside the flow)

The filter-events stage over a dataset folder (reading meta/pixel_counts.parquet,
writing meta/events.parquet and the tables) is dataset work:
hmworld.dataset.filter_events.

See `hmworld.events.detect` for the state rule and the event definitions.
"""

from __future__ import annotations

from hmworld.events.detect import (
    EVENT_KINDS,
    OCCLUDED,
    OUT_OF_FRAME,
    PAD,
    STATE_NAMES,
    VISIBLE,
    ClipEvents,
    Event,
    EventArrays,
    EventParams,
    Pair,
    box_view,
    box_view_arrays,
    check_measured,
    compute_states,
    detect_events,
    in_frame_from_geometry,
    read_events,
    stable_states,
    write_events,
)
from hmworld.events.run import batch_events, clip_events, clip_results

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
    "batch_events",
    "box_view",
    "box_view_arrays",
    "check_measured",
    "clip_events",
    "clip_results",
    "compute_states",
    "detect_events",
    "in_frame_from_geometry",
    "read_events",
    "stable_states",
    "write_events",
]
