"""Rig maps derived by the joint matcher, for armatures that no YAML map in blender_addon/rigs/ knows.

`mpm_backend.joint_matcher` finds a skeleton's hips, knees, ankles, shoulders, elbows, wrists and
head from names, hierarchy and rest positions for many namings (Mixamo, Unreal, Character
Creator, Auto-Rig Pro, Rigify, CMU, Daz, Biped, ...). Here its answer becomes the same kind of
`RigMap` the shipped YAML files give, written with their direction/twist conventions (and parsed
by `rigmaps.parse_rig_map`, so the two cannot drift apart):

- thigh, shin, upper arm, forearm: the bones whose heads are the hip, knee, shoulder, elbow
  joints, along the limb segment, twisted by the limb's bend plane;
- root: the lowest common ancestor of both thighs and the chest, along the hip line;
- spine: the bones from the root to the chest (the upper arms' common ancestor), the lower half
  along pelvis -> spine, the upper half along spine -> thorax, the chest along the shoulder line;
- neck (the first bone above the chest) along thorax -> head, head along head -> nose.

Bones it cannot place keep their rest pose. numpy only, no bpy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..deps import joint_matcher, skeleton
from .rigmaps import RigMap, RigMapError, parse_rig_map

END_SUFFIX = "_end"  # the matcher's end-site naming: "<bone>_end" at a leaf bone's tail
RIGS_HINT = (
    "write a map for this rig: copy blender_addon/rigs/TEMPLATE.yaml.example to <family>.yaml and name its "
    "bones there (Custom map file, or the rigs folder)"
)

_LIMBS = (("hip", "knee", "ankle"), ("shoulder", "elbow", "wrist"))
_HIP_LINE = ["right_hip", "left_hip"]
_SHOULDER_LINE = ["right_shoulder", "left_shoulder"]


@dataclass(frozen=True)
class Skeleton:
    """An armature's bones at rest: names, parent index (-1: none), heads, tails (armature space)."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    heads: np.ndarray  # (B, 3)
    tails: np.ndarray  # (B, 3)

    @classmethod
    def from_bones(cls, bones: Iterable) -> Skeleton:
        """From ``armature.data.bones`` or `retarget.RestPose.bones` (duck-typed: name, parent,
        head_local/tail_local or head/tail)."""
        bones = list(bones)
        names = [b.name for b in bones]
        index = {n: i for i, n in enumerate(names)}
        parents = []
        for b in bones:
            parent = b.parent
            parent = getattr(parent, "name", parent)  # bpy: a Bone; RestBone: a name
            parents.append(index[parent] if parent is not None else -1)

        def points(attr: str, fallback: str) -> np.ndarray:
            values = [getattr(b, attr) if hasattr(b, attr) else getattr(b, fallback) for b in bones]
            return np.array([list(v) for v in values], dtype=float).reshape(-1, 3)

        return cls(
            tuple(names), tuple(parents), points("head_local", "head"), points("tail_local", "tail")
        )


def _parent_indices(names: Sequence[str], parents: Sequence) -> list[int]:
    """Parents as indices (-1: none), from indices or from names (None: none)."""
    index = {n: i for i, n in enumerate(names)}
    out = []
    for p in parents:
        if p is None:
            out.append(-1)
        elif isinstance(p, str):
            if p not in index:
                raise RigMapError(f"auto rig map: parent bone {p!r} is not among the bones")
            out.append(index[p])
        else:
            out.append(int(p))
    return out


def _parents_first(parents: list[int]) -> list[int]:
    """Bone indices ordered so every parent comes before its children (the matcher needs it)."""
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        children.setdefault(p, []).append(i)
    order, stack = [], list(reversed(children.get(-1, [])))
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children.get(i, [])))
    if len(order) != len(parents):
        raise RigMapError("auto rig map: bone parents form a cycle or point outside the armature")
    return order


def _ancestors(parents: list[int], i: int) -> list[int]:
    """i's ancestors, nearest first."""
    out = []
    while parents[i] >= 0:
        i = parents[i]
        out.append(i)
    return out


def _common_ancestor(parents: list[int], bones: Iterable[int]) -> int | None:
    """The lowest bone that is (or is an ancestor of) every bone given."""
    shared: list[int] | None = None
    for b in bones:
        line = [b, *_ancestors(parents, b)]
        shared = line if shared is None else [x for x in line if x in set(shared)]
    return shared[0] if shared else None


def _path_down(parents: list[int], top: int, bottom: int) -> list[int] | None:
    """Bones below ``top`` down to ``bottom`` (included), top first; None if not a descendant."""
    line = [bottom, *_ancestors(parents, bottom)]
    if top not in line[1:]:
        return None
    return list(reversed(line[: line.index(top)]))


def _match_error(exc: Exception) -> RigMapError:
    """The matcher's message (which joints it could not place and why) with the blender_addon/rigs/ hint."""
    text = str(exc).replace(f"; {joint_matcher.TEMPLATE_HINT}", "")
    return RigMapError(f"the joint matcher failed: {text}; {RIGS_HINT}")


def _limb_entry(side: str, a: str, b: str, limb: tuple[str, str, str]) -> dict:
    return {
        "direction": [f"{side}_{a}", f"{side}_{b}"],
        "twist": {"bend": [f"{side}_{j}" for j in limb]},
    }


def _spine_entries(count: int) -> list[dict]:
    """Directions for ``count`` bones from above the root up to the chest, as the YAMLs have
    them: Spine [pelvis, spine], Spine1 [spine, thorax], Spine2 (chest) the shoulder line."""
    if count == 0:
        return []
    mixed = {"line": [_HIP_LINE, _SHOULDER_LINE]}
    middle = count - 1
    lower = (middle + 1) // 2
    entries = [{"direction": ["pelvis", "spine"], "twist": mixed} for _ in range(lower)]
    entries += [{"direction": ["spine", "thorax"], "twist": mixed} for _ in range(middle - lower)]
    entries.append({"direction": _SHOULDER_LINE, "twist": {"line": ["spine", "thorax"]}})
    return entries


def _matcher_joints(
    names: list[str], parent_idx: list[int], heads: np.ndarray, tails: np.ndarray
) -> tuple[list[tuple[int, str]], list[str], list[int], list[np.ndarray]]:
    """The armature as the matcher's joints: each bone's head, then an end site at each leaf
    bone's tail (the matcher reads joints, a rig has bones). Returns (bone and "head"/"tail"
    per joint, joint names, joint parents, rest positions), parents first."""
    order = _parents_first(parent_idx)
    position = {bone: k for k, bone in enumerate(order)}
    joint_bone: list[tuple[int, str]] = [(b, "head") for b in order]
    joint_names = [names[b] for b in order]
    joint_parents = [position[parent_idx[b]] if parent_idx[b] >= 0 else -1 for b in order]
    joint_rest = [heads[b] for b in order]
    has_child = {p for p in parent_idx if p >= 0}
    taken = set(names)
    for b in order:
        end = names[b] + END_SUFFIX
        if b not in has_child and end not in taken:
            joint_bone.append((b, "tail"))
            joint_names.append(end)
            joint_parents.append(position[b])
            joint_rest.append(tails[b])
    return joint_bone, joint_names, joint_parents, joint_rest


def _bone_at(joint_bone: list[tuple[int, str]], joint: int) -> int | None:
    """The bone whose head is the joint (None for an end site)."""
    bone, at = joint_bone[joint]
    return bone if at == "head" else None


def _limb_bones(
    match: joint_matcher.SkeletonMatch, joint_bone: list[tuple[int, str]], names: list[str]
) -> tuple[dict[str, int], dict[str, dict]]:
    """Thighs, shins, upper and forearms: the bones whose heads are the limb joints; returns
    ("<side>_<joint>" -> bone, the bones' map entries)."""
    limb_bones: dict[str, int] = {}
    bones: dict[str, dict] = {}
    for side in ("left", "right"):
        for limb in _LIMBS:
            for a, b in zip(limb[:2], limb[1:], strict=True):
                bone = _bone_at(joint_bone, match.joints[f"{side}_{a}"])
                if bone is None:  # the matcher only puts end sites last in a limb
                    raise RigMapError(f"auto rig map: the {side} {a} is not a bone's head")
                limb_bones[f"{side}_{a}"] = bone
                bones[names[bone]] = _limb_entry(side, a, b, limb)
    return limb_bones, bones


def _root_and_chest(parent_idx: list[int], limb_bones: dict[str, int]) -> tuple[int, int]:
    """The chest (the upper arms' common ancestor) and the root (that of the thighs and the
    chest); a rig without both cannot carry the trunk's motion."""
    chest = _common_ancestor(
        parent_idx, [limb_bones["left_shoulder"], limb_bones["right_shoulder"]]
    )
    legs = [limb_bones["left_hip"], limb_bones["right_hip"]]
    root = None if chest is None else _common_ancestor(parent_idx, [*legs, chest])
    if root is None or chest is None or root in limb_bones.values() or chest in limb_bones.values():
        raise RigMapError(
            "auto rig map: the thighs and upper arms share no pelvis/chest bone above them; "
            + RIGS_HINT
        )
    return root, chest


def _neck_and_head(
    parent_idx: list[int],
    names: list[str],
    chest: int,
    head_bone: int | None,
    top: int,
    head_name: str,
) -> tuple[dict[str, dict], list[str]]:
    """Entries for the first bone above the chest (the neck) and the head bone; returns them
    with warnings for what stays at rest."""
    bones: dict[str, dict] = {}
    warnings: list[str] = []
    neck = _path_down(parent_idx, chest, top)
    if neck is None:
        warnings.append(f"head {head_name!r} is not above the chest: left at rest")
        return bones, warnings
    neck_bones = neck[:-1] if head_bone is not None else neck
    if neck_bones:
        bones[names[neck_bones[0]]] = {
            "direction": ["thorax", "head"],
            "twist": {"line": _SHOULDER_LINE},
        }
    else:
        warnings.append("no neck bone between the chest and the head: the neck stays at rest")
    if head_bone is not None:
        bones[names[head_bone]] = {
            "direction": ["head", "nose"],
            "twist": {"line": ["thorax", "head"]},
        }
    return bones, warnings


def rig_map_from_skeleton(names: Sequence[str], parents: Sequence, heads, tails) -> RigMap:
    """A RigMap for an armature from the joint matcher (see the module doc).

    names: bone names; parents: parent index per bone (-1: none) or parent name (None: none);
    heads, tails: (B, 3) bone heads and tails in armature space. Raises RigMapError naming the
    joints the matcher could not place. The map's ``warnings`` say what was guessed (a wrist at
    a forearm's tail, a missing neck).
    """
    names = list(names)
    parent_idx = _parent_indices(names, parents)
    heads = np.asarray(heads, dtype=float).reshape(-1, 3)
    tails = np.asarray(tails, dtype=float).reshape(-1, 3)
    if not (len(names) == len(parent_idx) == len(heads) == len(tails)):
        raise RigMapError("auto rig map: names, parents, heads and tails differ in length")

    joint_bone, joint_names, joint_parents, joint_rest = _matcher_joints(
        names, parent_idx, heads, tails
    )
    try:
        match = joint_matcher.match_skeleton(joint_names, joint_parents, np.array(joint_rest))
    except joint_matcher.SkeletonMatchError as exc:
        raise _match_error(exc) from None

    warnings = [f"{joint} = {note}" for joint, note in match.notes.items()]
    rest_joints: dict[str, dict] = {}
    for joint, j in match.joints.items():
        bone, at = joint_bone[j]
        rest_joints[joint] = {"bone": names[bone], "at": at}
    limb_bones, bones = _limb_bones(match, joint_bone, names)

    root, chest = _root_and_chest(parent_idx, limb_bones)
    root_entry = {"direction": _HIP_LINE, "twist": {"line": ["pelvis", "spine"]}}
    spine = _path_down(parent_idx, root, chest) if chest != root else []
    if chest == root:
        warnings.append(f"no spine: the arms and legs hang from {names[root]!r}")
    for bone, entry in zip(spine, _spine_entries(len(spine)), strict=True):
        bones[names[bone]] = entry

    head_bone = _bone_at(joint_bone, match.head)
    top = head_bone if head_bone is not None else joint_bone[match.head][0]  # else the neck
    neck_head, neck_warnings = _neck_and_head(
        parent_idx, names, chest, head_bone, top, joint_names[match.head]
    )
    bones.update(neck_head)
    warnings += neck_warnings
    if match.eyes is not None and all(_bone_at(joint_bone, e) is not None for e in match.eyes):
        # as the data pipeline (and daz.yaml) has it: mid-eyes, the nose 4 cm below their height
        rest_joints["head"] = {
            "mean": [{"bone": names[_bone_at(joint_bone, e)]} for e in match.eyes]
        }
        if head_bone is not None:
            rest_joints["nose"] = {
                "bone": names[head_bone],
                "offset": list(skeleton.HEAD_NOSE_OFFSET_WITH_EYES),
            }

    for side in ("left", "right"):  # a bone starting at the ankle is the foot (feet.py)
        foot = _bone_at(joint_bone, match.joints[f"{side}_ankle"])
        if foot is not None:
            bones[names[foot]] = {"foot": side}
        else:
            warnings.append(f"no {side} foot bone below the ankle: it follows the shin")

    family = f"auto:{match.convention}"
    data = {
        "family": family,
        "description": f"derived by the joint matcher ({match.convention} names)",
        "detect": [names[b] for b in (root, *limb_bones.values())],
        "root": names[root],
        "bones": {names[root]: root_entry, **bones},
        "rest_joints": rest_joints,
    }
    rig_map = parse_rig_map(data, source=f"{family} (joint matcher)")
    return dataclasses.replace(rig_map, warnings=tuple(warnings))


def rig_map_for_skeleton(skeleton: Skeleton) -> RigMap:
    """`rig_map_from_skeleton` for a `Skeleton`."""
    return rig_map_from_skeleton(skeleton.names, skeleton.parents, skeleton.heads, skeleton.tails)
