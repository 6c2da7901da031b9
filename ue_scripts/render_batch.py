"""Render a batch of hmworld shots in one Unreal Editor session: Level Sequences in, PNG frames out.

Started by the host (hmworld/render/ue5.py) as

    UnrealEditor-Cmd Project.uproject -ExecutePythonScript=.../render_batch.py -unattended ...

with HMWORLD_UE_JOB pointing at a batch job JSON the host wrote and
HMWORLD_UE_STATUS at the batch status file to write (given apart from the
job, so a job file that cannot be read is still reported). Every number in
the job is already in Unreal units (cm, degrees, left-handed) and per
sequence frame, warm-up included: this script converts nothing.

Shot after shot, driven by a Slate post-tick callback (a render can only be
started once the previous executor has let go), it

1. loads the shot's level (once per level) and checks that no level actor
   already draws custom depth with one of the subject stencil values;
2. builds a Level Sequence at the shot's fps: a CineCamera and one spawnable
   skeletal mesh per subject, keyed every frame, linear; a looping in-place
   animation whose play rate follows the subject's speed; custom-depth
   stencil stencils[k] on subject k; a camera cut;
3. reads the evaluated camera and subject transforms back from Sequencer;
4. renders with Movie Render Queue (deferred pass + a post-process pass that
   lights colour channel k where subject k is *visible*: its stencil, and
   its custom depth no further than the scene depth), PNG sequence, with
   game overrides; the executor is created and its delegates bound BEFORE
   the render starts, because a failing render finishes inside the call;
5. writes the shot's status file (atomically, after every stage) and deletes
   the temporary sequence; then the next shot. After the last one the batch
   status says done and the editor quits.

A Python error in one shot fails that shot (its status says where and why)
and the batch goes on; the host decides what is retried. The editor's exit
code says nothing: the host trusts only the status files and the frames.

Unreal Engine 5.2 or newer: older editors close one tick after the script
returns and have no way to keep it alive (see compat.keep_script_alive).

Stdlib + `unreal` only: this runs on the editor's embedded Python (3.9+).
"""

import importlib.util
import json
import os
import time
import traceback

import unreal

JOB_ENV = "HMWORLD_UE_JOB"
STATUS_ENV = "HMWORLD_UE_STATUS"
JOB_FORMAT = 2
STATUS_FORMAT = 2
RGB_PASS = "FinalImage"  # the deferred pass's identifier; a post-process pass is this + the material's name
MASK_MATERIAL_DIR = "/Game/HMWorld"
TICKS_PER_FRAME = 1000  # tick resolution = fps × this, so every frame lands on a whole tick
FILE_NAME_FORMAT = "{render_pass}/{frame_number}"
ZERO_PAD = 4
DEPTH_STEP = 1.0e4  # visible = saturate((scene depth + tolerance - custom depth) × this): a step at 0.1 mm
# r.AntiAliasingMethod 0: no TAA/TSR history (disable_multisample_effects also turns the AA show flag off);
# the AntiAliasingMethod enum is not in the engine's Python stubs, so the cvar is used instead of the override
CONSOLE_COMMANDS = ("r.MotionBlurQuality 0", "r.DepthOfFieldQuality 0", "r.AntiAliasingMethod 0", "r.CustomDepth 3")
IMPORT_NAME = "hmworld_ue_render_batch"  # tests import under this name; anything else runs main()

# The batch, its executors and callbacks stay referenced here until the editor quits;
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
    """A status file: the only thing the host believes. Rewritten whole, atomically."""

    def __init__(self, path, **fields):
        self.path = path
        self.data = {"format": STATUS_FORMAT, "done": False, "success": False, "stage": "start",
                     "error": None, "errors": [], "started": time.time()}
        self.data.update(fields)

    def write(self, **fields):
        self.data.update(fields)
        self.data["updated"] = time.time()
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


def delete_sequence(seq_path):
    """Delete a temporary Level Sequence; a failure here is logged, never fatal to a finished render."""
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


def mask_material_name(stencils, tolerance_cm):
    """One material per stencil values and depth tolerance, so a changed asset map never reuses a stale one."""
    return "M_HMWorldSubjectIds_" + "_".join(str(int(v)) for v in stencils) + "_T" + str(round(tolerance_cm * 10))


def ensure_mask_material(path, stencils, tolerance_cm):
    """The post-process material that lights colour channel k where subject k is visible.

    hit_k = saturate(1 - |stencil - stencils[k]|): 1 exactly on subject k's
    custom-stencil pixels. Custom depth is drawn only by primitives flagged
    for it, so the stencil alone is a silhouette that shows through walls;
    visible = saturate((scene depth + tolerance - custom depth) × DEPTH_STEP)
    is 1 only where nothing of the level is in front of the subject (its
    custom depth is at most the scene depth, within the tolerance).
    out_k = hit_k × visible.
    """
    if path:
        return load(path, unreal.MaterialInterface)
    name = mask_material_name(stencils, tolerance_cm)
    full = MASK_MATERIAL_DIR + "/" + name
    if unreal.EditorAssetLibrary.does_asset_exist(full):
        return load(full, unreal.MaterialInterface)
    tools = unreal.AssetToolsHelpers.get_asset_tools()
    mat = tools.create_asset(name, MASK_MATERIAL_DIR, unreal.Material, unreal.MaterialFactoryNew())
    mat.set_editor_property("material_domain", unreal.MaterialDomain.MD_POST_PROCESS)
    lib = unreal.MaterialEditingLibrary

    def node(cls, x, y, **props):
        expr = lib.create_material_expression(mat, cls, x, y)
        for key, value in props.items():
            expr.set_editor_property(key, value)
        return expr

    def red(texture_id, y):
        tex = node(unreal.MaterialExpressionSceneTexture, -1400, y, scene_texture_id=texture_id)
        mask = node(unreal.MaterialExpressionComponentMask, -1200, y, r=True, g=False, b=False, a=False)
        return tex, mask

    stencil_tex, stencil = red(unreal.SceneTextureId.PPI_CUSTOM_STENCIL, 0)
    custom_tex, custom = red(unreal.SceneTextureId.PPI_CUSTOM_DEPTH, 300)
    scene_tex, scene = red(unreal.SceneTextureId.PPI_SCENE_DEPTH, 500)
    ids = node(unreal.MaterialExpressionConstant3Vector, -1200, 150,
               constant=unreal.LinearColor(float(stencils[0]), float(stencils[1]), float(stencils[2]), 0.0))
    diff = node(unreal.MaterialExpressionSubtract, -1000, 0)
    dist = node(unreal.MaterialExpressionAbs, -850, 0)
    near = node(unreal.MaterialExpressionOneMinus, -700, 0)
    hit = node(unreal.MaterialExpressionSaturate, -550, 0)
    tolerance = node(unreal.MaterialExpressionConstant, -1200, 650, r=float(tolerance_cm))
    limit = node(unreal.MaterialExpressionAdd, -1000, 500)
    margin = node(unreal.MaterialExpressionSubtract, -850, 400)
    step = node(unreal.MaterialExpressionConstant, -850, 600, r=DEPTH_STEP)
    steep = node(unreal.MaterialExpressionMultiply, -700, 400)
    visible = node(unreal.MaterialExpressionSaturate, -550, 400)
    out = node(unreal.MaterialExpressionMultiply, -350, 100)
    links = ((stencil_tex, "Color", stencil, ""), (custom_tex, "Color", custom, ""), (scene_tex, "Color", scene, ""),
             (stencil, "", diff, "A"), (ids, "", diff, "B"), (diff, "", dist, ""), (dist, "", near, ""),
             (near, "", hit, ""),
             (scene, "", limit, "A"), (tolerance, "", limit, "B"), (limit, "", margin, "A"), (custom, "", margin, "B"),
             (margin, "", steep, "A"), (step, "", steep, "B"), (steep, "", visible, ""),
             (hit, "", out, "A"), (visible, "", out, "B"))
    for src, output, dst, inp in links:
        if not lib.connect_material_expressions(src, output, dst, inp):
            raise RuntimeError("could not wire the subject-id material")
    if not lib.connect_material_property(out, "", unreal.MaterialProperty.MP_EMISSIVE_COLOR):
        raise RuntimeError("could not connect the subject-id material to emissive colour")
    lib.recompile_material(mat)
    unreal.EditorAssetLibrary.save_loaded_asset(mat)
    return mat


def check_stencils(level, stencils):
    """Refuse a level in which an actor already draws custom depth with a subject stencil value.

    Such an actor would light a subject's channel wherever it is visible. The
    values come from the asset map's [render] stencil_values, so the user can
    move them.
    """
    actors = unreal.get_editor_subsystem(unreal.EditorActorSubsystem).get_all_level_actors()
    clashes = []
    for actor in actors:
        for comp in actor.get_components_by_class(unreal.PrimitiveComponent):
            if not comp.get_editor_property("render_custom_depth"):
                continue
            value = int(comp.get_editor_property("custom_depth_stencil_value"))
            if value in stencils:
                clashes.append(f"{actor.get_name()} ({value})")
    if clashes:
        raise RuntimeError(f"level {level!r} has actors drawing custom depth with a subject stencil value: "
                           f"{', '.join(clashes[:10])}; set [render] stencil_values in the asset map to three "
                           f"values (1-255) no level actor uses")


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
    component.set_skeletal_mesh_asset(load(subject["mesh"], unreal.SkeletalMesh))
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
    track = seq.add_track(unreal.MovieSceneCameraCutTrack)
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

    ue_scripts/README.md lists the same table with what each setting prevents; a test keeps the two equal.
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
        ("MoviePipelineAntiAliasingSetting", "spatial_sample_count", int(job["spatial_samples"])),
        ("MoviePipelineAntiAliasingSetting", "temporal_sample_count", 1),
        ("MoviePipelineAntiAliasingSetting", "use_camera_cut_for_warm_up", False),
        ("MoviePipelineAntiAliasingSetting", "engine_warm_up_count", 0),
        ("MoviePipelineAntiAliasingSetting", "render_warm_up_count", 0),
        ("MoviePipelineConsoleVariableSetting", "start_console_commands", list(CONSOLE_COMMANDS)),
        ("MoviePipelineGameOverrideSetting", "game_mode_override", unreal.MoviePipelineGameMode.static_class()),
        ("MoviePipelineGameOverrideSetting", "cinematic_quality_settings", True),
        ("MoviePipelineGameOverrideSetting", "texture_streaming",
         unreal.MoviePipelineTextureStreamingMethod.FULLY_LOAD),
        ("MoviePipelineGameOverrideSetting", "use_lod_zero", True),
        ("MoviePipelineGameOverrideSetting", "disable_hlods", True),
        ("MoviePipelineGameOverrideSetting", "flush_grass_streaming", True),
        ("MoviePipelineGameOverrideSetting", "flush_streaming_managers", True),
    ]


def count_frames(output_dir, passes):
    counts = {}
    for key, name in passes.items():
        folder = os.path.join(output_dir, name)
        counts[key] = len([f for f in os.listdir(folder) if f.endswith(".png")]) if os.path.isdir(folder) else 0
    return counts


def start_render(job, mask_material, status, on_done):
    """Queue one MRQ job for the shot and start it; `on_done()` runs once it has finished, either way.

    The executor is made first and both delegates bound before the render
    starts: the PIE executor can finish synchronously inside
    render_queue_with_executor_instance (a sequence that fails to load, an
    unsaved map), and a delegate bound afterwards would never hear it.
    """
    subsystem = unreal.get_editor_subsystem(unreal.MoviePipelineQueueSubsystem)
    queue = subsystem.get_queue()
    queue.delete_all_jobs()
    mrq_job = queue.allocate_new_job(unreal.MoviePipelineExecutorJob)
    mrq_job.set_editor_property("job_name", job["clip_id"])
    mrq_job.set_editor_property("sequence", unreal.SoftObjectPath(object_path(job["sequence_path"])))
    mrq_job.set_editor_property("map", unreal.SoftObjectPath(object_path(job["level"])))
    config = unreal.new_object(unreal.MoviePipelinePrimaryConfig, outer=mrq_job)
    for class_name, prop, value in mrq_settings(job, mask_material):
        setting = config.find_or_add_setting_by_class(getattr(unreal, class_name))
        setting.set_editor_property(prop, value)
    mrq_job.set_configuration(config)
    passes = {"rgb": RGB_PASS, "mask": RGB_PASS + mask_material.get_name()}

    def on_error(executor, pipeline, is_fatal, error_text):
        try:
            status.data["errors"].append(("fatal: " if is_fatal else "") + str(error_text))
            status.write()
        except Exception:
            unreal.log_error("hmworld: error callback failed\n" + traceback.format_exc())

    starting = [True]  # still inside render_queue_with_executor_instance

    def on_finished(executor, success):
        try:
            counts = count_frames(job["output_dir"], passes)
            ok = bool(success) and not any(e.startswith("fatal: ") for e in status.data["errors"])
            # finishing inside the start call means MRQ refused the job (unsaved map, sequence that does
            # not load): deterministic, so the host reports it instead of retrying
            stage = "render_start" if starting[0] and not ok else "finished"
            status.write(done=True, success=ok, stage=stage, frames_written=counts,
                         error=None if ok else "Movie Render Queue reported failure: "
                         + "; ".join(status.data["errors"] or ["no error text"]))
        except Exception:
            unreal.log_error("hmworld: finish callback failed\n" + traceback.format_exc())
        finally:
            on_done()

    executor = unreal.new_object(unreal.MoviePipelinePIEExecutor, outer=subsystem)
    executor.on_executor_errored_delegate.add_callable_unique(on_error)
    executor.on_executor_finished_delegate.add_callable_unique(on_finished)
    _ALIVE.update(executor=executor, on_error=on_error, on_finished=on_finished, job=mrq_job, config=config)
    status.write(stage="render", passes=passes, frames_expected=n_frames(job))
    subsystem.render_queue_with_executor_instance(executor)
    starting[0] = False


# --------------------------------------------------------------------------- the batch


class Batch:
    """Shot after shot on the editor's tick: at most one render in flight, then the next shot."""

    def __init__(self, shots, status):
        self.shots = list(shots)
        self.status = status
        self.next = 0
        self.busy = False
        self.level = None
        self.handle = None
        self.to_delete = []  # temporary sequences, deleted on the tick after their render let go of them

    def start(self):
        self.handle = unreal.register_slate_post_tick_callback(self.tick)

    def tick(self, delta_seconds):
        if self.busy:
            return
        while self.to_delete:
            delete_sequence(self.to_delete.pop())
        if self.next >= len(self.shots):
            self.finish()
            return
        job = self.shots[self.next]
        self.next += 1
        self.render(job)

    def render(self, job):
        """Set one shot up and start its render; a Python error fails this shot only."""
        status = Status(job["status_path"], clip_id=job["clip_id"], engine_version=compat.engine_version())
        self.busy = True
        self.status.write(stage="shot", current=job["clip_id"], shot_index=self.next - 1)
        seq_path = job["sequence_dir"] + "/" + job["sequence_name"]  # deleted whatever happens

        def done():
            self.to_delete.append(seq_path)
            self.busy = False

        try:
            status.write(stage="setup")
            if job["level"] != self.level:
                compat.load_level(job["level"])
                self.level = job["level"]
                check_stencils(job["level"], [int(v) for v in job["stencils"]])
            mask_material = ensure_mask_material(job.get("mask_material", ""), job["stencils"],
                                                 float(job["depth_tolerance_cm"]))
            seq, _, camera, subjects = build_sequence(job)
            status.write(stage="readback")
            status.write(readback=read_back(seq, camera, subjects, job))
            start_render({**job, "sequence_path": seq_path}, mask_material, status, done)
        except Exception:
            unreal.log_error("hmworld: shot " + job["clip_id"] + " failed\n" + traceback.format_exc())
            status.write(done=True, success=False,
                         error=f"failed during {status.data['stage']}:\n" + traceback.format_exc())
            done()

    def finish(self):
        if self.handle is not None:
            unreal.unregister_slate_post_tick_callback(self.handle)
            self.handle = None
        self.status.write(done=True, success=True, stage="finished", current=None)
        compat.quit_editor()


# --------------------------------------------------------------------------- entry


def read_job(path):
    """The batch job, or RuntimeError naming what is wrong with the file."""
    try:
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
    except (OSError, ValueError) as e:
        raise RuntimeError(f"bad job file {path!r}: {e}") from None
    if not isinstance(job, dict) or job.get("format") != JOB_FORMAT or not isinstance(job.get("shots"), list):
        found = job.get("format") if isinstance(job, dict) else type(job).__name__
        raise RuntimeError(f"bad job file {path!r}: format {found!r}, expected {JOB_FORMAT} with a list of "
                           f"shots; the host and ue_scripts come from different hmworld versions")
    return job


def main():
    status_path = os.environ.get(STATUS_ENV, "")
    if not status_path:
        unreal.log_error(f"hmworld: {STATUS_ENV} is not set; this script is started by `hmworld render`")
        compat.quit_editor()
        return
    status = Status(status_path, engine_version=compat.engine_version())
    try:
        status.write(stage="start")
        if not compat.keep_script_alive():
            status.write(done=True, stage="engine", error=f"Unreal Engine {compat.engine_version()} closes the "
                         "editor one tick after a startup script returns; hmworld needs 5.2 or newer")
            compat.quit_editor()
            return
        job = read_job(os.environ.get(JOB_ENV, ""))
    except Exception as e:
        status.write(done=True, stage="job", error=str(e))
        compat.quit_editor()
        return
    batch = Batch(job["shots"], status)
    _ALIVE["batch"] = batch
    status.write(stage="batch", shots=len(batch.shots))
    batch.start()


if __name__ != IMPORT_NAME:
    main()
