"""Caption encoders: hashed words, and a frozen local transformers encoder kept out of checkpoints."""

from __future__ import annotations

import pytest
import torch

from hmworld.errors import UserError
from hmworld.hydra.config import model_config
from hmworld.hydra.model import HydraDiT
from hmworld.hydra.text import HashTextEncoder, TransformersTextEncoder


def test_hash_encoder_is_deterministic_and_masks_padding():
    enc = HashTextEncoder(dim=16, max_len=6)
    ids = enc.token_ids(["A dog, a DOG!", ""])
    assert ids[0, 1] == ids[0, 3] and ids[0, 0] == ids[0, 2]  # case and punctuation do not matter
    assert (ids[0, :4] > 0).all() and (ids[0, 4:] == 0).all() and (ids[1] == 0).all()
    emb, mask = enc(["a dog", "a cat walks far away today"])
    assert emb.shape == (2, 6, 16) and mask.tolist() == [[True, True, False, False, False, False], [True] * 6]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    words = ["[PAD]", "[UNK]", "a", "dog", "cat", "walks", "runs", "red", "cube"]
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    folder = tmp_path_factory.mktemp("bert")
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]").save_pretrained(folder)
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=len(words), hidden_size=24, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=32,
    )  # fmt: skip
    transformers.BertModel(cfg).save_pretrained(folder)
    return folder


def test_local_transformers_encoder_conditions_the_model_but_stays_out_of_its_weights(tiny_bert):
    enc = TransformersTextEncoder(tiny_bert, max_len=8)
    emb, mask = enc(["a red cube walks", "a dog"])
    assert emb.shape == (2, 8, 24) and mask.sum(1).tolist() == [4, 2]
    torch.manual_seed(0)
    model = HydraDiT(model_config("tiny", text=str(tiny_bert), text_len=8)).eval()
    assert not any("backbone" in k or "bert" in k.lower() for k in model.state_dict())
    assert all(p.requires_grad for p in model.parameters())  # only our own, trainable weights are parameters
    with torch.no_grad():
        model.final.weight.normal_(std=0.2)
        ctx, tgt = torch.randn(2, 48, 4, 8, 8), torch.randn(2, 48, 4, 8, 8)
        cams = torch.zeros(2, 4, 12)
        a = model(ctx, tgt, torch.rand(2), cams, cams, captions=["a red cube walks", "a dog"])
        b = model(ctx, tgt, torch.rand(2) * 0 + 0.5, cams, cams, captions=["a red cube walks", "a dog"])
        c = model(ctx, tgt, torch.rand(2) * 0 + 0.5, cams, cams, captions=["a cat runs", "a dog"])
    assert a.shape == tgt.shape
    assert not torch.allclose(b[0], c[0]) and torch.allclose(b[1], c[1])


def test_text_encoder_folder_must_exist(tmp_path):
    with pytest.raises(UserError, match="not a local transformers folder"):
        TransformersTextEncoder(tmp_path, max_len=4)
