"""Baseline 2D→3D lifters, written from their papers, behind the same Lifter interface as MPM.

- `MartinezMLP`: Martinez, Hossain, Romero, Little, "A simple yet effective baseline for 3D human
  pose estimation" (ICCV 2017). Per frame: the 17×2 joints → Linear(1024) + BatchNorm + ReLU +
  Dropout(0.5), then residual blocks of two (Linear 1024, BatchNorm, ReLU, Dropout) layers each,
  then Linear → 3D. Two blocks, about 4 M parameters. (The paper's max-norm weight constraint is
  left to the optimiser's weight decay.)
- `TemporalConvLifter`: Pavllo, Feichtenhofer, Grangier, Auli, "3D human pose estimation in video
  with temporal convolutions and semi-supervised training" (VideoPose3D, CVPR 2019). An expand
  convolution (kernel 3) to C channels, then B residual blocks of (dilated conv kernel 3 with
  dilation 3^b, BatchNorm, ReLU, Dropout, 1×1 conv, BatchNorm, ReLU, Dropout) whose residual is
  the input sliced to the shorter output; receptive field 3^(B+1): 27 frames for B = 2, 81 for
  B = 3, 243 for B = 4. C = 512, B = 2 gives about 2.2 M parameters.
  To output every frame of a window (sequence to sequence), the input is padded in time by edge
  replication of (receptive field − 1)/2 frames on both sides, as VideoPose3D does at clip ends.

Both predict 16 joints relative to the pelvis and put the pelvis at 0 (root-relative output), and
neither sees confidences: missing and low-confidence joints are filled first by `fill_missing`,
the best simple way — linear interpolation in time — so that on occluded input they get the same
information MPM gets. Inputs are screen-normalised 2D (B, T, 17, 2); outputs camera-frame
root-relative 3D in metres (B, T, 17, 3). `forward` takes already-filled 2D (what training feeds);
`lift(pose2d, confidence)` is the Lifter interface.

Every constructor keyword is stored in `model.config`, so `build_baseline(model.kind,
**model.config)` rebuilds the architecture for a checkpoint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mpm_backend.skeleton import H36M17

ROOT = H36M17.index("pelvis")


def _gather_time(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (B, T, J, C) at time index (B, T, J) → (B, T, J, C)."""
    return torch.gather(values, 1, index.unsqueeze(-1).expand(*index.shape, values.shape[-1]))


def _interpolate_in_time(values: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of every joint from its nearest visible frames; ends hold.

    Joints never visible in the window come back as 0 (see `fill_missing`). The previous and next
    visible frame of every (frame, joint) come from a running max / min over time, so there is no
    loop over frames.
    """
    b, t, j = visible.shape
    time = torch.arange(t, device=values.device).view(1, t, 1).expand(b, t, j)
    prev = torch.where(visible, time, torch.full_like(time, -1)).cummax(dim=1).values
    after = torch.where(visible, time, torch.full_like(time, t))
    nxt = after.flip(1).cummin(dim=1).values.flip(1)
    has_prev, has_next = prev >= 0, nxt < t
    prev_c, next_c = prev.clamp(min=0), nxt.clamp(max=t - 1)
    before_v, after_v = _gather_time(values, prev_c), _gather_time(values, next_c)
    span = (next_c - prev_c).clamp(min=1).to(values.dtype)
    weight = ((time - prev_c).to(values.dtype) / span).unsqueeze(-1)
    between = before_v + weight * (after_v - before_v)
    filled = torch.where(
        (has_prev & has_next).unsqueeze(-1),
        between,
        torch.where(has_prev.unsqueeze(-1), before_v, after_v),
    )
    return torch.where((has_prev | has_next).unsqueeze(-1), filled, torch.zeros_like(filled))


def _fill_unseen_joints(
    filled: torch.Tensor, ever: torch.Tensor, parents: tuple[int, ...] | None
) -> torch.Tensor:
    """Joints never visible in a window: the root gets the mean of the seen joints, others their
    parent's (filled) position, i.e. a collapsed limb that the lifter sees as "no information"."""
    weights = ever.to(filled.dtype)[:, None, :, None]  # (B, 1, J, 1)
    count = weights.sum(dim=2, keepdim=True).clamp(min=1.0)
    centroid = (filled * weights).sum(dim=2, keepdim=True) / count  # (B, T, 1, C)
    if parents is None:
        return torch.where(ever[:, None, :, None], filled, centroid)
    columns: list[torch.Tensor] = []
    for joint, parent in enumerate(parents):
        fallback = centroid[:, :, 0] if parent < 0 else columns[parent]
        columns.append(torch.where(ever[:, None, joint, None], filled[:, :, joint], fallback))
    return torch.stack(columns, dim=2)


def fill_missing(
    pose2d: torch.Tensor, confidence: torch.Tensor, threshold: float = 0.0
) -> torch.Tensor:
    """Fill joints with confidence ≤ threshold (B, T, J, C) by interpolation over time per joint.

    A hidden joint between two visible frames of that joint is linearly interpolated between them;
    before its first or after its last visible frame it holds that nearest value. A joint never
    visible in the window is placed, in every frame, at its parent's filled position (the kinematic
    parent in H36M-17, whose parents come before their children), and a never-visible pelvis at the
    mean of the joints that were seen; a window with nothing visible stays all 0. Visible joints
    are returned unchanged. Values at hidden joints (0, NaN, anything) are never read.
    """
    if pose2d.ndim != 4 or confidence.shape != pose2d.shape[:3]:
        raise ValueError(
            f"pose2d must be (B, T, J, C) and confidence (B, T, J); got {tuple(pose2d.shape)} "
            f"and {tuple(confidence.shape)}"
        )
    visible = confidence > threshold
    values = torch.where(visible.unsqueeze(-1), pose2d, torch.zeros_like(pose2d))
    filled = _interpolate_in_time(values, visible)
    parents = H36M17.parents if pose2d.shape[2] == H36M17.num_joints else None
    return _fill_unseen_joints(filled, visible.any(dim=1), parents)


def _with_root(joints: torch.Tensor, root: int = ROOT) -> torch.Tensor:
    """(…, J − 1, 3) non-root joints → (…, J, 3) with the root at the origin."""
    zeros = torch.zeros_like(joints[..., :1, :])
    return torch.cat([joints[..., :root, :], zeros, joints[..., root:, :]], dim=-2)


class _BaselineLifter(nn.Module):
    """What both baselines share: config storage, the Lifter interface, filling of gaps."""

    kind = ""

    def __init__(
        self, own: dict, num_joints: int, max_frames: int, confidence_threshold: float
    ) -> None:
        """own: the subclass's hyperparameters; the config (what a checkpoint stores) is them
        followed by the keywords every baseline takes."""
        super().__init__()
        self.config = {
            **own,
            "num_joints": num_joints,
            "max_frames": max_frames,
            "confidence_threshold": confidence_threshold,
        }
        self.num_joints = num_joints
        self.max_frames = int(max_frames)
        self.confidence_threshold = float(confidence_threshold)

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """(B, T, 17, 2) screen-normalised 2D + (B, T, 17) confidence → (B, T, 17, 3) metres."""
        if pose2d.shape[1] > self.max_frames:
            raise ValueError(f"{pose2d.shape[1]} frames > max_frames {self.max_frames}")
        return self(fill_missing(pose2d, confidence, self.confidence_threshold))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


class _ResidualBlock(nn.Module):
    """Martinez et al.'s block: two (Linear, BatchNorm, ReLU, Dropout) with a skip around both."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(2):
            layers += [
                nn.Linear(width, width),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.Dropout(dropout),
            ]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class MartinezMLP(_BaselineLifter):
    """Per-frame residual MLP lifter (Martinez et al. 2017)."""

    kind = "martinez_mlp"

    def __init__(
        self,
        width: int = 1024,
        blocks: int = 2,
        dropout: float = 0.5,
        num_joints: int = H36M17.num_joints,
        max_frames: int = 243,
        confidence_threshold: float = 0.0,
    ) -> None:
        own = dict(width=width, blocks=blocks, dropout=dropout)
        super().__init__(own, num_joints, max_frames, confidence_threshold)
        self.stem = nn.Sequential(
            nn.Linear(num_joints * 2, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)
        )
        self.blocks = nn.Sequential(*[_ResidualBlock(width, dropout) for _ in range(blocks)])
        self.head = nn.Linear(width, (num_joints - 1) * 3)

    def forward(self, pose2d: torch.Tensor) -> torch.Tensor:
        """Filled 2D (B, T, J, 2) → root-relative 3D (B, T, J, 3); frames are independent."""
        b, t = pose2d.shape[:2]
        x = pose2d.reshape(b * t, self.num_joints * 2)
        out = self.head(self.blocks(self.stem(x)))
        return _with_root(out.reshape(b, t, self.num_joints - 1, 3))


class _TemporalBlock(nn.Module):
    """VideoPose3D block: dilated conv (kernel 3) then 1×1 conv, each BN + ReLU + Dropout."""

    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.trim = dilation  # a kernel-3 conv with this dilation shortens the sequence by 2·d
        self.layers = nn.Sequential(
            nn.Conv1d(channels, channels, 3, dilation=dilation, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, 1, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, self.trim : x.shape[2] - self.trim] + self.layers(x)


class TemporalConvLifter(_BaselineLifter):
    """Dilated temporal convolution lifter (VideoPose3D), sequence to sequence by edge padding."""

    kind = "tcn"

    def __init__(
        self,
        channels: int = 512,
        blocks: int = 2,
        dropout: float = 0.25,
        num_joints: int = H36M17.num_joints,
        max_frames: int = 243,
        confidence_threshold: float = 0.0,
    ) -> None:
        own = dict(channels=channels, blocks=blocks, dropout=dropout)
        super().__init__(own, num_joints, max_frames, confidence_threshold)
        self.stem = nn.Sequential(
            nn.Conv1d(num_joints * 2, channels, 3, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.blocks = nn.Sequential(
            *[_TemporalBlock(channels, 3**b, dropout) for b in range(1, blocks + 1)]
        )
        self.head = nn.Conv1d(channels, (num_joints - 1) * 3, 1)

    @property
    def receptive_field(self) -> int:
        """Frames one output sees: 3^(blocks + 1)."""
        return 3 ** (len(self.blocks) + 1)

    def forward(self, pose2d: torch.Tensor) -> torch.Tensor:
        """Filled 2D (B, T, J, 2) → root-relative 3D (B, T, J, 3) for every frame."""
        b, t = pose2d.shape[:2]
        x = pose2d.reshape(b, t, self.num_joints * 2).transpose(1, 2)
        pad = (self.receptive_field - 1) // 2
        x = F.pad(x, (pad, pad), mode="replicate")
        out = self.head(self.blocks(self.stem(x)))  # (B, (J − 1)·3, T)
        return _with_root(out.transpose(1, 2).reshape(b, t, self.num_joints - 1, 3))


BASELINES: dict[str, type[_BaselineLifter]] = {
    MartinezMLP.kind: MartinezMLP,
    TemporalConvLifter.kind: TemporalConvLifter,
}


def build_baseline(kind: str, **config: object) -> _BaselineLifter:
    """A baseline by kind ("martinez_mlp" or "tcn") with its constructor keywords."""
    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}; known: {', '.join(BASELINES)}")
    return BASELINES[kind](**config)
