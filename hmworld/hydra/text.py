"""Caption encoders for the optional text cross-attention; pluggable.

`hash`: words hashed into a learned embedding table (needs no weights, trains
with the model). A folder path: a frozen transformers text encoder (T5, CLIP
text, BERT…) loaded from that local folder with its tokenizer; its weights
are kept out of the module tree so checkpoints hold only our weights.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import torch
from torch import nn

from hmworld.errors import UserError

_WORD = re.compile(r"[a-z0-9]+")


class HashTextEncoder(nn.Module):
    """Bag of hashed words → embeddings [B,L,dim] and a mask [B,L] of real words."""

    def __init__(self, dim: int, max_len: int, buckets: int = 4096) -> None:
        super().__init__()
        self.dim = dim
        self.max_len = max_len
        self.buckets = buckets
        self.table = nn.Embedding(buckets + 1, dim, padding_idx=0)
        nn.init.normal_(self.table.weight, std=0.02)

    def token_ids(self, captions: list[str]) -> torch.Tensor:
        ids = torch.zeros(len(captions), self.max_len, dtype=torch.long)
        for i, text in enumerate(captions):  # per caption: tokenising strings is not tensor work
            words = _WORD.findall(text.lower())[: self.max_len]
            ids[i, : len(words)] = torch.tensor([1 + zlib.crc32(w.encode()) % self.buckets for w in words], dtype=torch.long)
        return ids

    def forward(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = self.token_ids(captions).to(self.table.weight.device)
        return self.table(ids), ids > 0


class TransformersTextEncoder(nn.Module):
    """A frozen local transformers encoder; last hidden states [B,L,hidden] and the attention mask."""

    def __init__(self, path: str | Path, max_len: int) -> None:
        super().__init__()
        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise UserError(f"text encoder {str(path)!r} is not a local transformers folder (no config.json)")
        import transformers
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        arch = (getattr(AutoConfig.from_pretrained(folder, local_files_only=True), "architectures", None) or [""])[0]
        # an encoder-only checkpoint (umT5 / T5 as Wan uses them) loads as itself, without a decoder
        cls = getattr(transformers, arch, None) if arch.endswith("EncoderModel") else None
        backbone = (cls or AutoModel).from_pretrained(folder, local_files_only=True).eval().requires_grad_(False)
        if hasattr(backbone, "get_encoder") and getattr(backbone.config, "is_encoder_decoder", False):
            backbone = backbone.get_encoder()
        self.__dict__["backbone"] = backbone  # not a child module: never trained, never checkpointed
        self.max_len = max_len
        self.dim = int(getattr(backbone.config, "hidden_size", None) or backbone.config.d_model)
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)  # follows .to(device)

    def forward(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        device = self._anchor.device
        backbone = self.__dict__["backbone"]
        if next(backbone.parameters()).device != device:
            backbone.to(device)
        tok = self.tokenizer(
            captions, padding="max_length", truncation=True, max_length=self.max_len, return_tensors="pt"
        ).to(device)
        with torch.no_grad():
            out = backbone(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"])
        return out.last_hidden_state.float(), tok["attention_mask"].bool()


def make_text_encoder(spec: str, dim: int, max_len: int) -> nn.Module | None:
    """'none' → None; 'hash' → HashTextEncoder; anything else is a local transformers folder."""
    if spec == "none":
        return None
    if spec == "hash":
        return HashTextEncoder(dim, max_len)
    return TransformersTextEncoder(spec, max_len)
