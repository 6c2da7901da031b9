"""H.264 files through the real PyAV/libx264: what we write plays back as what we rendered."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from hmworld.video import open_video, read_video, video_info, write_video


def moving_gradient(t: int = 20, h: int = 48, w: int = 64) -> np.ndarray:
    """Smooth content (H.264 keeps it within a few levels) that changes every frame."""
    x = np.linspace(0, 200, w)[None, None, :]
    y = np.linspace(0, 120, h)[None, :, None]
    k = np.arange(t)[:, None, None] * 3.0
    shape = (t, h, w)
    r, g, b = (x + k) % 256, (y + k) % 256, 90 + k + 0 * x
    return np.stack([np.broadcast_to(c, shape) for c in (r, g, b)], axis=-1).astype(np.uint8)


def test_round_trip_keeps_frames_size_rate_and_codec(tmp_path: Path) -> None:
    frames = moving_gradient()
    path = tmp_path / "v.mp4"
    write_video(path, frames, 15)
    info = video_info(path)
    assert (info.frames, info.width, info.height) == (20, 64, 48)
    assert info.fps == Fraction(15) and info.codec == "h264" and info.pix_fmt == "yuv420p"
    back = read_video(path)
    assert back.shape == frames.shape and back.dtype == np.uint8
    assert np.abs(back.astype(int) - frames).mean() < 3.0
    # each decoded frame is closest to the frame it was made from
    err = np.abs(back[:, None].astype(int) - frames[None].astype(int)).mean(axis=(2, 3, 4))
    assert np.array_equal(err.argmin(axis=1), np.arange(20))


def test_reading_chosen_frames_matches_a_full_decode(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    write_video(path, moving_gradient(), 15)
    full = read_video(path)
    picked = read_video(path, [7, 0, 7, 19])
    assert np.array_equal(picked, full[[7, 0, 7, 19]])
    with pytest.raises(IndexError, match="20"):
        read_video(path, [20])


def test_same_frames_give_the_same_bytes(tmp_path: Path) -> None:
    frames = moving_gradient()
    write_video(tmp_path / "a.mp4", frames, 15)
    write_video(tmp_path / "b.mp4", frames, 15)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_an_interrupted_write_leaves_no_video_behind(tmp_path: Path) -> None:
    path = tmp_path / "v.mp4"
    with pytest.raises(KeyboardInterrupt), open_video(path, 15, 64, 48) as w:
        w.write(moving_gradient(3))
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_streamed_frames_equal_a_single_write(tmp_path: Path) -> None:
    frames = moving_gradient()
    write_video(tmp_path / "a.mp4", frames, 15)
    with open_video(tmp_path / "b.mp4", 15, 64, 48) as w:
        for f in frames:
            w.write(f)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


@pytest.mark.parametrize("shape", [(4, 47, 64, 3), (4, 48, 63, 3)])
def test_odd_sizes_are_refused_before_anything_is_written(tmp_path: Path, shape) -> None:
    with pytest.raises(ValueError, match="even"):
        write_video(tmp_path / "v.mp4", np.zeros(shape, np.uint8), 15)
    assert list(tmp_path.iterdir()) == []


def test_wrong_frames_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"), open_video(tmp_path / "v.mp4", 15, 64, 48) as w:
        w.write(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(ValueError, match=r"\[T,48,64,3\]"), open_video(tmp_path / "v.mp4", 15, 64, 48) as w:
        w.write(np.zeros((40, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
