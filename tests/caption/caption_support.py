"""Clip folders and tiny, randomly initialised vision-language models for the caption tests.

Everything is built here, offline: plan rows materialised into shots, real
H.264 videos, events.json files, and transformers models made from a config
with a word-level tokenizer built from scratch (no hub, no downloads).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hmworld import plan
from hmworld.clip import Measured, clip_dir, write_clip_json
from hmworld.events import ClipEvents, Event, EventParams, Pair, write_events
from hmworld.shot import Shot
from hmworld.video import write_video

SMALL = plan.PlanSettings(frames=12, fps=6, width=64, height=48)

# the tiny models' whole vocabulary: specials, chat-template words, and caption words
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>", "<image>", "<|image_pad|>", "<|video_pad|>", "<img>", "</img>",
            "<slice>", "</slice>", "<image_id>", "</image_id>", "<|im_start|>", "<|im_end|>"]
WORDS = ("user assistant the a video shows camera pans left right man woman dog horse walks runs trots park "
         "street beach back into view and then leaves frame slowly towards away from turns").split()
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} "
    "{% if m['content'] is string %}{{ m['content'] }} {% else %}{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}IMAGE {% elif c['type'] == 'video' %}VIDEO {% else %}{{ c['text'] }} {% endif %}"
    "{% endfor %}{% endif %}<|im_end|> {% endfor %}{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def shots(n: int, seed: int = 0, settings: plan.PlanSettings = SMALL, **kw) -> list[Shot]:
    table = plan.make_plan(clips=n, seed=seed, settings=settings, **kw)
    return [plan.materialise(row) for row in plan.plan_rows(table)]


def frames_for(shot: Shot) -> np.ndarray:
    """A video whose frames differ (a bright bar sweeping across a gradient), uint8 [T,H,W,3]."""
    t, h, w = shot.frames, shot.height, shot.width
    img = np.zeros((t, h, w, 3), np.uint8)
    img[..., 0] = np.linspace(0, 200, w, dtype=np.uint8)[None, None, :]
    img[..., 2] = np.linspace(0, 150, h, dtype=np.uint8)[None, :, None]
    cols = (np.arange(t) * w // t)[:, None] + np.arange(6)[None, :]
    img[np.arange(t)[:, None], :, np.clip(cols, 0, w - 1), 1] = 255
    return img


def write_clip_folder(root: Path, shot: Shot, video: bool = True) -> Path:
    """A complete clip folder (video first, clip.json last), as a render backend leaves it."""
    d = clip_dir(root, shot.clip_id)
    d.mkdir(parents=True, exist_ok=True)
    if video:
        write_video(d / "rgb.mp4", frames_for(shot), shot.fps)
    n, t = shot.n_subjects, shot.frames
    write_clip_json(d, shot, Measured(np.full((n, t), 50), np.full((n, t), 50)), {"name": "test"}, {})
    return d


def make_dataset(root: Path, n: int = 5, seed: int = 0, video: bool = True) -> list[Shot]:
    out = shots(n, seed)
    for s in out:
        write_clip_folder(root, s, video)
    return out


def exit_entry_events(shot: Shot, subject: int, exit_frame: int, entry_frame: int) -> ClipEvents:
    """events.json content where `subject` leaves at exit_frame and is back at entry_frame; others stay."""
    states = np.full((shot.n_subjects, shot.frames), 2, np.int8)
    states[subject, exit_frame:entry_frame] = 0
    fps = shot.fps
    events = (Event(subject, "exit", exit_frame, exit_frame / fps), Event(subject, "entry", entry_frame, entry_frame / fps))
    pair = Pair(subject, exit_frame, entry_frame, entry_frame - exit_frame)
    return ClipEvents(shot.clip_id, states, events, (pair,), True, EventParams(), fps, shot.scene, shot.camera)


def write_exit_entry(root: Path, shot: Shot, subject: int, exit_frame: int, entry_frame: int) -> None:
    write_events(clip_dir(root, shot.clip_id), exit_entry_events(shot, subject, exit_frame, entry_frame))


# ---------------------------------------------------------------------------- tiny models


def tiny_tokenizer(specials: dict[str, str]):
    """A word-level tokenizer over SPECIALS + WORDS, with the chat template and model-specific tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate([*SPECIALS, *WORDS, "IMAGE", "VIDEO"])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    template = CHAT_TEMPLATE.replace("IMAGE", specials["image_token"]).replace("VIDEO", specials.get("video_token", "VIDEO"))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        extra_special_tokens=specials, chat_template=template,
    ), template


def build_tiny_llava(out: Path) -> Path:
    """A random LLaVA (CLIP vision tower + Llama) whose processor needs no torchvision: images only."""
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tok, template = tiny_tokenizer({"image_token": "<image>"})
    images = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=8, vision_feature_select_strategy="default",
                               num_additional_image_tokens=1, chat_template=template)
    config = LlavaConfig(
        vision_config={"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                       "num_attention_heads": 4, "image_size": 32, "patch_size": 8, "projection_dim": 32},
        text_config={"model_type": "llama", "vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "max_position_embeddings": 1024, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3},
        image_token_index=tok.convert_tokens_to_ids("<image>"), image_seq_length=16, vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).eval().save_pretrained(out)
    processor.save_pretrained(out)
    return out


MINICPM_SPECIALS = {
    "image_token": "<|image_pad|>", "video_token": "<|video_pad|>", "image_start_token": "<img>",
    "image_end_token": "</img>", "slice_start_token": "<slice>", "slice_end_token": "</slice>",
    "image_id_start_token": "<image_id>", "image_id_end_token": "</image_id>",
}


def build_tiny_minicpmv46(out: Path) -> Path:
    """A random MiniCPM-V 4.6 laid out as the released checkpoint (real transformers config/model classes).

    The processor's parts are saved one by one (tokenizer + chat template,
    preprocessor_config.json, video_preprocessor_config.json, processor_config.json):
    assembling `MiniCPMV4_6Processor` itself needs torchvision, which this
    CPU-only install does not have.
    """
    import json

    import torch
    from transformers import MiniCPMV4_6Config, MiniCPMV4_6ForConditionalGeneration
    from transformers.models.minicpmv4_6.image_processing_pil_minicpmv4_6 import (
        MiniCPMV4_6ImageProcessorPil,
    )
    from transformers.models.minicpmv4_6.video_processing_minicpmv4_6 import (
        MiniCPMV4_6VideoProcessor,
    )

    tok, template = tiny_tokenizer(MINICPM_SPECIALS)
    sizes = {"scale_resolution": 56, "max_slice_nums": 1, "patch_size": 14}
    text = {"model_type": "qwen3_5_text", "vocab_size": len(tok), "hidden_size": 64, "head_dim": 16,
            "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "max_position_embeddings": 1024, "rope_parameters": {"type": "default", "rope_theta": 10000,
                                                                 "mrope_section": [2, 1, 1]},
            "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 3,
            "layer_types": ["full_attention", "linear_attention"], "linear_conv_kernel_dim": 2,
            "linear_key_head_dim": 16, "linear_value_head_dim": 16, "linear_num_key_heads": 2,
            "linear_num_value_heads": 4}
    vision = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
              "image_size": 56, "patch_size": 14}
    config = MiniCPMV4_6Config(text_config=text, vision_config=vision, image_size=56, insert_layer_id=0,
                               image_token_id=tok.convert_tokens_to_ids("<|image_pad|>"),
                               video_token_id=tok.convert_tokens_to_ids("<|video_pad|>"))
    torch.manual_seed(0)
    MiniCPMV4_6ForConditionalGeneration(config).eval().save_pretrained(out)
    tok.chat_template = template
    tok.save_pretrained(out)
    MiniCPMV4_6ImageProcessorPil(**sizes).save_pretrained(out)
    MiniCPMV4_6VideoProcessor(**sizes).save_pretrained(out)
    (out / "processor_config.json").write_text(json.dumps({"processor_class": "MiniCPMV4_6Processor"}))
    return out
