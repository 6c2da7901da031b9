"""The UE5 asset map: which level, skeletal mesh and animations realise each catalog id.

hmworld knows scenes and subjects by id; an Unreal project knows them by asset
path. The asset map (TOML, template in manifests/ue5_assets.toml) ties the two
together, plus the few numbers the renderer cannot guess: where our world
origin sits in each level, which way each mesh faces, and how fast each
animation moves at play rate 1 (so the play rate can follow the shot's speed).

Paths under PLACEHOLDER_ROOT are the template's stand-ins: they count as
unmapped, and rendering a shot that needs one fails with a one-line error
that lists every missing entry.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hmworld.atomic import write_text
from hmworld.catalog import SCENE_LIST, SCENES, SUBJECT_LIST, SUBJECTS
from hmworld.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

ASSET_MAP_FORMAT = 1
PLACEHOLDER_ROOT = "/Game/YourProject/"
DEFAULT_ASSET_MAP = Path(__file__).resolve().parents[2] / "manifests" / "ue5_assets.toml"

_SUBJECT_KEYS = ("mesh", "yaw_offset_deg", "scale", "z_offset_cm")
_SCENE_KEYS = ("level", "anchor_cm", "anchor_yaw_deg")
_GAIT_KEYS = ("anim", "speed_cm_s")
_RENDER_KEYS = ("sensor_width_mm", "warmup_frames", "spatial_samples", "mask_material", "work_path",
                "stencil_values", "depth_tolerance_cm")


@dataclass(frozen=True)
class RenderDefaults:
    """Settings shared by every shot: camera filmback, warm-up, anti-aliasing, scratch paths."""

    sensor_width_mm: float = 36.0
    warmup_frames: int = 8
    spatial_samples: int = 4
    mask_material: str = ""  # "" → ue_scripts create /Game/HMWorld/M_HMWorldSubjectIds_<stencils>_T<tol> once
    work_path: str = "/Game/HMWorld/Generated"
    # custom-depth stencil of subject 0, 1, 2: high values, since level content often uses 1-3;
    # ue_scripts refuse a level whose actors already draw custom depth with one of them
    stencil_values: tuple[int, int, int] = (251, 252, 253)
    depth_tolerance_cm: float = 2.0  # a subject pixel counts as visible when custom depth ≤ scene depth + this


@dataclass(frozen=True)
class SceneAsset:
    """A level, and where our world origin (the walkable area's centre) sits in it."""

    id: str
    level: str
    anchor_cm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    anchor_yaw_deg: float = 0.0

    @property
    def mapped(self) -> bool:
        return is_mapped_path(self.level)


@dataclass(frozen=True)
class GaitAnim:
    """An in-place looping animation and its root speed at play rate 1."""

    anim: str
    speed_cm_s: float

    @property
    def mapped(self) -> bool:
        return is_mapped_path(self.anim) and self.speed_cm_s > 0


@dataclass(frozen=True)
class SubjectAsset:
    """A skeletal mesh, how it is turned and scaled, and one animation per gait."""

    id: str
    mesh: str
    yaw_offset_deg: float = -90.0
    scale: float = 1.0
    z_offset_cm: float = 0.0
    gaits: tuple[tuple[str, GaitAnim], ...] = ()

    def gait(self, name: str) -> GaitAnim | None:
        return dict(self.gaits).get(name)

    @property
    def mapped(self) -> bool:
        return is_mapped_path(self.mesh)


@dataclass(frozen=True)
class AssetMap:
    """A validated asset map; `missing_for` says what a set of shots still needs."""

    path: Path | None
    render: RenderDefaults
    scenes: Mapping[str, SceneAsset] = field(default_factory=dict)
    subjects: Mapping[str, SubjectAsset] = field(default_factory=dict)

    def _subject_missing(self, sid: str, gaits: Iterable[str]) -> list[str]:
        sub = self.subjects.get(sid)
        parts = [] if sub is not None and sub.mapped else ["mesh"]
        for gait in gaits:
            g = sub.gait(gait) if sub is not None else None
            if g is None or not g.mapped:
                parts.append(f"{gait} anim")
        return parts

    def missing_for(self, scene: str, subjects: Iterable[str], gaits: Iterable[str]) -> list[str]:
        """Entries a shot with these ids needs that are absent or still placeholders."""
        missing: list[str] = []
        sc = self.scenes.get(scene)
        if sc is None or not sc.mapped:
            missing.append(f"scene {scene!r} (level)")
        for sid, gait in zip(subjects, gaits, strict=True):
            parts = self._subject_missing(sid, [gait])
            if parts:
                missing.append(f"subject {sid!r} ({', '.join(parts)})")
        return list(dict.fromkeys(missing))

    def require(self, scene: str, subjects: Iterable[str], gaits: Iterable[str]) -> None:
        """One-line UserError naming every unmapped entry the shot needs."""
        self.require_all([(scene, list(subjects), list(gaits))])

    def require_all(self, shots: Iterable[tuple[str, Iterable[str], Iterable[str]]]) -> None:
        """Check many shots (scene, subjects, gaits) at once; the error lists every gap once."""
        missing = list(dict.fromkeys(m for scene, subs, gaits in shots for m in self.missing_for(scene, subs, gaits)))
        if missing:
            shown = "; ".join(missing[:20]) + (f"; and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise UserError(
                f"UE5 asset map {self.where} does not map {shown}; fill these in "
                f"(paths under {PLACEHOLDER_ROOT} are template placeholders)"
            )

    def unmapped(self) -> dict[str, list[str]]:
        """Every catalog id still unmapped: {'scenes': [...], 'subjects': ['labrador (mesh, walk anim)', ...]}."""
        scenes = [s.id for s in SCENE_LIST if s.id not in self.scenes or not self.scenes[s.id].mapped]
        subjects = []
        for spec in SUBJECT_LIST:
            parts = self._subject_missing(spec.id, [g.name for g in spec.gaits])
            if parts:
                subjects.append(f"{spec.id} ({', '.join(parts)})")
        return {"scenes": scenes, "subjects": subjects}

    @property
    def where(self) -> str:
        return str(self.path) if self.path is not None else "<in memory>"


def check_report(path: str | Path) -> str:
    """`hmworld ue5-assets --check`: what a filled-in map still lacks, one line per kind."""
    m = load_asset_map(path)
    gaps = m.unmapped()
    n_sc, n_su = len(SCENE_LIST) - len(gaps["scenes"]), len(SUBJECT_LIST) - len(gaps["subjects"])
    lines = [f"{m.where}: {n_sc}/{len(SCENE_LIST)} scenes and {n_su}/{len(SUBJECT_LIST)} subjects fully mapped"]
    if gaps["scenes"]:
        lines.append("unmapped scenes: " + ", ".join(gaps["scenes"]))
    if gaps["subjects"]:
        lines.append("unmapped subjects: " + "; ".join(gaps["subjects"]))
    return "\n".join(lines)


def write_template(path: str | Path) -> Path:
    """Write the asset-map template (all scenes and subjects, placeholder paths) to `path`."""
    write_text(path, template_text())
    return Path(path)


def is_mapped_path(path: str) -> bool:
    """A usable UE object path: non-empty, under /Game/ or a plugin mount, not a template placeholder."""
    return bool(path) and path.startswith("/") and not path.startswith(PLACEHOLDER_ROOT)


# --------------------------------------------------------------------------- loading


def _fail(where: str, msg: str) -> UserError:
    return UserError(f"UE5 asset map {where}: {msg}")


def _number(where: str, key: str, value: Any, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, f"{key} must be a number, got {value!r}")
    if positive and value <= 0:
        raise _fail(where, f"{key} must be positive, got {value!r}")
    return float(value)


def _string(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"{key} must be a string, got {value!r}")
    if value and not value.startswith("/"):
        raise _fail(where, f"{key} must be a UE object path starting with '/', e.g. /Game/Maps/Park; got {value!r}")
    return value


def _check_keys(where: str, table: str, got: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    bad = [k for k in got if k not in allowed]
    if bad:
        raise _fail(where, f"unknown key {bad[0]!r} in [{table}]; allowed: {', '.join(allowed)}")


def _table(where: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(where, f"[{name}] must be a table, got {value!r}")
    return value


def _parse_render(where: str, d: dict[str, Any]) -> RenderDefaults:
    _check_keys(where, "render", d, _RENDER_KEYS)
    base = RenderDefaults()
    warm = d.get("warmup_frames", base.warmup_frames)
    samples = d.get("spatial_samples", base.spatial_samples)
    for key, v in (("warmup_frames", warm), ("spatial_samples", samples)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (0 if key == "warmup_frames" else 1):
            raise _fail(where, f"render.{key} must be an integer ≥ {0 if key == 'warmup_frames' else 1}, got {v!r}")
    stencils = d.get("stencil_values", list(base.stencil_values))
    if (not isinstance(stencils, list) or len(stencils) != 3 or len(set(stencils)) != 3
            or any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 255 for v in stencils)):
        raise _fail(where, f"render.stencil_values must be three different integers 1-255, got {stencils!r}")
    return RenderDefaults(
        stencil_values=tuple(stencils),  # type: ignore[arg-type]
        depth_tolerance_cm=_number(where, "render.depth_tolerance_cm",
                                   d.get("depth_tolerance_cm", base.depth_tolerance_cm), True),
        sensor_width_mm=_number(where, "render.sensor_width_mm", d.get("sensor_width_mm", base.sensor_width_mm), True),
        warmup_frames=warm,
        spatial_samples=samples,
        mask_material=_string(where, "render.mask_material", d.get("mask_material", base.mask_material)),
        work_path=_string(where, "render.work_path", d.get("work_path", base.work_path)) or base.work_path,
    )


def _parse_scene(where: str, sid: str, d: dict[str, Any]) -> SceneAsset:
    _check_keys(where, f"scenes.{sid}", d, _SCENE_KEYS)
    anchor = d.get("anchor_cm", [0.0, 0.0, 0.0])
    if not isinstance(anchor, list) or len(anchor) != 3:
        raise _fail(where, f"scenes.{sid}.anchor_cm must be [x, y, z] in UE centimetres, got {anchor!r}")
    return SceneAsset(
        id=sid,
        level=_string(where, f"scenes.{sid}.level", d.get("level", "")),
        anchor_cm=tuple(_number(where, f"scenes.{sid}.anchor_cm", a) for a in anchor),  # type: ignore[arg-type]
        anchor_yaw_deg=_number(where, f"scenes.{sid}.anchor_yaw_deg", d.get("anchor_yaw_deg", 0.0)),
    )


def _parse_subject(where: str, sid: str, d: dict[str, Any]) -> SubjectAsset:
    gait_names = [g.name for g in SUBJECTS[sid].gaits]
    _check_keys(where, f"subjects.{sid}", d, (*_SUBJECT_KEYS, *gait_names))
    gaits = []
    for name in gait_names:
        if name not in d:
            continue
        g = _table(where, f"subjects.{sid}.{name}", d[name])
        _check_keys(where, f"subjects.{sid}.{name}", g, _GAIT_KEYS)
        gaits.append(
            (
                name,
                GaitAnim(
                    anim=_string(where, f"subjects.{sid}.{name}.anim", g.get("anim", "")),
                    speed_cm_s=_number(where, f"subjects.{sid}.{name}.speed_cm_s", g.get("speed_cm_s", 0.0)),
                ),
            )
        )
    scale = _number(where, f"subjects.{sid}.scale", d.get("scale", 1.0), positive=True)
    return SubjectAsset(
        id=sid,
        mesh=_string(where, f"subjects.{sid}.mesh", d.get("mesh", "")),
        yaw_offset_deg=_number(where, f"subjects.{sid}.yaw_offset_deg", d.get("yaw_offset_deg", -90.0)),
        scale=scale,
        z_offset_cm=_number(where, f"subjects.{sid}.z_offset_cm", d.get("z_offset_cm", 0.0)),
        gaits=tuple(gaits),
    )


def parse_asset_map(data: dict[str, Any], path: Path | None = None) -> AssetMap:
    """Validate a parsed TOML document; every error names the bad key and what is allowed."""
    where = str(path) if path is not None else "<in memory>"
    _check_keys(where, "top level", data, ("format", "render", "scenes", "subjects"))
    fmt = data.get("format", ASSET_MAP_FORMAT)
    if fmt != ASSET_MAP_FORMAT:
        raise _fail(where, f"format {fmt!r} is not supported; allowed: {ASSET_MAP_FORMAT}")
    scenes_t = _table(where, "scenes", data.get("scenes", {}))
    subjects_t = _table(where, "subjects", data.get("subjects", {}))
    unknown_scenes = [s for s in scenes_t if s not in SCENES]
    if unknown_scenes:
        raise _fail(where, f"unknown scene id(s) {', '.join(map(repr, unknown_scenes))}; allowed: {', '.join(SCENES)}")
    unknown_subjects = [s for s in subjects_t if s not in SUBJECTS]
    if unknown_subjects:
        raise _fail(
            where, f"unknown subject id(s) {', '.join(map(repr, unknown_subjects))}; allowed: {', '.join(SUBJECTS)}"
        )
    return AssetMap(
        path=path,
        render=_parse_render(where, _table(where, "render", data.get("render", {}))),
        scenes={s: _parse_scene(where, s, _table(where, f"scenes.{s}", v)) for s, v in scenes_t.items()},
        subjects={s: _parse_subject(where, s, _table(where, f"subjects.{s}", v)) for s, v in subjects_t.items()},
    )


def load_asset_map(path: str | Path) -> AssetMap:
    """Read and validate an asset map TOML file (one-line UserError on any problem)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"UE5 asset map {str(p)!r} does not exist; start from {DEFAULT_ASSET_MAP}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"UE5 asset map {str(p)!r} is not valid TOML: {e}") from None
    return parse_asset_map(data, p.resolve())


# --------------------------------------------------------------------------- template


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def template_text() -> str:
    """The shipped template: every scene and subject, with placeholder paths for the user to fill in."""
    r = RenderDefaults()
    lines = [
        "# hmworld UE5 asset map: which Unreal assets realise each catalog id.",
        "#",
        f"# Every path under {PLACEHOLDER_ROOT} is a PLACEHOLDER: replace it with an asset from your",
        "# project (right-click the asset in the Content Browser > Copy Reference, keep the /Game/... part).",
        "# Entries left as placeholders count as unmapped; `hmworld ue5-assets --check FILE` lists them,",
        "# and rendering a shot that needs one stops with a one-line error naming it.",
        "#",
        "# Units are Unreal's: centimetres, degrees. Generated by hmworld.render.ue5_assets.template_text().",
        "",
        f"format = {ASSET_MAP_FORMAT}",
        "",
        "[render]",
        f"sensor_width_mm = {r.sensor_width_mm}   # CineCamera filmback width; height follows the output aspect ratio",
        f"warmup_frames = {r.warmup_frames}        # frames rendered before frame 0 (camera and subjects hold their frame-0 pose), then dropped",
        f"spatial_samples = {r.spatial_samples}      # Movie Render Queue spatial samples (anti-aliasing); temporal samples stay 1: no motion blur",
        f"mask_material = {_toml_str(r.mask_material)}       # \"\": ue_scripts create /Game/HMWorld/M_HMWorldSubjectIds_<stencils>_T<tol> on first use",
        f"stencil_values = {list(r.stencil_values)}   # custom-depth stencil of subjects 0, 1, 2; must be unused by level actors",
        f"depth_tolerance_cm = {r.depth_tolerance_cm}   # subject pixel visible where custom depth <= scene depth + this",
        f"work_path = {_toml_str(r.work_path)}   # temporary Level Sequences live here while a clip renders",
        "",
        "# ---------------------------------------------------------------- scenes",
        "# level: the map to load. anchor_cm: the UE location of hmworld's world origin (the centre of the",
        "# walkable area; subjects walk within the scene's walk_half rectangle around it, the camera stays",
        "# within ~25 m). anchor_yaw_deg: turn hmworld's +X axis by this yaw inside the level.",
    ]
    for s in SCENE_LIST:
        lines += [
            "",
            f"[scenes.{s.id}]   # {s.description}; walkable ±{s.walk_half[0]:g} m × ±{s.walk_half[1]:g} m",
            f"level = {_toml_str(PLACEHOLDER_ROOT + 'Maps/' + s.id)}",
            "anchor_cm = [0.0, 0.0, 0.0]",
            "anchor_yaw_deg = 0.0",
        ]
    lines += [
        "",
        "# ---------------------------------------------------------------- subjects",
        "# mesh: a SkeletalMesh whose root sits on the ground between the feet. yaw_offset_deg: added to",
        "# the walking direction (UE5 mannequin-style meshes face +Y, hence -90). scale: uniform actor",
        "# scale. z_offset_cm: lift if the pivot is not at the feet. One entry per gait the catalog lists:",
        "# an IN-PLACE looping AnimSequence and speed_cm_s, the ground speed that animation shows at play",
        "# rate 1 (stride length × cycles per second); the play rate then follows the shot's speed.",
    ]
    for spec in SUBJECT_LIST:
        kind = "Characters" if spec.kind == "human" else "Animals"
        base = f"{PLACEHOLDER_ROOT}{kind}/{spec.id}/"
        lines += [
            "",
            f"[subjects.{spec.id}]   # {spec.appearance}; {spec.height:g} m tall, {spec.length:g} m long",
            f"mesh = {_toml_str(base + 'SK_' + spec.id)}",
            "yaw_offset_deg = -90.0",
            "scale = 1.0",
            "z_offset_cm = 0.0",
        ]
        for g in spec.gaits:
            speed = round(50.0 * (g.speed_min + g.speed_max), 1)
            lines.append(
                f"{g.name} = {{ anim = {_toml_str(base + 'A_' + spec.id + '_' + g.name)}, speed_cm_s = {speed} }}"
            )
    return "\n".join(lines) + "\n"
