"""MiniCPM-V 4.6's processor on its image path, for installs without a working torchvision.

transformers' `MiniCPMV4_6Processor` insists on its video processor, and that
video processor resizes with torchvision, whose PyPI wheels are CUDA builds
that do not import next to the CPU-only torch (its `_C` extension links
libtorch_cuda). The model itself does not need a video: the processor's image
path (the PIL backend `MiniCPMV4_6ImageProcessorPil`, numpy + Pillow only)
turns each sampled frame into the same slices and `<image>` placeholders the
model reads, so a clip goes in as a row of N frames (the processor's own
behaviour for a list of images). This module builds that processor from a
checkpoint's own files (tokenizer, preprocessor_config.json, chat template).

Imported only when a MiniCPM-V 4.6 model loads (transformers is an optional extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, MiniCPMV4_6Processor
from transformers.models.minicpmv4_6.image_processing_pil_minicpmv4_6 import (
    MiniCPMV4_6ImageProcessorPil,
)
from transformers.processing_utils import ProcessorMixin


class MiniCPMV46ImageProcessorOnly(MiniCPMV4_6Processor):
    """`MiniCPMV4_6Processor` with its image processor and tokenizer only: frames go in as images."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: str | None = None,
                 **kwargs: Any) -> None:
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template, **kwargs)
        self.slice_mode = image_processor.slice_mode
        self.default_use_image_id = image_processor.use_image_id
        self.image_token_divisor = 4 if image_processor.downsample_mode == "4x" else 16
        for name in ("image_token", "video_token", "image_token_id", "video_token_id", "image_start_token",
                     "image_end_token", "slice_start_token", "slice_end_token", "image_id_start_token",
                     "image_id_end_token"):
            setattr(self, name, getattr(tokenizer, name))

    def __call__(self, images: Any = None, text: Any = None, videos: Any = None, **kwargs: Any) -> Any:
        if videos is not None:
            raise ValueError("this MiniCPM-V 4.6 processor has no video processor (it needs torchvision); "
                             "pass the frames as images")
        return super().__call__(images=images, text=text, **kwargs)


def load(source: str | Path, local_files_only: bool = True) -> MiniCPMV46ImageProcessorOnly:
    """The image-path processor from a MiniCPM-V 4.6 checkpoint (folder or hub id)."""
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    image_processor = MiniCPMV4_6ImageProcessorPil.from_pretrained(source, local_files_only=local_files_only)
    return MiniCPMV46ImageProcessorOnly(image_processor, tokenizer, chat_template=tokenizer.chat_template)
