"""`hmworld encode` + `hmworld train --cache` end to end through the CLI on a builtin-rendered dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hmworld.hydra.cache import CacheDataset, prepare_cached
from hmworld.hydra.config import model_config

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")


def hm(*args: object) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "hmworld", *map(str, args)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"hmworld {' '.join(map(str, args))} → {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def builtin_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("builtin")
    hm("plan", "--out", root / "plan.parquet", "--scenes", "park", "--clips", "2", "--seed", "3", "--frames", "24",
       "--resolution", "64x48")  # fmt: skip
    hm("render", "--plan", root / "plan.parquet", "--out", root, "--workers", "1")
    hm("caption", root)
    hm("package", root, "--test-scenes", "none", "--test-subjects", "none", "--test-fraction", "0")
    return root


@pytest.fixture(scope="module")
def tiny_umt5(tmp_path_factory) -> Path:
    words = ["<pad>", "<unk>", "a", "person", "dog", "walks", "in", "the", "park", "runs"]
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    folder = tmp_path_factory.mktemp("umt5")
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>").save_pretrained(folder)
    torch.manual_seed(0)
    cfg = transformers.UMT5Config(vocab_size=len(words), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    transformers.UMT5EncoderModel(cfg).save_pretrained(folder)
    return folder


def test_encode_then_train_from_the_cache_only(builtin_dataset, tiny_wan_vae, tiny_umt5, tmp_path):
    cache = tmp_path / "cache"
    args = ["encode", "--data", builtin_dataset, "--vae", tiny_wan_vae, "--text-encoder", tiny_umt5, "--out", cache,
            "--config", "tiny", "--frames", "10", "--size", "32x32", "--shard-clips", "1", "--text-len", "8",
            "--device", "cpu"]  # fmt: skip
    r = hm(*args)
    assert "2 train clip(s) cached" in r.stdout
    index = json.loads((cache / "index.json").read_text())
    shards = index["splits"]["train"]
    assert [s["first"] for s in shards] == [0, 1] and all((cache / s["file"]).is_file() for s in shards)
    ds = CacheDataset(cache)
    item = ds[0]
    assert item["cached_ctx"].shape == (16, 2, 4, 4) and item["cached_cam_tgt"].shape == (2, 12)
    assert item["cached_text"].shape == (8, 16) and ds.negative()[0].shape == (8, 16)
    assert item["caption"] == shards[0]["clips"][0]["caption"] != ""

    # resumable: a lost shard is encoded again, a finished one is left alone
    first = cache / shards[0]["file"]
    stamp = first.stat().st_mtime_ns
    (cache / shards[1]["file"]).unlink()
    index["splits"]["train"] = shards[:1]
    (cache / "index.json").write_text(json.dumps(index))
    again = hm(*args)
    assert "encoded clips 1–1" in again.stdout and "encoded clips 0–0" not in again.stdout
    assert first.stat().st_mtime_ns == stamp and len(CacheDataset(cache)) == 2
    # other settings are refused, one line, exit 2
    bad = subprocess.run([sys.executable, "-m", "hmworld", *map(str, args[:-6]), "--frames", "12", "--device", "cpu"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "other settings" in bad.stderr

    run = tmp_path / "run"
    r = hm("train", "--cache", cache, "--out", run, "--config", "tiny", "--steps", "2", "--batch-size", "2",
           "--log-every", "1", "--device", "cpu")  # fmt: skip
    assert "step       2" in r.stdout
    cfg = json.loads((run / "run.json").read_text())["model"]
    assert (cfg["text"], cfg["text_dim"], cfg["latent"], cfg["frames"]) == ("cache", 16, "wan-vae", 10)
    # the run generates from the dataset, embedding captions with the encoder the cache used (CFG on)
    hm("evaluate", "--run", run, "--data", builtin_dataset, "--split", "train", "--steps", "2", "--max-clips", "1",
       "--text-encoder", tiny_umt5, "--device", "cpu", "--out", tmp_path / "eval")  # fmt: skip
    row = json.loads((tmp_path / "eval" / "eval.json").read_text())["rows"][0]
    assert row["clips"] == 1 and 0 < row["psnr"] < 100


def test_a_cached_batch_carries_text_and_the_negative_prompt(builtin_dataset, tiny_wan_vae, tiny_umt5, tmp_path):
    from hmworld.hydra.cache import EncodeOptions, encode

    cfg = model_config("tiny", latent="wan-vae", vae_path=str(tiny_wan_vae), frames=10, frame_size=(32, 32))
    encode(builtin_dataset, cfg, EncodeOptions(out=tmp_path / "c", text_encoder=tiny_umt5, text_len=8), log=None)
    ds = CacheDataset(tmp_path / "c")
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    prep = prepare_cached(batch, cfg.replace(text="cache", text_dim=16), torch.device("cpu"), ds.negative())
    assert prep.text[0].shape == (2, 8, 16) and prep.negative_text[0].shape == (2, 8, 16)
    assert prep.ctx.shape == (2, 16, 2, 4, 4) and prep.n_target == 5 and prep.target_length == 5
