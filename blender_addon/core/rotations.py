"""Rotation helpers the retarget solver shares: unit vectors, frame filling, swings, quaternions.

Everything works on stacks (..., 3) or (..., 3, 3), so a clip's frames are solved at once.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-9


def axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    x, y, z = axis
    c, s = np.cos(angle), np.sin(angle)
    t = 1.0 - c
    return np.array(
        [
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ]
    )


def norm(v: np.ndarray) -> np.ndarray:
    return np.linalg.norm(v, axis=-1)


def unit(v: np.ndarray) -> np.ndarray:
    n = norm(v)[..., None]
    return np.where(n > EPS, v / np.maximum(n, EPS), 0.0)


def orthonormal(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def fill_index(valid: np.ndarray) -> np.ndarray | None:
    """Per frame, the index of the last valid frame (the first valid one before any)."""
    if not np.any(valid):
        return None
    idx = np.where(valid, np.arange(len(valid)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.argmax(valid))
    return idx


def swing(a: np.ndarray, b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Apply the smallest rotation taking unit a to unit b to v (all (..., 3))."""
    axis = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None]
    opposite = c[..., 0] < -1.0 + 1e-6
    out = v + np.cross(axis, v) + np.cross(axis, np.cross(axis, v)) / np.maximum(1.0 + c, 1e-6)
    if np.any(opposite):  # half a turn about an axis perpendicular to a
        aa = a[opposite]
        perp = np.cross(aa, [1.0, 0.0, 0.0])
        small = norm(perp) < 1e-3
        perp[small] = np.cross(aa[small], [0.0, 1.0, 0.0])
        perp = unit(perp)
        vv = v[opposite]
        out[opposite] = 2.0 * np.sum(perp * vv, axis=-1)[..., None] * perp - vv
    return out


def matrix_to_quaternion(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4) as (w, x, y, z)."""
    m = np.asarray(m, dtype=float)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    candidates = np.stack(
        [
            np.stack(
                [
                    1.0 + trace,
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1.0 + m00 - m11 - m22,
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1.0 - m00 + m11 - m22,
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                -1,
            ),
            np.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1.0 - m00 - m11 + m22,
                ],
                -1,
            ),
        ],
        -2,
    )  # (..., 4, 4): row k is 4 q_k q (times a positive factor)
    pick = np.argmax(np.stack([trace, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(candidates, pick[..., None, None], axis=-2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) quaternions (w, x, y, z), normalised first -> (..., 3, 3)."""
    q = np.asarray(q, dtype=float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def quaternion_continuity(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so each quaternion is the one of q, -q closer to the previous."""
    q = np.asarray(q, dtype=float)
    if len(q) < 2:
        return q.copy()
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    signs = np.concatenate([np.ones((1,) + dots.shape[1:]), np.where(dots < 0, -1.0, 1.0)])
    return q * np.cumprod(signs, axis=0)[..., None]
