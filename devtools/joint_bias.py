"""Where a lifter's error sits on the body, per source: `python -m devtools.joint_bias`.

    python -m devtools.joint_bias [--checkpoint default] [--mocap ../shared/mocap]
        [--cameras 2] [--limit-frames 300] [--seed 0] [--by-person]

MPJPE says how far off a model is on people it never saw; this says whether the error is a
constant offset (the model returning the bodies it knows: a shorter trunk, narrower shoulders)
or scatter (poses it reads wrong). Each val source (CMU, HDM05) is filmed and given detector
noise as `training.evaluate` does ("noisy"), lifted, and every joint's error is expressed in the
true body's own frame (x: right hip to left hip; z: up the trunk, pelvis to thorax; y: their
cross product, forward), root-relative. Printed per joint and source: the mean error vector
(the bias), its length, the MPJPE, and where the truth and the lift put the joint on average.
With --by-person: one row per val person (the manifests' `subject`; lying down left out) with
their MPJPE, the MPJPE the lift's bone directions would have on the person's own bone lengths
(and on their proportions at the lift's size), and their true and lifted shoulder breadth and
trunk length, which say whether the model reads a body from the 2D or returns the bodies it
knows, and what that costs. Per source also: the lift's knee flexion against the truth's, by
how bent the true knee is (a lift that bends straight knees stands the rig's hips low).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from blender_addon.core.contact_model import knee_flexion
from devtools.model_benchmark import LYING, SOURCES
from mpm_backend.skeleton import H36M17
from training import evaluate

ROOT = Path(__file__).resolve().parents[1]
J = H36M17.index
REPORTED = ("cmu", "hdm05")  # the seen lab against the unseen one (`model_benchmark.SOURCES`)
KNEE_BINS = (0.0, 15.0, 30.0, 60.0, 90.0, 180.0)  # true knee flexion, degrees: straight to deep


def body_frames(joints: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rows x, y, z of each pose's own frame (see the module docstring)."""
    x = joints[:, J("left_hip")] - joints[:, J("right_hip")]
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    z = joints[:, J("thorax")] - joints[:, J("pelvis")]
    z -= np.sum(z * x, axis=-1, keepdims=True) * x
    z /= np.linalg.norm(z, axis=-1, keepdims=True)
    return np.stack([x, np.cross(z, x), z], axis=1)


def lifted_and_true(lifter, clips: list[np.ndarray], cameras: int, seed: int):
    """Root-relative lifted and true joints (N, 17, 3), metres, in each true body's frame."""
    views = [
        evaluate.film_view(np.asarray(world, np.float64), seed, c, k, ("noisy",))
        for c, world in enumerate(clips)
        for k in range(cameras)
    ]
    inputs = [v.inputs["noisy"] for v in views]
    lifted = np.concatenate(evaluate.lift_sequences(lifter, inputs, None, None, 64))
    truth = np.concatenate([v.pose3d for v in views])
    lifted, truth = lifted - lifted[:, :1], truth - truth[:, :1]
    frames = body_frames(truth)
    return tuple(np.einsum("nij,nkj->nki", frames, p) for p in (lifted, truth))


def report(name: str, lifted: np.ndarray, truth: np.ndarray) -> str:
    error = (lifted - truth) * 1000.0
    lines = [
        f"### {name} ({len(truth)} frames)",
        "",
        "| joint | bias x, y, z (mm) | bias | MPJPE | truth x, y, z | lifted x, y, z |",
        "|---|---|---|---|---|---|",
    ]
    for i, joint in enumerate(H36M17.joints[1:], start=1):
        bias = error[:, i].mean(axis=0)
        mpjpe = np.linalg.norm(error[:, i], axis=-1).mean()
        where = (truth[:, i].mean(axis=0) * 1000.0, lifted[:, i].mean(axis=0) * 1000.0)
        xyz = [", ".join(f"{int(round(v)):+d}" for v in p) for p in (bias, *where)]
        lines.append(
            f"| {joint} | {xyz[0]} | {np.linalg.norm(bias):.0f} | {mpjpe:.0f} | {xyz[1]} | "
            f"{xyz[2]} |"
        )
    return "\n".join(lines)


def knee_flexion_deg(joints: np.ndarray) -> np.ndarray:
    """(N, 2) left and right knee flexion, degrees (`contact_model.knee_flexion`)."""
    return np.degrees(knee_flexion(joints))


def knee_report(lifted: np.ndarray, truth: np.ndarray) -> str:
    """The lift's knee flexion against the truth's, by how bent the true knee is: a lift that
    pulls every knee towards a middle bend shows straight knees bent and deep bends shallow (a
    standing hip too low, a crouch too high)."""
    true = knee_flexion_deg(truth).ravel()
    error = knee_flexion_deg(lifted).ravel() - true
    lines = [
        "| true knee flexion (°) | knee-frames | lifted − true, mean (°) | median (°) |",
        "|---|---|---|---|",
    ]
    for low, high in zip(KNEE_BINS[:-1], KNEE_BINS[1:], strict=True):
        chosen = error[(true >= low) & (true < high)]
        if chosen.size:
            lines.append(
                f"| {low:.0f}–{high:.0f} | {chosen.size} | {chosen.mean():+.1f} | "
                f"{np.median(chosen):+.1f} |"
            )
    return "\n".join(lines)


def _length(points: np.ndarray, a: str, b: str) -> float:
    return float(np.linalg.norm(points[:, J(a)] - points[:, J(b)], axis=-1).mean() * 1000.0)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(16,) each bone's mean length over the frames of (N, 17, 3) joints, `H36M17.bones` order
    (the mean, as MPJPE averages; `completion.bone_lengths` takes medians for its fill)."""
    return np.array(
        [np.linalg.norm(joints[:, c] - joints[:, p], axis=-1).mean() for p, c in H36M17.bones]
    )


def on_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Root-relative (N, 17, 3) joints rebuilt from the root with every bone at ``lengths``
    (16,), each keeping its direction: the lift's pose on another build."""
    out = np.zeros_like(joints)
    for (parent, child), length in zip(H36M17.bones, lengths, strict=True):
        bone = joints[:, child] - joints[:, parent]
        unit = bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-9)
        out[:, child] = out[:, parent] + length * unit
    return out


def person_row(source: str, subject: str, lifted: np.ndarray, truth: np.ndarray) -> str:
    """One row of `person_report` from root-relative (N, 17, 3) joints, metres."""
    error = np.linalg.norm(lifted - truth, axis=-1) * 1000.0
    true_bones = bone_lengths(truth)
    proportions = true_bones * bone_lengths(lifted).sum() / true_bones.sum()
    builds = [
        np.linalg.norm(on_lengths(lifted, lengths) - truth, axis=-1).mean() * 1000.0
        for lengths in (true_bones, proportions)
    ]
    cells = [
        *(_length(p, "left_shoulder", "right_shoulder") for p in (truth, lifted)),
        *(_length(p, "pelvis", "thorax") for p in (truth, lifted)),
    ]
    return (
        f"| {source} | {subject} | {len(truth)} | {error.mean():.1f} | "
        f"{error[:, J('spine') :].mean():.1f} | {error[:, 1 : J('spine')].mean():.1f} | "
        + " | ".join(f"{v:.1f}" for v in builds)
        + " | "
        + " | ".join(f"{v:.0f}" for v in cells)
        + " |"
    )


def person_report(lifter, mocap: Path, limit_frames: int, cameras: int, seed: int) -> str:
    """Per val person: frames, MPJPE (all, upper body, legs; then the lift's bone directions
    on the person's own bone lengths, and on their proportions at the lift's size: what the
    build costs), shoulder breadth and trunk length (pelvis to thorax) of the truth and of the
    lift, mm."""
    from training.data.sources import find_mocap_files, load_all

    files = [f for f in find_mocap_files(mocap, "val", None) if f.subject and LYING not in f.path]
    people: dict[tuple[str, str], list[np.ndarray]] = {}
    for item, clip in load_all(files, evaluate.MODEL_FPS)[0]:
        key = (item.source, item.subject)
        people.setdefault(key, []).append(np.asarray(clip.joints[:limit_frames]))
    lines = [
        "| source | person | frames | MPJPE | upper body | legs | on true bones |"
        " on true proportions | shoulders: true | lifted | trunk: true | lifted |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (source, subject), clips in sorted(people.items()):
        lines.append(person_row(source, subject, *lifted_and_true(lifter, clips, cameras, seed)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.joint_bias",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--mocap", type=Path, default=ROOT.parent / "shared" / "mocap")
    parser.add_argument("--cameras", type=int, default=2)
    parser.add_argument("--limit-frames", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--by-person", action="store_true", help="one row per val person")
    args = parser.parse_args(argv)
    lifter, _ = evaluate.load_model(args.checkpoint)
    if args.by_person:
        print(person_report(lifter, args.mocap, args.limit_frames, args.cameras, args.seed))
        return 0
    loaded = evaluate.load_mocap_clips(args.mocap, "val", limit_frames=args.limit_frames)
    for key in REPORTED:
        name, members = SOURCES[key]
        clips = [
            c for c, source in zip(loaded.clips, loaded.sources, strict=True) if source in members
        ]
        lifted, truth = lifted_and_true(lifter, clips, args.cameras, args.seed)
        print(report(name, lifted, truth), end="\n\n")
        print(knee_report(lifted, truth), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
