"""What every captioner is: clip inputs in, one `Caption` per clip out, plus the registry.

A captioner only turns a batch of clips into text. Finding the clips, reading
their frames, resuming and writing `caption.json` are shared (hmworld.caption.runner),
so a new captioner (another VLM, a remote API) is one class:

    @register_captioner("my-vlm")
    class MyVLM:
        id = "my-vlm"
        wants_frames = 8                     # 0: metadata only, no video decoding
        def __init__(self, settings: CaptionSettings): ...
        def caption_batch(self, clips: Sequence[ClipInput]) -> list[Caption]: ...

Shipped captioners are imported on first use by name, so `import hmworld.caption`
never pulls in torch or transformers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from hmworld.clip import Caption
from hmworld.errors import UserError, check_choice
from hmworld.shot import Shot

__all__ = ["Caption"]  # the caption.json type is the clip folder's (hmworld.clip); captioners return it

DEFAULT_CAPTIONER = "template"
DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclass(frozen=True, eq=False)
class ClipInput:
    """One clip as a captioner sees it.

    frames: uint8 [F,H,W,3] sampled uniformly over the clip (None when the
    captioner wants none); frame_indices: their positions in the video [F];
    events: the clip's ClipEvents from events.json, or None before filter-events.
    """

    clip_id: str
    clip_dir: Path
    shot: Shot
    events: Any | None = None
    frames: np.ndarray | None = None
    frame_indices: np.ndarray | None = None


@dataclass(frozen=True)
class CaptionSettings:
    """Options shared by the model captioners; the template captioner ignores them.

    model: hub id or local folder (None: the captioner's default). device:
    "auto", "cpu", "cuda", "cuda:N" or "mps". download: allow fetching weights
    from the hub; off by default, so a missing model is an error, never a
    surprise multi-gigabyte download.
    """

    model: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    max_frames: int = 16
    max_new_tokens: int = 256
    download: bool = False
    prompt: str | None = None

    def __post_init__(self) -> None:
        if self.max_frames < 1:
            raise UserError(f"max-frames must be at least 1, got {self.max_frames}")
        if self.max_new_tokens < 1:
            raise UserError(f"max-new-tokens must be at least 1, got {self.max_new_tokens}")
        check_choice("dtype", self.dtype, DTYPES)
        check_device(self.device)
        if self.model is not None and not self.model.strip():
            raise UserError("model must not be empty; give a hub id or a local folder, or leave --model out")
        if self.prompt is not None:
            if not self.prompt.strip():
                raise UserError("prompt must not be empty")
            try:
                self.prompt.format(n=16, seconds=10)
            except (KeyError, IndexError, ValueError) as e:
                raise UserError(
                    f"prompt {self.prompt!r} cannot be filled in ({type(e).__name__}: {e}); "
                    "the only placeholders allowed are {n} (frames) and {seconds} (clip length); write {{ }} for braces"
                ) from None


def check_device(device: str) -> str:
    """Accept the torch device spellings we support, with a one-line error otherwise."""
    base, _, index = device.partition(":")
    ok = device in ("auto", "cpu", "mps", "cuda") or (base == "cuda" and index.isdigit())
    if not ok:
        raise UserError(f"unknown device {device!r}; allowed: auto, cpu, cuda, cuda:N, mps")
    return device


@runtime_checkable
class Captioner(Protocol):
    """Turns a batch of clips into captions, one per clip, in order.

    `caption_batch` must not write anything: the runner owns writing, so the
    same call works unchanged in a distributed job (one batch per task).
    """

    id: str
    wants_frames: int  # frames per clip to decode for it; 0 = none

    def caption_batch(self, clips: Sequence[ClipInput]) -> list[Caption]: ...


# ---------------------------------------------------------------------------- registry

# shipped captioners: name → module that registers it when imported
_SHIPPED: dict[str, str] = {
    "template": "hmworld.caption.template",
    "minicpm-v": "hmworld.caption.minicpm",
}
_FACTORIES: dict[str, Callable[[CaptionSettings], Captioner]] = {}

F = TypeVar("F", bound=Callable[..., Any])


def register_captioner(name: str) -> Callable[[F], F]:
    """Class/function decorator: `factory(settings) -> Captioner` becomes available as `name`."""

    def deco(factory: F) -> F:
        _FACTORIES[name] = factory
        return factory

    return deco


def captioner_names() -> list[str]:
    return sorted({*_SHIPPED, *_FACTORIES})


def get_captioner(name: str = DEFAULT_CAPTIONER, settings: CaptionSettings | None = None) -> Captioner:
    """A ready captioner; an unknown name is a one-line UserError listing the known ones."""
    check_choice("captioner", name, captioner_names())
    if name not in _FACTORIES:
        importlib.import_module(_SHIPPED[name])
    return _FACTORIES[name](settings or CaptionSettings())
