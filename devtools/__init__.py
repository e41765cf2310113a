"""Developer tools on top of every layer: benchmarks, the demo and the docs' measured sections.

Nothing in `mpm_backend`, `training` or `blender_addon` imports this package
(tests/test_layers.py checks), so these tools may use all three.
"""
