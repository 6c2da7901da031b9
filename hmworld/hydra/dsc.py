"""The paper's Dynamic Subject Consistency (DSC), as the release's `eval_dsc.py` defines it.

For a set of frames with subject boxes: CLIP ViT-B/16 patch tokens (the
vision tower's last hidden state without the class token, as a side×side
map), `roi_align` 7×7 over the subject's box (aligned, adaptive sampling),
mean over the 7×7 bins, L2-normalise. DSC_con is the mean cosine over all
(generated, context) frame pairs; DSC_tgt over all (generated, ground-truth
target) pairs. Frames without a box are left out.

Boxes: ground truth from our exact instance masks (the union box of every
subject in the frame; the release draws its boxes around all red pixels of
its mask video). Generated frames: the release tracks the subject with
YOLOv11 (code not published). By default we use an offline template tracker
with no weights: the subject's appearance in the last context frame where it
is visible is searched in every generated frame by normalised
cross-correlation (`metrics.locate`); a match scoring below `min_score`
counts as "no subject". With a local YOLO model exported to ONNX
(`hmworld.hydra.yolo`), the subject is followed through the detector's
person/animal boxes instead: from the last context box, each generated
frame's detection with the highest IoU with the subject's last known box, if
that IoU is at least `min_iou` (`yolo.match_subject`). Either way the tracker
sees only the context and the generated frames, never the ground-truth
target, so DSC_tgt is not helped by true boxes.

The release's preprocessing quirk: `CLIPProcessor` resizes the short side to
224 and centre-crops 224×224, but the boxes, normalised to the full frame,
are scaled to the patch map as if it covered the full frame. For a wide
frame (832×480) a box is misplaced horizontally. `boxes="release"` follows
that (numbers comparable with the paper's table); `boxes="corrected"` maps
each box through the resize and crop (and drops frames whose box falls
outside the crop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hmworld.errors import UserError
from hmworld.hydra.metrics import locate, mask_boxes
from hmworld.hydra.yolo import YoloDetector, match_subject

BOX_MODES = ("release", "corrected")
ROI_SIZE = 7


def roi_align(features: torch.Tensor, boxes: torch.Tensor, output_size: int = ROI_SIZE) -> torch.Tensor:
    """torchvision.ops.roi_align(features, boxes, output_size, spatial_scale=1, sampling_ratio=-1, aligned=True).

    features [N,C,H,W]; boxes [N,4] (x1, y1, x2, y2) in feature-map pixels, box n on map n → [N,C,s,s].
    Definition (torchvision's ROIAlign kernel): shift the box by -0.5, split it into s×s bins, sample each
    bin on a ceil(bin_h)×ceil(bin_w) grid at the sub-cell centres, bilinear interpolation where a sample
    at y < -1 or y > H (x likewise) is 0 and is otherwise clamped to the map; average the samples.
    """
    N, C, H, W = features.shape
    out = torch.zeros(N, C, output_size, output_size, dtype=features.dtype, device=features.device)
    for n in range(N):  # rois differ in sampling grid; each is vectorised over its samples
        x1, y1, x2, y2 = (float(v) - 0.5 for v in boxes[n])
        bin_w, bin_h = (x2 - x1) / output_size, (y2 - y1) / output_size
        gh, gw = math.ceil(bin_h), math.ceil(bin_w)
        if gh <= 0 or gw <= 0:  # an empty box: no samples, zeros (as torchvision)
            continue
        ys = y1 + (torch.arange(output_size)[:, None] * bin_h + (torch.arange(gh)[None, :] + 0.5) * bin_h / gh)
        xs = x1 + (torch.arange(output_size)[:, None] * bin_w + (torch.arange(gw)[None, :] + 0.5) * bin_w / gw)
        wy, iy = _bilinear_axis(ys.flatten().double(), H)  # [s·gh, 2]
        wx, ix = _bilinear_axis(xs.flatten().double(), W)
        fmap = features[n].double()
        # value[c, a, b] = sum_ij wy[a,i] wx[b,j] f[c, iy[a,i], ix[b,j]]
        rows = (fmap[:, iy] * wy[None, :, :, None]).sum(2)  # [C, s·gh, W]
        vals = (rows[:, :, ix] * wx[None, None]).sum(3)  # [C, s·gh, s·gw]
        out[n] = vals.view(C, output_size, gh, output_size, gw).mean(dim=(2, 4)).to(features.dtype)
    return out


def _bilinear_axis(p: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights [P,2] and indices [P,2] of the two neighbours of sample positions p along an axis of `size`."""
    outside = (p < -1.0) | (p > size)
    p = p.clamp(min=0.0)
    low = p.floor().long().clamp(max=size - 1)
    at_end = low >= size - 1
    p = torch.where(at_end, low.double(), p)
    high = torch.where(at_end, low, low + 1)
    frac = p - low.double()
    w = torch.stack([1.0 - frac, frac], dim=1)
    w[outside] = 0.0
    return w, torch.stack([low, high], dim=1)


def union_boxes(masks: torch.Tensor) -> torch.Tensor:
    """[N,4] normalised (x1, y1, x2, y2) boxes of every subject pixel (mask > 0) per frame; -1 where none."""
    H, W = masks.shape[-2:]
    present = masks > 0
    boxes = mask_boxes(present) / torch.tensor([W, H, W, H], dtype=torch.float32)
    boxes[~present.flatten(1).any(1)] = -1.0
    return boxes


def track_boxes(context: torch.Tensor, context_boxes: torch.Tensor, generated: torch.Tensor, min_score: float) -> torch.Tensor:
    """Normalised boxes [T,4] of the subject in generated frames [T,3,H,W] (-1 where not found).

    Template: the last context frame with a box (context [Tc,3,H,W], boxes [Tc,4] normalised).
    """
    T, _, H, W = generated.shape
    out = torch.full((T, 4), -1.0)
    seen = torch.nonzero(context_boxes[:, 0] >= 0).flatten()
    if seen.numel() == 0:
        return out
    i = int(seen[-1])
    x1, y1, x2, y2 = (context_boxes[i] * torch.tensor([W, H, W, H])).round().long().tolist()
    th, tw = max(y2 - y1, 1), max(x2 - x1, 1)
    template = context[i, :, y1 : y1 + th, x1 : x1 + tw].float()
    corners, score = locate(generated.float(), template[None].expand(T, *template.shape))
    found = score >= min_score
    xy = corners.float()
    box = torch.stack([xy[:, 0], xy[:, 1], xy[:, 0] + tw, xy[:, 1] + th], dim=1) / torch.tensor([W, H, W, H])
    out[found] = box[found]
    return out


def detect_boxes(detector: YoloDetector, context_boxes: torch.Tensor, generated: torch.Tensor, min_iou: float) -> torch.Tensor:
    """Normalised boxes [T,4] of the subject in generated frames [T,3,H,W] found by `detector` (-1: absent).

    Start: the last context box (context_boxes [Tc,4] normalised, -1 rows without a subject); the rule
    is `yolo.match_subject`'s (highest IoU with the last known box, at least `min_iou`).
    """
    T, _, H, W = generated.shape
    scale = np.array([W, H, W, H], dtype=np.float64)
    seen = torch.nonzero(context_boxes[:, 0] >= 0).flatten()
    if seen.numel() == 0:
        return torch.full((T, 4), -1.0)
    start = context_boxes[int(seen[-1])].double().numpy() * scale
    boxes = match_subject(detector.detect(generated), start, min_iou) / scale
    return torch.from_numpy(np.nan_to_num(boxes, nan=-1.0)).float()


@dataclass(frozen=True)
class DSCScores:
    con: float | None
    tgt: float | None


class DSCScorer:
    """CLIP patch features of subject boxes from a local transformers CLIP folder (ViT-B/16 for the paper's numbers)."""

    def __init__(self, folder: str | Path, device: torch.device | str = "cpu", boxes: str = "release",
                 min_score: float = 0.7, detector: YoloDetector | None = None, min_iou: float = 0.1) -> None:  # fmt: skip
        """min_score: the template tracker's match threshold; with `detector`, min_iou is the YOLO matcher's."""
        if boxes not in BOX_MODES:
            raise UserError(f"unknown DSC box mode {boxes!r}; use one of {', '.join(BOX_MODES)}")
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise UserError(f"--dsc-clip {str(folder)!r} is not a local transformers CLIP folder (no config.json)")
        from transformers import CLIPVisionModel

        try:
            from transformers import CLIPImageProcessorPil as Processor  # no torchvision needed
        except ImportError:
            from transformers import CLIPImageProcessor as Processor

        self.model = CLIPVisionModel.from_pretrained(folder, local_files_only=True).to(device).eval()
        size = int(self.model.config.image_size)
        if (folder / "preprocessor_config.json").is_file():
            self.processor = Processor.from_pretrained(folder, local_files_only=True)
        else:  # CLIP's own preprocessing at the model's input size
            self.processor = Processor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        self.device = torch.device(device)
        self.boxes = boxes
        self.min_score = min_score
        self.detector = detector
        self.min_iou = min_iou

    def crop_geometry(self, H: int, W: int) -> tuple[int, int, int, int, int, int]:
        """(resized h, w, crop top, left, crop h, w) of the processor's short-side resize and centre crop."""
        short = int(self.processor.size["shortest_edge"])
        ch, cw = int(self.processor.crop_size["height"]), int(self.processor.crop_size["width"])
        if H <= W:
            rh, rw = short, int(short * W / H)
        else:
            rh, rw = int(short * H / W), short
        return rh, rw, (rh - ch) // 2, (rw - cw) // 2, ch, cw

    @torch.no_grad()
    def features(self, frames: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Unit features [n,C] of frames [T,3,H,W] in [0,1] with normalised boxes [T,4] (-1 rows skipped)."""
        boxes = boxes.clone().float()
        H, W = frames.shape[-2:]
        if self.boxes == "corrected":
            rh, rw, top, left, ch, cw = self.crop_geometry(H, W)
            ok = boxes[:, 0] >= 0
            mapped = torch.stack([(boxes[:, 0] * rw - left) / cw, (boxes[:, 1] * rh - top) / ch,
                                  (boxes[:, 2] * rw - left) / cw, (boxes[:, 3] * rh - top) / ch], dim=1).clamp(0, 1)  # fmt: skip
            empty = (mapped[:, 2] <= mapped[:, 0]) | (mapped[:, 3] <= mapped[:, 1])
            boxes = torch.where((ok & ~empty)[:, None], mapped, torch.full_like(mapped, -1.0))
        valid = boxes[:, 0] >= 0
        if not valid.any():
            return torch.zeros(0, int(self.model.config.hidden_size))
        images = [np.ascontiguousarray((f.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()) for f in frames[valid]]
        pixels = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
        tokens = self.model(pixel_values=pixels).last_hidden_state[:, 1:].float()
        side = round(tokens.shape[1] ** 0.5)
        fmap = tokens.reshape(len(images), side, side, -1).permute(0, 3, 1, 2).cpu()
        regions = roi_align(fmap, boxes[valid] * side)
        return F.normalize(regions.mean(dim=(2, 3)), dim=-1)

    def score(self, context: torch.Tensor, ctx_masks: torch.Tensor, generated: torch.Tensor, gt: torch.Tensor,
              gt_masks: torch.Tensor) -> DSCScores:  # fmt: skip
        """DSC_con and DSC_tgt of one clip: context/generated/gt [T,3,H,W] in [0,1], masks [T,H,W] instance ids."""
        ctx_boxes = union_boxes(ctx_masks)
        if self.detector is not None:
            pred_boxes = detect_boxes(self.detector, ctx_boxes, generated, self.min_iou)
        else:
            pred_boxes = track_boxes(context, ctx_boxes, generated, self.min_score)
        fc = self.features(context, ctx_boxes)
        fp = self.features(generated, pred_boxes)
        fg = self.features(gt, union_boxes(gt_masks))
        con = float((fp @ fc.T).mean()) if len(fp) and len(fc) else None
        tgt = float((fp @ fg.T).mean()) if len(fp) and len(fg) else None
        return DSCScores(con, tgt)
