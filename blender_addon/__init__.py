"""MPM Lift for Blender: lift 2D keypoint tracks to 3D through the backend and retarget them.

The bpy modules are imported inside register(), so `blender_addon.core` (numpy only) and
`python -m blender_addon.build` work without Blender.
"""

from __future__ import annotations


def _modules():
    from . import operators, panel, preferences, properties

    return operators, panel, preferences, properties


def _classes():
    from . import bone_map

    operators, panel, preferences, _ = _modules()
    return (
        preferences.MPMLiftPreferences,
        *operators.CLASSES,
        *bone_map.CLASSES,
        panel.VIEW3D_PT_mpm_lift,
    )


def register() -> None:
    import bpy

    from . import bone_map

    _, _, _, properties = _modules()
    properties.register()
    bone_map.register()
    for cls in _classes():
        bpy.utils.register_class(cls)


def unregister() -> None:
    import bpy

    from . import bone_map, jobs

    operators, _, _, properties = _modules()
    jobs.stop()
    operators.close_clients()
    for cls in reversed(_classes()):
        bpy.utils.unregister_class(cls)
    bone_map.unregister()
    properties.unregister()
