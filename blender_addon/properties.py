"""What the panel edits: one `scene.mpm_lift` group per scene (saved with the .blend)."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from .core.rigmaps import builtin_rig_maps
from .core.vocabulary import (
    LEVEL_ROWS,
    PEOPLE_ROWS,
    ROOT_MOTION_ROWS,
    SMOOTHING_ROWS,
    enum_items,
    rig_rows,
)

LAYOUT_ITEMS = [
    ("AUTO", "Auto", "From the file, or from its joint count"),
    ("coco17", "COCO-17", "COCO / MMPose / YOLO-pose 17 keypoints"),
    ("h36m17", "Human3.6M-17", "H36M-17 in the VideoPose3D order"),
    ("blazepose33", "BlazePose-33", "MediaPipe pose landmarks"),
    ("body25", "OpenPose BODY_25", "OpenPose's 25 keypoints"),
]
# From the shipped maps (blender_addon/rigs/*.yaml), so a map added there is a choice here.
RIG_ROWS = rig_rows({f: m.description for f, m in builtin_rig_maps().items()})
RIG_ITEMS = enum_items(RIG_ROWS)


def _is_armature(_self, obj) -> bool:
    return obj.type == "ARMATURE"


class MPMLiftSettings(bpy.types.PropertyGroup):
    track_path: StringProperty(
        name="Track",
        subtype="FILE_PATH",
        description="2D track: COCO/MMPose JSON, OpenPose folder, "
        "MediaPipe JSON/CSV, or MPM Lift .npz/.json",
    )
    video_path: StringProperty(
        name="Video",
        subtype="FILE_PATH",
        description="A video on this machine; Lift video to 3D sends it to the backend, "
        "which detects the 2D with MediaPipe",
    )
    layout: EnumProperty(name="Layout", items=LAYOUT_ITEMS, default="AUTO")
    fps: FloatProperty(
        name="Frame rate",
        default=0.0,
        min=0.0,
        max=1000.0,
        description="Frames per second of the track; 0 = from the file, else the scene's",
    )
    image_width: IntProperty(name="Width", default=0, min=0, description="0 = from the file")
    image_height: IntProperty(name="Height", default=0, min=0, description="0 = from the file")
    people: EnumProperty(
        name="People",
        items=enum_items(PEOPLE_ROWS),
        default="PROMINENT",
        description="Who of a track file with several people is lifted",
    )
    person: IntProperty(
        name="Person",
        default=0,
        min=0,
        description="With People 'One': which person, in order of first appearance (0 first)",
    )
    threshold: FloatProperty(
        name="Confidence threshold",
        default=0.3,
        min=0.0,
        max=1.0,
        description="Joints below this confidence are treated as hidden",
    )
    target: PointerProperty(
        name="Target armature",
        type=bpy.types.Object,
        poll=_is_armature,
        description="Retarget the motion onto this armature (optional)",
    )
    rig: EnumProperty(name="Rig map", items=RIG_ITEMS, default="AUTO")
    rig_map_path: StringProperty(name="Map file", subtype="FILE_PATH")
    smoothing: EnumProperty(
        name="Smoothing",
        items=enum_items(SMOOTHING_ROWS),
        default="BUTTERWORTH",
    )
    cutoff_hz: FloatProperty(name="Cutoff (Hz)", default=6.0, min=0.1, max=30.0)
    one_euro_min_cutoff: FloatProperty(name="Min cutoff (Hz)", default=1.0, min=0.01, max=30.0)
    one_euro_beta: FloatProperty(name="Beta", default=0.3, min=0.0, max=100.0)
    foot_lock: BoolProperty(
        name="Foot lock",
        default=True,
        description="Detect foot contacts and hold the feet still during them",
    )
    root_motion: EnumProperty(
        name="Root motion",
        items=enum_items(ROOT_MOTION_ROWS),
        default="MOVE",
    )
    level: EnumProperty(
        name="Floor",
        items=enum_items(LEVEL_ROWS),
        default="AUTO",
        description="How the ground is made level when the camera was pitched or rolled",
    )
    camera_pitch: FloatProperty(
        name="Camera pitch",
        default=0.0,
        min=-89.0,
        max=89.0,
        description="Degrees the camera looked down (negative: up)",
    )
    camera_roll: FloatProperty(
        name="Camera roll",
        default=0.0,
        min=-89.0,
        max=89.0,
        description="Degrees the camera was turned clockwise (the horizon rising to the right)",
    )
    focal_px: FloatProperty(
        name="Focal length (px)",
        default=0.0,
        min=0.0,
        max=100000.0,
        description="The camera's focal length in pixels, for the root's path (0: Field of view)",
    )
    fov_deg: FloatProperty(
        name="Field of view",
        default=0.0,
        min=0.0,
        max=170.0,
        description="Degrees across the image's long side (0 and no focal length: a 65° lens)",
    )
    subject_height: FloatProperty(
        name="Subject height",
        default=0.0,
        min=0.0,
        max=2.5,
        subtype="DISTANCE",
        description="The person's standing height, to fix the scale of pose and path (0: as lifted)",
    )
    frame_offset: IntProperty(
        name="Start frame", default=1, description="Scene frame of the track's first frame"
    )
    reduce_keys: BoolProperty(name="Reduce keys", default=False)
    key_tolerance: FloatProperty(
        name="Tolerance",
        default=0.002,
        min=0.0,
        max=0.1,
        precision=4,
        description="Largest change a removed key may cause (quaternion units / metres)",
    )
    # Status, written by the running job.
    status: StringProperty(name="Status", default="")
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    running: BoolProperty(name="Running", default=False)
    # Who the backend is (model, device, version), written by Check backend / Start local backend.
    backend_status: StringProperty(name="Backend", default="")
    # Live (blender_addon/live.py): where `python -m mpm_backend.live --publish` sends frames.
    live_address: StringProperty(name="Live from", default="tcp://127.0.0.1:5556")


def register() -> None:
    bpy.utils.register_class(MPMLiftSettings)
    bpy.types.Scene.mpm_lift = PointerProperty(type=MPMLiftSettings)


def unregister() -> None:
    del bpy.types.Scene.mpm_lift
    bpy.utils.unregister_class(MPMLiftSettings)
