"""The add-on's numeric core: coordinates, rig maps, the retargeting solver and cleanup filters.

Plain numpy/yaml (Blender has no scipy), no bpy, relative imports only: the Blender extension vendors this package
and the test suite runs it without Blender.
"""
