"""Is a clip folder whole? Checks shared by `package` (cheap) and `validate` (thorough).

Each check returns problems as one-line strings naming the file and what is
wrong with it, so a report can list them and a user can act on each.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import av
import numpy as np

from hmworld.clip import CLIP_JSON, DEPTH_FILE, INSTANCES_KEY, ClipRecord, read_instances
from hmworld.depth import DEPTH_DTYPE, DEPTH_KEY, read_depth
from hmworld.frame_arrays import member


def member_header(z: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of array `name` in an open .npz, read from its header without decompressing the data."""
    with z.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    return tuple(shape), np.dtype(dtype)


def npz_header(path: str | Path, name: str = "ids") -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array in an .npz, read from its header without decompressing the data."""
    with zipfile.ZipFile(path) as z:
        return member_header(z, name)


def member_problem(path: Path, z: zipfile.ZipFile, key: str, frames: int, shape: tuple[int, ...],
                   dtype: np.dtype, what: str) -> str | None:
    """None when every per-frame member ``{key}_{t:05d}`` (hmworld.frame_arrays) is `dtype` [`shape`];
    else one line naming the file and, when the members differ from each other, the first bad member.

    Headers only: nothing is decompressed. `what` names the members ("frames", "ids").
    """
    heads = [(member(key, t), *member_header(z, member(key, t))) for t in range(frames)]
    bad = [(name, sh, d) for name, sh, d in heads if (sh, d) != (shape, dtype)]
    if not bad:
        return None
    want = f"expected {dtype} {list(shape)}"
    if len({(sh, d) for _, sh, d in heads}) == 1:  # all alike: the whole file is another size or type
        return f"{path}: {what} are {bad[0][2]} {list(bad[0][1])}, {want}"
    name, sh, d = bad[0]
    return (f"{path}: member {name} is {d} {list(sh)}, {want} ({len(bad)} of {frames} members differ, "
            f"the first named)" if len(bad) > 1 else f"{path}: member {name} is {d} {list(sh)}, {want}")


def probe_video(path: Path, frames: int, width: int, height: int) -> list[str]:
    """Opens, has one video stream of the stated size and exactly `frames` packets (no decoding)."""
    if not path.is_file():
        return [f"{path}: video is missing"]
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return [f"{path}: holds no video stream"]
            s = c.streams.video[0]
            size = (s.codec_context.width, s.codec_context.height)
            n = sum(1 for p in c.demux(s) if p.size)
    except (av.error.FFmpegError, OSError, ValueError) as e:
        return [f"{path}: cannot be read as video ({type(e).__name__}: {e})"]
    out = []
    if size != (width, height):
        out.append(f"{path}: video is {size[0]}x{size[1]}, the clip states {width}x{height}")
    if n != frames:
        out.append(f"{path}: video has {n} frames, the clip states {frames}")
    return out


def decode_video(path: Path, frames: int, width: int, height: int) -> list[str]:
    """Decodes every frame (without converting to RGB): the count and size must be as stated."""
    if not path.is_file():
        return [f"{path}: video is missing"]
    n = 0
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                return [f"{path}: holds no video stream"]
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            for frame in c.decode(s):
                if (frame.width, frame.height) != (width, height):
                    return [f"{path}: frame {n} is {frame.width}x{frame.height}, the clip states {width}x{height}"]
                n += 1
    except (av.error.FFmpegError, OSError, ValueError) as e:
        return [f"{path}: decoding failed after {n} frames ({type(e).__name__}: {e})"]
    if n != frames:
        return [f"{path}: decodes to {n} frames, the clip states {frames}"]
    return []


def check_instances(path: Path, frames: int, width: int, height: int, n_subjects: int, deep: bool) -> list[str]:
    """instances.npz holds uint8 [H,W] ids for each of the T frames, one member per frame
    (`ids_00000` …, hmworld.frame_arrays) or, as written before, one `ids` [T,H,W] stack; the
    headers are read without decompressing. With deep, every id is 0..N."""
    if not path.is_file():
        return [f"{path}: instance masks are missing"]
    stack = f"{INSTANCES_KEY}.npy"
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if stack in names:
                shape, dtype = member_header(z, INSTANCES_KEY)
                want = ((frames, height, width), np.dtype(np.uint8))
                problem = None if (shape, dtype) == want else f"{path}: ids are {dtype} {list(shape)}, " \
                                                              f"expected {want[1]} {list(want[0])}"
            else:
                members = [member(INSTANCES_KEY, t) for t in range(frames)]
                if names != [f"{m}.npy" for m in members]:
                    return [f"{path}: holds {len(names)} members, expected {frames} (one per frame, "
                            f"{member(INSTANCES_KEY, 0)} …) or one {INSTANCES_KEY!r} stack"]
                problem = member_problem(path, z, INSTANCES_KEY, frames, (height, width), np.dtype(np.uint8), "ids")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        return [f"{path}: cannot be read as instances.npz ({type(e).__name__}: {e})"]
    if problem:
        return [problem]
    if deep:
        try:
            top = int(read_instances(path).max()) if frames else 0
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
            return [f"{path}: ids cannot be decompressed ({type(e).__name__}: {e})"]
        if top > n_subjects:
            return [f"{path}: holds instance id {top}, but the clip has {n_subjects} subject(s)"]
    return []


def check_depth(path: Path, frames: int, width: int, height: int, deep: bool,
                listed_by: str = f"{CLIP_JSON} lists {DEPTH_FILE}") -> list[str]:
    """depth.npz holds one float16 [H,W] member per frame (hmworld.depth); with deep, every value is
    a positive depth or +inf (no surface), never NaN, zero or negative. `listed_by` says who names
    the file, for the one line a missing file gets."""
    if not path.is_file():
        return [f"{path}: depth is missing ({listed_by})"]
    want = [f"{member(DEPTH_KEY, t)}.npy" for t in range(frames)]
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            if names != want:
                return [f"{path}: holds {len(names)} members, expected {frames} (one per frame, "
                        f"{member(DEPTH_KEY, 0)} …)"]
            problem = member_problem(path, z, DEPTH_KEY, frames, (height, width), DEPTH_DTYPE, "frames")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        return [f"{path}: cannot be read as {DEPTH_FILE} ({type(e).__name__}: {e})"]
    if problem:
        return [problem]
    if deep and frames:
        try:
            d = read_depth(path)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
            return [f"{path}: depth cannot be decompressed ({type(e).__name__}: {e})"]
        bad = ~((d > 0) & ~np.isnan(d))
        if bad.any():
            t = int(np.nonzero(bad.any(axis=(1, 2)))[0][0])
            return [f"{path}: frame {t} holds depths that are not positive metres or +inf "
                    f"({int(bad.sum())} such values in the clip)"]
    return []


def check_clip_files(record: ClipRecord, deep: bool = False) -> list[str]:
    """Problems with a parsed clip's video, instance and (when it has one) depth files (empty list: all good)."""
    shot = record.shot
    problems = []
    if record.path.name != shot.clip_id:
        problems.append(f"{record.path}: folder name differs from clip id {shot.clip_id!r} in clip.json")
    look = decode_video if deep else probe_video
    problems += look(record.video_path, shot.frames, shot.width, shot.height)
    problems += check_instances(record.instances_path, shot.frames, shot.width, shot.height, shot.n_subjects, deep)
    if record.has_depth:
        problems += check_depth(record.depth_path, shot.frames, shot.width, shot.height, deep)
    return problems
