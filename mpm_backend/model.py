"""MPM: masked pose modelling with 2D and 3D poses as two modalities of one representation.

After Zhang et al., "MPM: A Unified 2D-3D Human Pose Representation via Masked Pose Modeling"
(arXiv 2306.17201). Per frame, a modality's J joints are flattened and embedded by an MLP; hidden
joints are first replaced by that modality's learned mask token (so "not seen" is something the
model knows, not a zero coordinate). A shared trunk — a residual per-frame MLP ("spatial") and a
temporal transformer — turns the frames into the unified representation. MAE-style, frames dropped
from the input leave the trunk altogether and come back as a learned frame token plus position
embedding in front of each modality's decoder and head.

Every task is a masking pattern over the same network:
    lift          2D (+ confidence) → 3D                      modality "2d", output "3d"
    complete_2d   2D with hidden joints → full 2D              modality "2d", output "2d"
    complete_3d   3D with hidden joints → full 3D              modality "3d", output "3d"
Poses are screen-normalised 2D (see mpm_backend/screen.py) and root-relative camera-frame 3D
in metres. Output is sequence to sequence: every frame of the window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from mpm_backend.skeleton import H36M17

PELVIS = H36M17.index("pelvis")
MODALITY_CHANNELS = {"2d": 3, "3d": 3}  # 2D enters as (x, y, confidence)
OUTPUT_CHANNELS = {"2d": 2, "3d": 3}


def token_count(frames: int, frames_per_token: int) -> int:
    """Trunk tokens for `frames` frames: a ragged last token is padded, not dropped."""
    return -(-frames // frames_per_token)


@dataclass
class MPMConfig:
    num_joints: int = 17
    width: int = 256
    ffn: int = 512
    heads: int = 8
    depth: int = 4  # temporal transformer layers in the shared trunk
    decoder_depth: int = 1  # transformer layers in each modality's decoder
    max_frames: int = 81
    dropout: float = 0.1
    visibility_threshold: float = 0.2  # 2D joints with lower confidence become mask tokens
    center_2d: bool = False  # 2D enters centred on its visible joints, with centre and scale apart
    frames_per_token: int = 1  # consecutive frames merged into one trunk token (temporal patches)

    @property
    def max_tokens(self) -> int:
        return token_count(self.max_frames, self.frames_per_token)

    def to_dict(self) -> dict:
        return asdict(self)


def _transformer_layer(config: MPMConfig) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(
        d_model=config.width,
        nhead=config.heads,
        dim_feedforward=config.ffn,
        dropout=config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )


class PoseEmbedding(nn.Module):
    """One modality's per-frame embedding, with a learned per-joint mask token.

    With `center`, (x, y) are taken relative to the frame's visible joints' centre and divided by
    their spread, and the centre and log-spread enter as three extra inputs: the same information,
    but position and size no longer have to be learnt out of every joint's coordinates.
    """

    def __init__(self, num_joints: int, channels: int, width: int, center: bool = False):
        super().__init__()
        self.center = center
        self.mask_token = nn.Parameter(torch.zeros(num_joints, channels))
        self.mlp = nn.Sequential(
            nn.Linear(num_joints * channels + 3 * center, width), nn.GELU(), nn.Linear(width, width)
        )

    def forward(self, pose: torch.Tensor, visible: torch.Tensor | None) -> torch.Tensor:
        extra = None
        if self.center:
            pose, extra = _centred(pose, visible)
        if visible is not None:
            pose = torch.where(visible[..., None], pose, self.mask_token.to(pose.dtype))
        x = pose.flatten(-2)
        if extra is not None:
            x = torch.cat([x, extra], dim=-1)
        return self.mlp(x)


def _centred(pose: torch.Tensor, visible: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y, c) → ((x − cx)/s, (y − cy)/s, c) and (cx, cy, log s) per frame, over visible joints."""
    xy = pose[..., :2]
    w = torch.ones_like(xy[..., 0]) if visible is None else visible.to(xy.dtype)
    count = w.sum(-1, keepdim=True).clamp_min(1.0)
    centre = (xy * w[..., None]).sum(-2, keepdim=True) / count[..., None]
    spread = ((((xy - centre) ** 2).sum(-1) * w).sum(-1, keepdim=True) / count).sqrt()
    spread = spread.clamp_min(1e-3)
    rel = (xy - centre) / spread[..., None]
    extra = torch.cat([centre.squeeze(-2), spread.log()], dim=-1)
    return torch.cat([rel, pose[..., 2:]], dim=-1), extra


class SpatialBlock(nn.Module):
    """Residual per-frame MLP: mixes joints within a frame before time is looked at."""

    def __init__(self, width: int, ffn: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, ffn), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(x))


class ModalityDecoder(nn.Module):
    """Puts dropped frames back as a learned token, then decodes one modality's pose."""

    def __init__(self, config: MPMConfig, out_channels: int):
        super().__init__()
        self.frame_token = nn.Parameter(torch.zeros(config.width))
        self.position = nn.Parameter(torch.zeros(config.max_tokens, config.width))
        self.layers = nn.ModuleList(_transformer_layer(config) for _ in range(config.decoder_depth))
        self.norm = nn.LayerNorm(config.width)
        self.per_token = config.frames_per_token
        self.head = nn.Linear(config.width, self.per_token * config.num_joints * out_channels)
        self.num_joints, self.out_channels = config.num_joints, out_channels

    def forward(
        self, features: torch.Tensor, keep_index: torch.Tensor | None, tokens: int
    ) -> torch.Tensor:
        """(B, K, width) kept tokens → (B, tokens × frames_per_token, J, C) poses."""
        if keep_index is not None:  # scatter the kept tokens back among frame tokens
            batch = features.shape[0]
            full = self.frame_token.to(features.dtype).expand(batch, tokens, -1).clone()
            full.scatter_(1, keep_index[..., None].expand(-1, -1, features.shape[-1]), features)
            features = full
        x = features + self.position[:tokens]
        for layer in self.layers:
            x = layer(x)
        out = self.head(self.norm(x))  # (B, tokens, per_token × J × C)
        return out.unflatten(-1, (self.per_token, self.num_joints, self.out_channels)).flatten(1, 2)


class MPM(nn.Module):
    """The masked pose model: two embeddings, one shared trunk, two decoders."""

    kind = "mpm"

    def __init__(self, config: MPMConfig | None = None):
        super().__init__()
        self.config = config = config or MPMConfig()
        self.max_frames = config.max_frames
        self.embed = nn.ModuleDict(
            {
                m: PoseEmbedding(config.num_joints, c, config.width, config.center_2d and m == "2d")
                for m, c in MODALITY_CHANNELS.items()
            }
        )
        self.position = nn.Parameter(torch.zeros(config.max_tokens, config.width))
        if config.frames_per_token > 1:  # merges a token's frame embeddings (absent otherwise)
            self.merge = nn.Linear(config.frames_per_token * config.width, config.width)
        self.spatial = SpatialBlock(config.width, config.ffn, config.dropout)
        self.temporal = nn.ModuleList(_transformer_layer(config) for _ in range(config.depth))
        self.trunk_norm = nn.LayerNorm(config.width)
        self.decode = nn.ModuleDict(
            {m: ModalityDecoder(config, c) for m, c in OUTPUT_CHANNELS.items()}
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for p in (self.position, *(d.position for d in self.decode.values())):
            nn.init.trunc_normal_(p, std=0.02)
        for d in self.decode.values():
            nn.init.trunc_normal_(d.frame_token, std=0.02)
        for e in self.embed.values():
            nn.init.trunc_normal_(e.mask_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for d in self.decode.values():  # start from the mean pose, not from random limbs
            nn.init.zeros_(d.head.weight)

    def tokens(self, frames: int) -> int:
        return token_count(frames, self.config.frames_per_token)

    def encode(
        self,
        pose: torch.Tensor,
        modality: str,
        visible: torch.Tensor | None,
        keep_index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The unified representation (B, K, width) of the kept tokens (all when keep_index is None).

        A token is one frame, or with `frames_per_token` P > 1 P consecutive frames (the window's
        last frame repeated to fill the last token): P times fewer tokens through the trunk."""
        frames = pose.shape[1]
        if frames > self.max_frames:
            raise ValueError(f"window of {frames} frames exceeds the model's {self.max_frames}")
        x = self.embed[modality](pose, visible)
        per_token, tokens = self.config.frames_per_token, self.tokens(frames)
        if per_token > 1:
            pad = tokens * per_token - frames
            x = torch.cat([x, x[:, -1:].expand(-1, pad, -1)], dim=1) if pad else x
            x = self.merge(x.unflatten(1, (tokens, per_token)).flatten(2))
        x = x + self.position[:tokens]
        if keep_index is not None:
            x = torch.gather(x, 1, keep_index[..., None].expand(-1, -1, x.shape[-1]))
        x = self.spatial(x)
        for layer in self.temporal:
            x = layer(x)
        return self.trunk_norm(x)

    def forward(
        self,
        pose: torch.Tensor,
        modality: str,
        visible: torch.Tensor | None = None,
        keep_index: torch.Tensor | None = None,
        outputs: tuple[str, ...] = ("3d",),
    ) -> dict[str, torch.Tensor]:
        """pose (B, T, J, 3): 2D as (x, y, confidence) or 3D; visible (B, T, J) bool;
        keep_index (B, K) sorted indices of the tokens the trunk sees (MAE frame dropping; tokens
        are frames unless `frames_per_token` > 1). Returns each requested output for all T frames;
        3D is made root-relative."""
        features = self.encode(pose, modality, visible, keep_index)
        frames = pose.shape[1]
        result = {}
        for name in outputs:
            out = self.decode[name](features, keep_index, self.tokens(frames))[:, :frames]
            if name == "3d":
                out = out - out[..., PELVIS : PELVIS + 1, :]
            result[name] = out
        return result

    def visibility(self, confidence: torch.Tensor) -> torch.Tensor:
        return confidence > self.config.visibility_threshold

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """2D (B, T, J, 2) + confidence (B, T, J) → root-relative 3D (B, T, J, 3), metres."""
        return self.lift_and_complete(pose2d, confidence)[0]

    def lift_and_complete(
        self, pose2d: torch.Tensor, confidence: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """3D and the completed 2D (hidden joints filled in) from the same trunk passes."""

        def run(pose2d: torch.Tensor, confidence: torch.Tensor) -> dict[str, torch.Tensor]:
            x = torch.cat([pose2d, confidence[..., None]], dim=-1)
            return self(x, "2d", self.visibility(confidence), outputs=("3d", "2d"))

        out = self._phase_averaged(run, pose2d, confidence)
        return out["3d"], out["2d"]

    def complete_3d(self, pose3d: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """Root-relative 3D with hidden joints (visible False) → full 3D."""

        def run(pose3d: torch.Tensor, visible: torch.Tensor) -> dict[str, torch.Tensor]:
            return self(pose3d, "3d", visible, outputs=("3d",))

        return self._phase_averaged(run, pose3d, visible)["3d"]

    def _phase_averaged(self, run, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """`run` on (B, T, ...) inputs; with P > 1 frames per token and in eval mode, the mean of
        P runs whose token borders are shifted by 0 … P − 1 frames.

        A head writes a token's P frames together, so its poses can step where one token ends
        and the next begins (up to 47 mm a frame on a walk whose joints move about 10 mm a
        frame); shifted runs put the borders elsewhere and their mean has no steps. Costs P
        passes at inference; frame t < P − 1 is in t + 1 of them.
        """
        per_token = self.config.frames_per_token
        if self.training or per_token == 1:
            return run(*inputs)
        frames = inputs[0].shape[1]
        total: dict[str, torch.Tensor] = {}
        count = torch.zeros(frames, device=inputs[0].device)
        for shift in range(min(per_token, frames)):
            out = run(*(x[:, shift:] for x in inputs))
            for name, value in out.items():
                if name not in total:
                    total[name] = value.new_zeros((value.shape[0], frames, *value.shape[2:]))
                total[name][:, shift:] += value
            count[shift:] += 1
        per_frame = count.view(1, frames, 1, 1)  # every output is (B, T, J, C)
        return {name: value / per_frame.to(value.dtype) for name, value in total.items()}

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def mirror_joints(values: torch.Tensor) -> torch.Tensor:
    """Swap left and right joints of per-joint values (..., J), e.g. confidence or visibility."""
    return values[..., torch.as_tensor(H36M17.flip_permutation, device=values.device)]


def mirror_pose(pose: torch.Tensor) -> torch.Tensor:
    """The mirror image of a pose (..., J, C): x → −x and left ↔ right. Screen-normalised 2D (x
    spans [-1, 1]) and camera-frame 3D alike; its own inverse."""
    perm = torch.as_tensor(H36M17.flip_permutation, device=pose.device)
    out = pose[..., perm, :].clone()
    out[..., 0] = -out[..., 0]
    return out


def flip_2d(pose2d: torch.Tensor, confidence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mirror image of a 2D input and its confidence."""
    return mirror_pose(pose2d), mirror_joints(confidence)


class FlipAveraged(nn.Module):
    """Test-time augmentation: the mean of a lifter's output on the input and on its mirror image
    (mirrored back), in one batch of twice the size."""

    def __init__(self, lifter: nn.Module):
        super().__init__()
        self.lifter = lifter
        self.max_frames = lifter.max_frames

    @staticmethod
    def _averaged(method, pose: torch.Tensor, per_joint: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Each pose `method(pose, per_joint)` returns, averaged with its mirror run's."""
        both = method(
            torch.cat([pose, mirror_pose(pose)]), torch.cat([per_joint, mirror_joints(per_joint)])
        )
        outputs = both if isinstance(both, tuple) else (both,)
        halves = (output.chunk(2) for output in outputs)
        return tuple(0.5 * (direct + mirror_pose(mirrored)) for direct, mirrored in halves)

    def lift(self, pose2d: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        return self._averaged(self.lifter.lift, pose2d, confidence)[0]


class FlipAveragedMPM(FlipAveraged):
    """FlipAveraged for MPM: its completions are mirror-averaged too."""

    def lift_and_complete(
        self, pose2d: torch.Tensor, confidence: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self._averaged(self.lifter.lift_and_complete, pose2d, confidence)

    def complete_3d(self, pose3d: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        return self._averaged(self.lifter.complete_3d, pose3d, visible)[0]


def flip_averaged(lifter: nn.Module) -> FlipAveraged:
    """`lifter` with flip test-time augmentation on every operation it has."""
    return FlipAveragedMPM(lifter) if isinstance(lifter, MPM) else FlipAveraged(lifter)
