"""Captions for clips: one protocol, several captioners, one resumable runner.

`hmworld caption DATASET_DIR` writes clips/<clip_id>/caption.json for every
clip. The default `template` captioner builds the text from the shot's
metadata offline; `minicpm-v` reads the frames with MiniCPM-V through
transformers (torch and transformers are imported only when it is chosen).
"""

from hmworld.caption.protocol import (
    DEFAULT_CAPTIONER,
    Caption,
    Captioner,
    CaptionSettings,
    ClipInput,
    captioner_names,
    get_captioner,
    register_captioner,
)
from hmworld.caption.runner import (
    CaptionSummary,
    caption_clips,
    caption_dataset,
)
from hmworld.clip import CAPTION_JSON, read_caption, write_caption

__all__ = [
    "CAPTION_JSON",
    "DEFAULT_CAPTIONER",
    "Caption",
    "CaptionSettings",
    "CaptionSummary",
    "Captioner",
    "ClipInput",
    "caption_clips",
    "caption_dataset",
    "captioner_names",
    "get_captioner",
    "read_caption",
    "register_captioner",
    "write_caption",
]
