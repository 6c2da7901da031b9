"""Latent spaces and batch preparation: pixel patchify, the Wan VAE, cameras per latent frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data._utils.collate import default_collate

from hmworld import geometry
from hmworld.errors import UserError
from hmworld.hydra.cameras import relative_cameras
from hmworld.hydra.config import model_config
from hmworld.hydra.latent import PixelCodec, WanVAECodec, make_codec, pad_front, pad_index
from hmworld.hydra.model import HydraDiT
from hmworld.hydra.pipeline import generate, prepare_batch


def test_pixel_codec_is_a_lossless_space_time_patchify():
    codec = PixelCodec(2, 4)
    video = torch.rand(2, 6, 3, 16, 24)
    z = codec.encode(video)
    assert z.shape == (2, 3 * 2 * 4 * 4, 3, 4, 6) and codec.channels == 96
    torch.testing.assert_close(codec.decode(z), video)
    # one latent cell holds exactly its 2×4×4 block of pixels, mapped to [-1, 1]
    block = video[0, 2:4, :, 4:8, 8:12] * 2 - 1
    assert torch.allclose(z[0, :, 1, 1, 2].sort().values, block.flatten().sort().values)
    assert codec.stream_length(7) == 8 and codec.latent_frames(8) == 4


def test_padding_repeats_the_ends_like_geometry_pad_stream():
    idx = pad_index(75, 77)
    assert idx[0] == 0 and idx[1] == 0 and idx[-1] == 74 and idx[-2] == 74
    start = pad_front(75, 77)
    assert np.array_equal(idx[start : start + 75], np.arange(75))
    assert np.array_equal(idx, geometry.pad_stream(np.arange(75), 77))


def test_relative_cameras_put_the_first_target_frame_at_the_identity():
    rng = np.random.default_rng(0)
    c2w = torch.from_numpy(geometry.pose_from_angles(rng.normal(size=(2, 6, 3)), rng.normal(size=(2, 6)), rng.normal(size=(2, 6)) * 0.2))
    rel = relative_cameras(c2w.float(), n_ctx=3)
    assert rel.shape == (2, 6, 12)
    torch.testing.assert_close(rel[:, 3], torch.eye(4)[:3].flatten().expand(2, 12), atol=1e-6, rtol=0)


def test_wan_vae_codec_compresses_like_the_papers_base_model(tiny_wan_vae):
    codec = WanVAECodec.from_path(tiny_wan_vae)
    assert (codec.channels, codec.time_factor, codec.space_factor) == (16, 4, 8)
    assert codec.stream_length(75) == 77 and codec.latent_frames(77) == 20  # HyDRA's 75 → 77 → 20
    video = torch.rand(1, 9, 3, 32, 48)
    z = codec.encode(video)
    assert z.shape == (1, 16, 3, 4, 6)
    out = codec.decode(z)
    assert out.shape == video.shape and 0 <= out.min() and out.max() <= 1


def test_wan_vae_errors_name_the_bad_path(tmp_path):
    with pytest.raises(UserError, match=r"no config\.json"):
        WanVAECodec.from_path(tmp_path)
    with pytest.raises(UserError, match="needs --vae"):
        model_config("tiny", latent="wan-vae")


def test_latent_frame_cameras_equal_hydras_camera_tensors(squares, tiny_wan_vae):
    """150 frames, 75 + 75 padded to 77, every 4th frame: exactly the dataset's hydra_*_cam [20, 12]."""
    ds = squares(n_clips=1, frames=150, clip_frames=150, size=(16, 16))
    batch = default_collate([ds[0]])
    cfg = model_config("tiny", latent="wan-vae", vae_path=str(tiny_wan_vae), frame_size=(16, 16), frames=150)
    prep = prepare_batch(batch, make_codec(cfg), cfg, torch.device("cpu"))
    assert prep.ctx.shape == (1, 16, 20, 2, 2) and prep.tgt.shape == (1, 16, 20, 2, 2)
    torch.testing.assert_close(prep.cam_ctx, batch["hydra_cond_cam"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(prep.cam_tgt, batch["hydra_tgt_cam"], atol=1e-5, rtol=1e-5)


def test_generation_through_the_wan_vae_returns_the_real_target_frames(squares, tiny_wan_vae):
    ds = squares(n_clips=1, frames=18, size=(16, 16))
    batch = default_collate([ds[0]])
    cfg = model_config("tiny", latent="wan-vae", vae_path=str(tiny_wan_vae), frame_size=(16, 16), frames=18)
    codec = make_codec(cfg)
    prep = prepare_batch(batch, codec, cfg, torch.device("cpu"))
    assert prep.tgt.shape[2] == 3 and prep.target_length == 9
    frames = generate(HydraDiT(cfg).eval(), codec, prep, steps=2, cfg=cfg, generator=torch.Generator().manual_seed(0))
    assert frames.shape == (1, 9, 3, 16, 16)


def test_frames_of_the_wrong_size_are_a_user_error(squares):
    batch = default_collate([squares(n_clips=1, size=(16, 16))[0]])
    cfg = model_config("tiny")
    with pytest.raises(UserError, match="16x16 but the model expects 32x32"):
        prepare_batch(batch, make_codec(cfg), cfg, torch.device("cpu"))
