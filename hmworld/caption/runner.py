"""Caption a dataset: resumable, batched, written atomically after every batch.

The work splits in two so it can be spread over machines later:

- `caption_clips(captioner, clip_dirs)` is the unit of work: it reads a batch
  of clips and returns their captions, writing nothing. A distributed job
  hands each task a list of clip folders and calls it.
- `caption_dataset(...)` is the local loop: it finds the clips still without a
  caption, calls `caption_clips` one batch at a time and writes each batch's
  caption.json files as soon as the batch is done, so a crash or Ctrl-C loses
  at most the batch in flight and a re-run captions only what is missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hmworld.caption.protocol import (
    DEFAULT_CAPTIONER,
    Caption,
    Captioner,
    CaptionSettings,
    ClipInput,
    captioner_names,
    get_captioner,
)
from hmworld.clip import (
    CLIPS_DIR,
    list_clip_dirs,
    read_caption,
    read_clip,
    write_caption,
)
from hmworld.errors import DamagedClip, UserError, check_choice
from hmworld.events import read_events
from hmworld.options import check_flags, check_whole_type
from hmworld.ray_cluster import RaySettings, require_ray
from hmworld.video import read_video

DEFAULT_BATCH_SIZE = 8


@dataclass(frozen=True)
class CaptionSummary:
    clips: int  # complete clips in the dataset
    captioned: int  # captions written by this run
    kept: int  # existing captions left alone
    empty: int  # clips the captioner returned no text for: left without a caption, retried next run
    skipped: tuple[str, ...] = ()  # damaged clips left out with --keep-going, each "clip <id>: <problem>"

    def format(self, captioner: str) -> str:
        return "\n".join([self._counts(captioner), *(f"skipped {p}" for p in self.skipped)])

    def _counts(self, captioner: str) -> str:
        if not self.clips:
            return "no complete clips to caption (render some first)"
        if not self.captioned and not self.empty:
            return f"all {self.clips} clip(s) already have a caption (use --overwrite to redo them)"
        return f"captioned {self.captioned} of {self.clips} clip(s) with {captioner}, kept {self.kept}"


def uniform_frame_indices(total: int, count: int) -> np.ndarray:
    """`count` frame indices spread evenly over `total` frames (segment centres), ascending, unique."""
    if total < 1:
        raise ValueError(f"a video needs at least one frame, got {total}")
    count = min(count, total)
    return ((np.arange(count) + 0.5) * total / count).astype(np.int64)


def _usable_caption(clip_dir: Path) -> bool:
    """The clip has a valid caption.json (a missing or damaged one is redone)."""
    try:
        return read_caption(clip_dir) is not None
    except UserError:  # half-written by another tool, or not ours
        return False


def load_clip_input(clip_dir: str | Path, frames: int = 0) -> ClipInput:
    """clip.json, events.json and (if `frames` > 0) that many uniformly sampled RGB frames."""
    record = read_clip(clip_dir)
    shot = record.shot
    pixels = indices = None
    if frames > 0:
        indices = uniform_frame_indices(shot.frames, frames)
        try:
            pixels = read_video(record.video_path, indices)
        except (OSError, IndexError, ValueError) as e:
            raise UserError(f"clip {shot.clip_id}: cannot read frames from {record.video_path} ({e})") from None
    return ClipInput(shot.clip_id, Path(clip_dir), shot, read_events(clip_dir), pixels, indices)


def caption_clips(captioner: Captioner, clip_dirs: Sequence[str | Path]) -> list[tuple[Path, Caption]]:
    """One batch of work: read the clips, caption them, return (clip folder, caption); writes nothing."""
    clips = [load_clip_input(d, captioner.wants_frames) for d in clip_dirs]
    captions = captioner.caption_batch(clips)
    if len(captions) != len(clips):
        raise RuntimeError(f"captioner {captioner.id!r} returned {len(captions)} captions for {len(clips)} clips")
    return [(c.clip_dir, cap) for c, cap in zip(clips, captions, strict=True)]


def pending_clips(dataset_dir: str | Path, overwrite: bool = False) -> tuple[list[Path], list[Path]]:
    """(clips to caption, clips whose valid caption is kept)."""
    root = Path(dataset_dir)
    if not (root / CLIPS_DIR).is_dir():
        raise UserError(f"{root} is not a dataset folder: it has no {CLIPS_DIR}/ folder (render clips into it first)")
    dirs = list_clip_dirs(root)
    if overwrite:
        return dirs, []
    todo, kept = [], []
    for d in dirs:
        (kept if _usable_caption(d) else todo).append(d)
    return todo, kept


def caption_dataset(
    dataset_dir: str | Path,
    captioner: Captioner | str = DEFAULT_CAPTIONER,
    settings: CaptionSettings | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overwrite: bool = False,
    progress: bool = False,
    keep_going: bool = False,
    executor: str = "local",
    ray_settings: RaySettings | None = None,
) -> CaptionSummary:
    """`hmworld caption`: caption every clip still without one, a batch at a time.

    `captioner` is a ready Captioner or a registry name; a name is only loaded
    (a model read into memory) when some clip still needs a caption.
    `executor` "local" captions here; "ray" sends the batches through Ray Data
    to a pool of captioner actors (hmworld.caption.ray_data), each writing its
    batch's captions as the local loop does.
    A damaged clip (unreadable clip.json or events.json) stops the run before
    any captioning with a DamagedClip naming it, or is skipped with `keep_going`.
    """
    check_whole_type("batch_size", batch_size)
    check_flags(overwrite=overwrite, progress=progress, keep_going=keep_going)
    if batch_size < 1:
        raise UserError(f"batch-size must be at least 1, got {batch_size}")
    if isinstance(captioner, str):
        check_choice("captioner", captioner, captioner_names())
    check_choice("executor", executor, ("local", "ray"))
    todo, kept = pending_clips(dataset_dir, overwrite)
    todo, skipped = _readable(todo)
    if skipped and not keep_going:
        raise DamagedClip(f"{skipped[0]}; pass --keep-going to skip damaged clips")
    done = 0
    if todo and executor == "ray":
        require_ray()  # before importing the Ray Data module, which needs it
        from hmworld.caption.ray_data import caption_on_ray

        with _bar(progress, captioner if isinstance(captioner, str) else captioner.id, len(todo)) as (bar, task):
            done = caption_on_ray(todo, captioner, settings, write_batch, batch_size, ray_settings or RaySettings(),
                                  on_batch=lambda n: bar.advance(task, n))
    elif todo:
        worker = get_captioner(captioner, settings) if isinstance(captioner, str) else captioner
        batches = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
        done = _run_batches(worker, batches, progress)
    return CaptionSummary(len(todo) + len(kept) + len(skipped), done, len(kept), len(todo) - done, tuple(skipped))


def _readable(clip_dirs: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """(clips whose clip.json and events.json read, one 'clip <id>: <problem>' per other clip)."""
    ok, problems = [], []
    for d in clip_dirs:
        try:
            load_clip_input(d, 0)
        except UserError as e:
            problems.append(str(e) if isinstance(e, DamagedClip) else f"clip {d.name}: {e}")
        else:
            ok.append(d)
    return ok, problems


@contextmanager
def _bar(progress: bool, name: str, total: int) -> Iterator[tuple[Any, Any]]:
    """A rich progress bar over `total` clips (drawn only when `progress`)."""
    columns = (TextColumn(f"captioning ({name})"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        yield bar, bar.add_task("caption", total=total)


def _run_batches(captioner: Captioner, batches: Sequence[Sequence[Path]], progress: bool) -> int:
    """Caption and write batch after batch; returns how many captions were written."""
    done = 0
    with _bar(progress, captioner.id, sum(len(b) for b in batches)) as (bar, task):
        for batch in batches:
            done += sum(write_batch(captioner, batch))
            bar.advance(task, len(batch))
    return done


def write_batch(captioner: Captioner, batch: Sequence[Path]) -> list[bool]:
    """Caption one batch and write each caption.json atomically; per clip, whether a caption was written.

    An empty text is not written (the clip is retried next run). The one
    per-batch step of both executors (local loop, Ray Data actors).
    """
    wrote = []
    for clip_dir, cap in caption_clips(captioner, batch):
        ok = bool(cap.caption.strip())
        if ok:
            write_caption(clip_dir, cap)
        wrote.append(ok)
    return wrote
