"""The paper's DSC metric: roi_align against its definition, the box quirk, the tracker, a tiny random CLIP."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hmworld.errors import UserError
from hmworld.hydra.dsc import DSCScorer, roi_align, track_boxes, union_boxes

transformers = pytest.importorskip("transformers")


def roi_align_by_definition(fmap, box, s=7):
    """torchvision's ROIAlign (aligned=True, sampling_ratio=-1, spatial_scale=1), one channel map, scalar loops."""
    H, W = fmap.shape
    x1, y1, x2, y2 = (float(v) - 0.5 for v in box)
    bh, bw = (y2 - y1) / s, (x2 - x1) / s
    gh, gw = math.ceil(bh), math.ceil(bw)

    def bilinear(y, x):
        if y < -1.0 or y > H or x < -1.0 or x > W:
            return 0.0
        y, x = max(y, 0.0), max(x, 0.0)
        yl, xl = int(y), int(x)
        if yl >= H - 1:
            yh = yl = H - 1
            y = float(yl)
        else:
            yh = yl + 1
        if xl >= W - 1:
            xh = xl = W - 1
            x = float(xl)
        else:
            xh = xl + 1
        ly, lx = y - yl, x - xl
        return ((1 - ly) * (1 - lx) * fmap[yl, xl] + (1 - ly) * lx * fmap[yl, xh]
                + ly * (1 - lx) * fmap[yh, xl] + ly * lx * fmap[yh, xh])  # fmt: skip

    out = np.zeros((s, s))
    for ph in range(s):
        for pw in range(s):
            acc = 0.0
            for iy in range(gh):
                for ix in range(gw):
                    y = y1 + ph * bh + (iy + 0.5) * bh / gh
                    x = x1 + pw * bw + (ix + 0.5) * bw / gw
                    acc += bilinear(y, x)
            out[ph, pw] = acc / max(gh * gw, 1)
    return out


def test_roi_align_matches_its_definition_inside_across_and_beyond_the_map():
    g = torch.Generator().manual_seed(0)
    fmap = torch.randn(2, 3, 14, 14, generator=g)
    boxes = torch.tensor([[1.3, 2.0, 9.7, 12.4], [-2.0, -1.5, 15.5, 16.0]])  # inside; past every edge
    out = roi_align(fmap, boxes)
    for n in range(2):
        for c in range(3):
            ref = roi_align_by_definition(fmap[n, c].double().numpy(), boxes[n].tolist())
            np.testing.assert_allclose(out[n, c].numpy(), ref, atol=1e-5)
    # a linear map: each bin's value is the map at the bin centre
    ys, xs = torch.meshgrid(torch.arange(14.0), torch.arange(14.0), indexing="ij")
    lin = (2 * xs + 3 * ys + 1)[None, None]
    box = torch.tensor([[3.0, 4.0, 10.0, 11.0]])
    centres = 3.0 - 0.5 + (torch.arange(7) + 0.5)
    want = 2 * centres[None, :] + 3 * (centres + 1)[:, None] + 1
    torch.testing.assert_close(roi_align(lin, box)[0, 0], want)


def test_union_boxes_cover_every_subject_and_mark_empty_frames():
    m = torch.zeros(2, 10, 20, dtype=torch.long)
    m[0, 2:4, 3:5] = 1
    m[0, 6:9, 15:18] = 2
    torch.testing.assert_close(union_boxes(m), torch.tensor([[3 / 20, 2 / 10, 18 / 20, 9 / 10], [-1.0, -1.0, -1.0, -1.0]]))


def test_tracker_finds_the_context_appearance_and_reports_absence():
    g = torch.Generator().manual_seed(1)
    bg = torch.rand(1, 3, 32, 48, generator=g) * 0.1
    patch = torch.rand(3, 6, 5, generator=g)
    ctx = bg.repeat(2, 1, 1, 1)
    ctx[1, :, 10:16, 20:25] = patch
    ctx_boxes = torch.tensor([[-1.0] * 4, [20 / 48, 10 / 32, 25 / 48, 16 / 32]])
    gen = bg.repeat(3, 1, 1, 1)
    gen[0, :, 2:8, 30:35] = patch
    gen[2, :, 20:26, 5:10] = patch
    boxes = track_boxes(ctx, ctx_boxes, gen, min_score=0.8)
    torch.testing.assert_close(boxes[0], torch.tensor([30 / 48, 2 / 32, 35 / 48, 8 / 32]))
    assert boxes[1].tolist() == [-1.0] * 4
    torch.testing.assert_close(boxes[2], torch.tensor([5 / 48, 20 / 32, 10 / 48, 26 / 32]))


@pytest.fixture
def tiny_clip(tmp_path):
    cfg = transformers.CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=2, num_attention_heads=4)  # fmt: skip
    torch.manual_seed(0)
    transformers.CLIPVisionModel(cfg).save_pretrained(tmp_path / "clip")
    return tmp_path / "clip"


def test_dsc_follows_eval_dsc_on_a_tiny_random_clip(tiny_clip):
    scorer = DSCScorer(tiny_clip)
    g = torch.Generator().manual_seed(2)
    H, W = 32, 64  # wide frames: the release's centre crop drops the outer quarters
    frames = torch.rand(9, 3, H, W, generator=g) * 0.3
    subject = torch.rand(3, 12, 10, generator=g)
    masks = torch.zeros(9, H, W, dtype=torch.long)
    for t in range(9):
        if t != 4:  # a generated frame without the subject is left out
            masks[t, 8:20, 20 + t : 30 + t] = 1
            frames[t, :, 8:20, 20 + t : 30 + t] = subject
    ctx, gen, gt = frames[:3], frames[3:6], frames[6:]
    scores = scorer.score(ctx, masks[:3], gen, gt, masks[6:])
    # the reference: the processor's pixels, patch tokens, roi_align by definition with boxes × side (release quirk)
    model = scorer.model

    def feats(fr, boxes):
        keep = boxes[:, 0] >= 0
        imgs = [(f.permute(1, 2, 0) * 255).round().byte().numpy() for f in fr[keep]]
        px = scorer.processor(images=imgs, return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            tok = model(pixel_values=px).last_hidden_state[:, 1:]
        side = 4
        fmap = tok.reshape(len(imgs), side, side, -1).permute(0, 3, 1, 2)
        rows = []
        for i, b in enumerate(boxes[keep]):
            r = np.stack([roi_align_by_definition(fmap[i, c].double().numpy(), (b * side).tolist()) for c in range(fmap.shape[1])])
            rows.append(torch.from_numpy(r.mean(axis=(1, 2))).float())
        return F.normalize(torch.stack(rows), dim=-1)

    fc = feats(ctx, union_boxes(masks[:3]))
    fp = feats(gen, track_boxes(ctx, union_boxes(masks[:3]), gen, scorer.min_score))
    fg = feats(gt, union_boxes(masks[6:]))
    assert len(fp) == 2 and len(fc) == 3 and len(fg) == 3
    assert scores.con == pytest.approx(float((fp @ fc.T).mean()), abs=1e-5)
    assert scores.tgt == pytest.approx(float((fp @ fg.T).mean()), abs=1e-5)


def test_corrected_boxes_map_through_the_centre_crop(tiny_clip):
    release, fixed = DSCScorer(tiny_clip), DSCScorer(tiny_clip, boxes="corrected")
    assert fixed.crop_geometry(32, 64) == (32, 64, 0, 16, 32, 32)
    g = torch.Generator().manual_seed(3)
    frames = torch.rand(2, 3, 32, 64, generator=g)
    outside = torch.tensor([[0.0, 0.1, 0.2, 0.9], [0.3, 0.2, 0.6, 0.8]])  # the first lies left of the crop
    assert len(release.features(frames, outside)) == 2 and len(fixed.features(frames, outside)) == 1
    # the second, in crop coordinates: x (0.3·64 - 16)/32 = 0.1 … (0.6·64 - 16)/32 = 0.7
    want = release.features(frames[1:], torch.tensor([[0.1, 0.2, 0.7, 0.8]]))
    torch.testing.assert_close(fixed.features(frames[1:], outside[1:]), want)
    square = torch.rand(1, 3, 32, 32, generator=g)
    box = torch.tensor([[0.2, 0.2, 0.7, 0.9]])
    torch.testing.assert_close(release.features(square, box), fixed.features(square, box))
    with pytest.raises(UserError, match="box mode"):
        DSCScorer(tiny_clip, boxes="guess")
