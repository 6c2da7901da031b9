"""Every Unreal Engine version difference render_batch.py meets, in one place.

Feature detection (hasattr), not version-string parsing: a name that exists is
used, else its older spelling. Each branch names the engine versions it is for;
ue_scripts/API.md lists every `unreal.*` name used here and what it was
checked against. Runs inside the editor: stdlib + `unreal` only.
"""

import unreal

TRANSFORM_CHANNELS = (
    "Location.X", "Location.Y", "Location.Z",
    "Rotation.X", "Rotation.Y", "Rotation.Z",
    "Scale.X", "Scale.Y", "Scale.Z",
)


def engine_version():
    """The engine's version string, e.g. '5.3.2-29314046+++UE5+Release-5.3'."""
    return str(unreal.SystemLibrary.get_engine_version())


def keep_script_alive():
    """Stop UnrealEditor-Cmd from closing the editor on the tick after the script returns.

    5.2+ has the keep-alive flag. 5.0/5.1 have none: their EditorPythonExecuter
    requests an exit one tick after the -ExecutePythonScript script returns, so
    a render started from it never runs; False tells render_batch.py to refuse.
    """
    lib = getattr(unreal, "EditorPythonScripting", None)
    if lib is None:
        return False
    lib.set_keep_python_script_alive(True)
    return True


def quit_editor():
    unreal.SystemLibrary.quit_editor()


def load_level(level_path):
    """Open a map in the editor (LevelEditorSubsystem); a failure raises."""
    subsystem = unreal.get_editor_subsystem(unreal.LevelEditorSubsystem)
    if not subsystem.load_level(level_path):
        raise RuntimeError(f"could not load level {level_path!r}")


def add_spawnable(sequence, actor_class):
    """A spawnable binding of `actor_class`.

    5.6+ moved spawnable creation to LevelSequenceEditorSubsystem (the sequence
    extension is deprecated there); 5.2-5.5 use the sequence's own method.
    """
    subsystem_class = getattr(unreal, "LevelSequenceEditorSubsystem", None)
    if subsystem_class is not None and hasattr(subsystem_class, "add_spawnable_from_class"):
        subsystem = unreal.get_editor_subsystem(subsystem_class)
        return subsystem.add_spawnable_from_class(sequence, actor_class)
    return sequence.add_spawnable_from_class(actor_class)


def binding_id(sequence, binding):
    """A binding ID resolvable in `sequence`: get_binding_id (5.2-5.5), else the portable form."""
    if hasattr(sequence, "get_binding_id"):
        return sequence.get_binding_id(binding)
    return sequence.get_portable_binding_id(sequence, binding)


def set_camera_cut_binding(section, camera_binding_id):
    """Point a camera-cut section at a camera: a setter where exposed, else the editor property."""
    if hasattr(section, "set_camera_binding_id"):
        section.set_camera_binding_id(camera_binding_id)
    else:
        section.set_editor_property("camera_binding_id", camera_binding_id)


def set_play_rate(params, rate):
    """Animation play rate: a float up to 5.4, a MovieSceneTimeWarpVariant from 5.5."""
    current = params.get_editor_property("play_rate")
    if isinstance(current, (int, float)):
        params.set_editor_property("play_rate", float(rate))
    else:
        params.set_editor_property("play_rate", unreal.MovieSceneTimeWarpVariant(float(rate)))


def play_rate(params):
    value = params.get_editor_property("play_rate")
    if isinstance(value, (int, float)):
        return float(value)
    return float(value.to_fixed_play_rate())


def set_sequencer_frame(frame):
    """Move the open Sequencer's playhead (display-rate frames) and evaluate there."""
    lib = unreal.LevelSequenceEditorBlueprintLibrary
    lib.set_current_time(int(frame))
    if hasattr(lib, "force_update"):  # 5.5+: evaluate now rather than on the next tick
        lib.force_update()


def transform_channels(section):
    """The nine channels of a 3D transform section by name (Location/Rotation/Scale .X/.Y/.Z).

    Channel names come from the channel objects; where an engine reports other
    names, the documented order (location, rotation roll/pitch/yaw, scale) is used.
    """
    channels = list(section.get_all_channels())
    named = {}
    for ch in channels:
        try:
            named[str(ch.get_editor_property("channel_name"))] = ch
        except Exception:  # an engine that does not expose the name: use the order below
            named = {}
            break
    if all(name in named for name in TRANSFORM_CHANNELS):
        return {name: named[name] for name in TRANSFORM_CHANNELS}
    if len(channels) < len(TRANSFORM_CHANNELS):
        raise RuntimeError(f"a transform section has {len(channels)} channels, expected 9")
    return dict(zip(TRANSFORM_CHANNELS, channels))


def bound_actor(sequence, binding):
    """The actor Sequencer spawned for `binding` at the current playhead."""
    objects = unreal.LevelSequenceEditorBlueprintLibrary.get_bound_objects(binding_id(sequence, binding))
    if not objects:
        raise RuntimeError("Sequencer has no object bound for a binding; is the sequence open?")
    return objects[0]
