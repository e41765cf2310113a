"""Who is who across frames when a detector file gives no ids (docs/tracks.md, "Several people").

Each frame's detections are matched to the people seen so far by an optimal assignment
(Hungarian) on a cost mixing box overlap and keypoint distance, against where each person is
predicted to be (constant velocity of their box centre). A match must pass a gate; a person
unseen for up to `max_gap` frames can still be matched; unmatched detections start new people;
people seen in fewer than `min_frames` frames are dropped afterwards.

scipy's `linear_sum_assignment` is used when scipy is importable; otherwise (the Blender
extension vendors this package without scipy) a small exact Hungarian in pure Python gives the
same assignment. Numpy only at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# A joint counts towards a person's box when its confidence is at least BOX_CONFIDENCE (all
# present joints when fewer than two are that confident).
BOX_CONFIDENCE = 0.3
# Cost of matching a person to a detection: IOU_WEIGHT * (1 - IoU of the boxes) + the mean
# keypoint distance in units of the person's box size (the larger side, at least MIN_SIZE_PX).
IOU_WEIGHT = 1.0
MIN_SIZE_PX = 50.0
# Gate: a detection is that person only if the mean keypoint distance to the prediction is at
# most GATE + GATE_PER_FRAME * (frames since last seen - 1) box sizes.
GATE = 0.5
GATE_PER_FRAME = 0.1
# How much of a new velocity estimate is taken (the rest is the previous estimate).
VELOCITY_BLEND = 0.5
_INFEASIBLE = 1e6


def boxes(keypoints: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per detection (N): box low corner (N, 2), high corner (N, 2), whether it has a box."""
    use = scores >= BOX_CONFIDENCE
    few = use.sum(axis=1) < 2
    use[few] = scores[few] > 0
    valid = use.any(axis=1)
    low = np.where(use[..., None], keypoints, np.inf).min(axis=1)
    high = np.where(use[..., None], keypoints, -np.inf).max(axis=1)
    low[~valid], high[~valid] = 0.0, 0.0
    return low, high, valid


@dataclass
class _Person:
    """One person being followed: the last detection and the box centre's velocity (px/frame)."""

    frames: dict[int, int] = field(default_factory=dict)  # frame number → detection row
    keypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    low: np.ndarray = field(default_factory=lambda: np.zeros(2))
    high: np.ndarray = field(default_factory=lambda: np.zeros(2))
    last: int = 0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    moved: bool = False  # whether velocity has been estimated yet

    def predicted(self, number: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoints, box low and high corners where the person should be at frame `number`."""
        shift = self.velocity * (number - self.last)
        return self.keypoints + shift, self.low + shift, self.high + shift

    def update(
        self, number: int, row: int, keypoints: np.ndarray, low: np.ndarray, high: np.ndarray
    ) -> None:
        """Take a detection as this person's at frame `number`; refresh the velocity.

        Joints the detection lacks (someone in front, out of frame) keep their predicted place,
        and the velocity comes from the joints seen both times: a half-covered person's box
        shrinks and jumps, their body does not."""
        if self.frames:
            frames = number - self.last
            both = np.isfinite(keypoints).all(axis=1) & np.isfinite(self.keypoints).all(axis=1)
            if both.any():
                step = (keypoints[both] - self.keypoints[both]).mean(axis=0) / frames
            else:
                step = ((low + high) - (self.low + self.high)) / 2 / frames
            blend = VELOCITY_BLEND if self.moved else 1.0
            self.velocity = blend * step + (1 - blend) * self.velocity
            self.moved = True
            seen = np.isfinite(keypoints).all(axis=1)
            kept = ~seen & np.isfinite(self.keypoints).all(axis=1)
            keypoints = keypoints.copy()
            keypoints[kept] = self.keypoints[kept] + self.velocity * frames
            if kept.any():
                low = np.minimum(low, keypoints[kept].min(axis=0))
                high = np.maximum(high, keypoints[kept].max(axis=0))
        self.frames[number] = row
        self.keypoints, self.low, self.high, self.last = keypoints, low, high, number


def _cost(
    person: _Person, number: int, keypoints: np.ndarray, low: np.ndarray, high: np.ndarray
) -> float:
    """Matching cost of `person` to one detection at frame `number`; _INFEASIBLE past the gate."""
    points, p_low, p_high = person.predicted(number)
    size = max(MIN_SIZE_PX, float((p_high - p_low).max()))
    both = np.isfinite(points).all(axis=1) & np.isfinite(keypoints).all(axis=1)
    if both.any():
        distance = float(np.linalg.norm(points[both] - keypoints[both], axis=1).mean()) / size
    else:  # no joint seen in both: compare box centres
        distance = float(np.linalg.norm((p_low + p_high - low - high) / 2)) / size
    if distance > GATE + GATE_PER_FRAME * (number - person.last - 1):
        return _INFEASIBLE
    inter = np.clip(np.minimum(p_high, high) - np.maximum(p_low, low), 0, None).prod()
    union = (p_high - p_low).prod() + (high - low).prod() - inter
    iou = float(inter / union) if union > 0 else 0.0
    return IOU_WEIGHT * (1.0 - iou) + distance


def associate(
    frames: dict[int, list[int]],
    keypoints: np.ndarray,
    scores: np.ndarray,
    max_gap: int,
    min_frames: int,
) -> list[dict[int, int]]:
    """People across frames: one {frame number: detection row} per person, ordered by first frame
    (ties: box centre left to right). Rows index `keypoints` (N, J, 2, NaN where masked) and
    `scores` (N, J). A person unseen for more than `max_gap` frames is finished; people seen in
    fewer than min(min_frames, the longest person's frames) frames are dropped."""
    low, high, valid = boxes(keypoints, scores)
    active: list[_Person] = []
    done: list[_Person] = []
    for number in sorted(frames):
        rows = [row for row in frames[number] if valid[row]]
        done += [p for p in active if number - p.last - 1 > max_gap]
        active = [p for p in active if number - p.last - 1 <= max_gap]
        if not rows:
            continue
        cost = np.array(
            [[_cost(p, number, keypoints[r], low[r], high[r]) for r in rows] for p in active]
        ).reshape(len(active), len(rows))
        matched = set()
        for i, j in zip(*assign(cost), strict=True):
            if cost[i, j] < _INFEASIBLE:
                active[i].update(number, rows[j], keypoints[rows[j]], low[rows[j]], high[rows[j]])
                matched.add(j)
        for j, row in enumerate(rows):
            if j not in matched:
                person = _Person()
                person.update(number, row, keypoints[row], low[row], high[row])
                active.append(person)
    people = done + active
    if not people:
        return []
    shortest = min(min_frames, max(len(p.frames) for p in people))
    kept = [p for p in people if len(p.frames) >= shortest]

    def first_seen(person: _Person) -> tuple[int, float]:
        number = min(person.frames)
        row = person.frames[number]
        return number, float(low[row, 0] + high[row, 0])

    return [p.frames for p in sorted(kept, key=first_seen)]


def assign(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost assignment of rows to columns (rectangular): scipy's when available."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:  # the Blender extension: no scipy
        return hungarian(cost)
    rows, cols = linear_sum_assignment(cost)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


def hungarian(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact minimum-cost assignment without scipy (the O(n²m) potentials method), for the few
    people of a frame; a rectangular matrix assigns min(n, m) pairs. Sorted by row."""
    transposed = cost.shape[0] > cost.shape[1]
    a = (cost.T if transposed else cost).astype(np.float64)
    n, m = a.shape  # n <= m
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: the row (1-based) holding column j
    way = np.zeros(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        owner[0], j0 = i, 0
        least = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used[1:]
            reduced = a[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < least[1:])
            least[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, least[1:], np.inf)
            j1 = int(np.argmin(candidates)) + 1
            delta = candidates[j1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            least[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    cols = np.nonzero(owner[1:])[0]
    rows = owner[1:][cols] - 1
    if transposed:
        rows, cols = cols, rows
    order = np.argsort(rows)
    return rows[order].astype(np.int64), cols[order].astype(np.int64)
