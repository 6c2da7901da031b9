"""Precomputed training inputs: VAE latents, cameras and text embeddings, encoded once.

`hmworld encode` runs the Wan VAE (and optionally a umT5 text encoder) over a
dataset split once; `hmworld train --cache CACHE` then reads only this
folder, so a GPU run never decodes video or runs the VAE or the text encoder.

    CACHE/index.json                 settings + the finished shards and their clips
    CACHE/shards/<split>-NNNNN.safetensors
        "<j>.ctx" [C,Fc,h,w]  "<j>.tgt" [C,Ft,h,w]  clean latents of clip j of the shard
        "<j>.cam_ctx" [Fc,12] "<j>.cam_tgt" [Ft,12]  HyDRA's relative cameras per latent frame
        "<j>.K" [3,3]         intrinsics in units of the image size
        "<j>.text" [L,E] "<j>.text_mask" [L]   with a text encoder (zero-padded, Wan's convention)
    CACHE/negative.safetensors       the negative prompt's "text" and "text_mask" (CFG)

Resumable: shards are written atomically, the index after each shard; a
re-run skips finished shards. A cache refuses settings other than its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torch.utils.data._utils.collate import default_collate

from hmworld.atomic import atomic_path, write_json
from hmworld.dataset.tables import check_split
from hmworld.errors import UserError
from hmworld.hydra import data as hydra_data
from hmworld.hydra.config import ModelConfig
from hmworld.hydra.latent import make_codec
from hmworld.hydra.pipeline import Prepared, fov_selection, prepare_batch
from hmworld.hydra.text import TransformersTextEncoder
from hmworld.options import check_path

CACHE_FORMAT = 1
INDEX = "index.json"
NEGATIVE = "negative.safetensors"


@dataclass(frozen=True)
class EncodeOptions:
    out: Path
    split: str = "train"
    text_encoder: Path | None = None  # local transformers encoder folder (umT5 for Wan)
    text_len: int = 512  # Wan's text length
    shard_clips: int = 16
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.shard_clips < 1 or self.text_len < 1:
            raise UserError(f"--shard-clips and --text-len must be at least 1, got {self.shard_clips} and {self.text_len}")


def is_cache(path: str | Path) -> bool:
    return (Path(path) / INDEX).is_file()


def read_index(root: str | Path) -> dict[str, Any]:
    path = Path(root) / INDEX
    if not path.is_file():
        raise UserError(f"--cache {str(root)!r} is not a cache (no {INDEX}); make one with `hmworld encode`")
    index = json.loads(path.read_text())
    if index.get("format") != CACHE_FORMAT:
        raise UserError(f"cache {str(root)!r} has format {index.get('format')!r}; this version reads {CACHE_FORMAT}")
    return index


def cache_overrides(root: str | Path) -> dict[str, Any]:
    """The model-config fields a cache fixes: latent, VAE, frames, frame size and text."""
    s = read_index(root)["settings"]
    text = {"text": "cache", "text_dim": s["text_dim"], "text_len": s["text_len"]} if s["text_encoder"] else {}
    return {"latent": "wan-vae", "vae_path": s["vae"], "frames": s["frames"], "frame_size": tuple(s["frame_size"]), **text}


def _settings(cfg: ModelConfig, opts: EncodeOptions, text_dim: int | None) -> dict[str, Any]:
    return {
        "vae": str(cfg.vae_path), "frames": cfg.frames, "frame_size": list(cfg.frame_size),
        "text_encoder": str(opts.text_encoder) if opts.text_encoder else None,
        "text_len": opts.text_len if opts.text_encoder else None, "text_dim": text_dim,
        "negative_prompt": cfg.negative_prompt if opts.text_encoder else None,
    }  # fmt: skip


def _save(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp))


def encode(data: Any, cfg: ModelConfig, opts: EncodeOptions, log: Callable[[str], None] | None = print) -> dict[str, Any]:
    """Encode split `opts.split` of `data` into the cache at opts.out; returns the index."""
    say = log or (lambda _msg: None)
    if cfg.latent != "wan-vae":
        raise UserError("encode needs --vae DIR (a local diffusers AutoencoderKLWan folder)")
    device = torch.device(opts.device)
    dataset = hydra_data.open_dataset(data, opts.split, cfg, masks=False)
    root = Path(opts.out)
    index = read_index(root) if is_cache(root) else None
    wanted = _settings(cfg, opts, None)
    if index is not None:  # checked before any model loads: a mistake costs nothing
        diff = [f"{k}: {index['settings'].get(k)!r} there, {v!r} now" for k, v in wanted.items()
                if k != "text_dim" and index["settings"].get(k) != v]  # fmt: skip
        if diff:
            raise UserError(f"cache {str(root)!r} was made with other settings ({'; '.join(diff)}); use a new --out")
    text = TransformersTextEncoder(opts.text_encoder, opts.text_len).to(device) if opts.text_encoder else None
    if index is None:
        index = {"format": CACHE_FORMAT, "settings": _settings(cfg, opts, text.dim if text else None), "splits": {}}
    codec = make_codec(cfg, device)
    if text is not None and not (root / NEGATIVE).is_file():
        emb, mask = text([cfg.negative_prompt])
        _save(root / NEGATIVE, {"text": emb[0], "text_mask": mask[0]})
    shards = index["splits"].setdefault(opts.split, [])
    done = {s["first"] for s in shards}
    n = len(dataset)
    for first in range(0, n, opts.shard_clips):
        if first in done:
            continue
        tensors: dict[str, torch.Tensor] = {}
        clips = []
        for j, i in enumerate(range(first, min(first + opts.shard_clips, n))):  # one clip at a time: the VAE's memory
            sample = dataset[i]
            prep = prepare_batch(default_collate([sample]), codec, cfg, device)
            tensors.update({f"{j}.ctx": prep.ctx[0], f"{j}.tgt": prep.tgt[0], f"{j}.cam_ctx": prep.cam_ctx[0],
                            f"{j}.cam_tgt": prep.cam_tgt[0], f"{j}.K": _k_norm(sample, cfg)})  # fmt: skip
            if text is not None:
                emb, mask = text([prep.captions[0]])
                tensors[f"{j}.text"], tensors[f"{j}.text_mask"] = emb[0], mask[0]
            clips.append({"clip_id": str(sample.get("clip_id", i)), "caption": prep.captions[0],
                          "n_target": prep.n_target, "target_length": prep.target_length})  # fmt: skip
        name = f"shards/{opts.split}-{first // opts.shard_clips:05d}.safetensors"
        _save(root / name, tensors)
        shards.append({"file": name, "first": first, "clips": clips})
        shards.sort(key=lambda s: s["first"])
        write_json(root / INDEX, index)
        say(f"encoded clips {first}–{first + len(clips) - 1} of {n} → {name}")
    write_json(root / INDEX, index)
    return index


def _k_norm(sample: dict[str, Any], cfg: ModelConfig) -> torch.Tensor:
    H, W = cfg.frame_size
    return sample["K"].float() * torch.tensor([[1.0 / W], [1.0 / H], [1.0]])


class CacheDataset(Dataset):
    """One split of a cache; item i is a dict of the stored tensors plus caption, n_target and target_length."""

    def __init__(self, root: str | Path, split: str = "train") -> None:
        """A split other than train or test (it would silently be empty) is a one-line UserError."""
        self.root = check_path("root", root)
        check_split(split)
        index = read_index(root)
        self.settings = index["settings"]
        self.items = [(s["file"], j, c) for s in index["splits"].get(split, []) for j, c in enumerate(s["clips"])]
        self._open: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from safetensors import safe_open

        file, j, clip = self.items[i]
        if file not in self._open:
            self._open[file] = safe_open(str(self.root / file), framework="pt")
        f = self._open[file]
        names = ("ctx", "tgt", "cam_ctx", "cam_tgt", "K") + (("text", "text_mask") if self.settings["text_encoder"] else ())
        out: dict[str, Any] = {f"cached_{k}": f.get_tensor(f"{j}.{k}") for k in names}
        out.update(caption=clip["caption"], clip_id=clip["clip_id"], n_target=clip["n_target"], target_length=clip["target_length"])
        return out

    def negative(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The negative prompt's embedding [L,E] and mask [L], or None without text."""
        if not self.settings["text_encoder"]:
            return None
        from safetensors.torch import load_file

        t = load_file(str(self.root / NEGATIVE))
        return t["text"], t["text_mask"]


def prepare_cached(batch: dict[str, Any], cfg: ModelConfig, device: torch.device,
                   negative: tuple[torch.Tensor, torch.Tensor] | None = None) -> Prepared:  # fmt: skip
    """A collated CacheDataset batch → model inputs (no VAE, no text encoder)."""
    ctx, tgt = batch["cached_ctx"].to(device), batch["cached_tgt"].to(device)
    cam_ctx, cam_tgt = batch["cached_cam_ctx"].to(device), batch["cached_cam_tgt"].to(device)
    keep, fov_frames = fov_selection(cfg, cam_ctx, cam_tgt, batch["cached_K"].to(device))
    B = ctx.shape[0]
    text = neg = None
    if "cached_text" in batch:
        text = (batch["cached_text"].to(device), batch["cached_text_mask"].to(device).bool())
        if negative is not None:
            neg = (negative[0].to(device).expand(B, *negative[0].shape), negative[1].to(device).bool().expand(B, -1))
    n_target, length = int(batch["n_target"][0]), int(batch["target_length"][0])
    return Prepared(ctx, tgt, cam_ctx, cam_tgt, keep, list(batch["caption"]), n_target, length, fov_frames, text, neg)
