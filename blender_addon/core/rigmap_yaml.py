"""A `RigMap` written back as rig-map YAML (the schema of blender_addon/rigs/*.yaml).

The panel's bone map is edited as rows and saved as such a file (on disk or in the .blend), so a
map made in Blender loads anywhere a shipped or custom map does: `parse_rig_map(rig_map_data(m))`
gives `m` back (its ``source`` and ``warnings`` aside). Pure Python and PyYAML: no bpy.
"""

from __future__ import annotations

from typing import Any

import yaml

from .rigmaps import JointSpec, RigMap, Twist, parse_rig_map


def twist_data(twist: Twist) -> dict[str, Any]:
    """A twist as the YAML writes it, its ``body`` explicit (the parser's default depends on
    the joints, so writing it keeps a hand-edited map from changing frame silently)."""
    if twist.kind == "bend":
        return {"bend": list(twist.joints), "body": twist.body}
    lines = [list(pair) for pair in twist.lines]
    return {"line": lines[0] if len(lines) == 1 else lines, "body": twist.body}


def spec_data(spec: JointSpec) -> str | dict[str, Any]:
    """A rest-joint spec: a bare bone name where that says it all, else a mapping."""
    if spec.mean:
        return {"mean": [spec_data(s) for s in spec.mean]}
    if spec.at == "head" and not any(spec.offset):
        return str(spec.bone)
    out: dict[str, Any] = {"bone": spec.bone}
    if spec.at != "head":
        out["at"] = spec.at
    if any(spec.offset):
        out["offset"] = [float(v) for v in spec.offset]
    return out


def rig_map_data(rig_map: RigMap) -> dict[str, Any]:
    """The map as parsed YAML. A resolved map's prefix is already in its bone names, so it is
    written with the full names and no ``prefixes``."""
    bones: dict[str, Any] = {}
    for b in rig_map.bones:
        bones[b.bone] = {"direction": list(b.direction), "twist": twist_data(b.twist)}
    for bone, side in rig_map.feet.items():
        bones[bone] = {"foot": side}
    data: dict[str, Any] = {
        "family": rig_map.family,
        "description": rig_map.description,
        "detect": list(rig_map.detect),
        "root": rig_map.root,
        "bones": bones,
    }
    if rig_map.prefixes and not rig_map.prefix:
        data["prefixes"] = list(rig_map.prefixes)
    if rig_map.rest_joints:
        data["rest_joints"] = {j: spec_data(s) for j, s in rig_map.rest_joints.items()}
    if rig_map.parents:
        data["parents"] = dict(rig_map.parents)
    if rig_map.properties:
        data["properties"] = {b: dict(p) for b, p in rig_map.properties.items()}
    return data


def dump_rig_map(rig_map: RigMap, comment: str = "") -> str:
    """YAML text for the map (key order kept), with an optional leading comment."""
    text = yaml.safe_dump(rig_map_data(rig_map), sort_keys=False, default_flow_style=None)
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    return head + text


def load_rig_map_text(text: str, source: str = "<text>") -> RigMap:
    """A map from YAML text (a text datablock in the .blend), errors naming ``source``."""
    from .rigmaps import RigMapError

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RigMapError(f"rig map {source}: not valid YAML ({exc})") from exc
    return parse_rig_map(data, source)
