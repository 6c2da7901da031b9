"""How fast `evaluate --dsc-detector` post-processes one YOLO output ([84, 8400], Ultralytics' ONNX layout).

Side by side on the same outputs, in one run:
- matrix: greedy NMS over the full candidates×candidates IoU matrix (the first version);
- rows: keep the best box and drop what it overlaps, one IoU row per kept box;
- ours: `hmworld.hydra.yolo.nms`, the matrix up to MATRIX_NMS candidates, rows beyond.
Two loads: a realistic frame (200 anchors above the 0.25 threshold) and a worst case (every anchor
above it; both capped at the best 3000 candidates). Also the whole `decode` (threshold, NMS, mapping)
per frame. The ONNX model's own run time is not measured (no YOLO weights on this machine).

Last line: one JSON object of the headline figures (milliseconds).
"""

from __future__ import annotations

import json
import time

import numpy as np

from hmworld.hydra.yolo import COCO_SUBJECT_CLASSES, MAX_NMS, Letterbox, box_iou, decode, nms


def nms_matrix(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy NMS over the whole IoU matrix (the first version, kept here to compare)."""
    order = np.argsort(-scores, kind="stable")
    overlap = box_iou(boxes[order], boxes[order]) > iou
    keep = np.ones(len(order), dtype=bool)
    for i in range(len(order)):
        if keep[i]:
            keep[i + 1 :] &= ~overlap[i, i + 1 :]
    return order[keep]


def nms_rows(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Keep the best remaining box, drop what it overlaps in one IoU row; repeat."""
    order = np.argsort(-scores, kind="stable")
    kept = []
    while order.size:
        kept.append(int(order[0]))
        order = order[1:][box_iou(boxes[order[0]][None], boxes[order[1:]])[0] <= iou]
    return np.array(kept, dtype=np.int64)


def output(hot: int | None, seed: int = 0) -> np.ndarray:
    """A raw [84, 8400] output: `hot` anchors scored 0.3–0.95 on a subject class (None: every anchor)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((84, 8400), np.float32)
    out[:2] = rng.uniform(0, 640, (2, 8400))
    out[2:4] = rng.uniform(10, 200, (2, 8400))
    out[4:] = rng.uniform(0, 0.05, (80, 8400))
    if hot is None:
        out[4] = np.linspace(0.99, 0.3, 8400)
    else:
        idx = rng.choice(8400, hot, replace=False)
        out[4 + rng.choice(COCO_SUBJECT_CLASSES, hot), idx] = rng.uniform(0.3, 0.95, hot)
    return out


def candidates(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    score = out[4:].max(0)
    sel = np.flatnonzero(score >= 0.25)
    sel = sel[np.argsort(-score[sel], kind="stable")[:MAX_NMS]]
    cx, cy, w, h = out[:4, sel]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float64), score[sel]


def best_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3


def main() -> None:
    lb = Letterbox(640 / 832, 0, 135)
    figures = {}
    for name, hot, repeat in (("realistic", 200, 20), ("worst", None, 3)):
        out = output(hot)
        boxes, scores = candidates(out)
        want = nms_matrix(boxes, scores, 0.7)
        same = np.array_equal(want, nms_rows(boxes, scores, 0.7)) and np.array_equal(want, nms(boxes, scores, 0.7))
        m = best_ms(lambda b=boxes, s=scores: nms_matrix(b, s, 0.7), repeat)
        r = best_ms(lambda b=boxes, s=scores: nms_rows(b, s, 0.7), repeat)
        o = best_ms(lambda b=boxes, s=scores: nms(b, s, 0.7, 300), repeat)
        d = best_ms(lambda x=out: decode(x, lb, 480, 832, 0.25, 0.7, 300, COCO_SUBJECT_CLASSES), repeat)
        print(f"{name:9s} {len(boxes):5d} candidates  matrix {m:8.1f} ms  rows {r:7.1f} ms  ours {o:7.1f} ms  "
              f"decode {d:7.1f} ms/frame  same kept boxes (all): {same}")  # fmt: skip
        figures[name] = {"candidates": len(boxes), "matrix_nms_ms": round(m, 2), "rows_nms_ms": round(r, 2), "nms_ms": round(o, 2),
                         "decode_ms": round(d, 2), "same_result": bool(same)}  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
