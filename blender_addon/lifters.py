"""The batch's two ways to lift: the model in this process, or a `mpm_backend.serve` backend.

Both offer start / submit(job) / result(handle) / lifted_by(handle) / close and `lanes` (how many
lifts run side by side: 1 here), so the run pipelines either the same way; `farm.py` has the same
face over several backends.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from mpm_backend.lift_request import LiftRequest

from .batch_config import BatchConfig, Job
from .discovery import load_track


class InProcessLifter:
    """The model in this process; lifts run on a worker thread, ahead of the retargeting."""

    def __init__(self, config: BatchConfig, engine=None):
        self.config, self.engine = config, engine
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="mpm-lift")

    lanes = 1

    @property
    def name(self) -> str:
        return "in-process"

    def lifted_by(self, handle) -> tuple[str | None, list[str]]:
        """(who lifted the track, the backends that failed it before): always this process."""
        return self.name, []

    def start(self) -> None:
        if self.engine is None:
            from mpm_backend.inference import Engine

            self.engine = Engine(
                self.config.checkpoint, device=self.config.device, flip=self.config.flip
            )

    def submit(self, job: Job) -> Future:
        return self.pool.submit(self._lift, job)

    def _lift(self, job: Job):
        track = load_track(job.source, self.config, job.person)
        start = time.perf_counter()
        request = lift_request_for(track, self.config)
        lifted = self.engine.lift(**request.arguments())
        seconds = time.perf_counter() - start
        arrays = {
            "joints3d": lifted.joints3d,
            "completed2d": lifted.completed2d,
            "confidence": lifted.confidence,
        }
        if lifted.root is not None:
            arrays["root"] = lifted.root
        return track, arrays, seconds

    def result(self, handle: Future):
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def lift_request_for(track, config: BatchConfig) -> LiftRequest:
    """The lift a track asks for under the run's options (threshold, the camera's focal)."""
    focal = config.options.focal_for(track.image_size)
    return LiftRequest.from_track(track, threshold=config.threshold, focal_px=focal)


class BackendLifter:
    """A `python -m mpm_backend.serve` backend: the next tracks are submitted (queued on the
    server) before the current one is retargeted, so the backend never waits for Blender."""

    def __init__(self, config: BatchConfig, client=None):
        from .deps import client as backend

        self.config, self.own_client = config, client is None
        self.address = config.backends[0]
        self.client = client or backend.Client(
            self.address, timeout=config.timeout, curve_dir=config.curve_dir
        )

    lanes = 1

    @property
    def name(self) -> str:
        return self.address

    def lifted_by(self, handle) -> tuple[str | None, list[str]]:
        """(who lifted the track, the backends that failed it before): the one backend."""
        return self.address, []

    def start(self) -> None:
        self.client.ping(timeout=min(10.0, self.config.timeout))

    def submit(self, job: Job):
        try:
            track = load_track(job.source, self.config, job.person)
            lift = lift_request_for(track, self.config)
            request = self.client.submit_request(lift)
        except Exception as exc:  # reported when this track's turn comes
            return exc
        return track, request

    def result(self, handle):
        if isinstance(handle, Exception):
            raise handle
        track, request = handle
        self.client.wait(request)
        seconds = request.result.get("seconds")
        return track, dict(request.arrays), None if seconds is None else float(seconds)

    def close(self) -> None:
        if self.own_client:
            self.client.close()
