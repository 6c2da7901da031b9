"""Caption on a Ray cluster through Ray Data: clip folders flow through `map_batches` into captioner actors.

Each actor of the pool loads its captioner (the model) once and, for every
batch it gets, captions the clips and writes their caption.json files
atomically before returning, exactly as the local loop does per batch; so a
killed job loses at most the batches in flight and a re-run captions only
what is missing. The captions are those of the local run: the same
captioner code on the same clips.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hmworld.caption.protocol import Captioner, CaptionSettings, get_captioner
from hmworld.ray_cluster import RaySettings, connect

WriteBatch = Callable[[Captioner, Sequence[Path]], list[bool]]


class CaptionActor:
    """A Ray Data callable class: one captioner per actor, a batch of clip folders per call."""

    def __init__(self, captioner: Captioner | str, settings: CaptionSettings | None, write: WriteBatch) -> None:
        self.captioner = get_captioner(captioner, settings) if isinstance(captioner, str) else captioner
        self.write = write

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        written = self.write(self.captioner, [Path(str(d)) for d in batch["clip_dir"]])
        return {"clip_dir": batch["clip_dir"], "written": np.asarray(written, dtype=bool)}


def caption_on_ray(
    todo: Sequence[Path],
    captioner: Captioner | str,
    settings: CaptionSettings | None,
    write: WriteBatch,
    batch_size: int,
    ray_settings: RaySettings,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Caption `todo` with a pool of `ray_settings.actors` actors; returns how many captions were written.

    `write(captioner, clip_dirs) -> [written?]` captions and writes one batch
    (hmworld.caption.runner's per-batch step); `on_batch(n)` is told of every
    batch of n clips that finished (for a progress bar).
    """
    ray = connect(ray_settings.address)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the caller draws its own bar
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # plan/finish notices would break the bar
    items = [{"clip_dir": str(d)} for d in todo]
    blocks = max(1, min(len(items), -(-len(items) // batch_size)))
    ds = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        CaptionActor,
        fn_constructor_args=(captioner, settings, write),
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=ray_settings.actors or 1,
        num_cpus=1,
        num_gpus=ray_settings.gpus_per_actor,
    )
    done = 0
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        done += int(np.count_nonzero(batch["written"]))
        if on_batch is not None:
            on_batch(len(batch["written"]))
    return done


__all__: list[Any] = ["CaptionActor", "caption_on_ray"]
