"""Find a skeleton's hips, knees, ankles, shoulders, elbows, wrists and head by name and hierarchy.

One matcher for every consumer: the training data pipeline (BVH/ASF skeletons) and the Blender
add-on (armatures). Both give joint names, parent indices and rest-pose positions; the matcher
returns which joint sits AT each anatomical joint, the head joint, the eyes if any, and the rest
pose's up/forward axes. numpy + stdlib only, so it imports inside Blender.

Rules, in order (data tables below, not code paths):

1. Names are normalised: namespaces (``mixamorig:``, ``Armature|``) and naming prefixes
   (``DEF-``, ``CC_Base_``, ``Bip01 ``, ``Character1_``, ARP's ``c_``) are dropped, the rest split
   into lower-case words at ``_ . - space``, camelCase and digits. A side word (``l``/``left``,
   ``r``/``right``, anywhere, or glued in front as in CMU's ``lfemur``) gives the side; the other
   words, joined, name the body part through `PART_SYNONYMS` (``upleg`` -> hip, ``calf`` -> knee).
   Words in `EXCLUDED_WORDS` (twist, roll, ik, ...) rule a joint out.
2. A limb is a chain hip -> knee -> ankle (shoulder -> elbow -> wrist) where each joint descends
   from the previous one. Among the chains that pass, the best has the lowest synonym tier
   (``shoulder`` is tier 1: Mixamo's ``LeftShoulder`` is the clavicle, used only when no upper-arm
   bone exists), then plausible lengths, then the fewest decorations (``c_``, ``_ref``, ``.001``),
   then the fewest hierarchy steps (CMU's ``lwrist`` before ``lhand``).
3. Fallbacks, each noted: a missing wrist (ankle) is the elbow's (knee's) end site
   ``<name>_end``; a missing head is the neck's end site.
4. Sides must agree: the left hip and the left shoulder lie on the same side of the body.
   Axes: up = mid-hips -> head, left = right hip -> left hip, forward = left x up (x left, y up,
   z forward is right-handed), each snapped to the nearest file axis within 20 degrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

# The 12 joints found, per limb, proximal first (names as training.data.skeleton_maps.DIRECT_JOINTS).
LIMBS: dict[str, tuple[str, str, str]] = {
    "leg": ("hip", "knee", "ankle"),
    "arm": ("shoulder", "elbow", "wrist"),
}
SIDES = {"left": "left", "l": "left", "right": "right", "r": "right"}

# Body part -> (synonym, tier); a lower tier wins. Synonyms are the joined words of a name
# without side, decorations and numbers: "LeftUpLeg" -> "upleg", "upper_arm.L" -> "upperarm".
PART_SYNONYMS: dict[str, tuple[tuple[str, int], ...]] = {
    "hip": (("femur", 0), ("upleg", 0), ("thigh", 0), ("upperleg", 0), ("hip", 0)),
    "knee": (
        ("tibia", 0),
        ("leg", 0),  # Mixamo's LeftLeg and Auto-Rig Pro's leg.l are the shin
        ("shin", 0),
        ("calf", 0),
        ("lowerleg", 0),
        ("knee", 0),
    ),
    "ankle": (("foot", 0), ("ankle", 0)),
    "shoulder": (
        ("humerus", 0),
        ("arm", 0),
        ("upperarm", 0),
        ("shldr", 0),
        ("shoulder", 1),  # clavicle in Mixamo/Rigify/ARP, the joint in 3ds-Max-friendly CMU
    ),
    "elbow": (("radius", 0), ("forearm", 0), ("lowerarm", 0), ("elbow", 0)),
    "wrist": (("wrist", 0), ("hand", 0)),
    "eye": (("eye", 0),),
}
# Head candidates, best first, as (part key, number or None for any): Blender's meta-rig head is
# spine.006, ReActIdle's is face. The neck only serves when no head exists (its end site).
HEAD_KEYS: tuple[tuple[str, int | None], ...] = (("head", None), ("spine", 6), ("face", None))
NECK_KEYS: tuple[tuple[str, int | None], ...] = (("neck", None), ("upperneck", None))

# Leading prefixes: (regex, is a decoration). Decorations (Rigify's DEF-/ORG-, ARP's c_) mark
# duplicate chains and lose ties; the others are a whole rig's naming style.
PREFIXES: tuple[tuple[str, bool], ...] = (
    (r"cc_base_", False),
    (r"bip0*1[ _]", False),
    (r"character\d*_", False),
    (r"mixamorig\d*_", False),
    (r"(def|org)[-_.]", True),
    (r"c_", True),
)
EXCLUDED_PREFIXES = re.compile(r"(mch|vis|wgt|ik|tgt)[-_.]", re.IGNORECASE)
# Words that make a joint something other than the anatomical joint.
EXCLUDED_WORDS = frozenset(
    "twist roll share ik pole target mch tweak helper corrective parent socket end nub ".split()
)
# Words dropped from the part key; the ones in DECORATION_WORDS also lose ties.
NEUTRAL_WORDS = frozenset("fk bend ref x jnt bn bone ctrl ctl control".split())
DECORATION_WORDS = frozenset("fk ref ctrl ctl control".split())

# Convention names by marker names (regexes on names without namespace, case-sensitive): the
# convention with the most markers present is reported.
CONVENTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cmu_asf", ("[lr]femur", "[lr]tibia", "[lr]humerus", "[lr]radius", "[lr]wrist")),
    ("cmu_3dsmax", ("(Left|Right)Hip", "(Left|Right)Knee", "(Left|Right)Ankle", "(Left|Right)Collar", "(Left|Right)Elbow")),
    ("humanik", (r"Character\d*_(Left|Right)UpLeg", r"Character\d*_(Left|Right)Arm", r"Character\d*_Hips")),
    ("mixamo", ("Hips", "(Left|Right)UpLeg", "(Left|Right)Leg", "(Left|Right)ForeArm", "(Left|Right)Arm")),
    ("daz", ("[lr]Thigh(Bend)?", "[lr]Shin", "[lr]Shldr(Bend)?", "[lr]Fore[Aa]rm(Bend)?", "[lr]Collar")),
    ("unreal", ("thigh_[lr]", "calf_[lr]", "upperarm_[lr]", "lowerarm_[lr]", "clavicle_[lr]")),
    ("character_creator", ("CC_Base_[LR]_Thigh", "CC_Base_[LR]_Calf", "CC_Base_[LR]_Upperarm", "CC_Base_[LR]_Forearm")),
    ("auto_rig_pro", (r"(c_)?thigh(_ref|_fk)?\.[lr]", r"(c_)?leg(_ref|_fk)?\.[lr]", r"(c_)?arm(_ref|_fk)?\.[lr]", r"(c_)?head(_ref)?\.x")),
    ("rigify", (r"(DEF-|ORG-)?thigh(_fk)?\.[LR]", r"(DEF-|ORG-)?shin(_fk)?\.[LR]", r"(DEF-|ORG-)?upper_arm(_fk)?\.[LR]", r"(DEF-|ORG-)?forearm(_fk)?\.[LR]")),
    ("3dsmax_biped", (r"Bip0*1[ _][LR][ _]Thigh", r"Bip0*1[ _][LR][ _]Calf", r"Bip0*1[ _][LR][ _]UpperArm", r"Bip0*1[ _][LR][ _]Forearm")),
)  # fmt: skip

# Segment lengths as fractions of the rest-pose extent (a T-pose's span is about its height).
SEGMENT_RANGE = {"leg": (0.15, 0.35), "arm": (0.10, 0.30)}
MAX_SEGMENT_RATIO = 1.6  # thigh vs shin, upper arm vs forearm
FALLBACK_TIER = 9  # an end site standing in for a missing wrist/ankle loses to any named joint
SNAP_DEGREES = 20.0
TEMPLATE_HINT = (
    "add an explicit skeleton map: copy training/data/skeleton_maps/TEMPLATE.yaml.example to "
    "<family>.yaml and name your joints there"
)


class SkeletonMatchError(ValueError):
    """The skeleton lacks a joint or is ambiguous; the message names what and how to fix it."""


@dataclass(frozen=True)
class NameInfo:
    """What a joint's name says: side, body-part key, number, decorations; excluded or not."""

    side: str | None
    key: str
    number: int | None
    decorations: int
    excluded: bool


@dataclass(frozen=True)
class SkeletonMatch:
    """Where a skeleton's anatomical joints are, by index into the names given to `match_skeleton`."""

    names: tuple[str, ...]
    convention: str
    joints: dict[str, int]  # "left_hip", ... (the 12 direct joints) -> joint index
    head: int  # the joint at the top of the neck (head bone start)
    eyes: tuple[int, int] | None  # (left, right) eye joints, when the skeleton has them
    up: np.ndarray  # (3,) unit, file axes: mid-hips -> head
    forward: np.ndarray  # (3,) unit, file axes: the way the body faces
    left: np.ndarray  # (3,) unit, file axes: right hip -> left hip
    notes: dict[str, str] = field(default_factory=dict)  # joint -> how a fallback found it

    @property
    def to_canonical(self) -> np.ndarray:
        """(3, 3) rows left, up, forward: file axes -> canonical (x left, y up, z forward)."""
        return np.stack([self.left, self.up, self.forward])

    def joint_names(self) -> dict[str, str]:
        return {joint: self.names[i] for joint, i in self.joints.items()}


_CAMEL = (re.compile(r"([A-Z]+)([A-Z][a-z])"), re.compile(r"([a-z])([A-Z])"))
_DIGITS = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_SEPARATORS = re.compile(r"[\s_.\-]+")
_KNOWN_WORDS = frozenset(
    syn for synonyms in PART_SYNONYMS.values() for syn, _ in synonyms
) | frozenset("clavicle collar hipjoint hand fingers thumb toes eye".split())


def bare(name: str) -> str:
    """Drop namespaces: "mixamorig:LeftArm" -> "LeftArm", "Armature|hips" -> "hips"."""
    return re.split(r"[:|]", name)[-1]


def parse_name(name: str) -> NameInfo:
    """Split a joint name into side, part key, number and decorations (see the module doc)."""
    rest = bare(name)
    excluded = bool(EXCLUDED_PREFIXES.match(rest))
    decorations = 0
    stripped = True
    while stripped:
        stripped = False
        for pattern, decoration in PREFIXES:
            found = re.match(pattern, rest, re.IGNORECASE)
            if found and len(rest) > found.end():
                rest, decorations, stripped = rest[found.end() :], decorations + decoration, True
    for pattern in _CAMEL:
        rest = pattern.sub(r"\1 \2", rest)
    words = [w.lower() for w in _SEPARATORS.split(_DIGITS.sub(" ", rest)) if w]
    if words:  # a side glued in front of a known word: CMU's lfemur, leftarm
        for glued in ("left", "right", "l", "r"):
            if words[0].startswith(glued) and words[0][len(glued) :] in _KNOWN_WORDS:
                words[:1] = [glued, words[0][len(glued) :]]
                break
    sides = {SIDES[w] for w in words if w in SIDES}
    number = None
    key_words = []
    for word in words:
        if word in SIDES:
            continue
        if word.isdigit():
            number = int(word)
        elif word in NEUTRAL_WORDS:
            decorations += word in DECORATION_WORDS
        else:
            excluded |= word in EXCLUDED_WORDS
            key_words.append(word)
    return NameInfo(
        side=sides.pop() if len(sides) == 1 else None,
        key="".join(key_words),
        number=number,
        decorations=decorations + bool(number),
        excluded=excluded,
    )


class _Tree:
    """Parent links with ancestry and depth queries."""

    def __init__(self, parents: np.ndarray):
        self.parents = parents
        self.depth = np.zeros(len(parents), dtype=int)
        for i, p in enumerate(parents):
            self.depth[i] = self.depth[p] + 1 if p >= 0 else 0

    def steps_down(self, ancestor: int, joint: int) -> int | None:
        """Hierarchy steps from ancestor down to joint, None when joint does not descend from it."""
        steps = 0
        while joint >= 0 and joint != ancestor:
            joint, steps = int(self.parents[joint]), steps + 1
        return steps if joint == ancestor and steps > 0 else None


@dataclass(frozen=True)
class _Candidate:
    index: int
    tier: int
    decorations: int


def _validate(names: list[str], parents, rest) -> tuple[np.ndarray, np.ndarray]:
    parents = np.asarray(parents, dtype=int).reshape(-1)
    rest = np.asarray(rest, dtype=float)
    count = len(names)
    if parents.shape != (count,) or rest.shape != (count, 3):
        raise ValueError(
            f"match_skeleton: {count} names need {count} parents and ({count}, 3) rest positions, "
            f"got {parents.shape} and {rest.shape}"
        )
    if np.any(parents >= np.arange(count)) or np.any(parents < -1):
        raise ValueError("match_skeleton: parents must come before their children (-1 for a root)")
    return parents, rest


def _candidates(infos: list[NameInfo], part: str, side: str | None) -> list[_Candidate]:
    tiers = dict(PART_SYNONYMS[part])
    return [
        _Candidate(i, tiers[info.key], info.decorations)
        for i, info in enumerate(infos)
        if not info.excluded and info.side == side and info.key in tiers
    ]


def _end_site(names: list[str], parents: np.ndarray, joint: int) -> int | None:
    """The end site the BVH reader names <joint>_end, if the joint has one."""
    wanted = f"{names[joint]}_end"
    for i in np.flatnonzero(parents == joint):
        if names[i] == wanted:
            return int(i)
    return None


def _chain_penalty(rest: np.ndarray, chain: tuple[int, int, int], limb: str, size: float) -> int:
    """How many length rules a chain breaks (-1 when a segment has no length: not a limb)."""
    a, b, c = (rest[i] for i in chain)
    lengths = np.linalg.norm(b - a), np.linalg.norm(c - b)
    if min(lengths) <= 1e-6 * size:
        return -1
    low, high = SEGMENT_RANGE[limb]
    penalty = sum(not (low <= length / size <= high) for length in lengths)
    return penalty + (max(lengths) / min(lengths) > MAX_SEGMENT_RATIO)


def _best_chain(
    names: list[str], infos: list[NameInfo], tree: _Tree, rest: np.ndarray, limb: str, side: str
) -> tuple[tuple[int, int, int] | None, dict[str, str], dict[str, list[str]]]:
    """The best chain for one limb and side, the fallback notes, and the candidates seen."""
    parts = LIMBS[limb]
    found = {part: _candidates(infos, part, side) for part in parts}
    seen = {part: [names[c.index] for c in found[part]] for part in parts}
    size = float(np.ptp(rest, axis=0).max()) or 1.0
    scored: list[tuple] = []
    for first in found[parts[0]]:
        for second in found[parts[1]]:
            steps1 = tree.steps_down(first.index, second.index)
            if steps1 is None:
                continue
            thirds = found[parts[2]]
            fallback = _end_site(names, tree.parents, second.index)
            options = [(c, None) for c in thirds]
            if fallback is not None:  # e.g. ReActIdle: no hand joint, the wrist ends the forearm
                options.append((_Candidate(fallback, FALLBACK_TIER, 0), names[second.index]))
            for third, via in options:
                steps2 = tree.steps_down(second.index, third.index)
                if steps2 is None:
                    continue
                chain = (first.index, second.index, third.index)
                penalty = _chain_penalty(rest, chain, limb, size)
                if penalty < 0:
                    continue
                score = (
                    first.tier + second.tier + third.tier,
                    penalty,
                    first.decorations + second.decorations + third.decorations,
                    steps1 + steps2,
                )
                scored.append((score, chain, via))
    if not scored:
        return None, {}, seen
    scored.sort(key=lambda s: s[0])
    best = scored[0]
    for other in scored[1:]:
        if other[0] != best[0]:
            break
        if np.abs(rest[list(other[1])] - rest[list(best[1])]).max() > 0.01 * size:
            chains = " and ".join(" -> ".join(names[i] for i in c[1]) for c in (best, other))
            raise SkeletonMatchError(
                f"ambiguous {side} {limb}: {chains} fit equally well; {TEMPLATE_HINT}"
            )
    notes = {}
    if best[2] is not None:
        notes[f"{side}_{parts[2]}"] = f"end site of {best[2]} (no {parts[2]} joint)"
    return best[1], notes, seen


def _find_head(
    names: list[str], infos: list[NameInfo], tree: _Tree, limb_joints: set[int]
) -> tuple[int | None, str | None]:
    """The head joint (top of the neck), or the neck's end site as a noted fallback."""

    def found(key: str, number: int | None) -> list[int]:
        return [
            i
            for i, info in enumerate(infos)
            if info.side is None
            and not info.excluded
            and info.key == key
            and (number is None or info.number == number)
            and not any(tree.steps_down(j, i) is not None for j in limb_joints)
        ]

    def best(joints: list[int]) -> int:
        return min(joints, key=lambda i: (infos[i].decorations, tree.depth[i]))

    for key, number in HEAD_KEYS:
        if heads := found(key, number):
            return best(heads), None
    for key, number in NECK_KEYS:
        ends = [
            e for i in found(key, number) if (e := _end_site(names, tree.parents, i)) is not None
        ]
        if ends:
            end = best(ends)
            return end, f"end site of {names[int(tree.parents[end])]} (no head joint)"
    return None, None


def _find_eyes(infos: list[NameInfo], tree: _Tree, head: int) -> tuple[int, int] | None:
    eyes = []
    for side in ("left", "right"):
        found = [
            c.index
            for c in _candidates(infos, "eye", side)
            if tree.steps_down(head, c.index) is not None
        ]
        if not found:
            return None
        eyes.append(min(found, key=lambda i: (infos[i].decorations, tree.depth[i])))
    return eyes[0], eyes[1]


def _convention(names: list[str]) -> str:
    bare_names = [bare(n) for n in names]
    scores = []
    for convention, markers in CONVENTIONS:
        hits = sum(any(re.fullmatch(m, n) for n in bare_names) for m in markers)
        scores.append((hits / len(markers), convention))
    best = max(scores, key=lambda s: s[0])  # first of equals: the table's order
    return best[1] if best[0] >= 0.5 else "generic"


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _snap(v: np.ndarray) -> np.ndarray | None:
    """The file axis within SNAP_DEGREES of unit vector v, else None."""
    k = int(np.argmax(np.abs(v)))
    if np.degrees(np.arccos(min(1.0, abs(v[k])))) > SNAP_DEGREES:
        return None
    axis = np.zeros(3)
    axis[k] = np.sign(v[k])
    return axis


def rest_axes(
    left_hip: np.ndarray, right_hip: np.ndarray, head: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(up, left, forward) unit vectors: x left, y up, z forward is right-handed (left x up = fwd)."""
    up = _unit(head - 0.5 * (left_hip + right_hip))
    left = left_hip - right_hip
    left = _unit(left - (left @ up) * up)
    up_axis, left_axis = _snap(up), _snap(left)
    if up_axis is not None and left_axis is not None and abs(up_axis @ left_axis) < 0.5:
        up, left = up_axis, left_axis
    elif up_axis is not None:
        up, left = up_axis, _unit(left - (left @ up_axis) * up_axis)
    elif left_axis is not None:
        left, up = left_axis, _unit(up - (up @ left_axis) * left_axis)
    return up, left, np.cross(left, up)


def match_skeleton(names: list[str], parents, rest) -> SkeletonMatch:
    """Find the 12 limb joints, head, eyes and rest axes of a skeleton; see the module doc.

    names: joint names (end sites named ``<parent>_end``); parents: parent index per joint, -1 for
    a root, parents first; rest: (J, 3) rest-pose positions in any axes and units.
    """
    names = list(names)
    parents, rest = _validate(names, parents, rest)
    tree = _Tree(parents)
    infos = [parse_name(n) for n in names]
    joints: dict[str, int] = {}
    notes: dict[str, str] = {}
    missing: list[str] = []
    seen: dict[str, list[str]] = {}
    for side in ("left", "right"):
        for limb, parts in LIMBS.items():
            chain, limb_notes, limb_seen = _best_chain(names, infos, tree, rest, limb, side)
            seen.update({f"{side}_{part}": v for part, v in limb_seen.items()})
            if chain is None:
                missing.extend(f"{side}_{part}" for part in parts)
                continue
            joints.update({f"{side}_{part}": i for part, i in zip(parts, chain, strict=True)})
            notes.update(limb_notes)
    head, head_note = _find_head(names, infos, tree, set(joints.values()))
    if head is None:
        missing.append("head")
        head_keys = {key for key, _ in HEAD_KEYS + NECK_KEYS}
        seen["head"] = [n for n, info in zip(names, infos, strict=True) if info.key in head_keys]
    if missing:
        listing = "; ".join(f"{j}: {', '.join(seen.get(j, [])) or 'none'}" for j in missing)
        raise SkeletonMatchError(
            f"cannot place {', '.join(missing)} (candidates that fit by name: {listing}; a limb's "
            f"joints must descend from one another); {TEMPLATE_HINT}"
        )
    if head_note:
        notes["head"] = head_note
    hips = rest[joints["left_hip"]] - rest[joints["right_hip"]]
    shoulders = rest[joints["left_shoulder"]] - rest[joints["right_shoulder"]]
    if hips @ shoulders <= 0:
        raise SkeletonMatchError(
            f"left and right disagree: the left hip ({names[joints['left_hip']]}) and the left "
            f"shoulder ({names[joints['left_shoulder']]}) lie on opposite sides of the body; "
            f"{TEMPLATE_HINT}"
        )
    up, left, forward = rest_axes(rest[joints["left_hip"]], rest[joints["right_hip"]], rest[head])
    return SkeletonMatch(
        names=tuple(names),
        convention=_convention(names),
        joints=joints,
        head=head,
        eyes=_find_eyes(infos, tree, head),
        up=up,
        forward=forward,
        left=left,
        notes=notes,
    )
