"""Per-bone target frames: a bone's direction plus a twist reference (a limb's bend plane, a line
across the body) kept continuous where the limb goes straight (retarget.py's docstring)."""

from __future__ import annotations

import numpy as np

from .coords import JOINT_INDEX, JOINT_NAMES
from .rigmaps import BoneMap, Twist
from .rotations import EPS, fill_index, norm, smoothstep, swing, unit

# Bend-plane confidence: sine of the bend angle from which the plane starts to count, and from
# which it alone counts (5 and 15 degrees).
BEND_LOW, BEND_HIGH = np.sin(np.radians(5.0)), np.sin(np.radians(15.0))
# Line references: sine of the angle between the line and the bone direction.
LINE_LOW, LINE_HIGH = 0.2, 0.4

# A neutral pose in body coordinates (left, up, forward), metres: T-pose arms with the forearms
# bent a little forward, legs with the knees a little forward. Only its directions matter: it
# fixes which way "no information" twists a straight limb.
_CANONICAL = {
    "pelvis": (0.0, 0.95, 0.0),
    "right_hip": (-0.1, 0.95, 0.0),
    "right_knee": (-0.1, 0.52, 0.03),
    "right_ankle": (-0.1, 0.1, 0.0),
    "left_hip": (0.1, 0.95, 0.0),
    "left_knee": (0.1, 0.52, 0.03),
    "left_ankle": (0.1, 0.1, 0.0),
    "spine": (0.0, 1.2, 0.0),
    "thorax": (0.0, 1.45, 0.0),
    "nose": (0.0, 1.62, 0.11),
    "head": (0.0, 1.66, 0.08),
    "left_shoulder": (0.18, 1.45, 0.0),
    "left_elbow": (0.45, 1.45, 0.0),
    "left_wrist": (0.7, 1.45, 0.06),
    "right_shoulder": (-0.18, 1.45, 0.0),
    "right_elbow": (-0.45, 1.45, 0.0),
    "right_wrist": (-0.7, 1.45, 0.06),
}
CANONICAL_POSE = np.array([_CANONICAL[name] for name in JOINT_NAMES])


def _filled_unit(v: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (T, 3); degenerate frames take the last good frame's (or ``fallback``)."""
    n = norm(v)
    valid = np.isfinite(n) & (n > 1e-6)
    u = np.where(valid[:, None], v / np.where(valid, n, 1.0)[:, None], 0.0)
    idx = fill_index(valid)
    if idx is None:
        return np.broadcast_to(np.asarray(fallback, float), v.shape).copy(), valid
    return u[idx], valid


def axes(primary: np.ndarray, secondary: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Frames (T, 3, 3), columns (a, b, a x b): a = unit primary, b = secondary made
    perpendicular to a; frames where b is undefined keep the previous frame's b."""
    a, _ = _filled_unit(primary, fallback[:, 0])
    s = secondary - np.sum(secondary * a, -1, keepdims=True) * a
    n = norm(s)
    valid = np.isfinite(n) & (n > 1e-6 * np.maximum(norm(secondary), 1e-6))
    b = np.where(valid[:, None], s / np.where(valid, n, 1.0)[:, None], 0.0)
    idx = fill_index(valid)
    if idx is None:
        b = np.broadcast_to(fallback[:, 1], a.shape)
    else:
        b = b[idx]
    b = unit(b - np.sum(b * a, -1, keepdims=True) * a)
    bad = norm(b) < 0.5
    if np.any(bad):  # the carried b became parallel to a: any perpendicular will do
        alt = np.cross(a[bad], fallback[:, 2])
        alt[norm(alt) < 1e-3] = np.cross(a[bad][norm(alt) < 1e-3], fallback[:, 0])
        b[bad] = unit(alt)
    return np.stack([a, b, np.cross(a, b)], axis=-1)


def body_frames(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Pelvis and chest frames (T, 3, 3), columns (left, up, forward), from (T, 17, 3)."""
    j = JOINT_INDEX
    eye = np.eye(3)
    fallback = np.broadcast_to(eye, (1, 3, 3))[0]
    pelvis = axes(
        joints[:, j["left_hip"]] - joints[:, j["right_hip"]],
        joints[:, j["spine"]] - joints[:, j["pelvis"]],
        fallback,
    )
    thorax = axes(
        joints[:, j["left_shoulder"]] - joints[:, j["right_shoulder"]],
        joints[:, j["thorax"]] - joints[:, j["spine"]],
        fallback,
    )
    world = np.broadcast_to(eye, thorax.shape)
    return {"pelvis": pelvis, "thorax": thorax, "world": world}


def _canonical(twist: Twist, direction: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Direction and reference of a twist on the canonical pose, body coordinates."""
    c = CANONICAL_POSE
    j = JOINT_INDEX
    d = c[j[direction[1]]] - c[j[direction[0]]]
    if twist.kind == "bend":
        a, b, cc = (c[j[n]] for n in twist.joints)
        ref = np.cross(b - a, cc - b)
    else:
        ref = sum(unit(c[j[q]] - c[j[p]]) for p, q in twist.lines)
    d = unit(d)
    ref = ref - (ref @ d) * d
    if np.linalg.norm(ref) < 1e-6:  # a reference along the direction: any perpendicular
        ref = np.cross(d, [0.0, 0.0, 1.0])
        if np.linalg.norm(ref) < 1e-6:
            ref = np.cross(d, [1.0, 0.0, 0.0])
    return d, unit(ref)


def _twist_reference(
    twist: Twist,
    carrier: tuple[str, str],
    d: np.ndarray,
    joints: np.ndarray,
    frames: dict[str, np.ndarray],
) -> np.ndarray:
    """Unit reference vectors (T, 3) perpendicular to the carrier directions d (T, 3).

    The carrier is the bone's direction for a line twist, and the limb's first segment (hip to
    knee, shoulder to elbow) for a bend twist, so both bones of a limb share one reference.
    """
    j = JOINT_INDEX
    if twist.kind == "bend":
        a, b, c = (joints[:, j[n]] for n in twist.joints)
        u, v = b - a, c - b
        raw = np.cross(u, v)
        strength = norm(raw) / np.maximum(norm(u) * norm(v), EPS)
        low, high = BEND_LOW, BEND_HIGH
    else:
        raw = sum(unit(joints[:, j[q]] - joints[:, j[p]]) for p, q in twist.lines)
        low, high = LINE_LOW, LINE_HIGH
    perp = raw - np.sum(raw * d, -1, keepdims=True) * d
    # how far the reference stands off the direction (1: perpendicular)
    off_axis = norm(perp) / np.maximum(norm(raw), EPS)
    if twist.kind == "bend":
        strength = np.where(off_axis > 0.5, strength, 0.0)
    else:
        strength = off_axis
    strength = np.nan_to_num(strength, nan=0.0)
    weight = smoothstep(low, high, strength)
    current = unit(perp)

    frame = frames[twist.body]
    d_local = np.einsum("tji,tj->ti", frame, d)
    sure = strength >= high
    idx = fill_index(sure)
    if idx is None:
        d0, ref0 = _canonical(twist, carrier)
        held_local = swing(
            np.broadcast_to(d0, d_local.shape), d_local, np.broadcast_to(ref0, d_local.shape)
        )
    else:
        ref_local = np.einsum("tji,tj->ti", frame, current)
        held_local = swing(d_local[idx], d_local, ref_local[idx])
    held = np.einsum("tij,tj->ti", frame, held_local)
    held = held - np.sum(held * d, -1, keepdims=True) * d
    held_ok = norm(held) > 1e-3
    held = unit(held)
    if not np.all(held_ok):
        # the carried reference fell onto the direction: take a neighbouring frame's
        fill = fill_index(held_ok)
        if fill is None:
            held = unit(np.cross(d, frame[:, :, 2]))
        else:
            held = unit(held[fill] - np.sum(held[fill] * d, -1, keepdims=True) * d)
    # rotate the held reference toward the current one by weight x angle, about d
    cos = np.sum(held * current, -1)
    sin = np.sum(d * np.cross(held, current), -1)
    angle = np.where(weight > 0, np.arctan2(sin, cos), 0.0) * weight
    out = held * np.cos(angle)[:, None] + np.cross(d, held) * np.sin(angle)[:, None]
    return unit(out)


def _direction(joints: np.ndarray, pair: tuple[str, str], fallback: np.ndarray) -> np.ndarray:
    a, b = (JOINT_INDEX[n] for n in pair)
    d, _ = _filled_unit(joints[:, b] - joints[:, a], fallback)
    return d


def bone_frames(
    bone_map: BoneMap,
    joints: np.ndarray,
    frames: dict[str, np.ndarray],
    fallback_dir: np.ndarray,
    cache: dict,
) -> np.ndarray:
    """(T, 3, 3) frames with columns (reference, direction, reference x direction)."""
    d = _direction(joints, bone_map.direction, fallback_dir)
    twist = bone_map.twist
    if twist.kind == "bend":
        carrier = twist.joints[:2]
        if twist not in cache:
            cd = d if carrier == bone_map.direction else _direction(joints, carrier, fallback_dir)
            cache[twist] = _twist_reference(twist, carrier, cd, joints, frames)
        ref = cache[twist]
        perp = ref - np.sum(ref * d, -1, keepdims=True) * d
        ok = norm(perp) > 1e-6
        ref = unit(perp)
        if not np.all(ok):  # the reference along the bone (a limb folded flat): keep the last
            fill = fill_index(ok)
            ref = unit(np.cross(d, [0.0, 0.0, 1.0])) if fill is None else ref[fill]
            ref = unit(ref - np.sum(ref * d, -1, keepdims=True) * d)
    else:
        ref = _twist_reference(twist, bone_map.direction, d, joints, frames)
    return np.stack([ref, d, np.cross(ref, d)], axis=-1)
