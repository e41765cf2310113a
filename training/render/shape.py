"""Seeded body parameters and the MakeHuman macro shape they give (numpy, no Blender).

MakeHuman's macro targets are blended by its own rules (MakeHuman 1.1 `human.py`): each target
is a corner of the (gender × age × muscle × weight [× height | proportions]) grid and its weight
is the product of the corner's per-axis weights; race targets weigh race × gender × age. The
parameters are MakeHuman's 0–1 sliders, so a body can be rebuilt in MakeHuman/MPFB from meta.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from itertools import product

import numpy as np

from training.render.assets import BODY_GROUP, BaseMesh, read_base_mesh, read_target

# MakeHuman's age slider: 0 → 1 year, 0.1875 → 10 years, 0.5 → 25 years, 1 → 90 years.
_AGE_MIN, _AGE_MID, _AGE_MAX = 1.0, 25.0, 90.0

# Clothing and skin palettes (linear-ish RGB 0–1); skin tones span light to dark.
SKIN_TONES = (
    (0.93, 0.78, 0.67),
    (0.87, 0.68, 0.55),
    (0.78, 0.58, 0.44),
    (0.66, 0.46, 0.33),
    (0.52, 0.35, 0.24),
    (0.38, 0.25, 0.17),
    (0.27, 0.18, 0.12),
)
HAIR_COLOURS = ((0.05, 0.04, 0.03), (0.25, 0.16, 0.08), (0.55, 0.40, 0.22), (0.7, 0.68, 0.65))


def age_slider(years: float) -> float:
    """MakeHuman's age slider value for an age in years."""
    if years <= _AGE_MID:
        return float(np.clip((years - _AGE_MIN) / (2 * (_AGE_MID - _AGE_MIN)), 0.0, 0.5))
    return float(np.clip(0.5 + (years - _AGE_MID) / (2 * (_AGE_MAX - _AGE_MID)), 0.5, 1.0))


@dataclass(frozen=True)
class BodyParams:
    """One person: MakeHuman sliders (0–1) plus colours. Defaults: MakeHuman's default adult."""

    gender: float = 0.5  # 0 female, 1 male
    age_years: float = 25.0
    muscle: float = 0.5
    weight: float = 0.5
    height: float = 0.5
    proportions: float = 0.5
    race: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)  # african, asian, caucasian
    skin: tuple[float, float, float] = SKIN_TONES[2]
    hair: tuple[float, float, float] = HAIR_COLOURS[1]
    shirt: tuple[float, float, float] = (0.2, 0.3, 0.6)
    trousers: tuple[float, float, float] = (0.15, 0.15, 0.2)
    shoes: tuple[float, float, float] = (0.1, 0.1, 0.1)
    sleeves: str = "short"  # "none" | "short" | "long"
    legs: str = "long"  # "shorts" | "long"
    stature_m: float | None = None  # soles to crown of the rest mesh, once measured

    def to_json(self) -> dict:
        return asdict(self)


def typical_stature(years: float, male: bool) -> float:
    """Mean standing height (m) for an age and sex: WHO-like growth to 17 years, then adult."""
    ages = (7.0, 12.0, 17.0)
    heights = (1.22, 1.50, 1.76) if male else (1.22, 1.51, 1.63)
    return float(np.interp(years, ages, heights))


def sample_body(rng: np.random.Generator) -> BodyParams:
    """A random person: a child (7–15 years, 20 %) or an adult (16–75), any build and sex.

    Stature is drawn from the population (sd 7 cm around the age and sex mean, 1.1–2.0 m) and
    MakeHuman's height slider solved to give it; the other sliders shape the build around it.
    """
    male = bool(rng.random() < 0.5)
    years = float(rng.uniform(7, 15) if rng.random() < 0.2 else rng.uniform(16, 75))

    def colour(low: float = 0.05, high: float = 0.9) -> tuple[float, float, float]:
        return tuple(float(c) for c in rng.uniform(low, high, size=3))

    params = BodyParams(
        gender=float(rng.uniform(0.75, 1.0) if male else rng.uniform(0.0, 0.25)),
        age_years=years,
        muscle=float(rng.uniform(0.2, 0.8)),
        weight=float(np.clip(rng.normal(0.5, 0.18), 0.1, 0.95)),
        proportions=float(rng.uniform(0.3, 1.0)),
        race=tuple(float(r) for r in rng.dirichlet([0.7, 0.7, 0.7])),
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        hair=HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
        shirt=colour(),
        trousers=colour(0.05, 0.6),
        shoes=colour(0.02, 0.5),
        sleeves=str(rng.choice(["none", "short", "long"], p=[0.15, 0.45, 0.4])),
        legs=str(rng.choice(["shorts", "long"], p=[0.3, 0.7])),
    )
    target = float(np.clip(rng.normal(typical_stature(years, male), 0.07), 1.1, 2.0))
    return with_stature(params, target)


def with_stature(params: BodyParams, metres: float) -> BodyParams:
    """The same person with MakeHuman's height slider solved (bisection) for a given stature."""
    mesh = read_base_mesh()
    low, high = 0.0, 1.0
    for _ in range(20):  # stature grows monotonically with the slider; 1e-6 of its range
        mid = 0.5 * (low + high)
        if stature(morph_vertices(replace(params, height=mid), mesh), mesh) < metres:
            low = mid
        else:
            high = mid
    solved = replace(params, height=0.5 * (low + high))
    return replace(solved, stature_m=stature(morph_vertices(solved, mesh), mesh))


def _pair(value: float, low: str, mid: str, high: str) -> dict[str, float]:
    """MakeHuman's three-point axis: low at 0, mid at 0.5, high at 1."""
    if value < 0.5:
        return {low: 1.0 - 2.0 * value, mid: 2.0 * value, high: 0.0}
    return {low: 0.0, mid: 2.0 - 2.0 * value, high: 2.0 * value - 1.0}


def _age_weights(value: float) -> dict[str, float]:
    if value < 0.5:
        young = max(0.0, (value - 0.1875) * 3.2)
        baby = max(0.0, 1.0 - value * 5.333)
        child = max(0.0, min(1.0, 5.333 * value) - young)
        return {"baby": baby, "child": child, "young": young, "old": 0.0}
    old = max(0.0, value * 2.0 - 1.0)
    return {"baby": 0.0, "child": 0.0, "young": 1.0 - old, "old": old}


def macro_target_weights(params: BodyParams) -> dict[str, float]:
    """Target file (relative to targets/) → weight, for every target with a non-zero weight."""
    gender = {"female": 1.0 - params.gender, "male": params.gender}
    age = _age_weights(age_slider(params.age_years))
    muscle = _pair(params.muscle, "minmuscle", "averagemuscle", "maxmuscle")
    weight = _pair(params.weight, "minweight", "averageweight", "maxweight")
    height = _pair(params.height, "minheight", "", "maxheight")
    proportions = _pair(params.proportions, "uncommonproportions", "", "idealproportions")
    total = sum(params.race)
    race = dict(
        zip(("african", "asian", "caucasian"), (r / total for r in params.race), strict=True)
    )
    out: dict[str, float] = {}
    for (g, wg), (a, wa) in product(gender.items(), age.items()):
        for r, wr in race.items():
            out[f"macrodetails/{r}-{g}-{a}.target.gz"] = wr * wg * wa
        for (m, wm), (w, ww) in product(muscle.items(), weight.items()):
            corner = f"{g}-{a}-{m}-{w}"
            base = wg * wa * wm * ww
            out[f"macrodetails/universal-{corner}.target.gz"] = base
            for h, wh in height.items():
                if h:
                    out[f"macrodetails/height/{corner}-{h}.target.gz"] = base * wh
            if a != "baby":  # MakeHuman has no baby proportions
                for p, wp in proportions.items():
                    if p:
                        out[f"macrodetails/proportions/{corner}-{p}.target.gz"] = base * wp
    return {name: w for name, w in out.items() if w > 1e-6}


def morph_vertices(params: BodyParams, mesh: BaseMesh | None = None) -> np.ndarray:
    """Every base-mesh vertex (helpers and joint cubes too) with the macro targets applied, metres."""
    mesh = mesh or read_base_mesh()
    vertices = mesh.vertices.copy()
    for name, w in macro_target_weights(params).items():
        index, offsets = read_target(name)
        np.add.at(vertices, index, w * offsets)
    return vertices


def stature(vertices: np.ndarray, mesh: BaseMesh | None = None) -> float:
    """Standing height of the rest mesh, soles to crown, metres (the body group's vertical extent)."""
    mesh = mesh or read_base_mesh()
    body = vertices[mesh.group_vertices(BODY_GROUP), 1]
    return float(body.max() - body.min())
