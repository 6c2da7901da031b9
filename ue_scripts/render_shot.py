"""Render one hmworld shot in Unreal Editor: Level Sequence in, PNG frames and a status file out.

Started by the host (hmworld/render/ue5.py) as

    UnrealEditor-Cmd Project.uproject -ExecutePythonScript=.../render_shot.py -unattended ...

with HMWORLD_UE_JOB pointing at a job JSON the host wrote. Every number in the
job is already in Unreal units (cm, degrees, left-handed) and already per
sequence frame, warm-up included: this script converts nothing, it keys what
it is given. It

1. loads the level and builds a Level Sequence at the shot's fps: a CineCamera
   (filmback with the output aspect, focal length from the shot's FOV) and one
   spawnable skeletal mesh per subject, all keyed every frame with linear
   interpolation, a looping in-place animation whose play rate follows the
   subject's speed, custom-depth stencil k+1 on subject k, and a camera cut;
2. reads the evaluated camera and subject transforms back from Sequencer;
3. renders with Movie Render Queue (deferred pass + a post-process pass that
   turns the stencil into one colour channel per subject, PNG sequence);
4. writes the status file (atomically, after every stage) and quits.

Known pitfalls handled: the editor closes the tick after a script returns
(compat.keep_script_alive), the executor is garbage-collected unless
referenced (_ALIVE), exceptions in delegate callbacks are only logged by the
engine (every callback catches, records and quits), and the editor's exit
code says nothing about the render (the host trusts only the status file).

Stdlib + `unreal` only: this runs on the editor's embedded Python (3.9+).
"""

import importlib.util
import json
import os
import sys
import time
import traceback

import unreal

JOB_ENV = "HMWORLD_UE_JOB"
JOB_FORMAT = 1
STATUS_FORMAT = 1
RGB_PASS = "FinalImage"
MASK_MATERIAL_PATH = "/Game/HMWorld/M_HMWorldSubjectIds"
TICKS_PER_FRAME = 1000  # tick resolution = fps × this, so every frame lands on a whole tick
FILE_NAME_FORMAT = "{render_pass}/{frame_number}"
ZERO_PAD = 4
CONSOLE_COMMANDS = ("r.MotionBlurQuality 0", "r.DepthOfFieldQuality 0", "r.CustomDepth 3")
IMPORT_NAME = "hmworld_ue_render_shot"  # tests import under this name; anything else runs main()

# The executor, the callbacks and the job stay referenced here until the editor quits;
# an executor nobody references is garbage-collected mid-render.
_ALIVE = {}


def _load_compat():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("hmworld_ue_compat", os.path.join(here, "compat.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compat = _load_compat()


# --------------------------------------------------------------------------- status


class Status:
    """The status file: the only thing the host believes. Rewritten whole, atomically."""

    def __init__(self, path, clip_id):
        self.path = path
        self.data = {"format": STATUS_FORMAT, "clip_id": clip_id, "done": False, "success": False,
                     "stage": "start", "error": None, "errors": [], "started": time.time()}

    def write(self, **fields):
        self.data.update(fields)
        self.data["updated"] = time.time()
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


def fail(status, message):
    """Record a fatal error and quit: a Python error never leaves the editor running."""
    unreal.log_error("hmworld: " + message)
    try:
        status.write(done=True, success=False, error=message)
    finally:
        cleanup()
        compat.quit_editor()


def cleanup():
    """Delete the temporary Level Sequence; a failure here is logged, never fatal to a finished render."""
    seq_path = _ALIVE.pop("sequence_path", None)
    try:
        if seq_path and unreal.EditorAssetLibrary.does_asset_exist(seq_path):
            unreal.EditorAssetLibrary.delete_asset(seq_path)
    except Exception:
        unreal.log_error("hmworld: could not delete " + str(seq_path) + "\n" + traceback.format_exc())


# --------------------------------------------------------------------------- assets


def load(path, cls):
    asset = unreal.EditorAssetLibrary.load_asset(path) if path else None
    if asset is None or not isinstance(asset, cls):
        raise RuntimeError(f"asset {path!r} is missing or is not a {cls.__name__}; check the asset map")
    return asset


def object_path(path):
    """'/Game/Maps/Park' → '/Game/Maps/Park.Park' (what soft object paths expect)."""
    return path if "." in path.rsplit("/", 1)[-1] else f"{path}.{path.rsplit('/', 1)[-1]}"


def ensure_mask_material(path):
    """The post-process material that writes subject k (stencil k+1) to colour channel k.

    out = saturate(1 - |stencil - (1, 2, 3)|): exactly one channel is 1 on a
    subject pixel, all are 0 elsewhere, so the host can threshold at 0.5 and
    not care how the PNG writer encodes values in between.
    """
    if path:
        return load(path, unreal.MaterialInterface)
    if unreal.EditorAssetLibrary.does_asset_exist(MASK_MATERIAL_PATH):
        return load(MASK_MATERIAL_PATH, unreal.MaterialInterface)
    folder, name = MASK_MATERIAL_PATH.rsplit("/", 1)
    tools = unreal.AssetToolsHelpers.get_asset_tools()
    mat = tools.create_asset(name, folder, unreal.Material, unreal.MaterialFactoryNew())
    mat.set_editor_property("material_domain", unreal.MaterialDomain.MD_POST_PROCESS)
    lib = unreal.MaterialEditingLibrary
    stencil = lib.create_material_expression(mat, unreal.MaterialExpressionSceneTexture, -1000, 0)
    stencil.set_editor_property("scene_texture_id", unreal.SceneTextureId.PPI_CUSTOM_STENCIL)
    red = lib.create_material_expression(mat, unreal.MaterialExpressionComponentMask, -800, 0)
    for channel, on in (("r", True), ("g", False), ("b", False), ("a", False)):
        red.set_editor_property(channel, on)
    ids = lib.create_material_expression(mat, unreal.MaterialExpressionConstant3Vector, -800, 200)
    ids.set_editor_property("constant", unreal.LinearColor(1.0, 2.0, 3.0, 0.0))
    diff = lib.create_material_expression(mat, unreal.MaterialExpressionSubtract, -600, 0)
    dist = lib.create_material_expression(mat, unreal.MaterialExpressionAbs, -450, 0)
    near = lib.create_material_expression(mat, unreal.MaterialExpressionOneMinus, -300, 0)
    hit = lib.create_material_expression(mat, unreal.MaterialExpressionSaturate, -150, 0)
    links = ((stencil, "Color", red, ""), (red, "", diff, "A"), (ids, "", diff, "B"),
             (diff, "", dist, ""), (dist, "", near, ""), (near, "", hit, ""))
    for src, out, dst, inp in links:
        if not lib.connect_material_expressions(src, out, dst, inp):
            raise RuntimeError("could not wire the subject-id material")
    if not lib.connect_material_property(hit, "", unreal.MaterialProperty.MP_EMISSIVE_COLOR):
        raise RuntimeError("could not connect the subject-id material to emissive colour")
    lib.recompile_material(mat)
    unreal.EditorAssetLibrary.save_loaded_asset(mat)
    return mat


# --------------------------------------------------------------------------- sequence


def create_sequence(job):
    folder, name = job["sequence_dir"], job["sequence_name"]
    path = f"{folder}/{name}"
    if unreal.EditorAssetLibrary.does_asset_exist(path):
        unreal.EditorAssetLibrary.delete_asset(path)
    tools = unreal.AssetToolsHelpers.get_asset_tools()
    seq = tools.create_asset(name, folder, unreal.LevelSequence, unreal.LevelSequenceFactoryNew())
    if seq is None:
        raise RuntimeError(f"could not create Level Sequence {path!r}")
    _ALIVE["sequence_path"] = path
    fps = int(job["fps"])
    seq.set_display_rate(unreal.FrameRate(fps, 1))
    seq.set_tick_resolution(unreal.FrameRate(fps * TICKS_PER_FRAME, 1))
    seq.set_playback_start(0)
    seq.set_playback_end(n_frames(job))
    return seq, path


def n_frames(job):
    return int(job["warmup_frames"]) + int(job["frames"])


def key_transform(binding, location, rotation, scale, n):
    """One transform section over [0, n), a linear key on all nine channels at every frame."""
    track = binding.add_track(unreal.MovieScene3DTransformTrack)
    section = track.add_section()
    section.set_range(0, n)
    channels = compat.transform_channels(section)
    linear = unreal.MovieSceneKeyInterpolation.LINEAR
    columns = {
        "Location.X": [p[0] for p in location], "Location.Y": [p[1] for p in location],
        "Location.Z": [p[2] for p in location],
        "Rotation.X": [r[0] for r in rotation], "Rotation.Y": [r[1] for r in rotation],
        "Rotation.Z": [r[2] for r in rotation],
        "Scale.X": [scale] * n, "Scale.Y": [scale] * n, "Scale.Z": [scale] * n,
    }
    for name, values in columns.items():
        if len(values) != n:
            raise RuntimeError(f"{name} has {len(values)} keys for {n} frames")
        channel = channels[name]
        for frame, value in enumerate(values):
            channel.add_key(unreal.FrameNumber(frame), float(value), interpolation=linear)


def add_camera(seq, job):
    cam = job["camera"]
    binding = compat.add_spawnable(seq, unreal.CineCameraActor)
    component = binding.get_object_template().get_cine_camera_component()
    filmback = component.get_editor_property("filmback")
    filmback.set_editor_property("sensor_width", float(cam["sensor_width_mm"]))
    filmback.set_editor_property("sensor_height", float(cam["sensor_height_mm"]))
    component.set_editor_property("filmback", filmback)
    component.set_editor_property("current_focal_length", float(cam["focal_length_mm"]))
    focus = component.get_editor_property("focus_settings")
    focus.set_editor_property("focus_method", unreal.CameraFocusMethod.DISABLE)
    component.set_editor_property("focus_settings", focus)
    key_transform(binding, cam["location_cm"], cam["rotation_deg"], 1.0, n_frames(job))
    return binding


def add_subject(seq, job, subject):
    binding = compat.add_spawnable(seq, unreal.SkeletalMeshActor)
    component = binding.get_object_template().get_editor_property("skeletal_mesh_component")
    compat.set_skeletal_mesh(component, load(subject["mesh"], unreal.SkeletalMesh))
    component.set_render_custom_depth(True)
    component.set_custom_depth_stencil_value(int(subject["stencil"]))
    n = n_frames(job)
    key_transform(binding, subject["location_cm"], subject["rotation_deg"], float(subject["scale"]), n)
    anim = load(subject["anim"], unreal.AnimSequenceBase)
    length = float(anim.get_play_length())
    if length <= 0:
        raise RuntimeError(f"animation {subject['anim']!r} has no length")
    ticks = job["fps"] * TICKS_PER_FRAME
    track = binding.add_track(unreal.MovieSceneSkeletalAnimationTrack)
    for part in subject["anim_sections"]:
        section = track.add_section()
        section.set_range(int(part["start"]), int(part["end"]))
        params = section.get_editor_property("params")
        params.set_editor_property("animation", anim)
        compat.set_play_rate(params, part["play_rate"])
        # where this section enters the loop, so the gait stays continuous across rate changes
        offset = round((float(part["anim_time_s"]) % length) * ticks)
        params.set_editor_property("first_loop_start_frame_offset", unreal.FrameNumber(int(offset)))
        params.set_editor_property("force_custom_mode", True)
        section.set_editor_property("params", params)
    return binding


def add_camera_cut(seq, camera_binding, job):
    track = compat.add_root_track(seq, unreal.MovieSceneCameraCutTrack)
    section = track.add_section()
    section.set_range(0, n_frames(job))
    compat.set_camera_cut_binding(section, compat.binding_id(seq, camera_binding))


def build_sequence(job):
    seq, path = create_sequence(job)
    camera = add_camera(seq, job)
    subjects = [add_subject(seq, job, s) for s in job["subjects"]]
    add_camera_cut(seq, camera, job)
    unreal.EditorAssetLibrary.save_loaded_asset(seq)
    return seq, path, camera, subjects


# --------------------------------------------------------------------------- read-back


def _transform(actor):
    loc, rot = actor.get_actor_location(), actor.get_actor_rotation()
    return [loc.x, loc.y, loc.z], [rot.roll, rot.pitch, rot.yaw]


def read_back(seq, camera, subjects, job):
    """Evaluate the sequence in Sequencer at every output frame and read the actors back."""
    lib = unreal.LevelSequenceEditorBlueprintLibrary
    if not lib.open_level_sequence(seq):
        raise RuntimeError("Sequencer could not open the generated Level Sequence")
    frames = list(range(int(job["warmup_frames"]), n_frames(job)))
    out = {"frames": frames,
           "camera": {"location_cm": [], "rotation_deg": [], "focal_length_mm": [],
                      "sensor_width_mm": [], "sensor_height_mm": []},
           "subjects": [{"location_cm": [], "rotation_deg": [], "scale": []} for _ in subjects]}
    try:
        for frame in frames:
            compat.set_sequencer_frame(frame)
            actor = compat.bound_actor(seq, camera)
            loc, rot = _transform(actor)
            component = actor.get_cine_camera_component()
            filmback = component.get_editor_property("filmback")
            cam = out["camera"]
            cam["location_cm"].append(loc)
            cam["rotation_deg"].append(rot)
            cam["focal_length_mm"].append(float(component.get_editor_property("current_focal_length")))
            cam["sensor_width_mm"].append(float(filmback.get_editor_property("sensor_width")))
            cam["sensor_height_mm"].append(float(filmback.get_editor_property("sensor_height")))
            for binding, rec in zip(subjects, out["subjects"]):
                actor = compat.bound_actor(seq, binding)
                loc, rot = _transform(actor)
                rec["location_cm"].append(loc)
                rec["rotation_deg"].append(rot)
                rec["scale"].append(actor.get_actor_scale3d().x)
    finally:
        lib.close_level_sequence()
    return out


# --------------------------------------------------------------------------- Movie Render Queue


def mrq_settings(job, mask_material):
    """(setting class, property, value) for every Movie Render Queue setting this script sets.

    ue_scripts/README.md lists the same table; a test keeps the two equal.
    """
    mask_pass = unreal.MoviePipelinePostProcessPass()
    mask_pass.set_editor_property("enabled", True)
    mask_pass.set_editor_property("material", mask_material)
    return [
        ("MoviePipelineOutputSetting", "output_directory", unreal.DirectoryPath(job["output_dir"])),
        ("MoviePipelineOutputSetting", "file_name_format", FILE_NAME_FORMAT),
        ("MoviePipelineOutputSetting", "output_resolution", unreal.IntPoint(int(job["width"]), int(job["height"]))),
        ("MoviePipelineOutputSetting", "use_custom_frame_rate", True),
        ("MoviePipelineOutputSetting", "output_frame_rate", unreal.FrameRate(int(job["fps"]), 1)),
        ("MoviePipelineOutputSetting", "zero_pad_frame_numbers", ZERO_PAD),
        ("MoviePipelineOutputSetting", "override_existing_output", True),
        ("MoviePipelineOutputSetting", "flush_disk_writes_per_shot", True),
        ("MoviePipelineDeferredPassBase", "disable_multisample_effects", True),
        ("MoviePipelineDeferredPassBase", "additional_post_process_materials", [mask_pass]),
        ("MoviePipelineImageSequenceOutput_PNG", "write_alpha", False),
        ("MoviePipelineAntiAliasingSetting", "override_anti_aliasing", True),
        ("MoviePipelineAntiAliasingSetting", "anti_aliasing_method", unreal.AntiAliasingMethod.AAM_NONE),
        ("MoviePipelineAntiAliasingSetting", "spatial_sample_count", int(job["spatial_samples"])),
        ("MoviePipelineAntiAliasingSetting", "temporal_sample_count", 1),
        ("MoviePipelineAntiAliasingSetting", "use_camera_cut_for_warm_up", False),
        ("MoviePipelineAntiAliasingSetting", "engine_warm_up_count", 0),
        ("MoviePipelineAntiAliasingSetting", "render_warm_up_count", 0),
        ("MoviePipelineConsoleVariableSetting", "start_console_commands", list(CONSOLE_COMMANDS)),
    ]


def count_frames(output_dir, passes):
    counts = {}
    for key, name in passes.items():
        folder = os.path.join(output_dir, name)
        counts[key] = len([f for f in os.listdir(folder) if f.endswith(".png")]) if os.path.isdir(folder) else 0
    return counts


def start_render(job, seq_path, mask_material, status):
    subsystem = unreal.get_editor_subsystem(unreal.MoviePipelineQueueSubsystem)
    queue = subsystem.get_queue()
    queue.delete_all_jobs()
    mrq_job = queue.allocate_new_job(unreal.MoviePipelineExecutorJob)
    mrq_job.set_editor_property("job_name", job["clip_id"])
    mrq_job.set_editor_property("sequence", unreal.SoftObjectPath(object_path(seq_path)))
    mrq_job.set_editor_property("map", unreal.SoftObjectPath(object_path(job["level"])))
    config = unreal.new_object(compat.primary_config_class(), outer=mrq_job)
    for class_name, prop, value in mrq_settings(job, mask_material):
        setting = config.find_or_add_setting_by_class(getattr(unreal, class_name))
        setting.set_editor_property(prop, value)
    mrq_job.set_configuration(config)
    passes = {"rgb": RGB_PASS, "mask": mask_material.get_name()}

    def on_error(executor, pipeline, is_fatal, error_text):
        try:
            status.data["errors"].append(("fatal: " if is_fatal else "") + str(error_text))
            status.write()
        except Exception:
            fail(status, "error callback failed:\n" + traceback.format_exc())

    def on_finished(executor, success):
        try:
            counts = count_frames(job["output_dir"], passes)
            ok = bool(success) and not any(e.startswith("fatal: ") for e in status.data["errors"])
            status.write(done=True, success=ok, stage="finished", frames_written=counts,
                         error=None if ok else "Movie Render Queue reported failure: "
                         + "; ".join(status.data["errors"] or ["no error text"]))
            cleanup()
            compat.quit_editor()
        except Exception:
            fail(status, "finish callback failed:\n" + traceback.format_exc())

    executor = subsystem.render_queue_with_executor(unreal.MoviePipelinePIEExecutor)
    if executor is None:
        raise RuntimeError("Movie Render Queue refused to start (is another render running?)")
    executor.on_executor_errored_delegate.add_callable_unique(on_error)
    executor.on_executor_finished_delegate.add_callable_unique(on_finished)
    _ALIVE.update(executor=executor, on_error=on_error, on_finished=on_finished, job=mrq_job, config=config)
    status.write(stage="render", passes=passes, frames_expected=n_frames(job))


# --------------------------------------------------------------------------- entry


def read_job(path):
    with open(path, encoding="utf-8") as f:
        job = json.load(f)
    if job.get("format") != JOB_FORMAT:
        raise RuntimeError(f"job format {job.get('format')!r} is not {JOB_FORMAT}; host and ue_scripts differ")
    return job


def main():
    job_path = os.environ.get(JOB_ENV) or (sys.argv[1] if len(sys.argv) > 1 else "")
    if not job_path or not os.path.isfile(job_path):
        unreal.log_error(f"hmworld: no job file (set {JOB_ENV}); quitting")
        compat.quit_editor()
        return
    job = read_job(job_path)
    status = Status(job["status_path"], job["clip_id"])
    try:
        status.write(stage="setup", engine_version=compat.engine_version(),
                     keep_alive_flag=compat.keep_script_alive())
        compat.load_level(job["level"])
        mask_material = ensure_mask_material(job.get("mask_material", ""))
        seq, seq_path, camera, subjects = build_sequence(job)
        status.write(stage="readback")
        status.write(readback=read_back(seq, camera, subjects, job))
        start_render(job, seq_path, mask_material, status)
    except Exception:
        fail(status, f"failed during {status.data['stage']}:\n" + traceback.format_exc())


if __name__ != IMPORT_NAME:
    main()
