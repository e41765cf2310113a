"""World-space animation quality of a rig against the mocap it came from (numpy only).

What an animator sees on a retargeted rig, measured on H36M-17 joints in metres, Y up, at 30 fps:
the rig's joints (read back from its exported BVH) against the ground truth (the mocap clip the
2D track was made from). Each function takes (T, 17, 3) arrays; `devtools.quality_benchmark`
runs them. The rig is another size than the mocap person and stands in a world of its own (the
camera is unknown to the pipeline), so every comparison of positions either stays inside one
skeleton (the rig against its own floor and contacts) or first removes one rotation and a scale.
"""

from __future__ import annotations

import numpy as np

from mpm_backend.skeleton import H36M17

J = {name: i for i, name in enumerate(H36M17.joints)}
ANKLES = (J["left_ankle"], J["right_ankle"])
LIMB_ENDS = (J["left_wrist"], J["right_wrist"], J["left_ankle"], J["right_ankle"])
SWAP_PAIRS = ((J["left_wrist"], J["right_wrist"]), (J["left_ankle"], J["right_ankle"]))
# The 12 bones whose directions are compared: upper arms, forearms, thighs, shins (both sides),
# the hip and shoulder lines, the trunk (pelvis → thorax) and the neck (thorax → head).
BONES: tuple[tuple[str, int, int], ...] = tuple(
    (name, J[a], J[b])
    for name, a, b in (
        ("left upper arm", "left_shoulder", "left_elbow"),
        ("left forearm", "left_elbow", "left_wrist"),
        ("right upper arm", "right_shoulder", "right_elbow"),
        ("right forearm", "right_elbow", "right_wrist"),
        ("left thigh", "left_hip", "left_knee"),
        ("left shin", "left_knee", "left_ankle"),
        ("right thigh", "right_hip", "right_knee"),
        ("right shin", "right_knee", "right_ankle"),
        ("hip line", "right_hip", "left_hip"),
        ("shoulder line", "right_shoulder", "left_shoulder"),
        ("trunk", "pelvis", "thorax"),
        ("neck", "thorax", "head"),
    )
)
# Thighs and shins: where foot lock bends the lift (the rest it leaves alone).
LEG_BONES = tuple(i for i, (name, _, _) in enumerate(BONES) if name.endswith(("thigh", "shin")))
UP = 1  # Y

# Ground-truth foot contact: the ankle within CONTACT_HEIGHT_M of its clip-low height (its 5th
# percentile), horizontal speed under CONTACT_SPEED_M_S, for at least CONTACT_MIN_FRAMES frames.
CONTACT_HEIGHT_M = 0.05
CONTACT_SPEED_M_S = 0.3
CONTACT_MIN_FRAMES = 3
FLIP_DEG = 30.0  # a bone turning more than this between two frames is a flip
# Footprints of one foot spread less than this (metres, std) along a direction do not fix the
# ground's slope along it; it is taken as level there.
MIN_PLANE_SPREAD_M = 0.1
FOOTPRINT_LOW = 10  # percentile of the ankle's height over a contact taken as its footprint's
# Left/right swaps are judged only where the truth's two sides are this far apart (leg lengths).
MIN_SIDE_GAP = 0.1
# A mocap foot moving faster than this (cm/frame, in the rig's size; 0.9 m/s at 30 fps) swings;
# a rig foot slower than HELD_CM meanwhile is held by a contact that is not there.
SWING_CM = 3.0
HELD_CM = 0.2


def horizontal_speed(points: np.ndarray) -> np.ndarray:
    """(T, ...) horizontal speed of (T, ..., 3) points, metres per frame (frame 0: frame 1's)."""
    step = np.diff(points, axis=0)
    speed = np.linalg.norm(step[..., [0, 2]], axis=-1)
    return np.concatenate([speed[:1], speed]) if len(speed) else np.zeros(points.shape[:-1])


def _runs_at_least(mask: np.ndarray, length: int) -> np.ndarray:
    """The mask (T,) with runs of True shorter than `length` turned off."""
    out = np.zeros_like(mask, dtype=bool)
    for start, stop in contact_runs(mask):
        if stop - start >= length:
            out[start:stop] = True
    return out


def contacts(truth: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """(T, 2) bool: frames where the ground truth's left / right ankle is planted."""
    out = np.zeros((len(truth), len(ANKLES)), dtype=bool)
    for k, ankle in enumerate(ANKLES):
        height = truth[:, ankle, UP]
        low = np.percentile(height, 5)
        slow = horizontal_speed(truth[:, ankle]) * fps < CONTACT_SPEED_M_S
        out[:, k] = _runs_at_least((height < low + CONTACT_HEIGHT_M) & slow, CONTACT_MIN_FRAMES)
    return out


def contact_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a (T,) mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True)
    )


def footprints(joints: np.ndarray, contact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One point per contact (a run of contact frames of one ankle), (N, 3): the ankle's median
    position over the run, at its lowest height there (the run's FOOTPRINT_LOW percentile: a
    planted foot rolls, and the ankle is highest at heel strike and toe-off); and which ankle
    (N,) it is (0 left, 1 right)."""
    points, sides = [], []
    for k, ankle in enumerate(ANKLES):
        for start, stop in contact_runs(contact[:, k]):
            point = np.median(joints[start:stop, ankle], axis=0)
            point[UP] = np.percentile(joints[start:stop, ankle, UP], FOOTPRINT_LOW)
            points.append(point)
            sides.append(k)
    return np.array(points).reshape(-1, 3), np.array(sides, dtype=int)


def fit_ground(points: np.ndarray, sides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ground under (N, 3) footprints: its height gradient (2,) along (x, z), and one height
    (2,) per ankle at the origin, so that ankle k stands at `heights[k] + gradient @ (x, z)`.

    Each ankle gets its own height (a skeleton's two ankles need not sit equally high above the
    floor), so the gradient comes from how each foot's footprints rise and fall as it travels.
    Along directions in which the footprints spread less than MIN_PLANE_SPREAD_M (std) the
    ground is taken as level: a straight walk fixes the slope along its line, not across it.
    """
    points = np.asarray(points, dtype=np.float64)
    sides = np.asarray(sides)
    xz, y = points[:, [0, 2]], points[:, UP]
    means = {k: (xz[sides == k].mean(axis=0), y[sides == k].mean()) for k in np.unique(sides)}
    centred = np.concatenate([xz[sides == k] - means[k][0] for k in means])
    rise = np.concatenate([y[sides == k] - means[k][1] for k in means])
    spread, axes = np.linalg.eigh(centred.T @ centred / max(len(points), 1))
    keep = np.sqrt(np.maximum(spread, 0.0)) >= MIN_PLANE_SPREAD_M
    gradient = np.zeros(2)
    if keep.any():
        along = centred @ axes[:, keep]
        gradient = axes[:, keep] @ np.linalg.lstsq(along, rise, rcond=None)[0]
    level = np.mean([m[1] - gradient @ m[0] for m in means.values()])
    heights = np.array(
        [means[k][1] - gradient @ means[k][0] if k in means else level for k in (0, 1)]
    )
    return gradient, heights


def slope_deg(gradient: np.ndarray) -> float:
    """The ground's angle from level (its normal's from vertical), degrees."""
    return float(np.degrees(np.arctan(np.linalg.norm(gradient))))


def below_ground(joints: np.ndarray, gradient: np.ndarray, heights: np.ndarray) -> float:
    """How far (m) an ankle goes below its ground height (`fit_ground`) in any frame."""
    depth = [
        heights[k] + joints[:, ankle][:, [0, 2]] @ gradient - joints[:, ankle, UP]
        for k, ankle in enumerate(ANKLES)
    ]
    return float(max(np.max(depth), 0.0)) if len(joints) else 0.0


def below_floor(lowest: np.ndarray, floor: float) -> float:
    """How far (m) a skeleton's lowest point in any frame (a foot's toe or heel, not the ankle
    joint: a kicking foot sweeps its ankle below its standing height without touching the
    floor) goes below its floor."""
    lowest = np.asarray(lowest, dtype=np.float64)
    return float(max(floor - np.min(lowest), 0.0)) if lowest.size else float("nan")


def contact_speed_cm(joints: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Horizontal ankle speed (cm per frame) of `joints` in the truth's contact frames, pooled."""
    speed = horizontal_speed(joints[:, list(ANKLES)]) * 100.0
    return speed[contact]


def held_in_swing_pct(rig: np.ndarray, truth: np.ndarray, scale: float) -> float:
    """% of the mocap's swinging foot-frames (SWING_CM) in which the rig's foot stands still
    (HELD_CM): a foot lock that holds a stepping foot. ``scale``: rig metres per truth metre."""
    feet = list(ANKLES)
    swinging = horizontal_speed(truth[:, feet]) * 100.0 * scale > SWING_CM
    held = horizontal_speed(rig[:, feet]) * 100.0 < HELD_CM
    return 100.0 * float((swinging & held).sum()) / swinging.sum() if swinging.any() else 0.0


def mean_accel_mm(points: np.ndarray) -> float:
    """Mean |second difference| of (T, ..., 3) points, mm per frame²."""
    if len(points) < 3:
        return float("nan")
    return float(np.linalg.norm(np.diff(points, n=2, axis=0), axis=-1).mean() * 1000.0)


def limb_accel_mm(joints: np.ndarray) -> float:
    """Mean acceleration of wrists and ankles relative to the pelvis, mm/frame²."""
    return mean_accel_mm(joints[:, list(LIMB_ENDS)] - joints[:, :1])


def root_accel_mm(joints: np.ndarray) -> float:
    """Mean acceleration of the pelvis's world trajectory, mm/frame²."""
    return mean_accel_mm(joints[:, 0])


def leg_length(joints: np.ndarray) -> float:
    """Median thigh + shin of both legs, averaged, metres (a skeleton's size)."""
    total = 0.0
    for hip, knee, ankle in (
        ("left_hip", "left_knee", "left_ankle"),
        ("right_hip", "right_knee", "right_ankle"),
    ):
        thigh = np.linalg.norm(joints[:, J[hip]] - joints[:, J[knee]], axis=-1)
        shin = np.linalg.norm(joints[:, J[knee]] - joints[:, J[ankle]], axis=-1)
        total += float(np.median(thigh) + np.median(shin))
    return total / 2.0


def bone_directions(joints: np.ndarray) -> np.ndarray:
    """(T, 12, 3) unit directions of BONES."""
    vectors = np.stack([joints[:, b] - joints[:, a] for _, a, b in BONES], axis=1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation R (3, 3) that best maps (N, 3) source vectors onto target ones: R @ s ≈ t."""
    u, _, vt = np.linalg.svd(target.T @ source)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    return u @ np.diag([1.0, 1.0, d]) @ vt


def align_rotation(rig: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """One rotation for the whole clip, rig → truth, from every frame's bone directions."""
    return kabsch(bone_directions(rig).reshape(-1, 3), bone_directions(truth).reshape(-1, 3))


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles between unit vectors (..., 3), degrees."""
    return np.degrees(np.arccos(np.clip((a * b).sum(axis=-1), -1.0, 1.0)))


def bone_errors_deg(rig: np.ndarray, truth: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(T, 12) angle between the rotated rig's bones and the truth's, degrees."""
    return angle_deg(bone_directions(rig) @ rotation.T, bone_directions(truth))


def flip_frames(joints: np.ndarray, limit_deg: float = FLIP_DEG) -> int:
    """Frames in which some bone turns more than `limit_deg` since the previous frame."""
    d = bone_directions(joints)
    if len(d) < 2:
        return 0
    return int((angle_deg(d[1:], d[:-1]) > limit_deg).any(axis=1).sum())


def swap_frames(rig: np.ndarray, truth: np.ndarray, rotation: np.ndarray) -> int:
    """Frames where the rig's left and right wrists or ankles sit nearer the truth's other side.

    Both skeletons are made pelvis-relative and scaled to a unit leg length; the rig is rotated
    by `rotation` (its alignment onto the truth). Frames where the truth's pair is closer than
    MIN_SIDE_GAP leg lengths (legs passing each other) are not judged.
    """
    rig_rel = (rig - rig[:, :1]) / leg_length(rig) @ rotation.T
    truth_rel = (truth - truth[:, :1]) / leg_length(truth)
    swapped = np.zeros(len(rig), dtype=bool)
    for left, right in SWAP_PAIRS:
        same = np.linalg.norm(rig_rel[:, left] - truth_rel[:, left], axis=-1) + np.linalg.norm(
            rig_rel[:, right] - truth_rel[:, right], axis=-1
        )
        crossed = np.linalg.norm(rig_rel[:, left] - truth_rel[:, right], axis=-1) + np.linalg.norm(
            rig_rel[:, right] - truth_rel[:, left], axis=-1
        )
        apart = np.linalg.norm(truth_rel[:, left] - truth_rel[:, right], axis=-1) >= MIN_SIDE_GAP
        swapped |= (crossed < same) & apart
    return int(swapped.sum())


def varying_channels(
    motion: np.ndarray, channels: list[list[str]], names: list[str], tol: float = 1e-3
):
    """(names of joints whose channels change over the clip, names of joints that have channels)."""
    keyed, moving = [], []
    column = 0
    for name, joint_channels in zip(names, channels, strict=True):
        width = len(joint_channels)
        if width:
            keyed.append(name)
            values = motion[:, column : column + width]
            if len(values) and np.ptp(values, axis=0).max() > tol:
                moving.append(name)
        column += width
    return moving, keyed


def percentile(values: np.ndarray, q: float) -> float:
    values = np.asarray(values, dtype=np.float64).ravel()
    return float(np.percentile(values, q)) if values.size else float("nan")


def measure(
    truth: np.ndarray,
    rig: np.ndarray,
    rig_floor: float,
    rig_ankle: float,
    truth_floor: float = 0.0,
    fps: float = 30.0,
    rig_hip: float | None = None,
    lowest: tuple[np.ndarray, np.ndarray] | None = None,
    feet_lowest: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of one clip: the rig's joints against the truth's, both (T, 17, 3), Y up.

    rig_floor / truth_floor: the height each skeleton stands on (the rig's rest pose's lowest
    point; the mocap floor); rig_ankle, rig_hip: the rig's rest ankle and pelvis heights above
    its floor (rig_hip None: the truth's standing hip height scaled by the legs' lengths). The
    start hip height expected of the rig is its standing hip height times the truth's first-frame
    pelvis height over the truth's standing hip height (leg length plus its ankles' low height).
    lowest: (T,) each frame's lowest point of the rig and of the truth (every joint and end
    site: toes, heels), for the feet below the floor; None leaves that measure out.
    feet_lowest: (T, 2) the rig's left and right foot's lowest point (toes, heel), for how far
    a planted foot floats over its floor in the truth's contacts (a foot held flat while its
    ankle rises); None leaves it out (the truth's is not measured).
    Keys ending in `_truth` are the same measure on the ground truth.
    """
    contact = contacts(truth, fps)
    scale = leg_length(rig) / leg_length(truth)  # rig metres per truth metre
    out: dict[str, float] = {"frames": float(len(truth)), "contact_frames": float(contact.sum())}
    truth_ankle = float(np.percentile(truth[:, list(ANKLES), UP], 5)) - truth_floor
    lows = (None, None) if lowest is None else lowest
    for label, joints, floor, ankle, low in (
        ("", rig, rig_floor, rig_ankle, lows[0]),
        ("_truth", truth, truth_floor, truth_ankle, lows[1]),
    ):
        if low is not None:
            out[f"below_floor_m{label}"] = below_floor(low[: len(joints)], floor)
        points, sides = footprints(joints, contact)
        out[f"footprints{label}"] = float(len(points))
        if len(points):
            gradient, heights = fit_ground(points, sides)
            out[f"ground_slope_deg{label}"] = slope_deg(gradient)
            out[f"below_ground_m{label}"] = below_ground(joints, gradient, heights)
        else:
            out[f"ground_slope_deg{label}"] = out[f"below_ground_m{label}"] = float("nan")
        planted = points[:, UP] - floor - ankle  # each footprint above the skeleton's standing
        out[f"contact_height_m{label}"] = percentile(planted, 50)
        speed = contact_speed_cm(joints, contact)
        out[f"contact_speed_median_cm{label}"] = percentile(speed, 50)
        out[f"contact_speed_p95_cm{label}"] = percentile(speed, 95)
        out[f"limb_accel_mm{label}"] = limb_accel_mm(joints)
        out[f"root_accel_mm{label}"] = root_accel_mm(joints)
        out[f"flips_per_1000{label}"] = 1000.0 * flip_frames(joints) / max(len(joints) - 1, 1)
    # Accelerations of the rig in the truth's size, so the ratios compare like with like.
    out["limb_accel_ratio"] = out["limb_accel_mm"] / scale / out["limb_accel_mm_truth"]
    out["root_accel_ratio"] = out["root_accel_mm"] / scale / out["root_accel_mm_truth"]
    truth_standing = leg_length(truth) + truth_ankle
    standing = truth_standing * scale if rig_hip is None else rig_hip
    out["rig_standing_hip_m"] = float(standing)
    out["start_hip_truth_ratio"] = float((truth[0, 0, UP] - truth_floor) / truth_standing)
    out["start_hip_m"] = float(rig[0, 0, UP] - rig_floor)
    out["start_hip_expected_m"] = standing * out["start_hip_truth_ratio"]
    out["start_hip_error_m"] = out["start_hip_m"] - out["start_hip_expected_m"]
    out["leg_scale"] = float(scale)
    out["held_in_swing_pct"] = held_in_swing_pct(rig, truth, scale)
    if feet_lowest is not None:
        over = (np.asarray(feet_lowest)[: len(rig)] - rig_floor)[contact[: len(rig)]]
        out["planted_foot_over_floor_cm"] = percentile(over * 100.0, 95)
        out["planted_foot_over_floor_cm_truth"] = float("nan")
    rotation = align_rotation(rig, truth)
    errors = bone_errors_deg(rig, truth, rotation)
    out["bone_error_median_deg"] = percentile(errors, 50)
    out["bone_error_p90_deg"] = percentile(errors, 90)
    legs = np.isin(np.arange(errors.shape[1]), LEG_BONES)
    out["leg_bone_error_median_deg"] = percentile(errors[:, legs], 50)
    out["other_bone_error_median_deg"] = percentile(errors[:, ~legs], 50)
    out["swap_frames"] = float(swap_frames(rig, truth, rotation))
    out["swaps_per_1000"] = 1000.0 * out["swap_frames"] / max(len(rig), 1)
    return out
