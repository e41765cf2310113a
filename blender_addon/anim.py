"""Write F-curves in bulk into a new Action, on every Blender from 4.2 to 5.0.

Blender 4.4 put F-curves into slots and channelbags (and 5.0 removed `Action.fcurves`); 4.2 and 4.3
have only the legacy `Action.fcurves`. This module is the one place that knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

_LINEAR = 1  # Keyframe.interpolation enum: CONSTANT 0, LINEAR 1, BEZIER 2


@dataclass
class Channel:
    """One F-curve: `data_path[index]` keyed at `frames` with `values`; `group` groups it in the UI."""

    data_path: str
    index: int
    frames: np.ndarray
    values: np.ndarray
    group: str = ""


def new_action(obj: bpy.types.Object, name: str) -> bpy.types.Action:
    """A new Action assigned to obj (with its own slot on 4.4+); obj's old action stays in bpy.data."""
    action = bpy.data.actions.new(name)
    obj.animation_data_create()
    if hasattr(action, "slots"):  # 4.4+
        slot = action.slots.new(id_type="OBJECT", name=obj.name)
        obj.animation_data.action = action
        obj.animation_data.action_slot = slot
    else:
        obj.animation_data.action = action
    return action


def _fcurves(action: bpy.types.Action, obj: bpy.types.Object):
    """obj's F-curve collection in the action: its slot's channelbag (4.4+) or the legacy list."""
    if hasattr(action, "slots"):
        from bpy_extras.anim_utils import action_ensure_channelbag_for_slot

        return action_ensure_channelbag_for_slot(action, obj.animation_data.action_slot).fcurves
    return action.fcurves


def write_channels(
    action: bpy.types.Action, obj: bpy.types.Object, channels: list[Channel]
) -> None:
    """Create one F-curve per channel and fill its keys with foreach_set (no per-key Python calls)."""
    fcurves = _fcurves(action, obj)
    legacy = not hasattr(action, "slots")
    for channel in channels:
        group = {"action_group" if legacy else "group_name": channel.group}
        fcurve = fcurves.new(channel.data_path, index=channel.index, **group)
        count = len(channel.frames)
        fcurve.keyframe_points.add(count)
        co = np.empty(2 * count, dtype=np.float32)
        co[0::2], co[1::2] = channel.frames, channel.values
        fcurve.keyframe_points.foreach_set("co", co)
        fcurve.keyframe_points.foreach_set("interpolation", np.full(count, _LINEAR, dtype=np.int32))
        fcurve.update()


def fcurve_list(action: bpy.types.Action, obj: bpy.types.Object) -> list[bpy.types.FCurve]:
    """Every F-curve of obj's slot of the action (tests and exporters read them back)."""
    return list(_fcurves(action, obj))
