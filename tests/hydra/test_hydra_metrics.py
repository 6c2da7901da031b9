"""Metrics: PSNR/SSIM (masked too), re-appearance error, crops, LPIPS and CLIP from local weight files."""

from __future__ import annotations

import math

import pytest
import torch

from hmworld.errors import UserError
from hmworld.hydra import metrics


def _frames(n=3, h=32, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, h // 4, w // 4, generator=g)
    return torch.nn.functional.interpolate(base, size=(h, w), mode="bilinear", align_corners=False)


def test_psnr_of_a_known_error_and_masked_psnr_ignores_the_rest():
    gt = torch.full((2, 3, 8, 8), 0.5)
    pred = gt + 0.1
    torch.testing.assert_close(metrics.psnr(pred, gt), torch.full((2,), 20.0))
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, :4] = True
    pred2 = gt.clone()
    pred2[:, :, 4:] += 0.5  # errors only outside the mask
    pred2[:, :, :4] += 0.01
    torch.testing.assert_close(metrics.psnr(pred2, gt, mask), torch.full((2,), 40.0))
    assert metrics.psnr(gt, gt).max() == 100.0


def test_ssim_is_one_for_identical_frames_and_falls_with_noise():
    gt = _frames()
    assert torch.allclose(metrics.ssim(gt, gt), torch.ones(3))
    g = torch.Generator().manual_seed(1)
    light = (gt + 0.05 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    heavy = (gt + 0.3 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    s_light, s_heavy = metrics.ssim(light, gt), metrics.ssim(heavy, gt)
    assert (s_light < 1).all() and (s_heavy < s_light).all()
    mask = torch.zeros(3, 32, 40, dtype=torch.bool)
    mask[:, 10:20, 10:20] = True
    damaged = gt.clone()
    damaged[:, :, 25:] = 0.0  # far from the mask (more than the 11-pixel window)
    assert torch.allclose(metrics.ssim(damaged, gt, mask), torch.ones(3))


def test_mask_boxes():
    m = torch.zeros(2, 10, 12, dtype=torch.bool)
    m[0, 2:5, 3:9] = True
    m[1, 7, 11] = True
    assert metrics.mask_boxes(m).tolist() == [[3, 2, 9, 5], [11, 7, 12, 8]]


def test_reappearance_error_is_zero_in_place_and_the_shift_when_moved():
    gt = _frames(n=4, seed=2)
    masks = torch.zeros(4, 32, 40, dtype=torch.bool)
    masks[:, 12:18, 14:22] = True
    assert metrics.reappearance_error(gt, gt, masks).abs().max() == 0
    dx, dy = 5, -3
    moved = torch.roll(gt, shifts=(dy, dx), dims=(2, 3))
    err = metrics.reappearance_error(moved, gt, masks)
    torch.testing.assert_close(err, torch.full((4,), math.hypot(dx, dy) / math.hypot(32, 40)))


def test_reappearance_error_is_nan_for_a_textureless_window():
    flat = torch.full((1, 3, 16, 16), 0.3)
    masks = torch.zeros(1, 16, 16, dtype=torch.bool)
    masks[0, 4:8, 4:8] = True
    assert torch.isnan(metrics.reappearance_error(flat, flat, masks)).all()


def test_crop_resize_at_the_box_size_copies_the_pixels():
    frames = _frames(n=2, seed=3)
    boxes = torch.tensor([[4.0, 8.0, 12.0, 16.0], [20.0, 0.0, 28.0, 8.0]])
    crops = metrics.crop_resize(frames, boxes, 8)
    torch.testing.assert_close(crops[0], frames[0, :, 8:16, 4:12])
    torch.testing.assert_close(crops[1], frames[1, :, 0:8, 20:28])


@pytest.fixture(scope="module")
def lpips_folder(tmp_path_factory):
    """Random weights in the exact file formats of torchvision's AlexNet and lpips' alex.pth."""
    torch.manual_seed(0)
    net = metrics.LPIPS()
    folder = tmp_path_factory.mktemp("lpips")
    backbone = {f"features.{k}": v for k, v in net.features.state_dict().items()}
    backbone["classifier.1.weight"] = torch.randn(8, 8)  # the real file has a classifier; it is ignored
    torch.save(backbone, folder / "alexnet-owt-7be5be79.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(metrics.LPIPS.CHANNELS)}, folder / "alex.pth")
    return folder


def test_lpips_loads_official_file_layouts_and_measures_difference(lpips_folder):
    net = metrics.LPIPS.from_folder(lpips_folder)
    saved = torch.load(lpips_folder / "alexnet-owt-7be5be79.pth")
    torch.testing.assert_close(net.features[3].weight, saved["features.3.weight"])
    gt = _frames(n=2, h=64, w=64, seed=4)
    g = torch.Generator().manual_seed(5)
    light = (gt + 0.05 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    heavy = (gt + 0.3 * torch.randn(gt.shape, generator=g)).clamp(0, 1)
    assert net(gt, gt).abs().max() < 1e-6
    d_light, d_heavy = net(light, gt), net(heavy, gt)
    assert (d_light > 0).all() and (d_heavy > d_light).all()
    torch.testing.assert_close(net(light, gt), net(gt, light))
    assert net(gt[:, :, :32, :32], light[:, :, :32, :32]).shape == (2,)  # small frames are upsampled


def test_lpips_folder_without_the_files_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=r"alex\.pth"):
        metrics.LPIPS.from_folder(tmp_path)


def test_clip_subject_similarity_with_a_tiny_local_clip(tmp_path):
    transformers = pytest.importorskip("transformers")
    CLIPImageProcessor, CLIPVisionConfig = transformers.CLIPImageProcessor, transformers.CLIPVisionConfig
    CLIPVisionModelWithProjection = transformers.CLIPVisionModelWithProjection

    torch.manual_seed(0)
    cfg = CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        patch_size=8, projection_dim=16,
    )  # fmt: skip
    CLIPVisionModelWithProjection(cfg).save_pretrained(tmp_path)
    CLIPImageProcessor(crop_size={"height": 32, "width": 32}, size={"shortest_edge": 32}).save_pretrained(tmp_path)
    scorer = metrics.ClipScorer(tmp_path)
    gt = _frames(n=3, seed=6)
    masks = torch.zeros(3, 32, 40, dtype=torch.bool)
    masks[:, 8:24, 10:26] = True
    torch.testing.assert_close(scorer.subject_similarity(gt, gt, masks), torch.ones(3))
    other = _frames(n=3, seed=7)
    assert (scorer.subject_similarity(other, gt, masks) < 0.9999).all()
    with pytest.raises(UserError, match="CLIP"):
        metrics.ClipScorer(tmp_path / "missing")
