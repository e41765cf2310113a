"""The training config as types: one dataclass per YAML section, each default written once.

A YAML file (training/configs/*.yaml) and `--set key.sub=value` overrides become a
`TrainConfig`; a key no dataclass has is an error naming the valid ones, so a typo cannot be
silently ignored. The model section stays a dict because its keys depend on `kind`; its defaults
are the model's own (`MPMConfig`, the baselines' constructors). Checkpoints store
`asdict(config)`, the same plain dict older checkpoints hold.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from mpm_backend.baselines import BASELINES
from mpm_backend.model import MPMConfig
from training.data.bodies import BodyConfig, DetectorConfig
from training.data.corruption import NoiseConfig

STAGES = ("pretrain", "finetune", "adapt")


@dataclass
class DetectedConfig:
    """Real-detector windows (`python -m training.detected build`) mixed into the adapt
    stage's batches."""

    cache: str  # python -m training.detected build --out DIR
    share: float = 0.2  # of each batch
    clips: int = 90  # the cache `training.retrain` builds before adapting (~1 clip a minute)


@dataclass
class DataConfig:
    """Which clips, and how training windows are augmented; a null subsection turns it off."""

    cache: str = "cache/clips"  # python -m training.data build --out cache/clips
    stride: int = 20  # frames between window starts
    mirror_prob: float = 0.5
    noise: NoiseConfig | None = field(default_factory=NoiseConfig)  # detector-like 2D noise
    bodies: BodyConfig | None = None  # a new person per window (docs/data.md "Bodies")
    detector: DetectorConfig | None = None  # hips, shoulders, head where 2D detectors mark them
    source_shares: dict[str, float] | None = None  # a source's share of the draws
    detected: DetectedConfig | None = None


@dataclass
class Stage:
    """What both stages share: the optimiser, the schedule and an optional wall-clock budget."""

    steps: int = 1500
    batch_size: int = 32
    lr: float = 1.0e-3  # peak of the warm-up + cosine schedule
    warmup: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    # Set, the schedule ends with the budget rather than the steps: every model gets equal time.
    minutes: float | None = None


@dataclass
class PretrainWeights:
    mask2d: float = 4.0  # 2D errors are in screen units, about a quarter of the metres' scale
    lift: float = 1.0
    mask3d: float = 1.0


@dataclass
class FinetuneWeights:
    lift: float = 1.0
    complete2d: float = 4.0
    complete3d: float = 0.5


@dataclass
class PretrainConfig(Stage):
    """The paper's pretext tasks: masked 2D → 2D, 2D → 3D and masked 3D → 3D."""

    frame_mask_ratio: float = 0.6  # the paper's 60 % of frames ...
    joints_per_frame: int = 5  # ... and 5 of 17 joints in each frame kept
    loss_weights: PretrainWeights = field(default_factory=PretrainWeights)


@dataclass
class FinetuneConfig(Stage):
    """Lifting from detector-like, sometimes occluded 2D, with 2D and 3D completion beside it."""

    occlusion_prob: float = 0.5  # share of samples with a limb tube (+ random joints) hidden
    complete3d_fraction: float = 1.0  # 3D completion costs a second pass: on this share of a batch
    loss_weights: FinetuneWeights = field(default_factory=FinetuneWeights)


@dataclass
class AdaptConfig(FinetuneConfig):
    """Fine-tuning again, from the fine-tuned model, with real-detector windows
    (`data.detected`) in every batch: a short, gentle stage, so the synthetic accuracy stays."""

    steps: int = 4000  # ~20 minutes on the 2-core CPU
    lr: float = 2.0e-4
    warmup: int = 50


@dataclass
class TrainConfig:
    """A whole training config: the model, its data and its stages."""

    seed: int = 0
    model: dict = field(default_factory=lambda: {"kind": "mpm"})  # kind + its keyword arguments
    data: DataConfig = field(default_factory=DataConfig)
    checkpoint_every: int = 200  # steps between resumable checkpoints
    validate_every: int = 500  # steps between val-error log entries
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)

    def __post_init__(self) -> None:
        self.model = model_section(self.model)

    @property
    def window(self) -> int:
        """Frames per training window: the model's own length."""
        return int(self.model["max_frames"])

    def stage(self, name: str) -> Stage:
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}; valid stages: {', '.join(STAGES)}")
        return getattr(self, name)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return build(cls, values, "")


def model_defaults(kind: str) -> dict:
    """The keyword arguments a model kind takes, with their defaults (the model's own)."""
    if kind == "mpm":
        return asdict(MPMConfig())
    if kind not in BASELINES:
        raise ValueError(f"unknown model kind {kind!r}; valid kinds: mpm, {', '.join(BASELINES)}")
    parameters = inspect.signature(BASELINES[kind].__init__).parameters
    return {n: p.default for n, p in parameters.items() if n != "self"}


def model_section(values: dict) -> dict:
    """The model section with the kind's defaults filled in; an unknown key is an error."""
    kind = values.get("kind", "mpm")
    defaults = model_defaults(kind)
    _check_keys(values, {"kind", *defaults}, "model")
    return {"kind": kind, **defaults, **{k: v for k, v in values.items() if k != "kind"}}


def build(kind: type, values: dict, where: str):
    """A config dataclass from a YAML mapping, its subsections built the same way."""
    if not isinstance(values, dict):
        raise ValueError(f"{where or 'the config'} must be a mapping, got {values!r}")
    names = {f.name for f in dataclasses.fields(kind)}
    _check_keys(values, names, where)
    hints = typing.get_type_hints(kind)
    built = {}
    for name, value in values.items():
        section = _dataclass_in(hints[name])
        path = f"{where}.{name}" if where else name
        if section is not None and value is not None:
            built[name] = build(section, value, path)
        else:
            built[name] = tuple(value) if isinstance(value, list) else value
    return kind(**built)


def _dataclass_in(hint) -> type | None:
    """The dataclass a field holds (`X` or `X | None`), or None for a plain value."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return next((o for o in options if dataclasses.is_dataclass(o)), None)


def _check_keys(values: dict, valid: set[str], where: str) -> None:
    unknown = sorted(set(values) - valid)
    if unknown:
        place = f"in {where}" if where else "at the top level"
        raise ValueError(
            f"unknown config key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} {place}; "
            f"valid keys: {', '.join(sorted(valid))}"
        )


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    """YAML config plus `key.sub=value` overrides from the command line."""
    config = yaml.safe_load(Path(path).read_text()) or {}
    for item in overrides:
        key, _, value = item.partition("=")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            if node.get(part) is None:  # absent, or switched off in the YAML: on with defaults
                node[part] = {}
            node = node[part]
        node[leaf] = _scalar(value)
    return TrainConfig.from_dict(config)


def _scalar(text: str):
    """A YAML value, with `1e-3` read as a number (YAML 1.1 wants `1.0e-3`, users do not)."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value
