"""The panel's bone map: propose a map for the target armature, fix rows, save and load it.

"Map bones" asks the detected shipped map, else the joint matcher (`core/auto_rigmap.py`), and
shows the answer as rows (role → bone, `core/bone_roles.py`) in a UI list, each bone picked from
the armature's bones; rows the matcher was unsure of, or roles nothing plays, carry a warning.
The edited map is what Rig map "Panel map" retargets with; it saves as rig-map YAML (the schema
of blender_addon/rigs/, `core/rigmap_yaml.py`) into a text datablock of the .blend and, with a
path, to disk, and loads back from either.
"""

from __future__ import annotations

import json
from pathlib import Path

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from .core import auto_rigmap, bone_roles, rigmap_yaml, rigmaps

TEXT_NAME = "MPM bone map.yaml"


class MPMBoneMapRow(bpy.types.PropertyGroup):
    role: StringProperty(name="Role")
    label: StringProperty(name="Role")
    bone: StringProperty(name="Bone", description="The armature's bone that plays this role")
    original: StringProperty(name="Proposed bone")
    entry: StringProperty(name="Map entry", description="Direction and twist (JSON)")
    root: BoolProperty(name="Root")
    warning: StringProperty(name="Warning")
    notes: StringProperty(name="Matcher notes", description="JSON list")


class MPMBoneMapSettings(bpy.types.PropertyGroup):
    rows: CollectionProperty(type=MPMBoneMapRow)
    index: IntProperty(name="Row", default=0)
    base: StringProperty(name="Proposed map", description="The proposed or loaded map (YAML)")
    armature: StringProperty(name="Mapped armature")
    family: StringProperty(name="Map name", default="panel", description="The saved map's family")
    path: StringProperty(name="Map file", subtype="FILE_PATH", description="Save/load as YAML")
    text: StringProperty(name="Text", default=TEXT_NAME, description="Text datablock in the .blend")


# ----------------------------------------------------------------------------- rows ↔ map


def set_rows(settings: MPMBoneMapSettings, rows: list[bone_roles.Row], base: str) -> None:
    """Replace the list with ``rows``; ``base``: the YAML they were proposed from."""
    settings.rows.clear()
    for r in rows:
        item = settings.rows.add()
        item.role, item.label, item.bone, item.original = r.role, r.label, r.bone, r.original
        item.entry, item.root, item.warning = json.dumps(r.entry), r.root, r.warning
        item.notes = json.dumps(r.notes)
    settings.base, settings.index = base, 0


def get_rows(settings: MPMBoneMapSettings) -> list[bone_roles.Row]:
    return [
        bone_roles.Row(
            i.role, i.label, i.bone, json.loads(i.entry), i.original, i.root, i.warning,
            json.loads(i.notes or "[]"),
        )
        for i in settings.rows
    ]  # fmt: skip


def current_map(scene: bpy.types.Scene) -> rigmaps.RigMap:
    """The list as a rig map; RigMapError says what is missing."""
    settings = scene.mpm_bone_map
    if not settings.rows:
        raise rigmaps.RigMapError(
            "Rig map 'Panel map' needs a map: pick the target armature and press Map bones"
        )
    base = rigmap_yaml.load_rig_map_text(settings.base, "panel") if settings.base else None
    return bone_roles.build_map(get_rows(settings), base, settings.family or "panel")


def map_text(scene: bpy.types.Scene) -> tuple[str, str]:
    """(the panel map as YAML, "") or ("", why there is none): what `LiftOptions` carries."""
    try:
        return rigmap_yaml.dump_rig_map(current_map(scene)), ""
    except rigmaps.RigMapError as exc:
        return "", str(exc)


def row_warning(row: MPMBoneMapRow, bone_names: set[str] | None) -> str:
    """What the row's icon warns about, now (a fixed row no longer warns)."""
    if not row.bone:
        return row.warning or "unmapped"
    if bone_names is not None and row.bone not in bone_names:
        return f"{row.bone!r} is not a bone of the mapped armature"
    if row.original and row.bone != row.original:
        return ""
    return row.warning


def _armature(context) -> bpy.types.Object | None:
    target = context.scene.mpm_lift.target
    return target if target is not None and target.type == "ARMATURE" else None


# ----------------------------------------------------------------------------- UI


class MPM_UL_bone_map(bpy.types.UIList):
    """Role → bone, the bone picked from the target armature's bones."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname) -> None:
        arm = _armature(context)
        names = {b.name for b in arm.data.bones} if arm else None
        row = layout.split(factor=0.4)
        row.label(text=item.label, icon="ERROR" if row_warning(item, names) else "BLANK1")
        if arm is not None:
            row.prop_search(item, "bone", arm.data, "bones", text="")
        else:
            row.prop(item, "bone", text="")


def draw(layout: bpy.types.UILayout, context) -> None:
    """The bone map section of the panel's Retarget box."""
    settings = context.scene.mpm_bone_map
    layout.operator("mpm.map_bones", icon="BONE_DATA")
    if settings.rows:
        layout.template_list("MPM_UL_bone_map", "", settings, "rows", settings, "index", rows=6)
        if 0 <= settings.index < len(settings.rows):
            arm = _armature(context)
            names = {b.name for b in arm.data.bones} if arm else None
            warning = row_warning(settings.rows[settings.index], names)
            if warning:
                layout.label(text=warning, icon="ERROR")
        layout.prop(settings, "family")
    layout.prop(settings, "path")
    row = layout.row(align=True)
    row.operator("mpm.bone_map_save", icon="FILE_TICK")
    row.operator("mpm.bone_map_load", text="Load file", icon="FILEBROWSER").source = "FILE"
    row.operator("mpm.bone_map_load", text="Load from .blend", icon="TEXT").source = "TEXT"


# ----------------------------------------------------------------------------- operators


class _Reporting:
    def refuse(self, context, message: str) -> set[str]:
        context.scene.mpm_lift.status = message
        self.report({"ERROR"}, message)
        return {"CANCELLED"}

    def done(self, context, message: str, level: str = "INFO") -> set[str]:
        context.scene.mpm_lift.status = message
        self.report({level}, message)
        return {"FINISHED"}


class MPM_OT_map_bones(_Reporting, bpy.types.Operator):
    """Propose a bone map for the target armature (its shipped map, else the joint matcher's)
    and use it: Rig map becomes "Panel map"; fix any row in the list"""

    bl_idname = "mpm.map_bones"
    bl_label = "Map bones"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[str]:
        arm = _armature(context)
        if arm is None:
            return self.refuse(context, "Map bones needs a target armature (Target armature)")
        names = [b.name for b in arm.data.bones]
        skeleton = auto_rigmap.Skeleton.from_bones(arm.data.bones)
        settings = context.scene.mpm_bone_map
        settings.armature, settings.family = arm.name, arm.name
        context.scene.mpm_lift.rig = "PANEL"
        try:
            rig_map = rigmaps.detect_rig_map(names, skeleton=skeleton)
        except rigmaps.RigMapError as exc:  # nothing fits: every row empty, for the user to fill
            set_rows(settings, bone_roles.rows_for_map(None), "")
            return self.done(context, f"Map every row by hand: {exc}", "WARNING")
        rows = bone_roles.rows_for_map(rig_map)
        set_rows(settings, rows, rigmap_yaml.dump_rig_map(rig_map))
        unsure = sum(bool(i.warning) for i in settings.rows)
        return self.done(
            context,
            f"Mapped {arm.name} ({rig_map.family}); {unsure} row(s) to check"
            if unsure
            else f"Mapped {arm.name} ({rig_map.family})",
        )


class MPM_OT_bone_map_save(_Reporting, bpy.types.Operator):
    """Save the bone map as rig-map YAML: into the .blend (text datablock) and, with a Map file
    path, to that file (it loads as a Custom map too)"""

    bl_idname = "mpm.bone_map_save"
    bl_label = "Save map"

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.mpm_bone_map
        try:
            rig_map = current_map(context.scene)
        except rigmaps.RigMapError as exc:
            return self.refuse(context, str(exc))
        text = rigmap_yaml.dump_rig_map(
            rig_map, f"Bone map of {settings.armature or 'an armature'}, made in MPM Lift's panel"
        )
        block = bpy.data.texts.get(settings.text) or bpy.data.texts.new(settings.text or TEXT_NAME)
        settings.text = block.name
        block.clear()
        block.write(text)
        where = [f"text {block.name!r}"]
        if settings.path:
            path = Path(bpy.path.abspath(settings.path))
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                return self.refuse(context, f"Could not write {path}: {exc.strerror or exc}")
            where.append(str(path))
        return self.done(context, f"Saved the bone map to {' and '.join(where)}")


class MPM_OT_bone_map_load(_Reporting, bpy.types.Operator):
    """Load a rig-map YAML into the bone map list (from the Map file, or the .blend's text)"""

    bl_idname = "mpm.bone_map_load"
    bl_label = "Load map"
    bl_options = {"REGISTER", "UNDO"}

    source: EnumProperty(
        name="From",
        items=[
            ("FILE", "File", "The Map file path"),
            ("TEXT", "Text", "The text datablock Save map wrote in this .blend"),
        ],
        default="FILE",
    )

    def execute(self, context: bpy.types.Context) -> set[str]:
        settings = context.scene.mpm_bone_map
        try:
            rig_map = self._read(settings)
        except rigmaps.RigMapError as exc:
            return self.refuse(context, str(exc))
        arm = _armature(context)
        if arm is not None:  # a shipped family's file: apply the armature's prefix
            try:
                rig_map = rigmaps.resolve(rig_map, [b.name for b in arm.data.bones])
            except rigmaps.RigMapError as exc:
                self.report({"WARNING"}, str(exc))
            settings.armature = arm.name
        set_rows(settings, bone_roles.rows_for_map(rig_map), rigmap_yaml.dump_rig_map(rig_map))
        settings.family = rig_map.family
        context.scene.mpm_lift.rig = "PANEL"
        return self.done(context, f"Loaded bone map {rig_map.family!r} ({rig_map.source})")

    def _read(self, settings: MPMBoneMapSettings) -> rigmaps.RigMap:
        if self.source == "FILE":
            if not settings.path:
                raise rigmaps.RigMapError("Load map: choose a Map file first")
            return rigmaps.load_rig_map(bpy.path.abspath(settings.path))
        block = bpy.data.texts.get(settings.text)
        if block is None:
            raise rigmaps.RigMapError(
                f"Load map: no text {settings.text!r} in this file (Save map)"
            )
        return rigmap_yaml.load_rig_map_text(block.as_string(), f"text {block.name!r}")


CLASSES = (MPM_UL_bone_map, MPM_OT_map_bones, MPM_OT_bone_map_save, MPM_OT_bone_map_load)


def register() -> None:
    bpy.utils.register_class(MPMBoneMapRow)
    bpy.utils.register_class(MPMBoneMapSettings)
    bpy.types.Scene.mpm_bone_map = PointerProperty(type=MPMBoneMapSettings)


def unregister() -> None:
    del bpy.types.Scene.mpm_bone_map
    bpy.utils.unregister_class(MPMBoneMapSettings)
    bpy.utils.unregister_class(MPMBoneMapRow)
