"""The minicpm-v captioner: the real transformers path on tiny random models, offline.

The native path (AutoProcessor → generate → batch_decode) runs end to end on a
tiny random LLaVA built here, whose processor works without torchvision, and on
a tiny random MiniCPM-V 4.6 where torchvision is importable (its video
processor needs it). The remote-code family (MiniCPM-V 2.6 & co.) cannot load
without its own downloaded code: its message building, `.chat` arguments and
output parsing are tested; only the `.chat` call itself is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from caption_support import (
    SPECIALS,
    WORDS,
    build_tiny_llava,
    build_tiny_minicpmv46,
    make_dataset,
    shots,
    write_clip_folder,
)

from hmworld import plan
from hmworld.caption import CaptionSettings, caption_dataset, get_captioner
from hmworld.caption.minicpm import (
    DEFAULT_MODEL,
    PROMPT,
    build_prompt,
    chat_messages,
    clean_caption,
    model_family,
    parse_chat_output,
    read_model_config,
    remote_chat_kwargs,
    remote_messages,
    torchvision_works,
)
from hmworld.caption.runner import load_clip_input
from hmworld.clip import CAPTION_JSON, read_clip
from hmworld.errors import UserError

pytest.importorskip("transformers")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_llava(tmp_path_factory) -> Path:
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Three 12-frame clips and one 2-frame clip (fewer frames than asked, so prompts differ in length)."""
    root = tmp_path_factory.mktemp("ds")
    make_dataset(root, 3)
    short = shots(1, seed=5, settings=plan.PlanSettings(frames=2, fps=6, width=64, height=48))[0]
    write_clip_folder(root, short)
    return root


def settings(model: Path | str, **kw) -> CaptionSettings:
    return CaptionSettings(model=str(model), device="cpu", max_frames=3, max_new_tokens=8, **kw)


def read_all_captions(root: Path) -> dict[str, dict]:
    return {d.name: json.loads((d / CAPTION_JSON).read_text()) for d in (root / "clips").iterdir()}


# ---------------------------------------------------------------------------- pure parts


def test_prompt_asks_for_the_hm_world_style():
    p = build_prompt(PROMPT, 16, 10.0)
    assert p.startswith("These are 16 frames taken in order from a 10-second video clip.")
    for part in ("setting", "person or animal", "camera moves", "leaves the frame", '"The video"'):
        assert part in p


def test_chat_messages_put_frames_before_the_text():
    video = chat_messages("describe", 5, as_video=True)
    assert video == [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "describe"}]}]
    images = chat_messages("describe", 3, as_video=False)[0]["content"]
    assert [c["type"] for c in images] == ["image", "image", "image", "text"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  The video shows\n a dog.  ", "The video shows a dog."),
        ("<think>look at frame 3\nthen 4</think>\nThe video shows a dog.", "The video shows a dog."),
        ("reasoning first</think> The video shows a cat.", "The video shows a cat."),
        ("Caption: The video opens on a beach.", "The video opens on a beach."),
        ("<think>never closed", ""),
    ],
)
def test_clean_caption(raw, clean):
    assert clean_caption(raw) == clean


def test_remote_code_messages_and_arguments():
    frames = np.random.default_rng(0).integers(0, 255, (4, 24, 32, 3), dtype=np.uint8)
    msgs = remote_messages(frames, "describe")
    content = msgs[0]["content"]
    assert msgs[0]["role"] == "user" and len(content) == 5 and content[-1] == "describe"
    assert [im.size for im in content[:-1]] == [(32, 24)] * 4
    assert np.array_equal(np.asarray(content[2]), frames[2])

    def chat_2_6(image, msgs, tokenizer, processor=None, max_new_tokens=2048, sampling=True, max_slice_nums=None,
                 use_image_id=None, **kwargs): ...

    def chat_4_5(image=None, msgs=None, max_new_tokens=4096, do_sample=True, sampling=None, max_slice_nums=None,
                 use_image_id=None, **kwargs): ...

    assert remote_chat_kwargs(chat_2_6, 99) == {"sampling": False, "max_new_tokens": 99, "use_image_id": False,
                                                "max_slice_nums": 1}
    assert remote_chat_kwargs(chat_4_5, 7)["do_sample"] is False and "sampling" not in remote_chat_kwargs(chat_4_5, 7)
    processor = object()
    assert remote_chat_kwargs(chat_2_6, 5, processor)["processor"] is processor  # no second load inside .chat
    assert "processor" not in remote_chat_kwargs(chat_4_5, 5, processor)  # a .chat that takes none gets none


def test_remote_code_output_parsing():
    assert parse_chat_output(["  The video a.", "<think>x</think>The video b."], 2) == ["The video a.", "The video b."]
    assert parse_chat_output("The video c.", 1) == ["The video c."]
    assert parse_chat_output((["The video d."], {"context": 1}), 1) == ["The video d."]
    with pytest.raises(RuntimeError, match="2 captions for 3 clips"):
        parse_chat_output(["a", "b"], 3)


def test_model_family_from_config():
    native = ("llava", "minicpmv4_6")
    assert model_family({"model_type": "minicpmv4_6"}, native) == "native"
    remote = {"model_type": "minicpmv", "auto_map": {"AutoModel": "modeling_minicpmv.MiniCPMV"}}
    assert model_family(remote, native) == "remote"
    with pytest.raises(UserError, match="model type 'bert_like'"):
        model_family({"model_type": "bert_like"}, native)


def test_missing_models_are_one_line_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(UserError) as e:
        read_model_config("hmworld-test/not-a-model")
    msg = str(e.value)
    assert "\n" not in msg and "'hmworld-test/not-a-model'" in msg and "HF_HOME" in msg
    assert "hf download hmworld-test/not-a-model" in msg
    assert "--model /path" in msg and "--download" in msg
    with pytest.raises(UserError, match="does not exist"):
        read_model_config(str(tmp_path / "no" / "such" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"has no config\.json"):
        read_model_config(str(tmp_path / "empty"))


# ---------------------------------------------------------------------------- real transformers, tiny models


def test_tiny_model_frames_in_text_out_written_to_the_dataset(dataset, tiny_llava):
    s = caption_dataset(dataset, "minicpm-v", settings(tiny_llava), batch_size=3, overwrite=True)
    assert (s.captioned, s.empty) == (4, 0)
    vocab = {*SPECIALS, *WORDS, "IMAGE", "VIDEO"}
    for cid, d in read_all_captions(dataset).items():
        assert d["captioner"] == "minicpm-v" and d["model"] == str(tiny_llava)
        assert d["caption"].strip() and set(d["caption"].split()) <= vocab, d["caption"]
        n = min(3, read_clip(dataset / "clips" / cid).shot.frames)
        assert d["prompt"] == build_prompt(PROMPT, n, 2.0 if n == 3 else 2 / 6)


def test_batched_generation_matches_one_clip_at_a_time(dataset, tiny_llava):
    cap = get_captioner("minicpm-v", settings(tiny_llava))
    clips = [load_clip_input(d, cap.wants_frames) for d in sorted((dataset / "clips").iterdir())]
    assert sorted(c.frames.shape[0] for c in clips) == [2, 3, 3, 3]
    batch, _ = cap.inputs(clips)
    assert batch["pixel_values"].shape[0] == 11  # every sampled frame of every clip goes in
    lengths = batch["attention_mask"].sum(dim=1)
    assert len(set(lengths.tolist())) == 2 and (batch["attention_mask"][:, -1] == 1).all()  # left-padded
    together = [c.caption for c in cap.caption_batch(clips)]
    alone = [cap.caption_batch([c])[0].caption for c in clips]
    assert together == alone
    assert len(set(together)) >= 2  # the 2-frame clip reads differently: the frames reach the model


def test_captions_are_reproducible(dataset, tiny_llava):
    cap = get_captioner("minicpm-v", settings(tiny_llava))
    clips = [load_clip_input(d, cap.wants_frames) for d in sorted((dataset / "clips").iterdir())[:2]]
    assert [c.caption for c in cap.caption_batch(clips)] == [c.caption for c in cap.caption_batch(clips)]


def test_tiny_minicpm_v46_captions_from_its_frames_without_torchvision(dataset, tmp_path):
    model = build_tiny_minicpmv46(tmp_path / "tiny-minicpm")
    cap = get_captioner("minicpm-v", settings(model))
    assert type(cap.model).__name__ == "MiniCPMV4_6ForConditionalGeneration"
    clips = [load_clip_input(d, cap.wants_frames) for d in sorted((dataset / "clips").iterdir())]
    batch, _ = cap.inputs(clips)
    frames = sum(c.frames.shape[0] for c in clips)
    if torchvision_works():  # the processor's video path
        assert cap.as_video and batch["target_sizes_videos"].shape[0] == frames
    else:  # the image path: every sampled frame becomes one image of the row
        assert not cap.as_video and type(cap.processor).__name__ == "MiniCPMV46ImageProcessorOnly"
        assert batch["target_sizes"].shape[0] == frames
        image_id = cap.processor.image_token_id
        assert all(int((ids == image_id).sum()) > 0 for ids in batch["input_ids"])
    s = caption_dataset(dataset, cap, batch_size=2, overwrite=True)
    assert s.captioned == 4
    caps = read_all_captions(dataset)
    assert all(d["model"] == str(model) and d["captioner"] == "minicpm-v" for d in caps.values())
    assert all(d["caption"].strip() for d in caps.values())


def hub_cache(home: Path, repo: str, build) -> None:
    """Lay out a model exactly as the Hugging Face cache stores a downloaded snapshot."""
    folder = home / "hub" / f"models--{repo.replace('/', '--')}"
    build(folder / "snapshots" / ("0" * 40))
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hmworld", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **env}, timeout=300)


def test_cli_with_a_hub_id_from_the_offline_cache(tmp_path):
    home = tmp_path / "hf"
    hub_cache(home, "hmworld-test/tiny-vlm", build_tiny_llava)
    make_dataset(tmp_path / "ds", 2)
    r = run_cli("caption", str(tmp_path / "ds"), "--captioner", "minicpm-v", "--model", "hmworld-test/tiny-vlm",
                "--device", "cpu", "--max-frames", "2", "--max-new-tokens", "4", "--batch-size", "2", "--no-progress",
                env={"HF_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    assert "captioned 2 of 2 clip(s) with minicpm-v" in r.stdout
    got = read_all_captions(tmp_path / "ds")
    assert {d["model"] for d in got.values()} == {"hmworld-test/tiny-vlm"}
    assert all(d["prompt"].startswith("These are 2 frames") for d in got.values())


def test_cli_missing_model_says_how_to_get_it(tmp_path):
    make_dataset(tmp_path / "ds", 1, video=False)
    r = run_cli("caption", str(tmp_path / "ds"), "--captioner", "minicpm-v",
                env={"HF_HOME": str(tmp_path / "empty-hf"), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2
    err = r.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err
    assert err.startswith(f"error: model '{DEFAULT_MODEL}' is not available offline")
    assert str(tmp_path / "empty-hf") in err and "--model" in err
    assert not list((tmp_path / "ds").rglob(CAPTION_JSON))


def test_half_precision_weights_take_float_pixels(dataset, tiny_llava):
    cap = get_captioner("minicpm-v", settings(tiny_llava, dtype="bfloat16"))
    assert str(cap.model.dtype) == "torch.bfloat16"
    clips = [load_clip_input(d, cap.wants_frames) for d in sorted((dataset / "clips").iterdir())[:2]]
    assert all(c.caption.strip() for c in cap.caption_batch(clips))


def test_device_and_dtype_resolution():
    import torch

    from hmworld.caption.minicpm import resolve_device, resolve_dtype

    assert resolve_dtype("auto", "cpu") == torch.float32 and resolve_dtype("float16", "cpu") == torch.float16
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto") in ("cpu", "mps")
        with pytest.raises(UserError, match="torch sees no CUDA GPU"):
            resolve_device("cuda:1")
