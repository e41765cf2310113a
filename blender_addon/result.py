"""Put a lift into the scene: the "MPM skeleton" keyed with the 3D joints, and the target's Action.

Everything is computed before the scene changes; if anything fails, what was made is removed, so
a failed lift leaves the scene as it was. Keys go in at the track's own times: frame
`frame_offset + t × scene fps`, whatever the track's frame rate.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import bpy
import numpy as np

from . import footage_camera
from .anim import Channel, new_action, write_channels
from .core import (
    auto_rigmap,
    cleanup,
    coords,
    extremities,
    retarget,
    rigmap_yaml,
    rigmaps,
    vocabulary,
    world,
)
from .deps import skeleton

SKELETON_NAME = "MPM skeleton"
SKELETON_MAP = "mpm_skeleton"
SKELETON_BONES = {  # bone: (head joint, tail joint, parent)
    "mpm_pelvis": ("pelvis", "spine", None),
    "mpm_chest": ("spine", "thorax", "mpm_pelvis"),
    "mpm_neck": ("thorax", "nose", "mpm_chest"),
    "mpm_head": ("nose", "head", "mpm_neck"),
    **{
        f"mpm_{part}.{s}": (f"{side}_{a}", f"{side}_{b}", parent.format(s=s))
        for s, side in (("L", "left"), ("R", "right"))
        for part, a, b, parent in (
            ("thigh", "hip", "knee", "mpm_pelvis"),
            ("shin", "knee", "ankle", "mpm_thigh.{s}"),
            ("upper_arm", "shoulder", "elbow", "mpm_shoulder.{s}"),
            ("forearm", "elbow", "wrist", "mpm_upper_arm.{s}"),
        )
    },
    "mpm_shoulder.L": ("thorax", "left_shoulder", "mpm_chest"),
    "mpm_shoulder.R": ("thorax", "right_shoulder", "mpm_chest"),
}
J = skeleton.H36M17.index


# ----------------------------------------------------------------------------- joints


def camera_for(options) -> world.Camera | None:
    """The camera the options say the user knows (None: level the floor from the motion)."""
    if options.level == "LEVEL":
        return world.Camera()
    if options.level == "KNOWN":
        return world.Camera(options.camera_pitch, options.camera_roll)
    if options.level != "AUTO":
        raise ValueError(f"level must be one of {sorted(vocabulary.LEVEL)}, got {options.level!r}")
    return None


class Prepared(NamedTuple):
    """A lift made ready for the scene: what `prepare_joints` returns."""

    joints: np.ndarray  # (T, 17, 3) Blender world, Z up, the floor level at Z = 0
    level: world.Level  # how the floor was levelled and the subject scaled
    contacts: np.ndarray  # (T, 2) left/right foot on the floor, found before "in place"


def level_joints(
    arrays: dict[str, np.ndarray], fps: float, options
) -> tuple[np.ndarray, world.Level]:
    """Backend arrays → Blender-world joints on a level floor (what cleanup starts from) and
    how they were levelled and scaled."""
    root = arrays.get("root")
    if root is not None and options.smoothing != "NONE":
        root = world.steady_root(root, fps)
    joints = coords.camera_clip_to_blender(arrays["joints3d"], root)
    joints, level = world.level_world(joints, fps, camera_for(options))
    if options.subject_height:
        joints, factor = world.scale_to_height(joints, options.subject_height)
        level = dataclasses.replace(level, scale=factor)
    return joints, level


def prepare_joints(arrays: dict[str, np.ndarray], fps: float, options) -> Prepared:
    """Backend arrays → cleaned Blender-world joints on a level floor, how it was levelled, and
    the feet's contacts. Root motion "OFF" keeps the trajectory here (the floor is found from
    it); the solve then keys no root location."""
    joints, level = level_joints(arrays, fps, options)
    confidence = arrays.get("confidence")
    seen = None if confidence is None else np.max(confidence, axis=1) > 0  # anyone detected
    clean = cleanup.CleanupOptions(
        smoothing=vocabulary.SMOOTHING[options.smoothing],
        cutoff_hz=options.cutoff_hz,
        min_cutoff=options.one_euro_min_cutoff,
        beta=options.one_euro_beta,
        foot_lock=options.foot_lock,
        root="in_place" if options.root_motion == "IN_PLACE" else "full",
    )
    cleaned = cleanup.clean_joints(joints, fps, clean, seen)
    level = dataclasses.replace(level, body_shift=cleaned.body_shift)
    return Prepared(cleaned.joints, level, cleaned.contacts)


def scene_frames(num_frames: int, fps: float, scene: bpy.types.Scene, offset: int) -> np.ndarray:
    scene_fps = scene.render.fps / scene.render.fps_base
    return offset + np.arange(num_frames) * (scene_fps / fps)


# ----------------------------------------------------------------------------- rigs


def rig_map_for(armature: bpy.types.Object, options) -> rigmaps.RigMap:
    """The map the options name (or the detected one), checked against the armature's bones."""
    names = [b.name for b in armature.data.bones]
    if options.rig == "AUTO":  # the shipped/user YAML maps, else the joint matcher's map
        skel = auto_rigmap.Skeleton.from_bones(armature.data.bones)
        return rigmaps.detect_rig_map(names, skeleton=skel)
    if options.rig == "PANEL":  # the panel's bone map (bone_map.py), as rig-map YAML
        if not options.panel_map:
            raise rigmaps.RigMapError(
                options.panel_map_error or "Rig map 'Panel map' needs a map: press Map bones"
            )
        return rigmaps.resolve(rigmap_yaml.load_rig_map_text(options.panel_map, "panel map"), names)
    if options.rig == "CUSTOM":
        source = options.rig_map_path
    else:  # a preset names its map's family; a family's own name is taken as it is
        source = vocabulary.RIG_PRESETS.get(options.rig, options.rig)
    if not source:
        raise rigmaps.RigMapError(
            "Rig map 'Custom' needs a map file (blender_addon/rigs/TEMPLATE.yaml.example)"
        )
    return rigmaps.resolve(rigmaps.rig_map_by_name(source), names)


def check_target(scene: bpy.types.Scene, options) -> None:
    """Refuse a bad target before lifting: not an armature, or no map fits its bones."""
    if not options.target:
        return
    obj = bpy.data.objects.get(options.target)
    if obj is None or obj.type != "ARMATURE":
        raise ValueError(f"Target {options.target!r} is not an armature")
    try:
        rig_map_for(obj, options)
    except rigmaps.RigMapError as exc:
        raise ValueError(f"Target {obj.name!r}: {exc}") from None


def key_solution(
    armature: bpy.types.Object,
    solved: retarget.RetargetResult,
    rig_map: rigmaps.RigMap,
    frames: np.ndarray,
    options,
    action_name: str,
) -> bpy.types.Action:
    """Write the solve into a new Action on the armature (quaternions, root location)."""
    kept = None
    if options.reduce_keys:
        kept = cleanup.reduce_channels(
            solved.rotations,
            solved.locations,
            rotation_tolerance=options.key_tolerance,
            location_tolerance=options.key_tolerance,
        )
    channels = []
    for bone, values in [*solved.rotations.items(), *solved.locations.items()]:
        prop = "location" if values.shape[1] == 3 else "rotation_quaternion"
        index = np.arange(len(frames)) if kept is None else kept[(bone, prop)]
        path = f'pose.bones["{bone}"].{prop}'
        channels += [
            Channel(path, i, frames[index], values[index, i], bone) for i in range(values.shape[1])
        ]
    for bone in solved.rotations:
        armature.pose.bones[bone].rotation_mode = "QUATERNION"
    for bone, props in rig_map.properties.items():
        for prop, value in props.items():
            armature.pose.bones[bone][prop] = value
    action = new_action(armature, action_name)
    write_channels(action, armature, channels)
    return action


def retarget_onto(
    scene: bpy.types.Scene,
    armature: bpy.types.Object,
    joints: np.ndarray,
    fps: float,
    options,
    rig_map: rigmaps.RigMap | None = None,
    contacts: np.ndarray | None = None,
    prepared: bool = False,
    points: extremities.TrackPoints | None = None,
) -> bpy.types.Action:
    """Solve and key ``joints`` on ``armature``; ``contacts`` (T, 2): where the feet are down
    (None: the solve finds them in the joints); ``prepared``: the joints come from
    `prepare_joints`, so planted ankles stand at the ankle height (else the solve finds the
    floor in the joints); ``points``: the 2D track behind them, for hands and feet where its
    layout has their points."""
    rig_map = rig_map or rig_map_for(armature, options)
    rest = retarget.RestPose.from_bpy_bones(armature.data.bones)
    solved = retarget.solve(  # the feet plant on contacts detected from the joints at fps
        joints, rest, rig_map,
        armature_matrix=np.array(armature.matrix_world),
        root_motion=options.root_motion != "OFF",
        fps=fps,
        contacts=contacts,
        hold_feet=options.foot_lock,
        source_floor=coords.DEFAULT_ANKLE_HEIGHT if prepared else None,
        points=points,
    )  # fmt: skip
    frames = scene_frames(len(joints), fps, scene, options.frame_offset)
    return key_solution(armature, solved, rig_map, frames, options, f"{armature.name} MPM")


# ----------------------------------------------------------------------------- the skeleton


def typical_frame(joints: np.ndarray) -> int:
    """The frame whose bone lengths are closest to the clip's medians (the skeleton's rest)."""
    heads = np.array([J(h) for h, _, _ in SKELETON_BONES.values()])
    tails = np.array([J(t) for _, t, _ in SKELETON_BONES.values()])
    lengths = np.linalg.norm(joints[:, tails] - joints[:, heads], axis=-1)
    return int(np.argmin(np.abs(lengths - np.median(lengths, axis=0)).sum(axis=1)))


def create_skeleton(scene: bpy.types.Scene, joints: np.ndarray) -> bpy.types.Object:
    """An armature with one bone per H36M-17 segment, its rest pose the clip's typical frame."""
    rest = joints[typical_frame(joints)]
    data = bpy.data.armatures.new(SKELETON_NAME)
    obj = bpy.data.objects.new(SKELETON_NAME, data)
    scene.collection.objects.link(obj)
    previous = bpy.context.view_layer.objects.active
    bpy.context.view_layer.objects.active = obj
    try:
        bpy.ops.object.mode_set(mode="EDIT")
        for name, (head, tail, _) in SKELETON_BONES.items():
            bone = data.edit_bones.new(name)
            bone.head, bone.tail = rest[J(head)], rest[J(tail)]
        for name, (_, _, parent) in SKELETON_BONES.items():
            if parent:
                data.edit_bones[name].parent = data.edit_bones[parent]
        bpy.ops.object.mode_set(mode="OBJECT")
    finally:
        bpy.context.view_layer.objects.active = previous
    return obj


def store(obj: bpy.types.Object, joints: np.ndarray, fps: float, arrays: dict) -> None:
    """Keep the lift on the object: the 3D joints (for retargeting later) and the completed 2D."""
    obj["mpm_frames"] = len(joints)
    obj["mpm_fps"] = float(fps)
    obj["mpm_joints3d"] = joints.astype(np.float32).ravel().tolist()
    for name in ("completed2d", "confidence"):
        if name in arrays:
            obj[f"mpm_{name}"] = np.asarray(arrays[name], np.float32).ravel().tolist()


def stored_joints(obj: bpy.types.Object | None) -> np.ndarray | None:
    if obj is None or "mpm_joints3d" not in obj:
        return None
    return np.array(obj["mpm_joints3d"], dtype=float).reshape(int(obj["mpm_frames"]), 17, 3)


def stored_completed2d(obj: bpy.types.Object) -> np.ndarray | None:
    if "mpm_completed2d" not in obj:
        return None
    return np.array(obj["mpm_completed2d"], dtype=float).reshape(int(obj["mpm_frames"]), 17, 2)


# ----------------------------------------------------------------------------- all together


def floor_report(level: world.Level, arrays: dict) -> tuple[dict, list[str]]:
    """How the floor was levelled, and what the user should know about the world space."""
    floor = {
        "source": level.source,
        "camera_pitch_deg": round(level.camera.pitch_deg, 2) + 0.0,  # + 0.0: no "-0.0°"
        "camera_roll_deg": round(level.camera.roll_deg, 2) + 0.0,
        "scale": round(level.scale, 4),
    }
    warnings = []
    if arrays.get("root") is None:
        warnings.append(
            "no image size: the root stays in place (give the image size, or a track file "
            "that says it, for the person's travel)"
        )
    return floor, warnings


def cleanup_report(options) -> str:
    """The cleanup a lift used, in the panel's words (the status line says it after a lift)."""
    labels = {value: label for value, _, label, _ in vocabulary.SMOOTHING_ROWS}
    smoothing = labels[options.smoothing]
    if options.smoothing == "BUTTERWORTH":
        smoothing += f" {options.cutoff_hz:g} Hz"
    elif options.smoothing == "ONE_EURO":
        smoothing += (
            f" (min cutoff {options.one_euro_min_cutoff:g} Hz, beta {options.one_euro_beta:g})"
        )
    root = {value: label for value, _, label, _ in vocabulary.ROOT_MOTION_ROWS}[options.root_motion]
    lock = "on" if options.foot_lock else "off"
    return f"Smoothing: {smoothing}; foot lock {lock}; root motion: {root}"


def store_level(obj: bpy.types.Object, level: world.Level) -> None:
    """Keep how the floor was levelled on the skeleton, for the panel and for scripts."""
    obj["mpm_floor_source"] = level.source
    obj["mpm_camera_pitch"] = level.camera.pitch_deg
    obj["mpm_camera_roll"] = level.camera.roll_deg


class Person(NamedTuple):
    """One lift for `apply_all`: its track, the backend's arrays, the prepared joints, and the
    armature to key besides its skeleton (None: the skeleton only)."""

    track: object
    arrays: dict[str, np.ndarray]
    prepared: Prepared
    rig: bpy.types.Object | None = None


def apply(
    scene: bpy.types.Scene,
    track,
    arrays: dict[str, np.ndarray],
    options,
    prepared: Prepared | None = None,
) -> list[str]:
    """The lift → an MPM skeleton (+ the target's Action; + with the panel's video, a camera
    seeing it over the footage, `footage_camera`). Returns the names of what was made.

    prepared: `prepare_joints`' result when the caller has it already (a batch with several rigs).
    """
    prepared = prepared or prepare_joints(arrays, track.fps, options)
    target = bpy.data.objects.get(options.target) if options.target else None
    return apply_all(scene, [Person(track, arrays, prepared, target)], options)


def apply_all(scene: bpy.types.Scene, people: list[Person], options) -> list[str]:
    """Several lifts as one result: a skeleton each (+ its rig's Action); the footage camera, if
    any, stands in the first one's world. All or nothing: on failure what was made is removed
    and the rigs get their actions back. Returns the names of what was made."""
    first = people[0]
    maps = {p.rig.name: rig_map_for(p.rig, options) for p in people if p.rig is not None}
    footage = footage_camera.footage_for(scene, first.track, options)
    saved = footage_camera.settings_of(scene)
    made: list = []
    keyed: list[tuple[bpy.types.Object, bpy.types.Action | None]] = []  # rig, its old action
    names: list[str] = []
    try:
        if footage is not None:  # the video's frame rate first: keys go in at the scene's
            clip = footage_camera.load_clip(footage)
            made.append(clip)
            footage_camera.match_footage(scene, clip, options.frame_offset)
        for person in people:
            names += _key_person(scene, person, options, maps, made, keyed)
        ends = [
            scene_frames(len(p.prepared.joints), p.track.fps, scene, options.frame_offset)[-1]
            for p in people
        ]
        if footage is not None:  # last: it removes what it made when it fails
            frames = scene_frames(
                len(first.prepared.joints), first.track.fps, scene, options.frame_offset
            )
            camera = footage_camera.add_camera(scene, clip, footage, first.prepared.level, frames)
    except Exception:
        for rig, old in reversed(keyed):
            if old is not None:
                rig.animation_data.action = old
        footage_camera.restore(scene, saved)
        _remove(made)
        raise
    scene.frame_start = options.frame_offset
    scene.frame_end = int(np.ceil(max(ends)))
    if footage is not None:  # the range covers the whole clip
        footage_camera.replace_earlier(scene, camera)
        scene.frame_end = max(scene.frame_end, options.frame_offset + clip.frame_duration - 1)
        names.append(camera.name)
    return names


def _key_person(
    scene: bpy.types.Scene,
    person: Person,
    options,
    maps: dict[str, rigmaps.RigMap],
    made: list,
    keyed: list,
) -> list[str]:
    """One lift's skeleton, keyed, and its rig's new Action; what it makes goes into ``made``,
    each rig with its old action into ``keyed`` (for `apply_all` to undo)."""
    joints, level, contacts = person.prepared
    fps = person.track.fps
    skel = create_skeleton(scene, joints)
    made += [skel, skel.data]
    store(skel, joints, fps, person.arrays)
    store_level(skel, level)
    points = track_points(person.track)
    store_points(skel, points)
    skeleton_map = rigmaps.rig_map_by_name(SKELETON_MAP)
    made.append(
        retarget_onto(scene, skel, joints, fps, options, skeleton_map, contacts, prepared=True)
    )
    rig = person.rig
    if rig is None:
        return [skel.name]
    keyed.append((rig, rig.animation_data.action if rig.animation_data else None))
    made.append(
        retarget_onto(
            scene, rig, joints, fps, options, maps[rig.name], contacts, prepared=True, points=points
        )
    )
    return [skel.name, rig.name]


def track_points(track) -> extremities.TrackPoints | None:
    """The track's own 2D points for the hands and feet (None: a track without keypoints)."""
    if getattr(track, "keypoints", None) is None or getattr(track, "layout", None) is None:
        return None
    return extremities.TrackPoints.from_track(track)


def store_points(obj: bpy.types.Object, points: extremities.TrackPoints | None) -> None:
    """Keep the track's points on the skeleton where they can turn hands or feet, so
    **Retarget onto target** uses them as the lift did."""
    if points is None or not extremities.has_points(points.layout):
        return
    obj["mpm_track_layout"] = points.layout
    obj["mpm_track_points"] = np.asarray(points.keypoints, np.float32).ravel().tolist()
    obj["mpm_track_confidence"] = np.asarray(points.confidence, np.float32).ravel().tolist()


def stored_points(obj: bpy.types.Object) -> extremities.TrackPoints | None:
    if "mpm_track_layout" not in obj:
        return None
    num = int(obj["mpm_frames"])
    confidence = np.array(obj["mpm_track_confidence"], dtype=float).reshape(num, -1)
    keypoints = np.array(obj["mpm_track_points"], dtype=float).reshape(num, -1, 2)
    return extremities.TrackPoints(keypoints, confidence, str(obj["mpm_track_layout"]))


def retarget_from_skeleton(scene: bpy.types.Scene, skel: bpy.types.Object, options) -> str:
    """Retarget an existing MPM skeleton's joints onto the options' target armature."""
    joints = stored_joints(skel)
    if joints is None:
        raise ValueError(f"{skel.name!r} holds no lifted joints (lift a track first)")
    target = bpy.data.objects.get(options.target) if options.target else None
    if target is None or target.type != "ARMATURE":
        raise ValueError("Choose a target armature first")
    try:
        retarget_onto(
            scene, target, joints, float(skel["mpm_fps"]), options, prepared=True,
            points=stored_points(skel),
        )  # fmt: skip
    except rigmaps.RigMapError as exc:
        raise ValueError(str(exc)) from None
    return target.name


def _remove(made: list) -> None:
    """Remove what a failed result made; objects first, since removing an armature's data
    removes its object too (Blender 5.0), which would leave a dead reference here."""
    stores = (
        (bpy.types.Object, bpy.data.objects),
        (bpy.types.Armature, bpy.data.armatures),
        (bpy.types.Action, bpy.data.actions),
        (bpy.types.Camera, bpy.data.cameras),
        (bpy.types.MovieClip, bpy.data.movieclips),
    )
    for kind, store in stores:
        for item in made:
            if isinstance(item, kind):
                store.remove(item)
