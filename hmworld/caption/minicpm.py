"""MiniCPM-V reads each clip's frames and writes its caption, through transformers.

Two model families sit behind `--captioner minicpm-v`, told apart by the
model's own config.json:

- native: a model type transformers ships (MiniCPM-V 4.6, `minicpmv4_6`) is
  loaded with AutoProcessor + AutoModelForImageTextToText; the frames go in as
  one video (or as a row of images when the processor has no video support),
  a whole batch of clips per `generate` call.
- remote code: the older checkpoints (MiniCPM-V 2.6, 4.0, 4.5 and their int4
  variants) ship their own modelling code; they load through
  AutoModel.from_pretrained(..., trust_remote_code=True) and caption a batch
  with their `.chat(...)` API.

Nothing is downloaded unless `download` is set: a model that is neither a
local folder nor in the Hugging Face cache is a one-line UserError that says
how to get it. torch and transformers are imported only when a model loads.
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hmworld.caption.protocol import (
    Caption,
    Captioner,
    CaptionSettings,
    ClipInput,
    register_captioner,
)
from hmworld.errors import UserError

CAPTIONER_ID = "minicpm-v"
DEFAULT_MODEL = "openbmb/MiniCPM-V-4.6"
REMOTE_CODE_MODELS = (
    "openbmb/MiniCPM-V-2_6",
    "openbmb/MiniCPM-V-2_6-int4",
    "openbmb/MiniCPM-V-4",
    "openbmb/MiniCPM-V-4-int4",
    "openbmb/MiniCPM-V-4_5",
)

PROMPT = (
    "These are {n} frames taken in order from a {seconds:g}-second video clip. "
    "Write one paragraph in English that describes the video the way a video dataset caption does: "
    "the setting, what each person or animal looks like and what they do, and how the camera moves. "
    "If someone leaves the frame and later comes back into view, say so. "
    'Begin with "The video", write complete sentences, and do not use lists or headings.'
)


# ---------------------------------------------------------------------------- pure helpers


def build_prompt(template: str, n_frames: int, seconds: float) -> str:
    """The instruction for one clip: the template with its frame count and duration filled in."""
    return template.format(n=n_frames, seconds=round(float(seconds), 1))


def clip_prompt(clip: ClipInput, template: str) -> str:
    n = 0 if clip.frames is None else int(clip.frames.shape[0])
    return build_prompt(template, n, clip.shot.frames / clip.shot.fps)


def chat_messages(prompt: str, n_frames: int, as_video: bool) -> list[dict[str, Any]]:
    """One user turn for a processor's chat template: the frames (one video or N images), then the text."""
    visual = [{"type": "video"}] if as_video else [{"type": "image"} for _ in range(n_frames)]
    return [{"role": "user", "content": [*visual, {"type": "text", "text": prompt}]}]


_THINK = re.compile(r"<think>.*?(</think>|$)", flags=re.DOTALL)
_LABEL = re.compile(r"^\s*(assistant|caption)\s*:\s*", flags=re.IGNORECASE)


def clean_caption(text: str) -> str:
    """Model output → one paragraph: no reasoning block, no 'Caption:' label, single spaces."""
    text = _THINK.sub(" ", text)
    if "</think>" in text:  # a reply whose opening <think> was a prompt token
        text = text.split("</think>", 1)[1]
    text = _LABEL.sub("", text)
    return " ".join(text.split())


def remote_messages(frames: np.ndarray, prompt: str) -> list[dict[str, Any]]:
    """The `.chat` message list of the remote-code MiniCPM-V models: PIL frames, then the question."""
    return [{"role": "user", "content": [*(Image.fromarray(np.ascontiguousarray(f)) for f in frames), prompt]}]


def remote_chat_kwargs(chat: Any, max_new_tokens: int, processor: Any = None) -> dict[str, Any]:
    """Keyword arguments for `model.chat`: greedy, video-style frames (no image ids, one slice each).

    The remote-code releases name the sampling switch differently (`sampling` in
    2.6, `do_sample` later), so it is read off the method's signature; a
    processor loaded here is handed over so `.chat` does not fetch its own.
    """
    params = inspect.signature(chat).parameters
    switch = "do_sample" if "do_sample" in params else "sampling"
    kwargs = {switch: False, "max_new_tokens": max_new_tokens, "use_image_id": False, "max_slice_nums": 1}
    if processor is not None and "processor" in params:
        kwargs["processor"] = processor
    return kwargs


def parse_chat_output(out: Any, n: int) -> list[str]:
    """`.chat` answers → n cleaned texts (it returns a list when batched; some versions add a context)."""
    if isinstance(out, tuple):
        out = out[0]
    if isinstance(out, str):
        out = [out]
    texts = [clean_caption(str(t)) for t in out]
    if len(texts) != n:
        raise RuntimeError(f"the model answered {len(texts)} captions for {n} clips")
    return texts


def looks_like_path(model: str) -> bool:
    """Hub ids are 'org/name'; anything else with a separator is meant as a folder."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def missing_model_message(model: str) -> str:
    """One line: what is missing and the three ways to provide it."""
    home = os.environ.get("HF_HOME", str(Path("~/.cache/huggingface").expanduser()))
    return (
        f"model {model!r} is not available offline: it is neither a local folder nor in the Hugging Face cache "
        f"(HF_HOME={home}); download it with `hf download {model}` (it lands under HF_HOME), "
        "or pass --model /path/to/a/local/copy, or add --download to let hmworld fetch it"
    )


def read_model_config(model: str, download: bool = False) -> dict[str, Any]:
    """The model's config.json, from a local folder or the Hugging Face cache (fetched only if `download`)."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        path = folder / "config.json"
        if not path.is_file():
            raise UserError(f"model folder {str(folder)!r} has no config.json; point --model at a saved model folder")
    else:
        if looks_like_path(model) and not download:
            raise UserError(f"model folder {model!r} does not exist; pass a folder that holds a saved model, or a hub id")
        try:
            from huggingface_hub import hf_hub_download

            path = Path(hf_hub_download(model, "config.json", local_files_only=not download))
        except Exception as e:  # offline cache miss, bad id, no network: all mean "not here"
            if download:
                raise UserError(f"cannot fetch model {model!r} ({type(e).__name__}: {str(e).splitlines()[0]})") from None
            raise UserError(missing_model_message(model)) from None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable model config ({e})") from None


def model_family(config: dict[str, Any], native_types: Sequence[str]) -> str:
    """'native' when transformers knows the model type, 'remote' when the checkpoint brings its own code."""
    kind = config.get("model_type")
    if kind in native_types:
        return "native"
    if config.get("auto_map"):
        return "remote"
    raise UserError(
        f"model type {kind!r} is neither built into this transformers nor shipped with its own code; "
        "use a MiniCPM-V checkpoint, e.g. " + ", ".join((DEFAULT_MODEL, *REMOTE_CODE_MODELS[:1]))
    )


# ---------------------------------------------------------------------------- torch side


def _torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as e:
        raise UserError(f"the minicpm-v captioner needs torch and transformers ({e.name} is missing); "
                        "install them with: pip install 'hmworld[caption]'") from None
    return torch


def resolve_device(device: str) -> str:
    torch = _torch()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device {device!r} is not available: torch sees no CUDA GPU here; use --device cpu")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UserError(f"device {device!r} does not exist; this machine has {torch.cuda.device_count()} GPU(s)")
    if device == "mps" and not torch.backends.mps.is_available():
        raise UserError("device 'mps' is not available here; use --device cpu")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """'auto': bfloat16 on GPUs that have it, float16 on other GPUs, float32 on CPU."""
    torch = _torch()
    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32
    return getattr(torch, dtype)


def torchvision_works() -> bool:
    """Whether torchvision imports here (PyPI's CUDA wheels do not next to a CPU-only torch)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # ImportError, or RuntimeError from its C ops not matching this torch
        return False
    return True


def _native_types() -> tuple[str, ...]:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    return tuple(CONFIG_MAPPING_NAMES)


@dataclass(frozen=True)
class LoadedModel:
    source: str  # the model as the user named it (hub id or folder), recorded in caption.json
    device: str
    family: str


class _MiniCPMBase:
    """What both MiniCPM-V families share: settings, prompt, device and how weights are placed."""

    id = CAPTIONER_ID

    def __init__(self, settings: CaptionSettings) -> None:
        self.settings = settings
        self.wants_frames = settings.max_frames
        self.template = settings.prompt or PROMPT
        self.device = resolve_device(settings.device)
        self.local = not settings.download
        self._torch = _torch()

    def _model_kwargs(self, config: dict[str, Any], **extra: Any) -> tuple[dict[str, Any], bool]:
        kwargs: dict[str, Any] = {"dtype": resolve_dtype(self.settings.dtype, self.device),
                                  "local_files_only": self.local, **extra}
        quantized = bool(config.get("quantization_config"))
        if quantized:  # bitsandbytes & co. place the weights themselves and refuse .to()
            kwargs["device_map"] = self.device
        return kwargs, quantized

    def _place(self, model: Any, quantized: bool) -> Any:
        return (model if quantized else model.to(self.device)).eval()

    @staticmethod
    def _require_frames(clips: Sequence[ClipInput]) -> None:
        if any(c.frames is None for c in clips):
            raise ValueError("the minicpm-v captioner needs frames for every clip")


class NativeMiniCPMV(_MiniCPMBase):
    """A transformers-native image-text-to-text model: processor → generate → decode, batched."""

    def __init__(self, settings: CaptionSettings, source: str, config: dict[str, Any], name: str = "") -> None:
        super().__init__(settings)
        from transformers import AutoModelForImageTextToText, AutoProcessor

        local = self.local
        try:
            if config.get("model_type") == "minicpmv4_6" and not torchvision_works():
                from hmworld.caption import (
                    minicpm_images,  # its video processor needs torchvision: image path
                )

                self.processor = minicpm_images.load(source, local_files_only=local)
            else:
                self.processor = AutoProcessor.from_pretrained(source, local_files_only=local)
        except ImportError as e:
            if "torchvision" in str(e).lower():
                raise UserError(f"model {name or source!r} needs torchvision for its video processor; install the "
                                "torchvision build that matches your torch (pip install torchvision)") from None
            raise UserError(f"model {name or source!r} cannot load its processor: {' '.join(str(e).split())}") from None
        kwargs, quantized = self._model_kwargs(config)
        try:
            model = AutoModelForImageTextToText.from_pretrained(source, **kwargs)
        except ValueError as e:
            raise UserError(f"model {source!r} is not an image-text-to-text model transformers can load "
                            f"({str(e).splitlines()[0]})") from None
        self.model = self._place(model, quantized)
        self.loaded = LoadedModel(name or source, self.device, "native")
        self.as_video = getattr(self.processor, "video_processor", None) is not None

    def inputs(self, clips: Sequence[ClipInput]) -> tuple[Any, list[str]]:
        """Processor tensors for a batch (left-padded for generation) and each clip's prompt."""
        prompts = [clip_prompt(c, self.template) for c in clips]
        texts = [
            self.processor.apply_chat_template(
                chat_messages(p, c.frames.shape[0], self.as_video), add_generation_prompt=True, tokenize=False
            )
            for p, c in zip(prompts, clips, strict=True)
        ]
        visual: dict[str, Any]
        if self.as_video:
            visual = {"videos": [c.frames for c in clips], "do_sample_frames": False}
        else:
            visual = {"images": [list(c.frames) for c in clips]}
        batch = self.processor(text=texts, padding=True, padding_side="left", return_tensors="pt", **visual)
        return batch.to(self.loaded.device), prompts

    def caption_batch(self, clips: Sequence[ClipInput]) -> list[Caption]:
        self._require_frames(clips)
        batch, prompts = self.inputs(clips)
        dtype = self.model.dtype
        for key, value in batch.items():  # pixels follow the model's dtype; ids and sizes stay integers
            if self._torch.is_floating_point(value):
                batch[key] = value.to(dtype)
        with self._torch.inference_mode():
            out = self.model.generate(**batch, max_new_tokens=self.settings.max_new_tokens, do_sample=False)
        new = out[:, batch["input_ids"].shape[1] :]
        texts = [clean_caption(t) for t in self.processor.batch_decode(new, skip_special_tokens=True)]
        return [Caption(t, CAPTIONER_ID, p, self.loaded.source) for t, p in zip(texts, prompts, strict=True)]


class RemoteCodeMiniCPMV(_MiniCPMBase):
    """MiniCPM-V 2.6 / 4.0 / 4.5 (and int4): their own code, their `.chat` API, a batch per call."""

    def __init__(self, settings: CaptionSettings, source: str, config: dict[str, Any], name: str = "") -> None:
        super().__init__(settings)
        from transformers import AutoModel, AutoProcessor, AutoTokenizer

        local = self.local
        kwargs, quantized = self._model_kwargs(config, trust_remote_code=True, attn_implementation="sdpa")
        self.tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=True, local_files_only=local)
        model = AutoModel.from_pretrained(source, **kwargs)
        self.model = self._place(model, quantized)
        self.processor = None
        if "processor" in inspect.signature(self.model.chat).parameters:  # 2.6 and later take one
            self.processor = AutoProcessor.from_pretrained(source, trust_remote_code=True, local_files_only=local)
        self.loaded = LoadedModel(name or source, self.device, "remote")

    def caption_batch(self, clips: Sequence[ClipInput]) -> list[Caption]:
        self._require_frames(clips)
        prompts = [clip_prompt(c, self.template) for c in clips]
        msgs = [remote_messages(c.frames, p) for c, p in zip(clips, prompts, strict=True)]
        kwargs = remote_chat_kwargs(self.model.chat, self.settings.max_new_tokens, self.processor)
        with self._torch.inference_mode():
            out = self.model.chat(image=None, msgs=msgs, tokenizer=self.tokenizer, **kwargs)
        texts = parse_chat_output(out, len(clips))
        return [Caption(t, CAPTIONER_ID, p, self.loaded.source) for t, p in zip(texts, prompts, strict=True)]


@register_captioner(CAPTIONER_ID)
def make_minicpm(settings: CaptionSettings) -> Captioner:
    """Pick the family from the model's config.json, then load it (the only place weights are read)."""
    model = settings.model or DEFAULT_MODEL
    _torch()
    config = read_model_config(model, settings.download)
    folder = Path(model).expanduser()
    source = str(folder) if folder.is_dir() else model
    family = model_family(config, _native_types())
    loader = NativeMiniCPMV if family == "native" else RemoteCodeMiniCPMV
    return loader(settings, source, config, name=model)  # caption.json records the model as the user named it
