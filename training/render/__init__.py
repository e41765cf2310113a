"""Synthetic videos of people whose 3D is known exactly (optional `render` extra; docs/render.md).

assets: MakeHuman's CC0 files · shape: seeded body parameters and macro targets · body: the
skinned body in Blender · motion: mocap rotations onto its rig, and the truth read back ·
scene: camera, lights, floor · clip: one clip, resumable · __main__: the CLI.
"""
