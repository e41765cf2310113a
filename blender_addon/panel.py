"""The sidebar panel "Lift 2D track to 3D" (3D View › Sidebar › MPM)."""

from __future__ import annotations

import bpy

from . import bone_map, live


class VIEW3D_PT_mpm_lift(bpy.types.Panel):
    bl_label = "Lift 2D track to 3D"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "MPM"

    def draw(self, context):
        s = context.scene.mpm_lift
        layout = self.layout
        col = layout.column(align=True)
        col.prop(s, "track_path")
        col.prop(s, "layout")
        col.prop(s, "fps")
        row = col.row(align=True)
        row.prop(s, "image_width")
        row.prop(s, "image_height")
        row = col.row(align=True)
        row.prop(s, "people")
        if s.people == "ONE":
            row.prop(s, "person")
        col.prop(s, "threshold")
        row = col.row(align=True)
        row.prop(s, "focal_px")
        row.prop(s, "fov_deg")

        box = layout.box()
        box.label(text="Retarget")
        box.prop(s, "target")
        box.prop(s, "rig")
        if s.rig == "CUSTOM":
            box.prop(s, "rig_map_path")
        bone_map.draw(box.box(), context)

        box = layout.box()
        box.label(text="Cleanup")
        box.prop(s, "smoothing")
        if s.smoothing == "BUTTERWORTH":
            box.prop(s, "cutoff_hz")
        elif s.smoothing == "ONE_EURO":
            box.prop(s, "one_euro_min_cutoff")
            box.prop(s, "one_euro_beta")
        box.prop(s, "foot_lock")
        box.prop(s, "root_motion")
        box.prop(s, "subject_height")
        box.prop(s, "level")
        if s.level == "KNOWN":
            row = box.row(align=True)
            row.prop(s, "camera_pitch")
            row.prop(s, "camera_roll")
        box.prop(s, "frame_offset")
        row = box.row()
        row.prop(s, "reduce_keys")
        sub = row.row()
        sub.enabled = s.reduce_keys
        sub.prop(s, "key_tolerance")

        row = layout.row(align=True)
        row.operator("mpm.check_backend", icon="LINKED")
        row.operator("mpm.start_backend", icon="PLAY")
        if s.backend_status:
            layout.label(text=s.backend_status, icon="INFO")
        if s.running:
            layout.prop(s, "progress", text="Lifting")
            layout.operator("mpm.cancel", icon="CANCEL")
        else:
            layout.operator("mpm.lift", icon="ARMATURE_DATA")
            row = layout.row(align=True)
            row.prop(s, "video_path", text="")
            row.operator("mpm.lift_video", icon="FILE_MOVIE")
            layout.operator("mpm.retarget", icon="MOD_ARMATURE")
        row = layout.row(align=True)  # Live: blender_addon/live.py
        row.prop(s, "live_address", text="")
        if live.running():
            row.operator("mpm.live", text="Stop live", icon="PAUSE", depress=True)
        else:
            row.operator("mpm.live", icon="PLAY").record = False
            row.operator("mpm.live", text="Live + record", icon="REC").record = True
        if s.status:
            for line in s.status.split("\n"):
                layout.label(text=line)
