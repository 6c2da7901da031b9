"""`evaluate --dsc-detector`: a YOLO ONNX export (built here with onnx.helper in the export's layout)
run with onnxruntime: letterbox, threshold, NMS, boxes back in frame pixels, the subject rule, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hmworld.cli import app
from hmworld.errors import UserError
from hmworld.hydra.dsc import detect_boxes
from hmworld.hydra.yolo import (
    MATRIX_NMS,
    Detections,
    YoloDetector,
    letterbox,
    letterbox_geometry,
    match_subject,
    nms,
)

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
S, N, C = 640, 8400, 80
PERSON, CAR, DOG, CAT = 0, 2, 16, 15


def write_model(path: Path, raw: np.ndarray, input_shape=(1, 3, S, S)) -> Path:
    """An ONNX model whose output is `raw` (+ 0 · mean(images)), so it reads its input like a real export."""
    const = helper.make_tensor("raw", TensorProto.FLOAT, raw.shape, raw.astype(np.float32).ravel().tolist())
    nodes = [
        helper.make_node("Constant", [], ["raw_out"], value=const),
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Constant", [], ["zero"], value=helper.make_tensor("z", TensorProto.FLOAT, [], [0.0])),
        helper.make_node("Mul", ["m", "zero"], ["m0"]),
        helper.make_node("Add", ["raw_out", "m0"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "yolo_like",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(raw.shape))],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def raw_output(rows: list[tuple[tuple[float, float, float, float], int, float]], lb=None) -> np.ndarray:
    """[1, 4+C, N] with anchor i = (x1, y1, x2, y2) in frame pixels (mapped into input pixels by `lb`)."""
    out = np.zeros((1, 4 + C, N), dtype=np.float32)
    for i, ((x1, y1, x2, y2), cls, score) in enumerate(rows):
        if lb is not None:
            x1, x2 = x1 * lb.scale + lb.left, x2 * lb.scale + lb.left
            y1, y2 = y1 * lb.scale + lb.top, y2 * lb.scale + lb.top
        out[0, :4, i] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
        out[0, 4 + cls, i] = score
    return out


def test_letterbox_matches_ultralytics_geometry():
    h, w, lb = letterbox_geometry(480, 832, (S, S))  # the paper's frame size
    assert (h, w) == (369, 640) and lb.left == 0 and lb.top == 135 and lb.scale == pytest.approx(640 / 832)
    frames = torch.ones(2, 3, 480, 832)
    images, lb = letterbox(frames, (S, S))
    assert images.shape == (2, 3, S, S) and images.dtype == np.float32
    assert np.allclose(images[:, :, 135 : 135 + 369], 1.0)
    assert np.allclose(images[:, :, :135], 114 / 255) and np.allclose(images[:, :, 135 + 369 :], 114 / 255)


def test_detector_returns_boxes_in_frame_pixels_and_nms_removes_duplicates(tmp_path):
    H, W = 480, 832
    _, _, lb = letterbox_geometry(H, W, (S, S))
    A, B = (100.0, 50.0, 300.0, 400.0), (600.0, 200.0, 700.0, 330.0)
    rows = [
        (A, PERSON, 0.9),
        ((104.0, 52.0, 302.0, 404.0), PERSON, 0.8),  # a duplicate of A: NMS drops it
        (A, DOG, 0.6),  # the same place, another class: class-aware NMS keeps it
        (B, CAR, 0.95),  # not a subject class
        (B, CAT, 0.5),
        ((10.0, 10.0, 50.0, 50.0), PERSON, 0.1),  # below the score threshold
    ]
    det = YoloDetector(write_model(tmp_path / "m.onnx", raw_output(rows, lb)))
    assert det.size == (S, S)
    (found,) = det.detect(torch.rand(1, 3, H, W))
    np.testing.assert_allclose(found.boxes, [A, A, B], atol=1e-3)
    np.testing.assert_allclose(found.scores, [0.9, 0.6, 0.5], atol=1e-6)
    assert found.classes.tolist() == [PERSON, DOG, CAT]
    (every,) = det.detect(torch.rand(1, 3, H, W), subjects_only=False)
    assert every.classes.tolist() == [CAR, PERSON, DOG, CAT]
    # boxes reaching into the padding are clipped to the frame
    out = raw_output([((-20.0, -30.0, 900.0, 500.0), PERSON, 0.9)], lb)
    (clipped,) = YoloDetector(write_model(tmp_path / "c.onnx", out)).detect(torch.rand(1, 3, H, W))
    np.testing.assert_allclose(clipped.boxes, [[0, 0, W, H]], atol=1e-3)
    # a rectangular export (imgsz=[384, 640]): 480×832 → 369×640 centred at top 7
    _, _, lb = letterbox_geometry(H, W, (384, S))
    assert lb.top == 7 and lb.left == 0
    rect = write_model(tmp_path / "r.onnx", raw_output([(A, PERSON, 0.9)], lb), (1, 3, 384, S))
    (found,) = YoloDetector(rect).detect(torch.rand(1, 3, H, W))
    np.testing.assert_allclose(found.boxes, [A], atol=1e-3)
    # a dynamic export (height and width named, not fixed) is fed 640×640
    _, _, lb = letterbox_geometry(H, W, (S, S))
    dynamic = write_model(tmp_path / "d.onnx", raw_output([(B, CAT, 0.7)], lb), (1, 3, "height", "width"))
    det = YoloDetector(dynamic)
    assert det.size == (S, S)
    np.testing.assert_allclose(det.detect(torch.rand(1, 3, H, W))[0].boxes, [B], atol=1e-3)


def test_nms_matches_a_scalar_greedy_reference():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 50, (60, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 30, (60, 2))], axis=1)
    scores = rng.uniform(0, 1, 60)

    def iou(a, b):
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    want: list[int] = []
    for i in sorted(range(60), key=lambda k: -scores[k]):
        if all(iou(boxes[i], boxes[j]) <= 0.5 for j in want):
            want.append(i)
    assert nms(boxes, scores, 0.5).tolist() == want
    assert nms(boxes, scores, 0.5, max_det=3).tolist() == want[:3]
    # beyond MATRIX_NMS candidates the row-by-row path: the same greedy rule
    many = np.concatenate([boxes + 60 * k for k in range(10)])  # 600 boxes, 10 shifted copies
    many_scores = rng.uniform(0, 1, len(many))
    assert len(many) > MATRIX_NMS
    want = []
    for i in sorted(range(len(many)), key=lambda k: -many_scores[k]):
        if all(iou(many[i], many[j]) <= 0.5 for j in want):
            want.append(i)
    assert nms(many, many_scores, 0.5).tolist() == want
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_subject_follows_the_best_iou_with_its_last_known_box():
    def d(*boxes):
        b = np.array(boxes, dtype=np.float64).reshape(-1, 4)
        return Detections(b, np.ones(len(b)), np.zeros(len(b), dtype=int))

    start = np.array([0.0, 0.0, 10.0, 10.0])
    frames = [
        d([2, 0, 12, 10], [50, 50, 60, 60]),  # moved right: IoU 8/12 with the start
        d([4, 0, 14, 10]),  # moved on: matched against frame 0's box, not the start
        d([80, 80, 90, 90]),  # nothing near: absent, the reference stays
        d(),  # no detections: absent
        d([5, 1, 15, 11], [3, 0, 13, 10]),  # the better of two overlaps
    ]
    got = match_subject(frames, start, min_iou=0.3)
    np.testing.assert_array_equal(got[0], [2, 0, 12, 10])
    np.testing.assert_array_equal(got[1], [4, 0, 14, 10])
    assert np.isnan(got[2]).all() and np.isnan(got[3]).all()
    np.testing.assert_array_equal(got[4], [3, 0, 13, 10])
    assert np.isnan(match_subject(frames, None, 0.3)).all()


def test_detect_boxes_normalises_and_starts_from_the_last_context_box(tmp_path):
    H = W = 32
    _, _, lb = letterbox_geometry(H, W, (S, S))
    det = YoloDetector(write_model(tmp_path / "m.onnx", raw_output([((9.0, 9.0, 17.0, 17.0), PERSON, 0.9)], lb)))
    ctx_boxes = torch.tensor([[0.25, 0.25, 0.5, 0.5], [-1.0, -1.0, -1.0, -1.0]])
    got = detect_boxes(det, ctx_boxes, torch.rand(3, 3, H, W), min_iou=0.1)
    torch.testing.assert_close(got, torch.tensor([[9 / 32, 9 / 32, 17 / 32, 17 / 32]] * 3), atol=1e-4, rtol=0)
    assert (detect_boxes(det, torch.full((2, 4), -1.0), torch.rand(3, 3, H, W), 0.1) == -1).all()


def test_bad_detector_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="is not a file"):
        YoloDetector(tmp_path / "missing.onnx")
    (tmp_path / "text.onnx").write_text("not a model")
    with pytest.raises(UserError, match="is not an ONNX model onnxruntime can load"):
        YoloDetector(tmp_path / "text.onnx")
    with pytest.raises(UserError, match=r"output has shape \[1, 84\]"):
        YoloDetector(write_model(tmp_path / "flat.onnx", np.zeros((1, 84), dtype=np.float32)))
    with pytest.raises(UserError, match=r"output has shape \[1, 3, 8400\]"):
        YoloDetector(write_model(tmp_path / "narrow.onnx", np.zeros((1, 3, N), dtype=np.float32)))
    with pytest.raises(UserError, match="takes one RGB image"):
        YoloDetector(write_model(tmp_path / "rgba.onnx", np.zeros((1, 84, N), dtype=np.float32), (1, 4, S, S)))


def test_cli_bad_detector_exits_2_with_one_line(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "text.onnx").write_text("not a model")
    cmd = [sys.executable, "-m", "hmworld", "evaluate", "--run", str(tmp_path / "run"), "--data", str(tmp_path),
           "--dsc-clip", str(tmp_path), "--dsc-detector", str(tmp_path / "text.onnx")]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "text.onnx" in lines[0], proc.stderr
    # --dsc-detector without --dsc-clip (CliRunner bypasses main(), which turns a UserError into exit 2)
    no_clip = ["evaluate", "--run", str(tmp_path / "run"), "--data", str(tmp_path), "--dsc-detector", str(tmp_path / "text.onnx")]
    result = CliRunner().invoke(app, no_clip)
    assert isinstance(result.exception, UserError) and "give --dsc-clip" in str(result.exception)


def test_evaluate_with_a_detector_end_to_end(synthetic_data, tmp_path):
    transformers = pytest.importorskip("transformers")
    runner = CliRunner()
    data = str(tmp_path)
    result = runner.invoke(app, ["train", "--data", data, "--out", str(tmp_path / "run"), "--steps", "2"])
    assert result.exit_code == 0, result.output
    cfg = transformers.CLIPVisionConfig(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=1, num_attention_heads=4)  # fmt: skip
    transformers.CLIPVisionModel(cfg).save_pretrained(tmp_path / "clip")
    # 32×32 frames: a grid of person/dog/cat boxes of side 4, 8 and 16 px, so every subject box has a match
    _, _, lb = letterbox_geometry(32, 32, (S, S))
    rows = [((float(x), float(y), float(x + s), float(y + s)), cls, 0.9)
            for s, cls in ((4, PERSON), (8, DOG), (16, CAT)) for y in range(0, 33 - s, 2) for x in range(0, 33 - s, 2)]  # fmt: skip
    model = write_model(tmp_path / "yolo.onnx", raw_output(rows, lb))
    out = tmp_path / "eval"
    args = ["evaluate", "--run", str(tmp_path / "run"), "--data", data, "--out", str(out), "--steps", "2",
            "--dsc-clip", str(tmp_path / "clip"), "--dsc-detector", str(model)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "DSC_con ↑ | DSC_tgt ↑ |" in result.output
    report = json.loads((out / "eval.json").read_text())
    assert report["dsc_tracker"] == f"yolo-onnx:{model}"
    (row,) = report["rows"]
    assert -1 <= row["dsc_con"] <= 1 and -1 <= row["dsc_tgt"] <= 1
