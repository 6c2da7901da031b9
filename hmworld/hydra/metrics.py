"""Video metrics: overall quality and dynamic-subject consistency, with our exact instance masks.

Frames are float tensors [N,3,H,W] in [0,1]; masks are bool [N,H,W].
Subject metrics look only at frames after a subject re-enters the view:
PSNR/SSIM inside its ground-truth mask, the distance between where it
re-appears in the generated frame and where it truly is (template matching
of its ground-truth appearance), and, given CLIP weights, the cosine
similarity of CLIP features of its crop. LPIPS uses the official AlexNet and
linear-layer weight files from a local folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hmworld.errors import UserError

_C1, _C2 = 0.01**2, 0.03**2


def psnr(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-frame PSNR in dB [N]; with a mask, over the masked pixels only (capped at 100 dB)."""
    err = (pred.float() - gt.float()) ** 2
    if mask is None:
        mse = err.mean(dim=(1, 2, 3))
    else:
        m = mask[:, None].float()
        mse = (err * m).sum(dim=(1, 2, 3)) / (m.sum(dim=(1, 2, 3)) * err.shape[1]).clamp_min(1.0)
    return 10.0 * torch.log10(1.0 / mse.clamp_min(1e-10))


def _gaussian(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_map(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """SSIM per pixel [N,H,W] (11×11 Gaussian, σ 1.5, reflect padding, mean over channels)."""
    x, y = pred.float(), gt.float()
    C = x.shape[1]
    g = _gaussian().to(x.device)
    pad = g.numel() // 2
    wx = g.view(1, 1, 1, -1).repeat(C, 1, 1, 1)
    wy = g.view(1, 1, -1, 1).repeat(C, 1, 1, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        z = F.pad(z, (pad, pad, pad, pad), mode="reflect" if min(z.shape[-2:]) > pad else "replicate")
        return F.conv2d(F.conv2d(z, wx, groups=C), wy, groups=C)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + _C1) * (2 * cxy + _C2)) / ((mx * mx + my * my + _C1) * (vx + vy + _C2))
    return s.mean(dim=1)


def ssim(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-frame SSIM [N]; with a mask, the SSIM map averaged over the masked pixels."""
    s = ssim_map(pred, gt)
    if mask is None:
        return s.mean(dim=(1, 2))
    m = mask.float()
    return (s * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2)).clamp_min(1.0)


def mask_boxes(masks: torch.Tensor) -> torch.Tensor:
    """Bounding boxes [N,4] (x0, y0, x1, y1; pixel edges, x1/y1 exclusive) of non-empty masks."""
    H, W = masks.shape[-2:]
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    y0 = rows.float().argmax(dim=1)
    y1 = H - rows.flip(1).float().argmax(dim=1)
    x0 = cols.float().argmax(dim=1)
    x1 = W - cols.flip(1).float().argmax(dim=1)
    return torch.stack([x0, y0, x1, y1], dim=1).float()


def _windows(boxes: torch.Tensor, th: int, tw: int, H: int, W: int) -> torch.Tensor:
    """Top-left corners [N,2] (x, y) of th×tw windows centred on the boxes, kept inside the image."""
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    x = (cx - tw / 2).round().clamp(0, W - tw)
    y = (cy - th / 2).round().clamp(0, H - th)
    return torch.stack([x, y], dim=1).long()


def _crop(frames: torch.Tensor, corners: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    N, C = frames.shape[:2]
    rows = corners[:, 1:2] + torch.arange(th, device=frames.device)
    cols = corners[:, 0:1] + torch.arange(tw, device=frames.device)
    n = torch.arange(N, device=frames.device)[:, None, None, None]
    c = torch.arange(C, device=frames.device)[None, :, None, None]
    return frames[n, c, rows[:, None, :, None], cols[:, None, None, :]]


def locate(frames: torch.Tensor, templates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best normalised-cross-correlation match of template n in frame n: top-left corners [N,2] (x, y), score [N]."""
    N, C, H, W = frames.shape
    th, tw = templates.shape[-2:]
    t = templates - templates.mean(dim=(1, 2, 3), keepdim=True)
    t = t / t.flatten(1).norm(dim=1).clamp_min(1e-8)[:, None, None, None]
    corr = F.conv2d(frames.reshape(1, N * C, H, W), t, groups=N)[0]  # [N, H-th+1, W-tw+1]
    ones = torch.ones(1, 1, th, tw, device=frames.device)
    s1 = F.conv2d(frames.sum(dim=1, keepdim=True), ones)[:, 0]
    s2 = F.conv2d((frames * frames).sum(dim=1, keepdim=True), ones)[:, 0]
    energy = (s2 - s1 * s1 / (C * th * tw)).clamp_min(1e-8)
    ncc = corr / energy.sqrt()
    best = ncc.flatten(1).argmax(dim=1)
    ow = W - tw + 1
    corners = torch.stack([best % ow, best // ow], dim=1)
    return corners, ncc.flatten(1).gather(1, best[:, None])[:, 0]


def reappearance_error(pred: torch.Tensor, gt: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per frame [N]: distance between where the subject appears in `pred` and in `gt`, as a share of the image diagonal.

    The subject's ground-truth appearance (a window the size of its largest box
    over these frames, centred on it) is searched for in the generated frame.
    NaN where the window holds no texture to match.
    """
    H, W = gt.shape[-2:]
    boxes = mask_boxes(masks)
    th = int((boxes[:, 3] - boxes[:, 1]).max().clamp(1, H))
    tw = int((boxes[:, 2] - boxes[:, 0]).max().clamp(1, W))
    corners = _windows(boxes, th, tw, H, W)
    templates = _crop(gt.float(), corners, th, tw)
    found, _ = locate(pred.float(), templates)
    err = (found - corners).float().norm(dim=1) / math.hypot(H, W)
    flat = (templates - templates.mean(dim=(1, 2, 3), keepdim=True)).flatten(1).norm(dim=1) < 1e-6
    return err.masked_fill(flat, float("nan"))


def crop_resize(frames: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crops of `boxes` [N,4] resized to size×size [N,3,size,size] in one grid_sample."""
    N, _, H, W = frames.shape
    x0, y0, x1, y1 = boxes.unbind(1)
    theta = torch.zeros(N, 2, 3, device=frames.device)
    theta[:, 0, 0] = (x1 - x0) / W
    theta[:, 0, 2] = (x0 + x1) / W - 1.0
    theta[:, 1, 1] = (y1 - y0) / H
    theta[:, 1, 2] = (y0 + y1) / H - 1.0
    grid = F.affine_grid(theta, [N, 3, size, size], align_corners=False)
    return F.grid_sample(frames.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)


# --------------------------------------------------------------------------- LPIPS (AlexNet, v0.1)

LPIPS_ALEXNET_FILES = ("alexnet-owt-7be5be79.pth", "alexnet.pth")
LPIPS_LINEAR_FILE = "alex.pth"


class LPIPS(nn.Module):
    """LPIPS v0.1 with AlexNet features; parameter names follow torchvision and the lpips package,
    so their published weight files load as they are."""

    CHANNELS = (64, 192, 384, 256, 256)
    TAPS = (1, 4, 7, 9, 11)  # ReLU outputs in torchvision's alexnet.features
    MIN_SIDE = 64  # AlexNet's strides leave nothing of smaller images

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        )  # fmt: skip
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.CHANNELS)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    @classmethod
    def from_folder(cls, folder: str | Path) -> LPIPS:
        """Load torchvision's AlexNet file and lpips' `alex.pth` (v0.1 linear layers) from `folder`."""
        folder = Path(folder)
        alex = next((folder / f for f in LPIPS_ALEXNET_FILES if (folder / f).is_file()), None)
        lin = folder / LPIPS_LINEAR_FILE
        if alex is None or not lin.is_file():
            raise UserError(
                f"--lpips {str(folder)!r} must hold {' or '.join(LPIPS_ALEXNET_FILES)} (torchvision AlexNet) "
                f"and {LPIPS_LINEAR_FILE} (lpips v0.1 linear layers)"
            )
        net = cls()
        backbone = torch.load(alex, map_location="cpu", weights_only=True)
        net.features.load_state_dict({k[len("features.") :]: v for k, v in backbone.items() if k.startswith("features.")})
        linear = torch.load(lin, map_location="cpu", weights_only=True)
        for i, layer in enumerate(net.lins):
            layer.weight.data.copy_(linear[f"lin{i}.model.1.weight"])
        return net.eval().requires_grad_(False)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance per image [N] between image batches in [0, 1]."""
        if min(a.shape[-2:]) < self.MIN_SIDE:
            factor = self.MIN_SIDE / min(a.shape[-2:])
            a = F.interpolate(a, scale_factor=factor, mode="bilinear", align_corners=False)
            b = F.interpolate(b, scale_factor=factor, mode="bilinear", align_corners=False)
        x = (torch.cat([a, b]).float() * 2 - 1 - self.shift) / self.scale
        total = torch.zeros(a.shape[0], device=a.device)
        tap = 0
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i == self.TAPS[tap]:
                fa, fb = (x / (x.norm(dim=1, keepdim=True) + 1e-10)).chunk(2)
                total = total + self.lins[tap]((fa - fb) ** 2).mean(dim=(1, 2, 3))
                tap += 1
                if tap == len(self.TAPS):
                    break
        return total


# --------------------------------------------------------------------------- CLIP features

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipScorer:
    """CLIP image embeddings from a local transformers folder (vision model with projection)."""

    def __init__(self, folder: str | Path, device: torch.device | str = "cpu") -> None:
        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise UserError(f"--clip {str(folder)!r} is not a local transformers CLIP folder (no config.json)")
        from transformers import CLIPVisionModelWithProjection

        self.model = CLIPVisionModelWithProjection.from_pretrained(folder, local_files_only=True).to(device).eval()
        # the preprocessing numbers only; resizing and normalising are done here on tensors
        proc_file = folder / "preprocessor_config.json"
        proc = json.loads(proc_file.read_text()) if proc_file.is_file() else {}
        self.size = int(self.model.config.image_size)
        self.mean = torch.tensor(proc.get("image_mean", CLIP_MEAN), device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(proc.get("image_std", CLIP_STD), device=device).view(1, 3, 1, 1)

    @torch.no_grad()
    def embed(self, crops: torch.Tensor) -> torch.Tensor:
        """Unit-length embeddings [N,E] of images [N,3,size,size] in [0,1]."""
        x = (crops.float().to(self.mean.device) - self.mean) / self.std
        e = self.model(pixel_values=x).image_embeds
        return F.normalize(e.float(), dim=-1)

    def subject_similarity(self, pred: torch.Tensor, gt: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """Cosine similarity [N] of the subject's crop (its ground-truth box) in generated and true frames."""
        boxes = mask_boxes(masks)
        a = self.embed(crop_resize(pred, boxes, self.size))
        b = self.embed(crop_resize(gt, boxes, self.size))
        return (a * b).sum(dim=-1).cpu()
