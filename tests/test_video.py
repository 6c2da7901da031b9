"""H.264 files through the real PyAV/libx264: what we write plays back as what we rendered."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from hmworld.video import DEFAULT_GOP, open_video, read_video, video_info, write_video


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


def keyframes_and_reordering(path: Path) -> tuple[list[int], bool]:
    """Positions of the keyframes, and whether pictures are decoded out of display order (B-frames)."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        step = 1 / (s.average_rate * s.time_base)
        packets = [p for p in c.demux(s) if p.size]
    order = [round(p.pts / step) for p in packets]
    return [round(p.pts / step) for p in packets if p.is_keyframe], order != sorted(order)


WINDOWS = {
    "start": list(range(0, 16)),
    "middle": list(range(40, 56)),
    "across a keyframe": list(range(9, 25)),
    "the frames either side of a keyframe": [15, 16],
    "the frame before a keyframe": [47],
    "end": list(range(80, 96)),
    "last frame": [95],
    "spread": list(np.round(np.linspace(0, 95, 7)).astype(int)),
    "any order, repeats": [60, 3, 60, 17, 95],
}


@pytest.mark.parametrize("gop", [DEFAULT_GOP, 250], ids=["default GOP", "x264 default GOP (clips before)"])
def test_windows_are_the_frames_of_a_full_decode_bit_for_bit(tmp_path: Path, gop: int) -> None:
    path = tmp_path / "v.mp4"
    write_video(path, moving_gradient(96), 15, gop=gop)  # preset medium: B-frames, decoded out of order
    keys, reordered = keyframes_and_reordering(path)
    assert reordered
    assert keys[0] == 0 and max(np.diff([*keys, 96])) <= gop  # x264 may add keyframes at scene cuts
    assert len(keys) >= 96 // gop
    full = read_video(path)
    for name, idx in WINDOWS.items():
        assert np.array_equal(read_video(path, idx), full[idx]), name
        assert np.array_equal(read_video(path, idx, seek=False), full[idx]), name  # from the start, as before
    for start in range(0, 96 - 8 + 1):  # every 8-frame window
        assert np.array_equal(read_video(path, range(start, start + 8)), full[start : start + 8]), start
    with pytest.raises(IndexError, match="96"):
        read_video(path, [90, 96])


def test_a_seek_that_lands_after_the_first_frame_steps_back(tmp_path: Path) -> None:
    """FFmpeg's MP4 index is in decode time; a seek aimed past a keyframe's decode time but before
    its display time lands on it. Aiming at the second keyframe for the frame before it must still
    start at the first keyframe."""
    import av

    from hmworld.video import _frame_clock, _packets_from_keyframe

    path = tmp_path / "v.mp4"
    write_video(path, moving_gradient(40), 15)
    keys, _ = keyframes_and_reordering(path)
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        start, step = _frame_clock(s)
        position = lambda pts: round((pts - start) / step)  # noqa: E731
        packets = _packets_from_keyframe(c, s, keys[1] - 1, position, start + int(keys[1] * step))
        head = next(packets)
        assert head.is_keyframe and position(head.pts) == keys[0]


def test_a_keyframe_interval_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gop must be a whole number of frames >= 1; got 0"):
        write_video(tmp_path / "v.mp4", moving_gradient(4), 15, gop=0)
    assert list(tmp_path.iterdir()) == []


def test_open_gop_files_from_other_encoders_read_the_same(tmp_path: Path) -> None:
    """Open GOPs (leading pictures refer back across a keyframe) are decoded from the start instead."""
    import av

    frames = moving_gradient(64)
    path = tmp_path / "open.mp4"
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=15)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.options = {"x264-params": "open-gop=1:keyint=16:bframes=3:scenecut=0"}
        for t, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts, vf.time_base = t, Fraction(1, 15)
            c.mux(s.encode(vf))
        c.mux(s.encode(None))
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        step = 1 / (st.average_rate * st.time_base)
        packets = [(round(p.pts / step), p.is_keyframe) for p in c.demux(st) if p.size]
    assert (16, True) in packets and packets.index((16, True)) < packets.index((15, False))  # a leading picture
    full = read_video(path)
    for idx in ([14, 15, 16, 17], [15], list(range(10, 26)), list(range(30, 46)), [63]):
        assert np.array_equal(read_video(path, idx), full[idx]), idx
