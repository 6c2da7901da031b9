"""The one place that knows coordinate systems and projection.

Our world: right-handed, Z up, metres. Camera poses are camera-to-world 4×4
matrices whose camera axes follow OpenCV (x right, y down, z forward).
Intrinsics K are in pixels with square pixels and the principal point at the
image centre; a pixel (col i, row j) covers [i, i+1) × [j, j+1), so its centre
is at (i + 0.5, j + 0.5).

Unreal Engine: left-handed, centimetres, X forward, Y right, Z up. A UE point
(x, y, z) is ours at (x, -y, z) / 100. UE camera-to-world matrices (HM-World's
camera.json) hold the columns (forward, right, up, translation) in UE space.

Every function is vectorised over leading axes (frames, clips, subjects).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray

UE_CM_PER_M = 100.0
_FLIP_Y = np.diag([1.0, -1.0, 1.0])

# HyDRA's camera representation: 77-frame streams, every 4th frame, 3×4 flattened.
HYDRA_STREAM_LEN = 77
HYDRA_STRIDE = 4


# --------------------------------------------------------------------------- intrinsics


def intrinsics(hfov_deg: float, width: int, height: int) -> FloatArray:
    """Pinhole K for a horizontal field of view; square pixels, centred principal point."""
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f"hfov_deg must be in (0, 180), got {hfov_deg}")
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def hfov_deg_from_K(K: FloatArray, width: int) -> float:
    return float(np.degrees(2.0 * np.arctan(0.5 * width / K[0, 0])))


def vfov_deg(hfov_deg: float, width: int, height: int) -> float:
    return float(np.degrees(2.0 * np.arctan(np.tan(np.radians(hfov_deg) / 2.0) * height / width)))


# --------------------------------------------------------------------------- poses


def _normalize(v: FloatArray) -> FloatArray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def pose_from_axes(right: FloatArray, down: FloatArray, forward: FloatArray, position: FloatArray) -> FloatArray:
    """Assemble c2w [..., 4, 4] from camera axes and position given in world space."""
    shape = np.broadcast_shapes(right.shape, down.shape, forward.shape, position.shape)[:-1]
    c2w = np.zeros((*shape, 4, 4))
    c2w[..., :3, 0] = right
    c2w[..., :3, 1] = down
    c2w[..., :3, 2] = forward
    c2w[..., :3, 3] = position
    c2w[..., 3, 3] = 1.0
    return c2w


def look_at(eye: FloatArray, target: FloatArray, up: FloatArray = (0.0, 0.0, 1.0)) -> FloatArray:
    """Camera at `eye` looking at `target` with no roll (image x stays horizontal)."""
    eye = np.asarray(eye, dtype=float)
    target = np.asarray(target, dtype=float)
    up = np.asarray(up, dtype=float)
    forward = _normalize(target - eye)
    right = _normalize(np.cross(forward, up))
    down = np.cross(forward, right)
    return pose_from_axes(right, down, forward, eye)


def pose_from_angles(
    position: FloatArray, yaw: FloatArray, pitch: FloatArray, roll: FloatArray | float = 0.0
) -> FloatArray:
    """c2w from yaw (about +Z, from +X towards +Y), pitch (up positive) and roll, in radians.

    Roll turns the image clockwise as seen by the viewer for positive values
    (right axis tilts down), about the forward axis.
    """
    yaw = np.asarray(yaw, dtype=float)
    pitch = np.asarray(pitch, dtype=float)
    roll = np.asarray(roll, dtype=float)
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    forward = np.stack([cp * cy, cp * sy, sp], axis=-1)
    right0 = np.stack([sy, -cy, np.zeros_like(yaw)], axis=-1)
    down0 = np.cross(forward, right0)
    cr, sr = np.cos(roll)[..., None], np.sin(roll)[..., None]
    right = cr * right0 + sr * down0
    down = cr * down0 - sr * right0
    return pose_from_axes(right, down, forward, np.asarray(position, dtype=float))


def angles_from_pose(c2w: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Inverse of `pose_from_angles`: (yaw, pitch, roll) in radians."""
    forward = c2w[..., :3, 2]
    right = c2w[..., :3, 0]
    yaw = np.arctan2(forward[..., 1], forward[..., 0])
    pitch = np.arcsin(np.clip(forward[..., 2], -1.0, 1.0))
    cy, sy = np.cos(yaw), np.sin(yaw)
    right0 = np.stack([sy, -cy, np.zeros_like(yaw)], axis=-1)
    down0 = np.cross(forward, right0)
    roll = np.arctan2(np.sum(right * down0, axis=-1), np.sum(right * right0, axis=-1))
    return yaw, pitch, roll


def invert_pose(c2w: FloatArray) -> FloatArray:
    """Inverse of a rigid 4×4 (rotation + translation), exact and cheap."""
    R = c2w[..., :3, :3]
    t = c2w[..., :3, 3]
    out = np.zeros_like(c2w)
    Rt = np.swapaxes(R, -1, -2)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", Rt, t)
    out[..., 3, 3] = 1.0
    return out


# --------------------------------------------------------------------------- projection


class Projection(NamedTuple):
    uv: FloatArray  # [..., P, 2] pixel coordinates (col, row); meaningless where not in_front
    depth: FloatArray  # [..., P] metres along the optical axis
    in_front: FloatArray  # [..., P] bool: depth > near


def world_to_camera(points: FloatArray, c2w: FloatArray) -> FloatArray:
    """Points [..., P, 3] in world → camera coordinates (OpenCV axes)."""
    R = c2w[..., :3, :3]
    t = c2w[..., :3, 3]
    rel = np.asarray(points, dtype=float) - t[..., None, :]
    return np.einsum("...ji,...pj->...pi", R, rel)


def project(points: FloatArray, c2w: FloatArray, K: FloatArray, near: float = 1e-3) -> Projection:
    """Project world points [..., P, 3] through c2w [..., 4, 4] and K [..., 3, 3]."""
    cam = world_to_camera(points, c2w)
    depth = cam[..., 2]
    in_front = depth > near
    z = np.where(in_front, depth, 1.0)
    K = np.asarray(K, dtype=float)
    fx = K[..., 0, 0][..., None]
    fy = K[..., 1, 1][..., None]
    cx = K[..., 0, 2][..., None]
    cy = K[..., 1, 2][..., None]
    u = fx * cam[..., 0] / z + cx
    v = fy * cam[..., 1] / z + cy
    return Projection(np.stack([u, v], axis=-1), depth, in_front)


def in_image(uv: FloatArray, width: int, height: int) -> FloatArray:
    return (uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)


def pixel_rays(K: FloatArray, width: int, height: int) -> FloatArray:
    """Camera-space ray directions [H, W, 3] through pixel centres, z = 1."""
    j, i = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    x = (i - K[0, 2]) / K[0, 0]
    y = (j - K[1, 2]) / K[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def plane_depth(c2w: FloatArray, K: FloatArray, width: int, height: int, z: float = 0.0) -> FloatArray:
    """Depth [H, W] (metres along the optical axis) where each pixel-centre ray meets the plane Z = z; inf
    where it does not (parallel, or the plane lies behind the camera along that ray).

    A pixel ray is c2w's rotation applied to its camera direction (x, y, 1); the
    point o + s·d is on the plane for s = (z − o_z) / d_z, and its camera-space
    depth is s itself, since d's camera z is 1.
    """
    c2w = np.asarray(c2w, dtype=float)
    d = pixel_rays(K, width, height) @ c2w[:3, :3].T  # world directions, camera z = 1
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (z - c2w[2, 3]) / d[..., 2]
    return np.where(np.isfinite(s) & (s > 0), s, np.inf)


def box_corners(center: FloatArray, half_size: FloatArray, heading: FloatArray) -> FloatArray:
    """8 corners [..., 8, 3] of boxes turned by `heading` about +Z (for in-frame tests)."""
    center = np.asarray(center, dtype=float)
    half = np.asarray(half_size, dtype=float)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    local = signs * half[..., None, :]
    c, s = np.cos(heading)[..., None], np.sin(heading)[..., None]
    x = c * local[..., 0] - s * local[..., 1]
    y = s * local[..., 0] + c * local[..., 1]
    return np.stack([x, y, local[..., 2]], axis=-1) + center[..., None, :]


def image_border_pixels(width: int, height: int, per_side: int = 8) -> FloatArray:
    """Points [4*per_side, 2] (col, row) walking the image border clockwise from the top-left corner."""
    s = np.linspace(0.0, 1.0, per_side, endpoint=False)
    w, h = float(width), float(height)
    top = np.stack([s * w, np.zeros_like(s)], axis=-1)
    right = np.stack([np.full_like(s, w), s * h], axis=-1)
    bottom = np.stack([(1.0 - s) * w, np.full_like(s, h)], axis=-1)
    left = np.stack([np.zeros_like(s), (1.0 - s) * h], axis=-1)
    return np.concatenate([top, right, bottom, left])


def frustum_footprint(
    c2w: FloatArray, K: FloatArray, width: int, height: int, plane_z: float, reach: float, per_side: int = 8
) -> FloatArray:
    """Where the image border meets the horizontal plane z = plane_z: polygon [..., 4*per_side, 2] (x, y) in metres.

    Each border pixel's ray (K⁻¹, turned by c2w) is followed to the plane; a ray
    that never reaches it in front of the camera, or reaches it farther than
    `reach` metres horizontally, stops at `reach` along its horizontal direction.
    A world point at height plane_z whose (x, y) lies inside the polygon (and
    within reach) projects into the image: this is the top-down view of what
    the camera sees at that height.
    """
    uv = image_border_pixels(width, height, per_side)
    K = np.asarray(K, dtype=float)
    cam = np.stack([(uv[:, 0] - K[0, 2]) / K[0, 0], (uv[:, 1] - K[1, 2]) / K[1, 1], np.ones(len(uv))], axis=-1)
    R = np.asarray(c2w, dtype=float)[..., :3, :3]
    d = np.einsum("...ij,pj->...pi", R, cam)  # [..., P, 3] world directions
    origin = np.asarray(c2w, dtype=float)[..., None, :3, 3]
    horiz = np.linalg.norm(d[..., :2], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (plane_z - origin[..., 2]) / d[..., 2]
    hits = np.isfinite(s) & (s > 0)
    limit = reach / np.maximum(horiz, 1e-12)
    s = np.where(hits, np.minimum(s, limit), limit)
    return origin[..., :2] + s[..., None] * d[..., :2]


# --------------------------------------------------------------------------- Unreal Engine


def ue_to_world_points(p_cm: FloatArray) -> FloatArray:
    """UE point(s) in cm, left-handed → ours in metres, right-handed."""
    return (np.asarray(p_cm, dtype=float) @ _FLIP_Y) / UE_CM_PER_M


def world_to_ue_points(p_m: FloatArray) -> FloatArray:
    return (np.asarray(p_m, dtype=float) @ _FLIP_Y) * UE_CM_PER_M


def world_heading_to_ue_yaw_deg(heading: FloatArray) -> FloatArray:
    """Our heading (radians, CCW about +Z from +X) → UE yaw in degrees (about Z, X towards Y)."""
    return -np.degrees(np.asarray(heading, dtype=float))


def ue_yaw_deg_to_world_heading(yaw_deg: FloatArray) -> FloatArray:
    return -np.radians(np.asarray(yaw_deg, dtype=float))


def ue_rotator_to_axes(roll_deg: FloatArray, pitch_deg: FloatArray, yaw_deg: FloatArray) -> FloatArray:
    """UE FRotator → 3×3 whose columns are (forward, right, up) in UE space.

    Follows the engine's FRotationMatrix: forward = (cp·cy, cp·sy, sp).
    """
    r, p, y = (np.radians(np.asarray(a, dtype=float)) for a in (roll_deg, pitch_deg, yaw_deg))
    sr, cr, sp, cp, sy, cy = np.sin(r), np.cos(r), np.sin(p), np.cos(p), np.sin(y), np.cos(y)
    forward = np.stack([cp * cy, cp * sy, sp], axis=-1)
    right = np.stack([sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp], axis=-1)
    up = np.stack([-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp], axis=-1)
    return np.stack([forward, right, up], axis=-1)


def ue_axes_to_rotator(axes: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Inverse of `ue_rotator_to_axes`: (roll, pitch, yaw) in degrees."""
    forward, right, up = axes[..., :, 0], axes[..., :, 1], axes[..., :, 2]
    yaw = np.degrees(np.arctan2(forward[..., 1], forward[..., 0]))
    pitch = np.degrees(np.arcsin(np.clip(forward[..., 2], -1.0, 1.0)))
    # roll from the right axis' Z component and the up axis' Z component
    roll = np.degrees(np.arctan2(-right[..., 2], up[..., 2]))
    return roll, pitch, yaw


def ue_c2w_to_world(M: FloatArray) -> FloatArray:
    """UE camera-to-world [..., 4, 4] (columns forward, right, up, t; cm) → our c2w."""
    M = np.asarray(M, dtype=float)
    forward = M[..., :3, 0] @ _FLIP_Y
    right = M[..., :3, 1] @ _FLIP_Y
    up = M[..., :3, 2] @ _FLIP_Y
    position = M[..., :3, 3] @ _FLIP_Y / UE_CM_PER_M
    return pose_from_axes(right, -up, forward, position)


def world_c2w_to_ue(c2w: FloatArray) -> FloatArray:
    """Our c2w [..., 4, 4] → UE camera-to-world (columns forward, right, up, t; cm)."""
    c2w = np.asarray(c2w, dtype=float)
    right = c2w[..., :3, 0] @ _FLIP_Y
    up = -c2w[..., :3, 1] @ _FLIP_Y
    forward = c2w[..., :3, 2] @ _FLIP_Y
    t = c2w[..., :3, 3] @ _FLIP_Y * UE_CM_PER_M
    M = np.zeros(c2w.shape)
    M[..., :3, 0] = forward
    M[..., :3, 1] = right
    M[..., :3, 2] = up
    M[..., :3, 3] = t
    M[..., 3, 3] = 1.0
    return M


def world_c2w_to_ue_transform(c2w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Our c2w → (UE location cm [..., 3], UE rotator [..., 3] as roll, pitch, yaw degrees)."""
    M = world_c2w_to_ue(c2w)
    roll, pitch, yaw = ue_axes_to_rotator(M[..., :3, :3])
    return M[..., :3, 3], np.stack([roll, pitch, yaw], axis=-1)


def ue_transform_to_world_c2w(location_cm: FloatArray, rotator_deg: FloatArray) -> FloatArray:
    """Inverse of `world_c2w_to_ue_transform`."""
    rotator_deg = np.asarray(rotator_deg, dtype=float)
    axes = ue_rotator_to_axes(rotator_deg[..., 0], rotator_deg[..., 1], rotator_deg[..., 2])
    M = np.zeros((*axes.shape[:-2], 4, 4))
    M[..., :3, :3] = axes
    M[..., :3, 3] = location_cm
    M[..., 3, 3] = 1.0
    return ue_c2w_to_world(M)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_ue_rowvec_string(text: str) -> FloatArray:
    """One HM-World raw camera entry: four bracketed rows, row-vector form → column form 4×4."""
    numbers = [float(x) for x in _NUMBER.findall(text)]
    if len(numbers) != 16:
        raise ValueError(f"expected 16 numbers in a UE matrix string, found {len(numbers)}: {text[:80]!r}")
    return np.array(numbers).reshape(4, 4).T


def format_ue_rowvec_string(M: FloatArray) -> str:
    """Column-form 4×4 → the raw HM-World string form (row vectors, translation last row)."""
    rows = np.asarray(M, dtype=float).T
    return " ".join("[" + " ".join(repr(float(v)) for v in row) + "]" for row in rows)


# --------------------------------------------------------------------------- HyDRA camera representation


def hydra_official_pose(M_ue: FloatArray) -> FloatArray:
    """The official HyDRA loader's per-frame pose: OpenCV-like axes in UE world, metres.

    Columns reordered to (right, up, forward, t), the second negated, t / 100.
    Relative poses from this and from our `ue_c2w_to_world` are identical.
    """
    M = np.asarray(M_ue, dtype=float)
    P = np.zeros(M.shape)
    P[..., :3, 0] = M[..., :3, 1]
    P[..., :3, 1] = -M[..., :3, 2]
    P[..., :3, 2] = M[..., :3, 0]
    P[..., :3, 3] = M[..., :3, 3] / UE_CM_PER_M
    P[..., 3, 3] = 1.0
    return P


def hydra_camera_tensor(cond_c2w: FloatArray, tgt_c2w: FloatArray, stride: int = HYDRA_STRIDE) -> tuple[FloatArray, FloatArray]:
    """Poses of two streams relative to the first target frame, every `stride`-th frame,
    top 3×4 flattened row-major → ([S, 12], [S, 12]); S = 20 for 77-frame streams."""
    ref = invert_pose(np.asarray(tgt_c2w, dtype=float)[..., 0, :, :])

    def encode(stream: FloatArray) -> FloatArray:
        rel = np.einsum("...ij,...tjk->...tik", ref, np.asarray(stream, dtype=float)[..., ::stride, :, :])
        return rel[..., :3, :4].reshape(*rel.shape[:-2], 12)

    return encode(cond_c2w), encode(tgt_c2w)


def pad_stream(frames: FloatArray, length: int = HYDRA_STREAM_LEN) -> FloatArray:
    """Pad a stream [n, ...] to `length` by repeating its first and its last frame, as HyDRA's data does."""
    frames = np.asarray(frames)
    missing = length - frames.shape[0]
    if missing < 0:
        raise ValueError(f"stream of {frames.shape[0]} frames is longer than {length}")
    front = missing // 2
    back = missing - front
    return np.concatenate([frames[:1].repeat(front, 0), frames, frames[-1:].repeat(back, 0)], axis=0)


def split_streams(frames: FloatArray, length: int = HYDRA_STREAM_LEN) -> tuple[FloatArray, FloatArray]:
    """A 150-frame clip → (context, target) streams of `length` frames each (75 + 75, padded)."""
    frames = np.asarray(frames)
    half = frames.shape[0] // 2
    return pad_stream(frames[:half], length), pad_stream(frames[half : 2 * half], length)


def hmworld_raw_to_frames(raw: FloatArray) -> FloatArray:
    """The official loader's fix-up of a raw 149-frame camera list: frame 0 := frame 1, append last → 150."""
    raw = np.asarray(raw, dtype=float).copy()
    raw[0] = raw[1]
    return np.concatenate([raw, raw[-1:]], axis=0)
