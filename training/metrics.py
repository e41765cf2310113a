"""3D pose metrics with their standard definitions, in millimetres, numpy only.

Inputs are joint positions in metres, shaped (T, J, 3) for a sequence or (N, J, 3) for a set of
frames; outputs are millimetres (PCK and AUC in %). Every metric takes an optional boolean mask
(T, J) that selects which joint-frames are scored, e.g. only the joints hidden from a model when
measuring how well it completes them. A metric with nothing to score returns NaN.

- MPJPE (protocol 1): mean Euclidean joint error, no alignment (poses are root-relative).
- P-MPJPE (protocol 2): per frame, the prediction is aligned to the truth by the similarity
  transform (rotation, translation, uniform scale) that minimises the squared error (Umeyama /
  orthogonal Procrustes, with the reflection fix so the rotation is proper), then MPJPE.
- N-MPJPE: per frame, the prediction is scaled by the least-squares factor
  s = <pred, gt> / <pred, pred> (no rotation, no translation: poses are root-relative), then MPJPE.
- MPJVE: mean error of the per-frame joint velocities, v_t = x_{t+1} − x_t, in mm per frame
  (multiply by the frame rate for mm/s). Consecutive frames only: pass one sequence at a time.
- Acceleration error: the same for second differences x_{t+2} − 2 x_{t+1} + x_t, mm per frame².
- PCK@150 mm: share of joint errors ≤ 150 mm, in %.
- AUC: mean PCK over 31 thresholds 0, 5, …, 150 mm (as in the MPI-INF-3DHP literature), in %.

With a mask, Procrustes and scale alignment are still estimated on all joints of the frame (the
mask chooses which errors count, not what the alignment sees); a velocity counts where the joint
is selected in both frames, an acceleration where it is selected in all three.

`errors` gives the per-joint error arrays these means come from, so an evaluator can pool many
sequences frame-weighted without mixing frames of different sequences in the differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mpm_backend.skeleton import H36M17

MM_PER_M = 1000.0
PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.linspace(0.0, 150.0, 31)


def _check_pair(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"pred and gt must both be (N, J, 3); got {pred.shape} and {gt.shape}")
    return pred, gt


def _check_mask(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != shape:
        raise ValueError(f"mask must be {shape}, got {mask.shape}")
    return mask


def _masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Errors where the mask selects them, NaN elsewhere (so nanmean skips them)."""
    return np.where(mask, values, np.nan)


def _nanmean(values: np.ndarray) -> float:
    finite = ~np.isnan(values)
    return float(values[finite].mean()) if finite.any() else float("nan")


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J) Euclidean distance per joint, mm."""
    pred, gt = _check_pair(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1) * MM_PER_M


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per frame, the similarity transform of pred closest to gt (least squares), applied to pred.

    Umeyama's solution: centre both, H = Xᵀ Y = U S Vᵀ, R = V D Uᵀ with D = diag(1, 1, det(V Uᵀ))
    so R is a rotation (no mirror image), s = tr(S D) / ‖X‖², t = ȳ − s R x̄.
    """
    pred, gt = _check_pair(pred, gt)
    mu_pred = pred.mean(axis=1, keepdims=True)
    mu_gt = gt.mean(axis=1, keepdims=True)
    x = pred - mu_pred
    y = gt - mu_gt
    h = np.einsum("nji,njk->nik", x, y)
    u, s, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))
    sign = np.where(sign == 0, 1.0, sign)
    d = np.ones_like(s)
    d[:, 2] = sign
    rotation = v @ (d[:, :, None] * np.swapaxes(u, -1, -2))
    norm_x = (x**2).sum(axis=(1, 2))
    scale = np.where(norm_x > 0, (s * d).sum(axis=1) / np.where(norm_x > 0, norm_x, 1.0), 0.0)
    return scale[:, None, None] * x @ np.swapaxes(rotation, -1, -2) + mu_gt


def scale_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per frame, pred scaled by the least-squares factor <pred, gt> / <pred, pred>."""
    pred, gt = _check_pair(pred, gt)
    dot = (pred * gt).sum(axis=(1, 2))
    norm = (pred * pred).sum(axis=(1, 2))
    scale = np.where(norm > 0, dot / np.where(norm > 0, norm, 1.0), 0.0)
    return scale[:, None, None] * pred


def velocity_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N − 1, J) error of first differences, mm per frame."""
    pred, gt = _check_pair(pred, gt)
    return np.linalg.norm(np.diff(pred, axis=0) - np.diff(gt, axis=0), axis=-1) * MM_PER_M


def acceleration_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N − 2, J) error of second differences, mm per frame²."""
    pred, gt = _check_pair(pred, gt)
    return np.linalg.norm(np.diff(pred, 2, axis=0) - np.diff(gt, 2, axis=0), axis=-1) * MM_PER_M


def errors(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Every per-joint error array of one sequence, NaN where the mask leaves a joint out.

    Keys: "mpjpe", "p_mpjpe", "n_mpjpe" (N, J); "mpjve" (N − 1, J); "accel" (N − 2, J).
    """
    pred, gt = _check_pair(pred, gt)
    mask = _check_mask(mask, pred.shape[:2])
    return {
        "mpjpe": _masked(joint_errors(pred, gt), mask),
        "p_mpjpe": _masked(joint_errors(procrustes_align(pred, gt), gt), mask),
        "n_mpjpe": _masked(joint_errors(scale_align(pred, gt), gt), mask),
        "mpjve": _masked(velocity_errors(pred, gt), mask[1:] & mask[:-1]),
        "accel": _masked(acceleration_errors(pred, gt), mask[2:] & mask[1:-1] & mask[:-2]),
    }


def mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean per-joint position error, mm."""
    pred, gt = _check_pair(pred, gt)
    return _nanmean(_masked(joint_errors(pred, gt), _check_mask(mask, pred.shape[:2])))


def p_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """MPJPE after per-frame Procrustes alignment (rotation, translation, scale), mm."""
    pred, gt = _check_pair(pred, gt)
    return mpjpe(procrustes_align(pred, gt), gt, mask)


def n_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """MPJPE after per-frame least-squares scaling, mm."""
    pred, gt = _check_pair(pred, gt)
    return mpjpe(scale_align(pred, gt), gt, mask)


def mpjve(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean per-joint velocity error of one sequence, mm per frame (× fps for mm/s)."""
    return _nanmean(errors(pred, gt, mask)["mpjve"])


def accel_error(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean per-joint acceleration error of one sequence, mm per frame²."""
    return _nanmean(errors(pred, gt, mask)["accel"])


def pck_from_errors(errors_mm: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM) -> float:
    """% of the (non-NaN) joint errors at or below the threshold."""
    values = np.asarray(errors_mm, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    return float((values <= threshold_mm).mean() * 100.0)


def auc_from_errors(errors_mm: np.ndarray, thresholds_mm: np.ndarray = AUC_THRESHOLDS_MM) -> float:
    """Mean PCK over the thresholds (area under the PCK curve, normalised), %."""
    values = np.asarray(errors_mm, dtype=np.float64)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    values = np.sort(values)
    counts = np.searchsorted(values, np.asarray(thresholds_mm), side="right")
    return float((counts / values.size).mean() * 100.0)


def pck(
    pred: np.ndarray,
    gt: np.ndarray,
    threshold_mm: float = PCK_THRESHOLD_MM,
    mask: np.ndarray | None = None,
) -> float:
    """% of joints within threshold_mm of the truth (no alignment)."""
    pred, gt = _check_pair(pred, gt)
    scored = _masked(joint_errors(pred, gt), _check_mask(mask, pred.shape[:2]))
    return pck_from_errors(scored, threshold_mm)


def auc(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Area under the PCK curve over 0–150 mm (31 thresholds), %."""
    pred, gt = _check_pair(pred, gt)
    return auc_from_errors(_masked(joint_errors(pred, gt), _check_mask(mask, pred.shape[:2])))


def per_joint_from_errors(
    errors_mm: np.ndarray, names: Sequence[str] = H36M17.joints
) -> dict[str, float]:
    """Joint name → mean error over frames (NaN for a joint never scored)."""
    values = np.asarray(errors_mm, dtype=np.float64)
    if values.shape[-1] != len(names):
        raise ValueError(f"errors have {values.shape[-1]} joints but {len(names)} names")
    return {name: _nanmean(values[:, j]) for j, name in enumerate(names)}


def per_joint_mpjpe(
    pred: np.ndarray,
    gt: np.ndarray,
    mask: np.ndarray | None = None,
    names: Sequence[str] = H36M17.joints,
) -> dict[str, float]:
    """Joint name → MPJPE of that joint, mm."""
    pred, gt = _check_pair(pred, gt)
    values = _masked(joint_errors(pred, gt), _check_mask(mask, pred.shape[:2]))
    return per_joint_from_errors(values, names)


def summarise(
    preds: Sequence[np.ndarray],
    gts: Sequence[np.ndarray],
    masks: Sequence[np.ndarray | None] | None = None,
    names: Sequence[str] = H36M17.joints,
) -> dict:
    """Every metric over many sequences, pooled frame-weighted (each joint-frame counts once).

    Differences (MPJVE, acceleration) are taken inside each sequence, never across two.
    Returns mpjpe, p_mpjpe, n_mpjpe, mpjve, accel (mm), pck150, auc (%), per_joint (name → mm),
    frames and scored (joint-frames that counted).
    """
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} ground truths")
    masks = list(masks) if masks is not None else [None] * len(preds)
    parts: dict[str, list[np.ndarray]] = {}
    for pred, gt, mask in zip(preds, gts, masks, strict=True):
        for key, values in errors(pred, gt, mask).items():
            parts.setdefault(key, []).append(values.reshape(-1, values.shape[-1]))
    if not parts:
        raise ValueError("nothing to summarise: no sequences")
    pooled = {key: np.concatenate(values) for key, values in parts.items()}
    position = pooled["mpjpe"]
    return {
        "mpjpe": _nanmean(position),
        "p_mpjpe": _nanmean(pooled["p_mpjpe"]),
        "n_mpjpe": _nanmean(pooled["n_mpjpe"]),
        "mpjve": _nanmean(pooled["mpjve"]),
        "accel": _nanmean(pooled["accel"]),
        "pck150": pck_from_errors(position),
        "auc": auc_from_errors(position),
        "per_joint": per_joint_from_errors(position, names),
        "frames": int(position.shape[0]),
        "scored": int((~np.isnan(position)).sum()),
    }
