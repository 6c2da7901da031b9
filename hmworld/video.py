"""H.264 video files through PyAV: written atomically, read back as uint8 RGB arrays.

Shared by every backend and by the dataset exporter, so all clips use the same
codec settings (libx264, yuv420p, constant quality, a keyframe every
`DEFAULT_GOP` frames) and a killed write never leaves a video that looks whole.

Reading chosen frames seeks to the keyframe at or before the first of them and
decodes forward only as far as the last, skipping the part of every group of
pictures (GOP) that holds none of them; the frames are bit for bit those of a
full decode (tests/test_video.py checks windows at the start, the middle,
across keyframes and at the end, on files with and without short GOPs).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hmworld.atomic import atomic_path

CODEC = "libx264"
PIX_FMT = "yuv420p"
DEFAULT_CRF = 18
DEFAULT_PRESET = "medium"
DEFAULT_GOP = 16
"""Frames from one keyframe to the next (x264 `keyint`; its default, 250, gave a 150-frame clip one
keyframe). A window then decodes at most GOP-1 frames it does not return before its first frame.
Measured (tools/bench_gop.py, rendered 150-frame clips, CRF 18): files 1.38x the size of x264's
default at 416x240 and 1.37x at 832x480 (GOP 32: 1.20x / 1.18x; GOP 8: 1.70x); with GOP 16 a
16-frame window reads at 115% of the full-decode rate per frame in tools/bench_loader.py, with GOP 32
at 75%, below the 80% asked for."""
MAX_SEEKS = 4


@functools.cache
def _repeatable_x264() -> dict[str, str]:
    """Encoder options that make the same frames give the same bytes on this CPU.

    libx264's AVX-512 kernels make repeated encodes of identical frames differ
    (measured: several distinct files in 20 runs); capped at AVX2 and friends,
    every run gives one file at the same speed. Only CPUs reporting AVX-512
    (which all have AVX2, FMA3, BMI2 and LZCNT) get the cap.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    if not any(f.startswith("avx512") for f in flags) or "avx2" not in flags:
        return {}
    names = ["avx2"] + [n for n, f in (("fma3", "fma"), ("bmi2", "bmi2"), ("lzcnt", "abm")) if f in flags]
    return {"x264-params": "asm=" + ",".join(names)}


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    fps: Fraction
    width: int
    height: int
    codec: str
    pix_fmt: str


def check_size(width: int, height: int) -> None:
    """yuv420p halves chroma in both directions, so H.264 needs even sides."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"H.264 yuv420p needs a positive, even width and height; got {width}x{height}")


class VideoWriter:
    """Streams RGB frames into an open H.264 container; use `open_video` to get one."""

    def __init__(self, container: av.container.OutputContainer, stream: av.video.VideoStream) -> None:
        self._container = container
        self._stream = stream
        self._time_base = Fraction(1, 1) / Fraction(stream.codec_context.framerate)
        self.frames_written = 0

    def write(self, frames: np.ndarray) -> None:
        """Append one frame [H,W,3] or a batch [T,H,W,3] of uint8 RGB."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        want = (self._stream.height, self._stream.width, 3)
        if frames.ndim != 4 or frames.shape[1:] != want:
            raise ValueError(f"frames must be [T,{want[0]},{want[1]},3]; got {list(frames.shape)}")
        if frames.dtype != np.uint8:
            raise ValueError(f"frames must be uint8 RGB; got {frames.dtype}")
        for frame in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            vf.pts = self.frames_written  # frame t is shown at t / fps
            vf.time_base = self._time_base
            self._container.mux(self._stream.encode(vf))
            self.frames_written += 1

    def _flush(self) -> None:
        self._container.mux(self._stream.encode(None))


@contextlib.contextmanager
def open_video(
    path: str | Path,
    fps: int | Fraction,
    width: int,
    height: int,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    gop: int = DEFAULT_GOP,
) -> Iterator[VideoWriter]:
    """Yield a writer; the file appears at `path` only if the block finishes without error.

    gop: the most frames from one keyframe (a closed-GOP IDR picture) to the next; x264 may add
    keyframes at scene cuts. Raises ValueError for an odd size, fps <= 0 or gop < 1.
    """
    check_size(width, height)
    if fps <= 0:
        raise ValueError(f"fps must be positive; got {fps}")
    if isinstance(gop, bool) or not isinstance(gop, (int, np.integer)) or gop < 1:
        raise ValueError(f"gop must be a whole number of frames >= 1; got {gop!r}")
    with atomic_path(path) as tmp:
        container = av.open(str(tmp), mode="w", format="mp4")
        try:
            stream = container.add_stream(CODEC, rate=Fraction(fps))
            stream.width = width
            stream.height = height
            stream.pix_fmt = PIX_FMT
            stream.codec_context.gop_size = int(gop)
            stream.options = {"crf": str(crf), "preset": preset, **_repeatable_x264()}
            writer = VideoWriter(container, stream)
            yield writer
            if writer.frames_written == 0:
                raise ValueError("no frames were written; a video needs at least one frame")
            writer._flush()
        finally:
            container.close()


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: int | Fraction,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
    gop: int = DEFAULT_GOP,
) -> None:
    """Encode uint8 RGB frames [T,H,W,3] as H.264 (yuv420p) at `fps`, atomically (see `open_video`)."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T,H,W,3]; got {list(frames.shape)}")
    with open_video(path, fps, frames.shape[2], frames.shape[1], crf=crf, preset=preset, gop=gop) as w:
        w.write(frames)


def video_info(path: str | Path) -> VideoInfo:
    """Frame count (by decoding, so it is exact), rate, size and codec of a video."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.demux(s) if _.size)
        return VideoInfo(n, Fraction(s.average_rate), s.width, s.height, s.codec_context.name, s.codec_context.pix_fmt)


def read_video(
    path: str | Path, indices: Sequence[int] | np.ndarray | None = None, seek: bool = True
) -> np.ndarray:
    """Decode frames as uint8 RGB [T,H,W,3]; `indices` picks frames (any order, repeats allowed).

    With `indices`, seeks to the keyframe at or before the first frame asked for and decodes
    forward only as far as the last one, skipping groups of pictures that hold none of them; the
    frames are exactly those of a full decode at those positions (a frame's position comes from
    its timestamp; a file whose timestamps do not give one frame per position is decoded from its
    start instead). seek=False decodes every frame from the start up to the last one asked for
    (how frames were read before; tools/bench_loader.py compares the two). Raises IndexError for a
    negative or out-of-range index, ValueError for a file without frames.
    """
    if indices is None:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(stream)]
        if not frames:
            raise ValueError(f"{path} holds no video frames")
        return np.stack(frames)
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted.size and wanted.min() < 0:
        raise IndexError(f"frame index {int(wanted.min())} is negative")
    need = np.unique(wanted)
    keep, shape = _read_frames(path, need, seek)
    missing = sorted(set(need.tolist()) - keep.keys())
    if missing:
        raise IndexError(f"frame index {missing[0]} is out of range for {path}")
    out = np.empty((wanted.size, *shape), dtype=np.uint8)
    for j, i in enumerate(wanted):
        out[j] = keep[int(i)]
    return out


def _read_frames(path: str | Path, need: np.ndarray, seek: bool) -> tuple[dict[int, np.ndarray], tuple[int, ...]]:
    """Frames `need` (sorted, unique) by position, and the frame shape (H, W, 3)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        shape = (stream.height, stream.width, 3)
        clock = _frame_clock(stream) if seek and need.size else None
        if clock is None:
            return _decode_counting(c.decode(stream), need), shape
        keep = _decode_seeking(c, stream, need, clock)
        if keep is not None:
            return keep, shape
    return _read_frames(path, need, seek=False)  # timestamps that do not give one frame per position


def _frame_clock(stream: av.video.VideoStream) -> tuple[int, Fraction] | None:
    """(timestamp of frame 0, timestamp units per frame) of a constant-rate stream, or None."""
    rate = stream.average_rate or stream.guessed_rate
    if not rate or not stream.time_base:
        return None
    return int(stream.start_time or 0), 1 / (Fraction(rate) * Fraction(stream.time_base))


def _decode_counting(frames: Iterable[av.VideoFrame], need: np.ndarray) -> dict[int, np.ndarray]:
    """Frames `need` (sorted, unique) of a decode from the start, counted in order."""
    keep: dict[int, np.ndarray] = {}
    wanted = set(need.tolist())
    for i, frame in enumerate(frames):
        if i in wanted:
            keep[i] = frame.to_ndarray(format="rgb24")
            if len(keep) == len(wanted):
                break
    return keep


def _decode_seeking(
    container: av.container.InputContainer, stream: av.video.VideoStream, need: np.ndarray,
    clock: tuple[int, Fraction],
) -> dict[int, np.ndarray] | None:
    """Frames `need` (sorted, unique positions), decoding from the keyframe at or before the first.

    Packets arrive in decode order, one closed GOP after another (every keyframe our encoder
    writes is an IDR picture, so no picture refers back across it). A GOP's packets are held
    back until the packet of a wanted frame arrives; then everything held is decoded (a picture's
    references always come before it in decode order). What follows a GOP's last wanted packet,
    and GOPs without one, are never decoded. None when the timestamps do not map one frame to
    one position, or when a picture after a keyframe is shown before it (an open GOP, whose leading
    pictures refer back across the keyframe; another encoder's file): the caller then decodes
    from the start.
    """
    start, step = clock
    wanted = set(need.tolist())
    unseen = set(wanted)  # wanted frames whose packet has not arrived yet
    keep: dict[int, np.ndarray] = {}
    shown = -1

    def position(pts: int) -> int:
        return round((pts - start) / step)

    def take(frames: list[av.VideoFrame]) -> bool:
        nonlocal shown
        for f in frames:
            if f.pts is None or position(f.pts) <= shown:
                return False
            shown = position(f.pts)
            if shown in wanted:
                keep[shown] = f.to_ndarray(format="rgb24")
        return True

    packets = _packets_from_keyframe(container, stream, int(need[0]), position, start + int(need[0] * step))
    if packets is None:
        return None
    held: list[av.Packet] = []
    key = -1  # position of the current GOP's keyframe
    for packet in packets:
        if not packet.size:  # end of the file
            break
        if packet.pts is None:
            return None
        if packet.is_keyframe:
            held, key = [], position(packet.pts)  # the previous GOP's undecoded tail is never needed
        elif position(packet.pts) < key:
            return None  # a leading picture: open GOP
        held.append(packet)
        if position(packet.pts) in unseen:
            unseen.discard(position(packet.pts))
            for p in held:
                if not take(stream.decode(p)):
                    return None
            held = []
            if not unseen:
                break
    return keep if take(stream.decode(None)) else None


def _packets_from_keyframe(
    container: av.container.InputContainer, stream: av.video.VideoStream, first: int,
    position: Callable[[int], int], target: int,
) -> Iterator[av.Packet] | None:
    """The stream's packets from the keyframe at or before frame `first` on; None if none is found.

    Seeks by presentation time with backward=True, any_frame=False. FFmpeg's MP4 index is in decode
    time, and with B-frames a keyframe is decoded before frames it is shown after, so a seek can
    land on a keyframe shown after `first`; then it seeks again to just before that keyframe's
    decode time. Frame 0 needs no seek.
    """
    packets = container.demux(stream)
    if first == 0:
        return packets
    for _ in range(MAX_SEEKS):
        try:
            container.seek(target, backward=True, any_frame=False, stream=stream)
        except av.error.FFmpegError:
            return None
        packets = container.demux(stream)
        head = next((p for p in packets if p.size), None)
        if head is None or head.pts is None or head.dts is None:
            return None
        if head.is_keyframe and position(head.pts) <= first:
            return itertools.chain([head], packets)
        target = min(head.dts, head.pts) - 1
    return None
