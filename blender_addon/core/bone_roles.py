"""The panel's bone map as rows: one role of the body (root, spine, left thigh, ...) → one bone.

A rig map names bones with a direction and a twist each; an animator thinks in roles. A role is
the map entry the shipped maps and the joint matcher give that part of the body (`ROLES`), so a
row holds a role, the bone playing it, and the entry. `rows_for_map` turns a detected or derived
map into rows (plus empty rows for roles it leaves unmapped), `build_map` turns edited rows back
into a `RigMap`, carrying the map's rest joints, parents and properties over to renamed bones.
Pure Python: no bpy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .rigmap_yaml import rig_map_data
from .rigmaps import RigMap, RigMapError, parse_rig_map

if TYPE_CHECKING:
    pass

_HIPS = ["right_hip", "left_hip"]
_SHOULDERS = ["right_shoulder", "left_shoulder"]


def _limb(side: str, a: str, b: str, c: str, upper: bool) -> dict[str, Any]:
    joints = [f"{side}_{j}" for j in (a, b, c)]
    return {"direction": joints[:2] if upper else joints[1:], "twist": {"bend": joints}}


# role id → (label, the map entry, required for a lift)
ROLES: dict[str, tuple[str, dict[str, Any], bool]] = {
    "root": ("Root (hips)", {"direction": _HIPS, "twist": {"line": ["pelvis", "spine"]}}, True),
    "spine": (
        "Lower spine",
        {"direction": ["pelvis", "spine"], "twist": {"line": [_HIPS, _SHOULDERS]}},
        False,
    ),
    "spine_upper": (
        "Upper spine",
        {"direction": ["spine", "thorax"], "twist": {"line": [_HIPS, _SHOULDERS]}},
        False,
    ),
    "chest": ("Chest", {"direction": _SHOULDERS, "twist": {"line": ["spine", "thorax"]}}, False),
    "neck": ("Neck", {"direction": ["thorax", "head"], "twist": {"line": _SHOULDERS}}, False),
    "head": ("Head", {"direction": ["head", "nose"], "twist": {"line": ["thorax", "head"]}}, False),
}
for _side, _s in (("left", "L"), ("right", "R")):
    ROLES |= {
        f"thigh.{_s}": (f"Thigh {_s}", _limb(_side, "hip", "knee", "ankle", True), True),
        f"shin.{_s}": (f"Shin {_s}", _limb(_side, "hip", "knee", "ankle", False), True),
        f"foot.{_s}": (f"Foot {_s}", {"foot": _side}, False),
        f"upper_arm.{_s}": (
            f"Upper arm {_s}",
            _limb(_side, "shoulder", "elbow", "wrist", True),
            True,
        ),
        f"forearm.{_s}": (f"Forearm {_s}", _limb(_side, "shoulder", "elbow", "wrist", False), True),
    }


@dataclass
class Row:
    """One role → bone. ``original``: the bone the proposed map had (renames follow it);
    ``entry``: the map entry (direction and twist, or ``{foot: side}``); ``warning``: why the
    row needs a look (the matcher guessed, or nothing plays the role)."""

    role: str
    label: str
    bone: str
    entry: dict[str, Any]
    original: str = ""
    root: bool = False
    warning: str = ""
    notes: list[str] = field(default_factory=list)


def _role_of(entry: Mapping[str, Any], is_root: bool) -> str | None:
    """The role whose entry has this direction (or foot side); None: a map's own extra bone."""
    if is_root:
        return "root"
    for role, (_, template, _) in ROLES.items():
        if role == "root":
            continue
        if "foot" in template and entry.get("foot") == template["foot"]:
            return role
        if "direction" in template and list(entry.get("direction", ())) == template["direction"]:
            return role
    return None


def _matcher_notes(rig_map: RigMap, entry: Mapping[str, Any]) -> list[str]:
    """The map's warnings that concern this entry's joints ("left_wrist = end site of ...")."""
    joints = set(entry.get("direction", ())) | {str(entry.get("foot", ""))}
    return [w for w in rig_map.warnings if w.split(" = ", 1)[0] in joints]


def rows_for_map(rig_map: RigMap | None) -> list[Row]:
    """Rows for every bone the map names, then an empty row for each role it leaves unmapped."""
    rows: list[Row] = []
    taken: set[str] = set()
    bones = rig_map_data(rig_map)["bones"] if rig_map is not None else {}
    for bone, entry in bones.items():
        role = _role_of(entry, bone == rig_map.root)
        label = ROLES[role][0] if role else f"{bone} (map's own)"
        if role is not None and role in taken:
            label += f" ({bone})"
        taken.add(role or bone)
        notes = _matcher_notes(rig_map, entry)
        rows.append(
            Row(role or "extra", label, bone, dict(entry), bone, bone == rig_map.root,
                "; ".join(notes), notes)
        )  # fmt: skip
    for role, (label, template, required) in ROLES.items():
        if role not in taken:
            why = "unmapped: a lift needs it" if required else "unmapped: keeps its rest pose"
            rows.append(Row(role, label, "", dict(template), "", role == "root", why))
    return rows


def _spec_renamed(spec: Any, renames: Mapping[str, str]) -> Any:
    """A rest-joint spec (a bone name, ``{bone: ...}`` or ``{mean: [...]}``) with bones renamed."""
    if isinstance(spec, str):
        return renames.get(spec, spec)
    out = dict(spec)
    if "bone" in out:
        out["bone"] = renames.get(out["bone"], out["bone"])
    if "mean" in out:
        out["mean"] = [_spec_renamed(s, renames) for s in out["mean"]]
    return out


def _renamed(data: Mapping[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    """Rest joints, parents and properties with old bone names replaced by the rows' new ones."""
    out: dict[str, Any] = {}
    if data.get("rest_joints"):
        out["rest_joints"] = {j: _spec_renamed(s, renames) for j, s in data["rest_joints"].items()}
    if data.get("parents"):
        out["parents"] = {renames.get(c, c): renames.get(p, p) for c, p in data["parents"].items()}
    if data.get("properties"):
        out["properties"] = {renames.get(b, b): v for b, v in data["properties"].items()}
    return out


def check_rows(rows: Iterable[Row]) -> None:
    """Refuse rows no lift can use: a required role unmapped, one bone in two roles."""
    rows = list(rows)
    missing = [r.label for r in rows if not r.bone and ROLES.get(r.role, ("", {}, False))[2]]
    if missing:
        raise RigMapError(f"panel map: no bone for {', '.join(missing)} (pick one in the list)")
    seen: dict[str, str] = {}
    for r in rows:
        if r.bone and r.bone in seen:
            raise RigMapError(f"panel map: bone {r.bone!r} plays both {seen[r.bone]} and {r.label}")
        if r.bone:
            seen[r.bone] = r.label


def build_map(rows: Iterable[Row], base: RigMap | None, family: str = "panel") -> RigMap:
    """The rows as a `RigMap`: ``base`` (the proposed or loaded map) gives rest joints, parents
    and properties, renamed where a row's bone changed; the rows give bones and the root."""
    rows = list(rows)
    check_rows(rows)
    renames = {r.original: r.bone for r in rows if r.original and r.bone and r.original != r.bone}
    data = rig_map_data(base) if base is not None else {}
    root = next(r.bone for r in rows if r.root and r.bone)
    out: dict[str, Any] = {
        "family": family,
        "description": data.get("description") or "edited in the panel",
        "detect": [],
        "root": root,
        "bones": {r.bone: dict(r.entry) for r in rows if r.bone},
    }
    out.update(_renamed(data, renames))
    rig_map = parse_rig_map(out, source=f"{family} (panel map)")
    return dataclasses.replace(rig_map, warnings=tuple(n for r in rows for n in r.notes))
