"""Rig maps written back as YAML (core/rigmap_yaml.py) and the panel's rows (core/bone_roles.py):
what the panel saves must load as the same map, and rows must rebuild the map they came from."""

from __future__ import annotations

import dataclasses

import pytest

from blender_addon.core import bone_roles, rigmap_yaml, rigmaps, vocabulary

MAPS = rigmaps.builtin_rig_maps()


@pytest.mark.parametrize("family", sorted(MAPS))
def test_every_shipped_map_round_trips_through_yaml(family):
    rig_map = MAPS[family]
    back = rigmap_yaml.load_rig_map_text(rigmap_yaml.dump_rig_map(rig_map, "a comment"))
    assert back == dataclasses.replace(rig_map, source=back.source)


@pytest.mark.parametrize("family", sorted(MAPS))
def test_rows_rebuild_the_map_they_came_from(family):
    rig_map = MAPS[family]
    rebuilt = bone_roles.build_map(bone_roles.rows_for_map(rig_map), rig_map, family)
    for field in ("root", "feet", "rest_joints", "parents", "properties"):
        assert getattr(rebuilt, field) == getattr(rig_map, field), field
    assert sorted(rebuilt.bones, key=str) == sorted(rig_map.bones, key=str)


def test_a_renamed_bone_carries_its_rest_joints_and_a_missing_limb_is_refused():
    daz = MAPS["daz"]
    rows = bone_roles.rows_for_map(daz)
    head = next(r for r in rows if r.role == "head")
    head.bone = "Head_new"
    rebuilt = bone_roles.build_map(rows, daz)
    assert rebuilt.rest_joints["nose"].bone == "Head_new"  # daz.yaml: nose offset from head
    next(r for r in rows if r.role == "forearm.L").bone = ""
    with pytest.raises(rigmaps.RigMapError, match="no bone for Forearm L"):
        bone_roles.build_map(rows, daz)
    next(r for r in rows if r.role == "forearm.L").bone = "lShin"
    with pytest.raises(rigmaps.RigMapError, match="'lShin' plays both"):
        bone_roles.build_map(rows, daz)


def test_an_empty_proposal_lists_every_role():
    rows = bone_roles.rows_for_map(None)
    assert [r.role for r in rows] == list(bone_roles.ROLES) and not any(r.bone for r in rows)


def test_the_panel_rig_list_is_the_shipped_maps_plus_auto_panel_custom():
    rows = vocabulary.rig_rows({f: m.description for f, m in MAPS.items()})
    values, words = [r[0] for r in rows], [r[1] for r in rows]
    assert len(set(values)) == len(values)
    assert set(words) == set(MAPS) | {"auto", "panel", "custom"}
    assert values[0] == "AUTO" and values[-2:] == ["PANEL", "CUSTOM"]
    for value, word in vocabulary.RIG_PRESETS.items():  # saved .blend files keep their value
        assert (value, word) in zip(values, words, strict=True)
