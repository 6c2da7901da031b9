"""A local Ultralytics YOLO detector exported to ONNX, run with onnxruntime (no `ultralytics`, no torchvision).

The release's DSC tracks the subject in generated frames with YOLOv11; `ultralytics` needs torchvision,
whose wheel does not import beside our CPU torch, so we run the standard ONNX export instead
(`yolo export model=yolo11n.pt format=onnx`, nms=False). Its layout, as Ultralytics documents it
(docs.ultralytics.com/modes/export; the maintainers' answer in ultralytics/ultralytics#751: "84 means
bbox xywh + 80 scores"):

- input ``images`` [1,3,Sh,Sw] float32, RGB in [0,1] (640×640 by default; `imgsz=[h,w]` exports are
  rectangular), the frame letterboxed into it: scaled by r = min(Sh/H, Sw/W), centred, padded with grey
  114/255 (Ultralytics' `LetterBox`); a dynamic export is fed 640×640;
- output [1, 4+C, N] (N = 8400 anchors at S = 640): rows 0–3 the box centre x, y, width, height in
  input pixels, rows 4… the per-class scores (sigmoid, no objectness); no NMS in the graph.

Post-processing follows Ultralytics' predict defaults: an anchor's score is its best class score, kept
when ≥ `conf` (0.25), then class-aware greedy NMS at IoU `iou` (0.7) over the best `MAX_NMS` of them,
at most `max_det` boxes; boxes are mapped back through the letterbox to frame pixels and clipped to
the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from hmworld.errors import UserError

PAD_VALUE = 114 / 255  # Ultralytics' LetterBox fill
DEFAULT_SIZE = 640
COCO_CLASSES = 80
MATRIX_NMS = 512  # NMS over an IoU matrix up to this many candidates, row by row beyond
MAX_NMS = 3000  # the best-scoring candidates NMS considers per image (Ultralytics' own cap is 30000)
# COCO person (0) and the animals: bird, cat, dog, horse, sheep, cow, elephant, bear, zebra, giraffe (14–23)
COCO_SUBJECT_CLASSES = (0, *range(14, 24))


@dataclass(frozen=True)
class Detections:
    """One frame's detections: boxes [n,4] (x1, y1, x2, y2) in frame pixels, scores [n], classes [n]."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


@dataclass(frozen=True)
class Letterbox:
    """Frame → model input: input = frame · scale + (left, top)."""

    scale: float
    left: int
    top: int


def letterbox_geometry(H: int, W: int, size: tuple[int, int]) -> tuple[int, int, Letterbox]:
    """Resized (h, w) and the letterbox of an H×W frame into size (Sh, Sw) (Ultralytics' LetterBox, centred)."""
    sh, sw = size
    r = min(sh / H, sw / W)
    h, w = round(H * r), round(W * r)
    top, left = round((sh - h) / 2 - 0.1), round((sw - w) / 2 - 0.1)
    return h, w, Letterbox(r, left, top)


def letterbox(frames: torch.Tensor, size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Frames [T,3,H,W] RGB in [0,1] → model input [T,3,Sh,Sw] float32 (bilinear resize, grey padding)."""
    T, _, H, W = frames.shape
    h, w, lb = letterbox_geometry(H, W, size)
    resized = F.interpolate(frames.float().clamp(0, 1), size=(h, w), mode="bilinear", align_corners=False)
    out = torch.full((T, 3, *size), PAD_VALUE)
    out[:, :, lb.top : lb.top + h, lb.left : lb.left + w] = resized
    return out.numpy(), lb


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU [n,m] of boxes a [n,4] and b [m,4] (x1, y1, x2, y2); 0 where both are empty."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float, max_det: int | None = None) -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, best score first: a box is dropped when its IoU with a kept,
    better-scoring box exceeds `iou`; at most `max_det` kept. boxes [n,4] (x1, y1, x2, y2), scores [n].

    Up to `MATRIX_NMS` boxes: one n×n IoU matrix, then a pass that suppresses a whole row per kept box
    (fastest when few boxes); beyond: keep the best remaining box and drop what it overlaps in one IoU
    row, O(kept · n) memory and time, never n². Same result (tools/bench_yolo_nms.py checks).
    """
    order = np.argsort(-scores, kind="stable")
    if len(order) <= MATRIX_NMS:
        overlap = box_iou(boxes[order], boxes[order]) > iou
        keep = np.ones(len(order), dtype=bool)
        for i in range(len(order)):
            if keep[i]:
                keep[i + 1 :] &= ~overlap[i, i + 1 :]
        return order[keep][:max_det]
    kept: list[int] = []
    while order.size and (max_det is None or len(kept) < max_det):
        best, rest = order[0], order[1:]
        kept.append(int(best))
        order = rest[box_iou(boxes[best][None], boxes[rest])[0] <= iou]
    return np.array(kept, dtype=np.int64)


def decode(output: np.ndarray, lb: Letterbox, H: int, W: int, conf: float, iou: float, max_det: int,
           classes: tuple[int, ...] | None = None) -> Detections:  # fmt: skip
    """One image's raw output [4+C, N] → detections in frame pixels (H×W); `classes` limits the classes kept."""
    scores_all = output[4:]
    if classes is not None:
        allowed = np.full(scores_all.shape[0], -np.inf)
        allowed[list(classes)] = 0.0
        scores_all = scores_all + allowed[:, None]
    cls = scores_all.argmax(0)
    score = scores_all[cls, np.arange(output.shape[1])]
    sel = np.flatnonzero(score >= conf)
    sel = sel[np.argsort(-score[sel], kind="stable")[:MAX_NMS]]
    cx, cy, w, h = output[:4, sel]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float64)
    score, cls = score[sel], cls[sel]
    span = boxes.max(initial=0.0) - boxes.min(initial=0.0) + 1.0
    offset = cls[:, None] * span  # class-aware NMS: each class shifted apart, so classes never overlap
    keep = nms(boxes + offset, score, iou, max_det)
    boxes = (boxes[keep] - np.array([lb.left, lb.top, lb.left, lb.top])) / lb.scale
    boxes = np.clip(boxes, 0, np.array([W, H, W, H], dtype=np.float64))
    return Detections(boxes, score[keep].astype(np.float64), cls[keep])


class YoloDetector:
    """A local Ultralytics YOLOv8/YOLO11 detection model exported to ONNX (see the module docstring).

    Raises UserError when the file is missing, is not an ONNX model, or its input/output is not the
    export's layout ([1,3,Sh,Sw] in; [1,4+C,N] out).
    """

    def __init__(self, path: str | Path, conf: float = 0.25, iou: float = 0.7, max_det: int = 300) -> None:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"--dsc-detector {str(path)!r} is not a file; give a YOLO model exported to ONNX")
        try:
            import onnxruntime
        except ImportError:
            raise UserError("--dsc-detector needs onnxruntime; install it with: pip install 'hmworld[yolo]'") from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only; a wrong file is reported as a UserError below
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own (pybind) exception types for every load failure
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"--dsc-detector {str(path)!r} is not an ONNX model onnxruntime can load ({first})") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = list(inputs[0].shape) if len(inputs) == 1 else []
        if len(shape) != 4 or (shape[1] not in (3, None) and not isinstance(shape[1], str)):
            raise UserError(f"--dsc-detector {str(path)!r}: input {inputs[0].name if inputs else '(none)'} "
                            f"has shape {shape}; a YOLO detection export takes one RGB image [1,3,H,W]")  # fmt: skip
        fixed = isinstance(shape[2], int) and isinstance(shape[3], int)
        self.size = (shape[2], shape[3]) if fixed else (DEFAULT_SIZE, DEFAULT_SIZE)
        self.input_name = inputs[0].name
        self.path = path
        out = list(outputs[0].shape)
        if len(out) != 3 or (isinstance(out[1], int) and out[1] < 5):
            raise UserError(f"--dsc-detector {str(path)!r}: output has shape {out}; a YOLO detection export "
                            "gives [1, 4+classes, anchors] (no NMS in the graph)")  # fmt: skip
        self.conf, self.iou, self.max_det = conf, iou, max_det

    def raw(self, image: np.ndarray) -> np.ndarray:
        """The model's output [4+C, N] for one letterboxed image [3,Sh,Sw]."""
        (out,) = self.session.run(None, {self.input_name: image[None].astype(np.float32)})[:1]
        if out.ndim != 3 or out.shape[0] != 1 or out.shape[1] < 5:
            raise UserError(f"--dsc-detector {str(self.path)!r}: output has shape {list(out.shape)}; a YOLO "
                            "detection export gives [1, 4+classes, anchors] (no NMS in the graph)")  # fmt: skip
        return out[0]

    def detect(self, frames: torch.Tensor, subjects_only: bool = True) -> list[Detections]:
        """Detections per frame of frames [T,3,H,W] RGB in [0,1], boxes in frame pixels.

        subjects_only: keep COCO's person and animal classes (an 80-class model); other models keep all.
        """
        H, W = frames.shape[-2:]
        images, lb = letterbox(frames, self.size)
        found = []
        for image in images:
            out = self.raw(image)
            classes = COCO_SUBJECT_CLASSES if subjects_only and out.shape[0] == 4 + COCO_CLASSES else None
            found.append(decode(out, lb, H, W, self.conf, self.iou, self.max_det, classes))
        return found


def match_subject(detections: list[Detections], start: np.ndarray | None, min_iou: float) -> np.ndarray:
    """The subject's box per frame [T,4] in frame pixels (NaN rows: absent), following it from `start`.

    Rule: the reference is the subject's last known box (first `start`, the last context box). In each
    frame, in order, the detection with the highest IoU with the reference is the subject when that IoU
    is at least `min_iou`, and becomes the reference; otherwise the subject is absent in that frame and
    the reference stays. No start box (the subject never seen in the context): absent everywhere.
    """
    out = np.full((len(detections), 4), np.nan)
    ref = None if start is None else np.asarray(start, dtype=np.float64)
    for t, det in enumerate(detections):
        if ref is None or len(det.boxes) == 0:
            continue
        overlaps = box_iou(ref[None], det.boxes)[0]
        best = int(overlaps.argmax())
        if overlaps[best] >= min_iou:
            ref = out[t] = det.boxes[best]
    return out
