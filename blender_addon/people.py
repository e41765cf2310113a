"""People "Everyone": every person of a track file lifted, each their own skeleton and rig.

One request per person, one after another on the lift job's timer (`PeopleJob`); the scene is
changed once, when every person is lifted, so a failure or Cancel leaves it as it was. Person k
(in `read_people`'s order, as the batch's `.p<k>`) gets "MPM skeleton p<k>" keyed with the
Action "MPM skeleton MPM p<k>"; with a target, person 0 keys the target ("<rig> MPM p0") and
each further person a copy of it, "<rig> p<k>" (its own armature data, "<rig> MPM p<k>"). A
rerun replaces the earlier result of the same people, as the footage camera is replaced.
"""

from __future__ import annotations

import dataclasses
import time

import bpy
import numpy as np

from . import jobs
from . import result as scene_result
from .core import coords, shared_world, world
from .deps import client as backend
from .deps import lift_request, tracks

PERSON = "mpm_person"  # custom property: person k of the lift that made this object
COPY_OF = "mpm_person_of"  # custom property on a target's copy: the target's name


def read_people(path: str, options: jobs.LiftOptions, scene_fps: float) -> list[tracks.Track]:
    """Every person of the file, with the panel's layout/fps/size overriding it (as
    `jobs.read_track`); a file of one person gives one."""
    people = tracks.read_people(
        path, layout=options.layout, fps=options.fps, image_size=options.image_size
    )
    for track in people:
        if options.image_size:
            track.image_size = options.image_size
        if not track.fps:
            track.fps = scene_fps
    return people


def prepare_people(
    people: list[tracks.Track],
    arrays: list[dict[str, np.ndarray]],
    options: jobs.LiftOptions,
    shared: bool | None = None,
) -> tuple[list[scene_result.Prepared], shared_world.SharedWorld | None]:
    """Every person made ready for the scene and placed beside the first (`place`). Shared
    (by default where the user gave the camera's tilt: an estimated tilt is too loose to move
    anyone, docs/blender.md): one camera tilt and one floor for all, each person's root moved
    along the camera's rays to the floor's distance, then each levelled with that tilt and
    cleaned (smoothing, foot lock) as alone."""
    if shared is None:
        shared = scene_result.camera_for(options) is not None
    world_ = share(people, arrays, options) if shared and len(people) > 1 else None
    ready = []
    for k, (track, lifted) in enumerate(zip(people, arrays, strict=True)):
        own = options
        if world_ is not None:
            if lifted.get("root") is not None:
                lifted = {**lifted, "root": world_.place_root(k, lifted["root"])}
            tilt = world_.camera
            own = dataclasses.replace(
                options, level="KNOWN", camera_pitch=tilt.pitch_deg, camera_roll=tilt.roll_deg
            )
        ready.append(scene_result.prepare_joints(lifted, track.fps, own))
    return place(ready, arrays, people), world_


def share(
    people: list[tracks.Track], arrays: list[dict[str, np.ndarray]], options: jobs.LiftOptions
) -> shared_world.SharedWorld:
    """The people's shared world, from their camera-frame joints as `prepare_joints` sees
    them (the root's depth low-passed); the user's known camera, if any, is the tilt."""
    joints: list[np.ndarray | None] = []
    for track, lifted in zip(people, arrays, strict=True):
        root = lifted.get("root")
        if root is None:
            joints.append(None)
            continue
        if options.smoothing != "NONE":
            root = world.steady_root(root, track.fps)
        joints.append(coords.camera_clip_to_blender(lifted["joints3d"], root))
    seen = [np.asarray(t.present).any(axis=1) for t in people]
    return shared_world.share_world(joints, people[0].fps, scene_result.camera_for(options), seen)


def place(
    prepared: list[scene_result.Prepared],
    arrays: list[dict[str, np.ndarray]],
    people: list[tracks.Track | None],
) -> list[scene_result.Prepared]:
    """Each further person moved to where they stood beside the first: each is levelled on their
    own (`world.level_world` puts every start over the origin), so their pelvis at the first
    frame they are seen is carried into the first person's level world. Without a root (no
    image size) there is nowhere to put them: left as they are. The first person's track is
    not read (None will do)."""
    first, out = prepared[0].level, [prepared[0]]
    for ready, lifted, track in zip(prepared[1:], arrays[1:], people[1:], strict=True):
        root = lifted.get("root")
        if root is None or arrays[0].get("root") is None:
            out.append(ready)
            continue
        seen = np.asarray(track.present).any(axis=1)
        t = int(np.argmax(seen))  # the first frame they are seen (0 if never)
        pelvis = coords.camera_clip_to_blender(np.zeros((1, 17, 3)), root[t : t + 1])[0, 0]
        joints = ready.joints.copy()
        joints[..., :2] += _level_xy(pelvis, first) - _level_xy(pelvis, ready.level)
        out.append(ready._replace(joints=joints))
    return out


def _level_xy(point: np.ndarray, level) -> np.ndarray:
    """A camera-frame point (Blender axes) → its X, Y in the world a `world.Level` made."""
    return level.scale * ((level.rotation @ point)[:2] - np.asarray(level.start_xy))


def copy_rig(scene: bpy.types.Scene, target: bpy.types.Object, k: int) -> bpy.types.Object:
    """A copy of the target for person k: its own armature data, no animation, in the target's
    collections (the scene's when it is in none of this scene's)."""
    copy = target.copy()
    copy.data = target.data.copy()
    copy.animation_data_clear()
    copy.name = copy.data.name = f"{target.name} p{k}"
    copy[PERSON], copy[COPY_OF] = k, target.name
    collections = [c for c in target.users_collection if c in _scene_collections(scene)]
    for collection in collections or [scene.collection]:
        collection.objects.link(copy)
    return copy


def _scene_collections(scene: bpy.types.Scene) -> list[bpy.types.Collection]:
    return [scene.collection, *scene.collection.children_recursive]


def apply_people(
    scene: bpy.types.Scene,
    people: list[tracks.Track],
    arrays: list[dict[str, np.ndarray]],
    prepared: list[scene_result.Prepared],
    options: jobs.LiftOptions,
) -> list[str]:
    """Every person's skeleton (+ the target for person 0, a copy of it for each further one),
    as one result: on failure nothing stays. Then the earlier result of the same people goes and
    the new one takes the plain names. Returns the names of what was made."""
    target = bpy.data.objects.get(options.target) if options.target else None
    copies: list[bpy.types.Object] = []
    try:
        rigs = [target] if target is not None else [None]
        for k in range(1, len(people)):
            if target is not None:
                copies.append(copy_rig(scene, target, k))
            rigs.append(copies[-1] if target is not None else None)
        lifts = [
            scene_result.Person(t, a, p, rig)
            for t, a, p, rig in zip(people, arrays, prepared, rigs, strict=True)
        ]
        names = scene_result.apply_all(scene, lifts, options)
    except Exception:
        for copy in copies:
            data = copy.data
            bpy.data.objects.remove(copy)
            bpy.data.armatures.remove(data)
        raise
    return _replace_earlier(scene, names, len(people), target, copies)


def _replace_earlier(
    scene: bpy.types.Scene,
    names: list[str],
    count: int,
    target: bpy.types.Object | None,
    copies: list[bpy.types.Object],
) -> list[str]:
    """Remove the same people's skeletons and copies from an earlier lift, and give the new ones
    (in `apply_all`'s order: skeleton, rig, per person; the camera last) the plain names."""
    per_person = 2 if target is not None else 1
    skeletons = [bpy.data.objects[names[k * per_person]] for k in range(count)]
    for k, skel in enumerate(skeletons):
        skel[PERSON] = k
        _remove_objects(scene, skel, lambda o, k=k: "mpm_joints3d" in o and o.get(PERSON) == k)
        name = scene_result.SKELETON_NAME
        _rename(skel, f"{name} p{k}", f"{name} MPM p{k}")
    if target is not None:
        _rename_action(target, f"{target.name} MPM p0")
    for k, copy in enumerate(copies, start=1):
        base = copy[COPY_OF]
        _remove_objects(
            scene, copy, lambda o, k=k, b=base: o.get(COPY_OF) == b and o.get(PERSON) == k
        )
        _rename(copy, f"{base} p{k}", f"{base} MPM p{k}")
    return [*(o.name for o in skeletons), *([target.name] if target else []),
            *(c.name for c in copies), *names[count * per_person :]]  # fmt: skip


def _remove_objects(scene: bpy.types.Scene, keep: bpy.types.Object, earlier) -> None:
    """Remove the scene's objects ``earlier`` picks (not ``keep``), with their armature data and
    action when nothing else uses them."""
    for obj in [o for o in scene.objects if o != keep and earlier(o)]:
        data = obj.data
        action = obj.animation_data.action if obj.animation_data else None
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            bpy.data.armatures.remove(data)
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)


def _rename(obj: bpy.types.Object, name: str, action_name: str) -> None:
    obj.name = obj.data.name = name
    _rename_action(obj, action_name)


def _rename_action(obj: bpy.types.Object, name: str) -> None:
    """The object's new action takes ``name``; an earlier action of that name goes when nothing
    uses it any more (a rerun's), else the new one keeps Blender's numbered name."""
    action = obj.animation_data.action
    old = bpy.data.actions.get(name)
    if old is not None and old != action and old.users == 0:
        bpy.data.actions.remove(old)
    action.name = name


class PeopleJob(jobs.LiftJob):
    """Every person of a file, one request after another; `LiftJob` polls, this asks for the
    next person and, after the last, builds the result of all."""

    def __init__(
        self,
        scene: bpy.types.Scene,
        people: list[tracks.Track],
        options: jobs.LiftOptions,
        client: backend.Client,
    ):
        self.people = people
        self.lifted: list[dict[str, np.ndarray]] = []
        self.shared: shared_world.SharedWorld | None = None
        super().__init__(scene, people[0], options, client)

    def _apply(self, request: backend.Request) -> float | None:
        """One person's reply: keep it, ask for the next; after the last, the scene."""
        self.lifted.append(request.arrays)
        if len(self.lifted) < len(self.people):
            track = self.people[len(self.lifted)]
            self.request = self.client.submit_request(_request(track, self.options))
            self._status(f"Lifting {len(track.keypoints)} frames…", 0.0, running=True)
            return jobs.POLL_INTERVAL_S
        scene = self.scene
        if scene is None:
            return self._end("failed", "The scene was deleted while lifting")
        try:
            ready, self.shared = prepare_people(self.people, self.lifted, self.options)
            made = apply_people(scene, self.people, self.lifted, ready, self.options)
        except Exception as exc:  # the scene is left as it was (apply_people cleans up)
            return self._end("failed", f"Could not build the result: {exc}")
        self.objects = made
        jobs._undo_step("MPM Lift")
        return self._end("done", self._report(made, ready))

    def _report(self, made: list[str], ready: list[scene_result.Prepared]) -> str:
        """The status after the lift: who was made, each person's floor, the cleanup."""
        seconds = time.monotonic() - self.started
        frames = len(self.people[0].keypoints)
        lines = [f"Lifted {len(self.people)} people, {frames} frames each, in {seconds:.1f} s: "
                 + ", ".join(made)]  # fmt: skip
        if self.shared is not None:
            tilt = self.shared.camera
            lines.append(
                f"One shared floor ({self.shared.source}): camera pitch {tilt.pitch_deg:.1f}°, "
                f"roll {tilt.roll_deg:.1f}°, {self.shared.camera_height:.2f} m above it"
            )
            lines += self.shared.summary()
        else:
            for k, (prep, arrays) in enumerate(zip(ready, self.lifted, strict=True)):
                floor, _ = scene_result.floor_report(prep.level, arrays)
                lines.append(
                    f"p{k}: floor levelled ({floor['source']}): camera pitch "
                    f"{floor['camera_pitch_deg']:.1f}°, roll {floor['camera_roll_deg']:.1f}°"
                )
        _, warnings = scene_result.floor_report(ready[0].level, self.lifted[0])
        lines.append(scene_result.cleanup_report(self.options))
        return "\n".join([*lines, *(f"Warning: {w}" for w in warnings)])

    def _status(self, text: str, progress: float, running: bool) -> None:
        """While lifting, which person this is ("Person 2 of 3 (p1)") and the overall fraction."""
        if running:
            k, n = len(self.lifted), len(self.people)
            text, progress = f"Person {k + 1} of {n} (p{k}): {text}", (k + progress) / n
        super()._status(text, progress, running)


def _request(track: tracks.Track, options: jobs.LiftOptions) -> lift_request.LiftRequest:
    """A person's lift request, as `jobs.LiftJob` makes one."""
    focal = options.focal_for(track.image_size)
    return lift_request.LiftRequest.from_track(track, options.threshold, focal)
