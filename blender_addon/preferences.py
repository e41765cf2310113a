"""Add-on preferences: where the backend is, how long to wait, how to start a local one."""

from __future__ import annotations

import bpy
from bpy.props import FloatProperty, StringProperty

from .deps import protocol


class MPMLiftPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    address: StringProperty(
        name="Backend address",
        description="ZeroMQ address of `python -m mpm_backend.serve`",
        default=protocol.DEFAULT_ADDRESS,
    )
    timeout: FloatProperty(
        name="Request timeout (s)",
        description="Longest silence tolerated from the backend for a request",
        default=30.0,
        min=0.5,
        max=3600.0,
    )
    python: StringProperty(
        name="Backend Python",
        description="A Python with MPM Lift and torch installed (pip install 'mpm-lift[torch,backend]'), "
        "used by 'Start local backend'. Empty: the checkout's .venv when the add-on runs from one, "
        "else mpm-lift-serve on PATH",
        subtype="FILE_PATH",
        default="",
    )

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "address")
        layout.prop(self, "timeout")
        row = layout.row()
        row.prop(self, "python")
        row.operator("mpm.start_backend", icon="PLAY")


def preferences(context=None) -> MPMLiftPreferences | None:
    """This add-on's preferences (None where it is not registered as an add-on, e.g. in the wheel)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon else None


def settings(context=None) -> tuple[str, float, str]:
    """(address, timeout, python) from the preferences, or the defaults ("" python: search)."""
    prefs = preferences(context)
    if prefs is None:
        return protocol.DEFAULT_ADDRESS, 30.0, ""
    return prefs.address, prefs.timeout, prefs.python
