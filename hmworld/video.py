"""H.264 video files through PyAV: written atomically, read back as uint8 RGB arrays.

Shared by every backend and by the dataset exporter, so all clips use the same
codec settings (libx264, yuv420p, constant quality) and a killed write never
leaves a video that looks whole.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
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
) -> Iterator[VideoWriter]:
    """Yield a writer; the file appears at `path` only if the block finishes without error."""
    check_size(width, height)
    if fps <= 0:
        raise ValueError(f"fps must be positive; got {fps}")
    with atomic_path(path) as tmp:
        container = av.open(str(tmp), mode="w", format="mp4")
        try:
            stream = container.add_stream(CODEC, rate=Fraction(fps))
            stream.width = width
            stream.height = height
            stream.pix_fmt = PIX_FMT
            stream.options = {"crf": str(crf), "preset": preset, **_repeatable_x264()}
            writer = VideoWriter(container, stream)
            yield writer
            if writer.frames_written == 0:
                raise ValueError("no frames were written; a video needs at least one frame")
            writer._flush()
        finally:
            container.close()


def write_video(
    path: str | Path, frames: np.ndarray, fps: int | Fraction, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET
) -> None:
    """Encode uint8 RGB frames [T,H,W,3] as H.264 (yuv420p) at `fps`, atomically."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be [T,H,W,3]; got {list(frames.shape)}")
    with open_video(path, fps, frames.shape[2], frames.shape[1], crf=crf, preset=preset) as w:
        w.write(frames)


def video_info(path: str | Path) -> VideoInfo:
    """Frame count (by decoding, so it is exact), rate, size and codec of a video."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for _ in c.demux(s) if _.size)
        return VideoInfo(n, Fraction(s.average_rate), s.width, s.height, s.codec_context.name, s.codec_context.pix_fmt)


def read_video(path: str | Path, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Decode frames as uint8 RGB [T,H,W,3]; `indices` picks frames (any order, repeats allowed).

    Decodes sequentially (no seeking), so the frames are exactly the ones a
    player shows at those positions, and stops after the last one asked for.
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
    need = {int(i) for i in wanted}
    keep: dict[int, np.ndarray] = {}
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        stream.thread_type = "AUTO"
        shape = (stream.height, stream.width, 3)
        if need:
            for i, frame in enumerate(c.decode(stream)):
                if i in need:
                    keep[i] = frame.to_ndarray(format="rgb24")
                    if len(keep) == len(need):
                        break
    missing = sorted(need - keep.keys())
    if missing:
        raise IndexError(f"frame index {missing[0]} is out of range for {path}")
    out = np.empty((wanted.size, *shape), dtype=np.uint8)
    for j, i in enumerate(wanted):
        out[j] = keep[int(i)]
    return out
