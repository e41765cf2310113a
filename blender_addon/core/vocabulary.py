"""The add-on's option words, one table each: the panel, the scene code and the batch command
read them from here, so an option added or renamed in one cannot be missing from another.

Each row is (enum value, word, label, description): the enum value is what the panel's property
and `LiftOptions` hold, the word what the batch command's flag takes (for a rig preset: the rig
map family it selects, blender_addon/rigs/*.yaml). Pure Python: no bpy.
"""

from __future__ import annotations

from collections.abc import Mapping

Row = tuple[str, str, str, str]

RIG_PRESET_ROWS: tuple[Row, ...] = (
    ("metarig", "blender_metarig", "Human meta-rig", "Blender's Human meta-rig (Rigify)"),
    ("rigify", "rigify", "Rigify rig", "A generated Rigify rig (its FK controls)"),
    ("mixamo", "mixamo", "Mixamo", "mixamorig: bone names"),
    ("cmu", "cmu_bvh", "CMU BVH", "The CMU skeleton as Blender's BVH importer makes it"),
)
SMOOTHING_ROWS: tuple[Row, ...] = (
    ("NONE", "none", "None", "Keep the model's output"),
    ("ONE_EURO", "one_euro", "One-Euro", "Adaptive: smooths slow motion, follows fast motion"),
    ("BUTTERWORTH", "butterworth", "Butterworth", "Zero-phase low-pass with a cutoff in Hz"),
)
ROOT_MOTION_ROWS: tuple[Row, ...] = (
    ("MOVE", "move", "Move", "The root travels as the person does"),
    ("IN_PLACE", "in_place", "In place", "Keep the vertical motion, remove horizontal travel"),
    ("OFF", "off", "Off", "The root stays where it is"),
)

LEVEL_ROWS: tuple[Row, ...] = (
    (
        "AUTO",
        "auto",
        "From the motion",
        "Level the floor the feet rest on (the trunk if they do not)",
    ),
    ("LEVEL", "level", "Level camera", "The camera was level: no pitch, no roll"),
    ("KNOWN", "known", "Known camera", "The camera's pitch and roll as given"),
)

PEOPLE_ROWS: tuple[Row, ...] = (
    ("PROMINENT", "prominent", "Most prominent", "The largest person, followed frame to frame"),
    ("ALL", "all", "Everyone", "Every person of the file: a skeleton (and a rig) each"),
    ("ONE", "one", "One", "The person numbered below (0: the first to appear)"),
)

RIG_PRESETS = {value: word for value, word, *_ in RIG_PRESET_ROWS}  # preset → rig map family
SMOOTHING = {value: word for value, word, *_ in SMOOTHING_ROWS}  # also cleanup's mode names
ROOT_MOTION = {value: word for value, word, *_ in ROOT_MOTION_ROWS}
LEVEL = {value: word for value, word, *_ in LEVEL_ROWS}


RIG_AUTO: Row = ("AUTO", "auto", "Auto", "Detect the rig family from its bone names")
RIG_PANEL: Row = (
    "PANEL",
    "panel",
    "Panel map",
    "The bone map made with Map bones (below), as edited in the list",
)
RIG_CUSTOM: Row = (
    "CUSTOM",
    "custom",
    "Custom map",
    "A rig map YAML file (blender_addon/rigs/TEMPLATE.yaml.example)",
)


def rig_rows(families: Mapping[str, str]) -> tuple[Row, ...]:
    """The panel's rig choices: Auto, one per shipped map (``families``: family → description,
    blender_addon/rigs/*.yaml), the panel's map, a custom file. A family a preset names keeps
    the preset's value and label (saved .blend files and batch configs hold those)."""
    presets = {word: (value, label, desc) for value, word, label, desc in RIG_PRESET_ROWS}
    rows = [RIG_AUTO]
    for family, description in sorted(families.items()):
        value, label, desc = presets.get(family, (family, family, description or family))
        rows.append((value, family, label, desc))
    return (*rows, RIG_PANEL, RIG_CUSTOM)


def enum_items(rows: tuple[Row, ...]) -> list[tuple[str, str, str]]:
    """A Blender EnumProperty's items: (identifier, label, description)."""
    return [(value, label, description) for value, _word, label, description in rows]
