"""Mocap → training data: BVH reading, joint mapping, virtual cameras, 2D corruption, clip cache."""
