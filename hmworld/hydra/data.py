"""Where the trainer gets clips: an hmworld dataset folder, or any Dataset object with the same samples.

The sample contract (one dict per clip) is hmworld.dataset.ClipDataset's:
video [T,3,H,W] in [0,1], c2w [T,4,4], K [3,3], masks [T,H,W], caption,
frame_index [T], subject_* and reentry_frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from hmworld.dataset.loader import ClipDataset
from hmworld.dataset.tables import check_split
from hmworld.errors import UserError
from hmworld.hydra.config import ModelConfig
from hmworld.options import check_flag


def open_dataset(data: Any, split: str, cfg: ModelConfig, masks: bool = True) -> Dataset:
    """A path opens the packaged dataset at the model's frame count and size; a Dataset passes through.

    masks=False skips decoding instance masks (training does not use them). A split other than train or
    test, or a masks that is not True or False, is a one-line UserError naming it.
    """
    check_split(split)
    masks = check_flag("masks", masks)
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise UserError(f"--data {str(data)!r} does not exist")
        dataset = ClipDataset(path, split=split, frames=cfg.frames, size=tuple(cfg.frame_size), masks=masks)
    else:
        dataset = data
    if len(dataset) == 0:
        raise UserError(f"split {split!r} of {data!s} has no clips")
    return dataset
