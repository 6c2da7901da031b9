"""A recording stand-in for Unreal Editor's `unreal` Python module.

It implements exactly the names listed in ue_scripts/API.md (tests compare the
two) and behaves like the editor as far as ue_scripts can tell:

- an asset registry seeded from a small "world" JSON (levels, skeletal meshes
  with their box size, animations with their length);
- Level Sequences with bindings, tracks, sections and keyed channels that
  Sequencer evaluates (linear keys) when a sequence is open;
- Movie Render Queue: the PIE executor "renders" every frame of the playback
  range on a later tick with its own UE-convention pinhole camera (X forward,
  Y right, Z up; focal length and filmback from the CineCamera), drawing each
  subject's box and writing the stencil pass through the post-process
  material graph the script built, then fires the executor delegates;
- version profiles (HMWORLD_FAKE_UE_VERSION: 5.0 … 5.7, or "all") remove the
  names a given engine lacks, so compat.py's branches all get exercised.

Engine behaviour that no script controls (crashes, hangs, too few frames)
comes from HMWORLD_FAKE_UE_MODE; see `_Engine.mode`.

Nothing here imports hmworld: the camera and rotator maths are written from
Unreal's own definitions so tests can catch conversion mistakes on our side.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from types import MappingProxyType

import numpy as np
from PIL import Image


def _props(defaults):
    """Editor-property defaults of a class (read-only; a callable default makes a fresh value)."""
    return MappingProxyType(defaults)


# --------------------------------------------------------------------------- version profiles

_PROFILE = os.environ.get("HMWORLD_FAKE_UE_VERSION", "5.4")
_V = (99, 0) if _PROFILE == "all" else tuple(int(x) for x in _PROFILE.split(".")[:2])
_ALL = _PROFILE == "all"


def _since(major_minor):
    return _ALL or _V >= major_minor


def _until(major_minor):
    return _ALL or _V <= major_minor


# --------------------------------------------------------------------------- the engine (not API)


class _Engine:
    """Process-wide state the real editor keeps: assets, open sequence, render queue, quit flag."""

    def __init__(self):
        self.mode = os.environ.get("HMWORLD_FAKE_UE_MODE", "ok")
        self.state_path = os.environ.get("HMWORLD_FAKE_UE_STATE", "")
        self.assets = {}  # path -> object
        self.history = []  # every asset ever created
        self.saved = []
        self.deleted = []
        self.logs = []
        self.level = None
        self.open_sequence = None
        self.frame = 0
        self.spawned = {}  # binding guid -> actor
        self.pending = []  # executors waiting for a tick
        self.quit_requested = False
        self.keep_alive = False
        self.ticks = 0
        self.tick_callbacks = {}
        # per-clip faults, each fired once across editor sessions ("crash:<clip_id>,hang:<clip_id>"), or
        # every time ("crash*:<clip_id>")
        self.faults = [f.split(":", 1) for f in os.environ.get("HMWORLD_FAKE_UE_FAULTS", "").split(",") if f]
        world = os.environ.get("HMWORLD_FAKE_UE_WORLD", "")
        self.world = {"levels": [], "meshes": {}, "anims": {}, "materials": [], "occluders": {},
                      "unsaved_levels": []}
        if world:
            with open(world, encoding="utf-8") as f:
                self.world.update(json.load(f))
        for path in self.world["levels"]:
            self.assets[path] = World(path, self.world["occluders"].get(path, []))
        for path, size in self.world["meshes"].items():
            self.assets[path] = SkeletalMesh(path, size)
        for path, length in self.world["anims"].items():
            self.assets[path] = AnimSequence(path, length)

    # ---- ticking

    def run_loop(self, script_returned_at=None, max_seconds=120.0):
        """The editor's main loop after -ExecutePythonScript: tick until quit."""
        start = time.monotonic()
        while not self.quit_requested:
            if _since((5, 2)) and not self.keep_alive:
                # UnrealEditor-Cmd closes the editor on the tick after the script returns,
                # queued renders or not
                self.logs.append("LogPython: closing the editor after the script (keep-alive not set)")
                return "closed_without_quit"
            self.tick()
            if time.monotonic() - start > max_seconds:
                return "loop_timeout"
        if self.mode == "hang_at_quit":
            while True:
                time.sleep(1)
        return "quit"

    def tick(self):
        self.ticks += 1
        pending, self.pending = self.pending, []
        for executor in pending:
            executor._run()
        for fn in list(self.tick_callbacks.values()):
            try:
                fn(0.016)
            except Exception as e:  # Slate logs a failing Python callback and carries on
                _log(f"LogPython: Error: {type(e).__name__}: {e}")

    def fault(self, kind, clip_id):
        """True once for a configured per-clip fault ("kind:clip"; remembered in HMWORLD_FAKE_UE_STATE across
        sessions), every time for "kind*:clip"."""
        if [kind + "*", clip_id] in self.faults:
            return True
        if [kind, clip_id] not in self.faults:
            return False
        fired = set()
        if self.state_path and os.path.exists(self.state_path):
            with open(self.state_path, encoding="utf-8") as f:
                fired = set(f.read().split())
        key = f"{kind}:{clip_id}"
        if key in fired:
            return False
        if self.state_path:
            with open(self.state_path, "a", encoding="utf-8") as f:
                f.write(key + "\n")
        return True



def _log(msg):
    _engine.logs.append(msg)
    print(msg, flush=True)


# --------------------------------------------------------------------------- base types


class Object:
    """UObject: editor properties by name, and a name."""

    _HELPER = True

    _PROPS = _props({})

    def __init__(self, outer=None, name="None"):
        self._outer = outer
        self._name = name
        self._props = {}
        for cls in reversed(type(self).__mro__):
            for k, default in getattr(cls, "_PROPS", {}).items():
                if k not in self._props:
                    self._props[k] = default() if callable(default) else default

    def _allowed(self):
        names = set()
        for cls in type(self).__mro__:
            names.update(getattr(cls, "_PROPS", {}))
        return names

    def get_editor_property(self, name):
        """Struct and array values come back as copies, as in the editor: set them back to change them."""
        if name not in self._allowed():
            raise AttributeError(f"{type(self).__name__} has no editor property {name!r}")
        value = self._props[name]
        if isinstance(value, StructBase):
            value = value._copy()
        elif isinstance(value, list):
            value = list(value)
        return value

    def set_editor_property(self, name, value):
        if name not in self._allowed():
            raise AttributeError(f"{type(self).__name__} has no editor property {name!r}")
        self._props[name] = value
        self.__dict__.setdefault("_set_names", []).append(name)

    def get_name(self):
        return self._name

    @classmethod
    def static_class(cls):
        return cls


class StructBase(Object):
    """USTRUCT wrapper: editor properties by name; a property read returns a copy."""

    _HELPER = True

    def _copy(self):
        new = copy.copy(self)
        new._props = dict(self._props)
        return new


class EnumBase:
    _HELPER = True


class _Enum(EnumBase):
    def __init__(self, owner, name, value):
        self.owner, self.name, self.value = owner, name, value

    def __repr__(self):
        return f"{self.owner}.{self.name}"


def _enum(cls_name, **members):
    cls = type(cls_name, (EnumBase,), {})
    for k, v in members.items():
        setattr(cls, k, _Enum(cls_name, k, v))
    return cls


MovieSceneKeyInterpolation = _enum("MovieSceneKeyInterpolation", LINEAR=3)
CameraFocusMethod = _enum("CameraFocusMethod", DISABLE=3)
MaterialDomain = _enum("MaterialDomain", MD_POST_PROCESS=2)
SceneTextureId = _enum("SceneTextureId", PPI_SCENE_DEPTH=1, PPI_CUSTOM_DEPTH=13, PPI_CUSTOM_STENCIL=25)
MoviePipelineTextureStreamingMethod = _enum("MoviePipelineTextureStreamingMethod", NONE=0, DISABLED=1, FULLY_LOAD=2)
MaterialProperty = _enum("MaterialProperty", MP_EMISSIVE_COLOR=0)


class Vector:
    _HELPER = True
    _FIELDS = ("x", "y", "z")

    def __init__(self, x=0.0, y=0.0, z=0.0):
        self.x, self.y, self.z = float(x), float(y), float(z)


class Rotator:
    _HELPER = True
    _FIELDS = ("roll", "pitch", "yaw")

    def __init__(self, roll=0.0, pitch=0.0, yaw=0.0):
        self.roll, self.pitch, self.yaw = float(roll), float(pitch), float(yaw)


class FrameRate:
    _FIELDS = ("numerator", "denominator")

    def __init__(self, numerator=60, denominator=1):
        self.numerator, self.denominator = int(numerator), int(denominator)


class FrameNumber:
    _FIELDS = ("value",)

    def __init__(self, value=0):
        self.value = int(value)


class IntPoint:
    _FIELDS = ("x", "y")

    def __init__(self, x=0, y=0):
        self.x, self.y = int(x), int(y)


class LinearColor:
    _FIELDS = ("r", "g", "b", "a")

    def __init__(self, r=0.0, g=0.0, b=0.0, a=1.0):
        self.r, self.g, self.b, self.a = float(r), float(g), float(b), float(a)


class DirectoryPath:
    _FIELDS = ("path",)

    def __init__(self, path=""):
        self.path = str(path)


class SoftObjectPath:
    _FIELDS = ()

    def __init__(self, path=""):
        self._path = str(path)


class CameraFilmbackSettings(StructBase):
    _HELPER = True
    _PROPS = _props({"sensor_width": 24.89, "sensor_height": 18.67})


class CameraFocusSettings(StructBase):
    _HELPER = True
    _PROPS = _props({"focus_method": None})


class MovieSceneObjectBindingID(StructBase):
    _HELPER = True
    def __init__(self, guid=None):
        super().__init__()
        self._guid = guid


class MovieSceneSkeletalAnimationParams(StructBase):
    _HELPER = True
    _PROPS = _props({
        "animation": None,
        "play_rate": (lambda: MovieSceneTimeWarpVariant(1.0)) if _since((5, 5)) else 1.0,
        "first_loop_start_frame_offset": lambda: FrameNumber(0),
        "force_custom_mode": False,
    })


class MovieSceneTimeWarpVariant(StructBase):
    def __init__(self, fixed_play_rate=1.0):
        super().__init__()
        self._rate = float(fixed_play_rate)

    def to_fixed_play_rate(self):
        return self._rate


class MoviePipelinePostProcessPass(StructBase):
    _PROPS = _props({"enabled": False, "material": None})


# --------------------------------------------------------------------------- assets


class World(Object):
    _HELPER = True
    def __init__(self, path, occluders=()):
        super().__init__(name=path.rsplit("/", 1)[-1])
        self._path = path
        # level content: axis-aligned boxes {"name", "min_cm", "max_cm", "custom_depth", "stencil"}
        self._actors = [StaticMeshActor._from_box(o) for o in occluders]


class SkeletalMesh(Object):
    def __init__(self, path, size_cm):
        super().__init__(name=path.rsplit("/", 1)[-1])
        self._path = path
        self._size = [float(s) for s in size_cm]  # length (mesh +Y), width (mesh X), height (Z)


class AnimSequenceBase(Object):
    def __init__(self, path="", length=1.0):
        super().__init__(name=path.rsplit("/", 1)[-1])
        self._path = path
        self._length = float(length)

    def get_play_length(self):
        return self._length


class AnimSequence(AnimSequenceBase):
    _HELPER = True
    pass


class MaterialInterface(Object):
    pass


class Material(MaterialInterface):
    _PROPS = _props({"material_domain": None})

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._nodes = []
        self._links = []  # (src, out, dst, input)
        self._emissive = None
        self._compiled = False

    def _evaluate(self, buffers):
        """Run the expression graph on the G-buffer {SceneTextureId name: [H,W]} → colour [H,W,3] (linear)."""
        memo = {}
        stencil = buffers["PPI_CUSTOM_STENCIL"]

        def value(node):
            if id(node) in memo:
                return memo[id(node)]
            inputs = {inp: src for src, _, dst, inp in self._links if dst is node}
            kind = type(node).__name__
            if kind == "MaterialExpressionSceneTexture":
                texture = node.get_editor_property("scene_texture_id")
                if texture is None or texture.name not in buffers:
                    raise RuntimeError(f"fake editor has no scene texture {texture!r}")
                out = np.repeat(buffers[texture.name][..., None].astype(float), 4, axis=-1)
            elif kind == "MaterialExpressionComponentMask":
                src = value(inputs[""])
                keep = [i for i, c in enumerate("rgba") if node.get_editor_property(c)]
                out = src[..., keep]
            elif kind == "MaterialExpressionConstant3Vector":
                c = node.get_editor_property("constant")
                out = np.array([c.r, c.g, c.b])
            elif kind == "MaterialExpressionSubtract":
                out = value(inputs["A"]) - value(inputs["B"])
            elif kind == "MaterialExpressionAdd":
                out = value(inputs["A"]) + value(inputs["B"])
            elif kind == "MaterialExpressionMultiply":
                out = value(inputs["A"]) * value(inputs["B"])
            elif kind == "MaterialExpressionConstant":
                out = np.full((*stencil.shape, 1), node.get_editor_property("r"))
            elif kind == "MaterialExpressionAbs":
                out = np.abs(value(inputs[""]))
            elif kind == "MaterialExpressionOneMinus":
                out = 1.0 - value(inputs[""])
            elif kind == "MaterialExpressionSaturate":
                out = np.clip(value(inputs[""]), 0.0, 1.0)
            else:
                raise RuntimeError(f"fake editor cannot evaluate {kind}")
            memo[id(node)] = out
            return out

        if self._emissive is None or not self._compiled:
            raise RuntimeError("mask material has no compiled emissive output")
        out = value(self._emissive)
        if out.ndim == 2:
            out = out[..., None]
        return np.broadcast_to(out, (*stencil.shape, 3))


class LevelSequence(Object):
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._display_rate = None
        self._tick_resolution = FrameRate(24000, 1)
        self._start = 0
        self._end = 0
        self._bindings = []
        self._root_tracks = []

    def set_display_rate(self, rate):
        self._display_rate = rate

    def set_tick_resolution(self, rate):
        self._tick_resolution = rate

    def set_playback_start(self, frame):
        self._start = int(frame)

    def set_playback_end(self, frame):
        self._end = int(frame)

    def add_spawnable_from_class(self, actor_class):
        binding = MovieSceneBindingProxy(self, actor_class)
        self._bindings.append(binding)
        return binding

    def add_track(self, track_class):
        track = track_class(self)
        self._root_tracks.append(track)
        return track

    def get_binding_id(self, binding):
        return MovieSceneObjectBindingID(binding._guid)

    def get_portable_binding_id(self, destination, binding):
        return MovieSceneObjectBindingID(binding._guid)


if not _until((5, 5)):
    del LevelSequence.add_spawnable_from_class


class LevelSequenceFactoryNew(Object):
    pass


class MaterialFactoryNew(Object):
    pass


class MovieSceneBindingProxy(StructBase):
    _HELPER = True
    _count = 0

    def __init__(self, sequence=None, actor_class=None):
        super().__init__()
        MovieSceneBindingProxy._count += 1
        self._guid = MovieSceneBindingProxy._count
        self._sequence = sequence
        self._template = actor_class(name=f"{actor_class.__name__}_template") if actor_class else None
        self._tracks = []

    def get_object_template(self):
        return self._template

    def add_track(self, track_class):
        track = track_class(self)
        self._tracks.append(track)
        return track


# --------------------------------------------------------------------------- tracks, sections, channels


class MovieSceneTrack(Object):
    _HELPER = True
    _section_class = None

    def __init__(self, owner=None):
        super().__init__(owner)
        self._sections = []

    def add_section(self):
        section = self._section_class(self)
        self._sections.append(section)
        return section


class MovieSceneSection(Object):
    _HELPER = True

    def __init__(self, track=None):
        super().__init__(track)
        self._range = None
        self._channels = []

    def set_range(self, start_frame, end_frame):
        self._range = (int(start_frame), int(end_frame))

    def get_all_channels(self):
        return list(self._channels)


class MovieSceneScriptingDoubleChannel(Object):
    _HELPER = True
    _PROPS = _props({"channel_name": ""})

    def __init__(self, name):
        super().__init__()
        self._props["channel_name"] = name
        self._slot = name  # which part of the transform it drives, whatever name it reports
        self._keys = {}
        self._interp = {}

    def add_key(self, time, new_value, sub_frame=0.0, time_unit=None, interpolation=None):
        if not isinstance(time, FrameNumber):
            raise TypeError("add_key expects a FrameNumber")
        self._keys[time.value] = float(new_value)
        self._interp[time.value] = interpolation

    def _evaluate(self, frame):
        frames = sorted(self._keys)
        return float(np.interp(frame, frames, [self._keys[f] for f in frames]))


_CHANNELS = ("Location.X", "Location.Y", "Location.Z", "Rotation.X", "Rotation.Y", "Rotation.Z",
             "Scale.X", "Scale.Y", "Scale.Z")


class MovieScene3DTransformSection(MovieSceneSection):
    _HELPER = True
    def __init__(self, track=None):
        super().__init__(track)
        self._channels = [MovieSceneScriptingDoubleChannel(n) for n in _CHANNELS]

    def _evaluate(self, frame):
        v = {c._slot: c._evaluate(frame) for c in self._channels}
        return (
            (v["Location.X"], v["Location.Y"], v["Location.Z"]),
            (v["Rotation.X"], v["Rotation.Y"], v["Rotation.Z"]),
            (v["Scale.X"], v["Scale.Y"], v["Scale.Z"]),
        )


class MovieSceneSkeletalAnimationSection(MovieSceneSection):
    _HELPER = True
    _PROPS = _props({"params": MovieSceneSkeletalAnimationParams})


class MovieSceneCameraCutSection(MovieSceneSection):
    _HELPER = True
    _PROPS = _props({"camera_binding_id": MovieSceneObjectBindingID})

    def set_camera_binding_id(self, binding_id):
        self.set_editor_property("camera_binding_id", binding_id)


if not _since((5, 1)):
    del MovieSceneCameraCutSection.set_camera_binding_id


class MovieScene3DTransformTrack(MovieSceneTrack):
    _section_class = MovieScene3DTransformSection


class MovieSceneSkeletalAnimationTrack(MovieSceneTrack):
    _section_class = MovieSceneSkeletalAnimationSection


class MovieSceneCameraCutTrack(MovieSceneTrack):
    _section_class = MovieSceneCameraCutSection


# --------------------------------------------------------------------------- actors and components


class PrimitiveComponent(Object):
    _PROPS = _props({"render_custom_depth": False, "custom_depth_stencil_value": 0})

    @property
    def _custom_depth(self):
        return bool(self._props["render_custom_depth"])

    @property
    def _stencil(self):
        return int(self._props["custom_depth_stencil_value"])

    def set_render_custom_depth(self, value):
        self._props["render_custom_depth"] = bool(value)

    def set_custom_depth_stencil_value(self, value):
        self._props["custom_depth_stencil_value"] = int(value)


class SkeletalMeshComponent(PrimitiveComponent):
    _HELPER = True
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._mesh = None

    def set_skeletal_mesh_asset(self, new_mesh):
        self._mesh = new_mesh


class StaticMeshComponent(PrimitiveComponent):
    _HELPER = True


class CineCameraComponent(Object):
    _HELPER = True
    _PROPS = _props({"filmback": CameraFilmbackSettings, "current_focal_length": 35.0,
              "focus_settings": CameraFocusSettings})


class Actor(Object):
    _HELPER = True
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._loc = (0.0, 0.0, 0.0)
        self._rot = (0.0, 0.0, 0.0)
        self._scale = (1.0, 1.0, 1.0)

    def get_actor_location(self):
        return Vector(*self._loc)

    def get_actor_rotation(self):
        return Rotator(*self._rot)

    def get_actor_scale3d(self):
        return Vector(*self._scale)

    def get_components_by_class(self, component_class=None):
        comps = [v for v in self._props.values() if isinstance(v, Object) and v is not self]
        comps += [v for k, v in vars(self).items() if k == "_component"]
        return [c for c in comps if component_class is None or isinstance(c, component_class)]


class StaticMeshActor(Actor):
    """Level content: a box that draws into scene depth, and into custom depth if flagged."""

    _HELPER = True
    _PROPS = _props({"static_mesh_component": None})

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._props["static_mesh_component"] = StaticMeshComponent(self, "StaticMeshComponent0")
        self._box = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))

    @classmethod
    def _from_box(cls, spec):
        actor = cls(name=spec["name"])
        actor._box = (tuple(spec["min_cm"]), tuple(spec["max_cm"]))
        comp = actor.get_editor_property("static_mesh_component")
        comp.set_render_custom_depth(spec.get("custom_depth", False))
        comp.set_custom_depth_stencil_value(spec.get("stencil", 0))
        return actor


class SkeletalMeshActor(Actor):
    _PROPS = _props({"skeletal_mesh_component": None})

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._props["skeletal_mesh_component"] = SkeletalMeshComponent(self, "SkeletalMeshComponent0")


class CineCameraActor(Actor):
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._component = CineCameraComponent(self, "CameraComponent")

    def get_cine_camera_component(self):
        return self._component


def _copy_actor(template):
    """Spawning copies the template (what Sequencer does for spawnables)."""
    actor = type(template)(name=template.get_name().replace("_template", ""))
    if isinstance(template, CineCameraActor):
        src, dst = template.get_cine_camera_component(), actor.get_cine_camera_component()
        for k in ("current_focal_length",):
            dst.set_editor_property(k, src.get_editor_property(k))
        fb = CameraFilmbackSettings()
        for k in ("sensor_width", "sensor_height"):
            fb.set_editor_property(k, src.get_editor_property("filmback").get_editor_property(k))
        dst.set_editor_property("filmback", fb)
    else:
        src = template.get_editor_property("skeletal_mesh_component")
        dst = actor.get_editor_property("skeletal_mesh_component")
        dst._mesh = src._mesh
        dst.set_render_custom_depth(src._custom_depth)
        dst.set_custom_depth_stencil_value(src._stencil)
    return actor


# --------------------------------------------------------------------------- UE maths (from the engine's definitions)


def _rotator_axes(roll, pitch, yaw):
    """FRotationMatrix: unit X (forward), Y (right), Z (up) of a rotator, in world space."""
    sr, cr = math.sin(math.radians(roll)), math.cos(math.radians(roll))
    sp, cp = math.sin(math.radians(pitch)), math.cos(math.radians(pitch))
    sy, cy = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
    x = np.array([cp * cy, cp * sy, sp])
    y = np.array([sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp])
    z = np.array([-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp])
    return x, y, z


def _normalized_rotator(roll, pitch, yaw):
    """What an actor reports back: the rotation from its transform, angles in (-180, 180]."""
    x, y, z = _rotator_axes(roll, pitch, yaw)
    pitch_n = math.degrees(math.asin(max(-1.0, min(1.0, x[2]))))
    yaw_n = math.degrees(math.atan2(x[1], x[0]))
    roll_n = math.degrees(math.atan2(-y[2], z[2]))
    return roll_n, pitch_n, yaw_n


# --------------------------------------------------------------------------- libraries and subsystems


def _new_asset(cls, path):
    name = path.rsplit("/", 1)[1]
    obj = cls(None, name)
    obj._path = path
    _engine.assets[path] = obj
    _engine.history.append(obj)
    return obj


class AssetTools(Object):
    _HELPER = True
    def create_asset(self, asset_name, package_path, asset_class, factory, calling_context="None"):
        path = f"{package_path}/{asset_name}"
        if path in _engine.assets:
            return None
        return _new_asset(asset_class, path)


class AssetToolsHelpers(Object):
    @classmethod
    def get_asset_tools(cls):
        return AssetTools()


class EditorAssetLibrary(Object):
    @classmethod
    def does_asset_exist(cls, asset_path):
        return asset_path in _engine.assets

    @classmethod
    def load_asset(cls, asset_path):
        return _engine.assets.get(asset_path)

    @classmethod
    def save_loaded_asset(cls, asset_to_save, only_if_is_dirty=True):
        _engine.saved.append(getattr(asset_to_save, "_path", None))
        return True

    @classmethod
    def delete_asset(cls, asset_path_to_delete):
        _engine.deleted.append(asset_path_to_delete)
        return _engine.assets.pop(asset_path_to_delete, None) is not None


class MaterialExpression(Object):
    _HELPER = True
    pass


def _expr(name, props):
    return type(name, (MaterialExpression,), {"_PROPS": props})


MaterialExpressionSceneTexture = _expr("MaterialExpressionSceneTexture", {"scene_texture_id": None})
MaterialExpressionComponentMask = _expr("MaterialExpressionComponentMask",
                                        {"r": False, "g": False, "b": False, "a": False})
MaterialExpressionConstant3Vector = _expr("MaterialExpressionConstant3Vector", {"constant": LinearColor})
MaterialExpressionSubtract = _expr("MaterialExpressionSubtract", {})
MaterialExpressionAdd = _expr("MaterialExpressionAdd", {})
MaterialExpressionMultiply = _expr("MaterialExpressionMultiply", {})
MaterialExpressionConstant = _expr("MaterialExpressionConstant", {"r": 0.0})
MaterialExpressionAbs = _expr("MaterialExpressionAbs", {})
MaterialExpressionOneMinus = _expr("MaterialExpressionOneMinus", {})
MaterialExpressionSaturate = _expr("MaterialExpressionSaturate", {})


class MaterialEditingLibrary(Object):
    @classmethod
    def create_material_expression(cls, material, expression_class, node_pos_x=0, node_pos_y=0):
        node = expression_class(material)
        material._nodes.append(node)
        return node

    @classmethod
    def connect_material_expressions(cls, from_expression, from_output_name, to_expression, to_input_name):
        binary = ("MaterialExpressionSubtract", "MaterialExpressionAdd", "MaterialExpressionMultiply")
        valid_inputs = ("A", "B") if type(to_expression).__name__ in binary else ("",)
        if to_input_name not in valid_inputs:
            return False
        from_expression._outer._links.append((from_expression, from_output_name, to_expression, to_input_name))
        return True

    @classmethod
    def connect_material_property(cls, from_expression, from_output_name, property_):
        if property_ is not MaterialProperty.MP_EMISSIVE_COLOR:
            return False
        from_expression._outer._emissive = from_expression
        return True

    @classmethod
    def recompile_material(cls, material):
        material._compiled = True


class EditorSubsystem(Object):
    _HELPER = True
    pass


class LevelEditorSubsystem(EditorSubsystem):
    def load_level(self, asset_path):
        level = _engine.assets.get(asset_path)
        if not isinstance(level, World):
            _log(f"LogEditorLevelUtils: Error: could not load level {asset_path}")
            return False
        _engine.level = level
        return True


class EditorActorSubsystem(EditorSubsystem):
    def get_all_level_actors(self):
        return list(_engine.level._actors) if _engine.level is not None else []


class LevelSequenceEditorSubsystem(EditorSubsystem):
    def add_spawnable_from_class(self, sequence, class_to_spawn):
        binding = MovieSceneBindingProxy(sequence, class_to_spawn)
        sequence._bindings.append(binding)
        return binding


if not _since((5, 6)):
    del LevelSequenceEditorSubsystem.add_spawnable_from_class


def _evaluate_binding(sequence, binding, frame):
    """The actor a spawnable binding gives at `frame`: a copy of its template, posed by its transform track."""
    actor = _copy_actor(binding._template)
    for track in binding._tracks:
        if isinstance(track, MovieScene3DTransformTrack):
            loc, rot, scale = track._sections[0]._evaluate(frame)
            if _engine.mode == "offset_camera" and isinstance(actor, CineCameraActor):
                loc = (loc[0] + 5.0, loc[1], loc[2])
            actor._loc, actor._rot, actor._scale = loc, _normalized_rotator(*rot), scale
    return actor


class LevelSequenceEditorBlueprintLibrary(Object):
    @classmethod
    def open_level_sequence(cls, level_sequence):
        _engine.open_sequence = level_sequence
        return True

    @classmethod
    def close_level_sequence(cls):
        _engine.open_sequence = None

    @classmethod
    def set_current_time(cls, new_frame):
        _engine.frame = int(new_frame)

    @classmethod
    def force_update(cls):
        pass

    @classmethod
    def get_bound_objects(cls, object_binding):
        seq = _engine.open_sequence
        if seq is None:
            return []
        for binding in seq._bindings:
            if binding._guid == object_binding._guid:
                return [_evaluate_binding(seq, binding, _engine.frame)]
        return []


if not _since((5, 5)):
    del LevelSequenceEditorBlueprintLibrary.force_update


class SystemLibrary(Object):
    @classmethod
    def get_engine_version(cls):
        return f"{_PROFILE}.0-fake+++UE5+Release-{_PROFILE}"

    @classmethod
    def quit_editor(cls):
        _engine.quit_requested = True


class EditorPythonScripting(Object):
    @classmethod
    def set_keep_python_script_alive(cls, new_keep_alive):
        _engine.keep_alive = bool(new_keep_alive)


# --------------------------------------------------------------------------- Movie Render Queue


class MoviePipelineSetting(Object):
    _HELPER = True
    pass


class MoviePipelineOutputSetting(MoviePipelineSetting):
    _PROPS = _props({"output_directory": DirectoryPath, "file_name_format": "{sequence_name}.{frame_number}",
              "output_resolution": lambda: IntPoint(1920, 1080), "use_custom_frame_rate": False,
              "output_frame_rate": FrameRate, "zero_pad_frame_numbers": 4, "override_existing_output": True,
              "flush_disk_writes_per_shot": False})


class MoviePipelineDeferredPassBase(MoviePipelineSetting):
    _PROPS = _props({"disable_multisample_effects": False, "additional_post_process_materials": list})


class MoviePipelineImageSequenceOutput_PNG(MoviePipelineSetting):
    _PROPS = _props({"write_alpha": True})


class MoviePipelineAntiAliasingSetting(MoviePipelineSetting):
    _PROPS = _props({"spatial_sample_count": 1,
              "temporal_sample_count": 1, "use_camera_cut_for_warm_up": False, "engine_warm_up_count": 0,
              "render_warm_up_count": 32})


class MoviePipelineConsoleVariableSetting(MoviePipelineSetting):
    _PROPS = _props({"start_console_commands": list})


class MoviePipelineGameOverrideSetting(MoviePipelineSetting):
    _PROPS = _props({"game_mode_override": None, "cinematic_quality_settings": True, "texture_streaming": None,
                     "use_lod_zero": True, "disable_hlods": True, "flush_grass_streaming": True,
                     "flush_streaming_managers": True})


class MoviePipelineGameMode(Object):
    pass


class MoviePipelinePrimaryConfig(Object):
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._settings = []

    def find_or_add_setting_by_class(self, class_, include_disabled_settings=False):
        for s in self._settings:
            if type(s) is class_:
                return s
        setting = class_(self)
        self._settings.append(setting)
        return setting




class MoviePipelineExecutorJob(Object):
    _PROPS = _props({"job_name": "", "sequence": SoftObjectPath, "map": SoftObjectPath})

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._config = None

    def set_configuration(self, preset):
        self._config = preset


class MoviePipelineQueue(Object):
    _HELPER = True
    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._jobs = []

    def delete_all_jobs(self):
        self._jobs = []

    def allocate_new_job(self, job_type=None):
        job = (job_type or MoviePipelineExecutorJob)(self)
        self._jobs.append(job)
        return job


class MulticastDelegateBase:
    _HELPER = True
    def __init__(self):
        self._callables = []

    def add_callable_unique(self, callable_):
        if callable_ not in self._callables:
            self._callables.append(callable_)

    def _broadcast(self, *args):
        for fn in list(self._callables):
            try:
                fn(*args)
            except Exception as e:  # the engine logs and carries on
                _log(f"LogPython: Error: {type(e).__name__}: {e}")


class MoviePipelinePIEExecutor(Object):
    _PROPS = _props({"on_executor_finished_delegate": MulticastDelegateBase,
              "on_executor_errored_delegate": MulticastDelegateBase})

    def __init__(self, outer=None, name="None"):
        super().__init__(outer, name)
        self._queue = None

    def _execute(self, queue):
        """UMoviePipelinePIEExecutor::Execute: a job that cannot start finishes inside this call."""
        self._queue = queue
        for job in queue._jobs:
            level = _resolve(job.get_editor_property("map")._path)
            problem = None
            if not isinstance(level, World):
                problem = "map does not resolve"
            elif level._path in _engine.world["unsaved_levels"]:
                problem = "the map has unsaved changes; save it before rendering"
            elif not isinstance(_resolve(job.get_editor_property("sequence")._path), LevelSequence):
                problem = "sequence failed to load"
            if problem is not None:
                _log(f"LogMovieRenderPipeline: Error: {problem}")
                self.on_executor_errored_delegate._broadcast(self, None, True, problem)
                self.on_executor_finished_delegate._broadcast(self, False)
                return
        _engine.pending.append(self)

    @property
    def on_executor_finished_delegate(self):
        return self._props["on_executor_finished_delegate"]

    @property
    def on_executor_errored_delegate(self):
        return self._props["on_executor_errored_delegate"]

    def _run(self):
        ok = True
        for job in self._queue._jobs:
            try:
                _render_job(job)
            except _RenderFailed as e:
                ok = False
                self.on_executor_errored_delegate._broadcast(self, None, True, str(e))
        self.on_executor_finished_delegate._broadcast(self, ok)


class MoviePipelineQueueSubsystem(EditorSubsystem):
    _queue = None

    def get_queue(self):
        if MoviePipelineQueueSubsystem._queue is None:
            MoviePipelineQueueSubsystem._queue = MoviePipelineQueue()
        return MoviePipelineQueueSubsystem._queue

    def render_queue_with_executor(self, executor_type):
        if _engine.pending:
            return None
        executor = executor_type(self)
        executor._execute(self.get_queue())  # as the engine: Execute() runs inside this call
        return executor

    def render_queue_with_executor_instance(self, executor):
        if _engine.pending:
            _log("LogScript: Error: Render already in progress.")
            return
        executor._execute(self.get_queue())


class _RenderFailed(Exception):
    pass


def _resolve(path):
    base = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    return _engine.assets.get(base)


def _linear_to_srgb(v):
    """What MRQ's 8-bit PNG writer does to a (linear) post-process pass: IEC 61966-2-1 encoding."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


def _render_job(job):
    """PIE render of one job: every playback frame, final image + each post-process pass.

    Pass folders are named as the engine names them: the deferred pass is
    "FinalImage", an additional post-process material's pass is "FinalImage"
    + the material's name. Spatial samples are jittered and averaged in
    linear space; the post-process pass is then sRGB-encoded into the PNG.
    """
    seq = _resolve(job.get_editor_property("sequence")._path)
    clip_id = job.get_editor_property("job_name")
    _journal("start", clip_id)
    if _engine.mode == "mrq_error":
        raise _RenderFailed("GPU crashed or device removed (fake)")
    time.sleep(float(os.environ.get("HMWORLD_FAKE_UE_SHOT_S", "0")))  # a shot's render time (test hook)
    if _engine.mode == "hang" or _engine.fault("hang", clip_id):
        print(f"LogMovieRenderPipeline: rendering {clip_id} stalls (fake hang)", flush=True)
        while True:
            time.sleep(1)
    level = _resolve(job.get_editor_property("map")._path)
    cfg = job._config
    out = cfg.find_or_add_setting_by_class(MoviePipelineOutputSetting)
    deferred = cfg.find_or_add_setting_by_class(MoviePipelineDeferredPassBase)
    aa = cfg.find_or_add_setting_by_class(MoviePipelineAntiAliasingSetting)
    samples = max(1, int(aa.get_editor_property("spatial_sample_count")))
    res = out.get_editor_property("output_resolution")
    width, height = res.x, res.y
    pad = out.get_editor_property("zero_pad_frame_numbers")
    fmt = out.get_editor_property("file_name_format")
    folder = out.get_editor_property("output_directory").path
    pp = [p.get_editor_property("material") for p in deferred.get_editor_property("additional_post_process_materials")
          if p.get_editor_property("enabled")]
    cuts = [t for t in seq._root_tracks if isinstance(t, MovieSceneCameraCutTrack)]
    if not cuts:
        raise _RenderFailed("no camera cut track")
    cam_id = cuts[0]._sections[0].get_editor_property("camera_binding_id")._guid
    cam_binding = next(b for b in seq._bindings if b._guid == cam_id)
    frames = list(range(seq._start, seq._end))
    if _engine.mode == "few_frames":
        frames = frames[: len(frames) // 2]
    crash_now = _engine.mode == "crash" or _engine.fault("crash", clip_id) or (
        _engine.mode == "crash_once" and _engine.state_path and not os.path.exists(_engine.state_path))
    # sample offsets in pixels (a regular grid inside the pixel, as many as spatial samples)
    k = math.ceil(math.sqrt(samples))
    offsets = [((i + 0.5) / k - 0.5, (j + 0.5) / k - 0.5) for j in range(k) for i in range(k)][:samples]
    for i, frame in enumerate(frames):
        if crash_now and i == len(frames) // 3:
            if _engine.state_path and _engine.mode == "crash_once":
                with open(_engine.state_path, "w") as f:
                    f.write("crashed once\n")
            print("Fatal error: [File:D3D12Util.cpp] GPU crashed (fake)", flush=True)
            os._exit(3)
        camera = _evaluate_binding(seq, cam_binding, frame)
        subjects = [_evaluate_binding(seq, b, frame) for b in seq._bindings if b is not cam_binding]
        rgb_acc = np.zeros((height, width, 3))
        pp_acc = [np.zeros((height, width, 3)) for _ in pp]
        for off in offsets:
            rgb, buffers = _rasterise(camera, subjects, level._actors, width, height, off)
            rgb_acc += rgb
            for acc, mat in zip(pp_acc, pp, strict=True):
                acc += np.clip(mat._evaluate(buffers), 0.0, 1.0)
        images = [("FinalImage", (rgb_acc / len(offsets)).round().astype(np.uint8))]
        images += [("FinalImage" + mat.get_name(),
                    (_linear_to_srgb(acc / len(offsets)) * 255).round().astype(np.uint8)) for mat, acc in zip(pp, pp_acc, strict=True)]
        for name, image in images:
            rel = fmt.replace("{render_pass}", name).replace("{frame_number}", f"{frame:0{pad}d}")
            path = os.path.join(folder, rel + ".png")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(image).save(path)
    _log(f"LogMovieRenderPipeline: Display: rendered {len(frames)} frames of {seq.get_name()}")
    _journal("done", clip_id)


def _journal(event, clip_id):
    """Test hook (HMWORLD_FAKE_UE_RENDERS): one line per render started / completed, across sessions."""
    path = os.environ.get("HMWORLD_FAKE_UE_RENDERS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\t{event}\t{clip_id}\n")


def _box_on_screen(corners, eye, axes, fx, fy, width, height, i, j):
    """Pixels covered by the screen rectangle of a box's projected corners, and its depth (cm, along X)."""
    fwd, right, up = axes
    rel = corners - eye
    xc, yc, zc = rel @ fwd, rel @ right, rel @ up
    front = xc > 1.0
    if not front.any():
        return None, None
    u = width / 2 + fx * yc[front] / xc[front]
    v = height / 2 - fy * zc[front] / xc[front]
    inside = (i >= u.min()) & (i <= u.max()) & (j >= v.min()) & (j <= v.max())
    return inside, float(np.mean(xc))


def _rasterise(camera, subjects, level_actors, width, height, offset=(0.0, 0.0)):
    """A pinhole image in UE conventions (X forward, Y right = image +u, Z up = image -v), sampled at
    pixel centre + offset: colour, scene depth (every primitive), custom depth and custom stencil
    (only primitives that render custom depth, nearest wins, as the engine's custom-depth pass)."""
    comp = camera.get_cine_camera_component()
    fb = comp.get_editor_property("filmback")
    focal = comp.get_editor_property("current_focal_length")
    fx = focal / fb.get_editor_property("sensor_width") * width
    fy = focal / fb.get_editor_property("sensor_height") * height
    axes = _rotator_axes(*camera._rot)
    eye = np.array(camera._loc)
    j, i = np.mgrid[0:height, 0:width].astype(float)
    i, j = i + 0.5 + offset[0], j + 0.5 + offset[1]
    shade = (90 + 60 * np.sin(math.radians(camera._rot[2]) + i / width * 3.0)).astype(np.uint8)
    rgb = np.stack([shade, (shade * 0.8).astype(np.uint8), np.full_like(shade, 140)], axis=-1).astype(float)
    far = 65504.0 * 100
    scene_depth = np.full((height, width), far)
    custom_depth = np.full((height, width), far)
    stencil = np.zeros((height, width))
    prims = []
    for actor in subjects:
        comp_s = actor.get_editor_property("skeletal_mesh_component")
        length, wid, tall = comp_s._mesh._size
        ax, ay, az = _rotator_axes(*actor._rot)
        sc = actor._scale[0]
        corners = np.array([[x, y, z] for x in (-wid / 2, wid / 2) for y in (-length / 2, length / 2)
                            for z in (0.0, tall)]) * sc
        world = np.array(actor._loc) + corners[:, :1] * ax + corners[:, 1:2] * ay + corners[:, 2:] * az
        prims.append((world, comp_s, (30, 220, 50)))
    for actor in level_actors:
        lo, hi = actor._box
        world = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        prims.append((world, actor.get_editor_property("static_mesh_component"), (120, 110, 100)))
    for world, comp_p, colour in prims:
        inside, dist = _box_on_screen(world, eye, axes, fx, fy, width, height, i, j)
        if inside is None:
            continue
        win = inside & (dist < scene_depth)
        scene_depth[win] = dist
        rgb[win] = colour
        if comp_p._custom_depth:
            cwin = inside & (dist < custom_depth)
            custom_depth[cwin] = dist
            stencil[cwin] = comp_p._stencil
    buffers = {"PPI_SCENE_DEPTH": scene_depth, "PPI_CUSTOM_DEPTH": custom_depth, "PPI_CUSTOM_STENCIL": stencil}
    return rgb, buffers


# --------------------------------------------------------------------------- module functions


def get_editor_subsystem(subsystem):
    return subsystem()


def new_object(type, outer=None, name="", base_type=None):  # the editor's own signature
    return type(outer, name or "None")


def register_slate_post_tick_callback(callable):
    handle = object()
    _engine.tick_callbacks[handle] = callable
    return handle


def unregister_slate_post_tick_callback(handle):
    _engine.tick_callbacks.pop(handle, None)


def log_error(arg):
    _log(f"LogPython: Error: {arg}")


if not _since((5, 2)):
    del EditorPythonScripting


_engine = _Engine()


def _api_names():
    """Every name this stand-in implements: `unreal.Name` for module-level classes and functions,
    `Class.member` for methods, editor properties (_PROPS), struct fields (_FIELDS) and enum values.
    A test checks each against the engine's stubs and API.md's Movie Render Queue list."""
    names = set()
    for gname, obj in list(globals().items()):
        if gname.startswith("_") or not (isinstance(obj, type) or callable(obj)):
            continue
        if getattr(obj, "__module__", None) != __name__:
            continue
        names.add(f"unreal.{gname}")
        if isinstance(obj, type):
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                if callable(value) or isinstance(value, (classmethod, property, _Enum)):
                    names.add(f"{obj.__name__}.{member}")
            names.update(f"{obj.__name__}.{p}" for p in vars(obj).get("_PROPS", {}))
            names.update(f"{obj.__name__}.{f}" for f in vars(obj).get("_FIELDS", ()))
    return names
