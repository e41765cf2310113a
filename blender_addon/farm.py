"""Several `mpm_backend.serve` backends for one batch (`--backend A --backend B` or `A,B`).

One DEALER per backend rather than one DEALER connected to all (ZeroMQ's round-robin): the
round-robin sends to a dead peer's queue as readily as to a live one and cannot say which server
lifted a track, while a client per backend knows where each request went, so a backend that
stops answering has its tracks sent again elsewhere and the summary can say who lifted what.

Each backend holds at most `lookahead + 1` of the run's tracks (one lifting, the rest queued on
it: the one-backend pipelining, per backend); a track goes to the live backend with the fewest in
flight as soon as one has a free slot. A request that fails for the backend's sake (no answer
within --timeout, busy, an internal error) is retried on a backend it has not tried yet; a backend
that does not answer is dropped for the rest of the run. A track fails when every backend has
failed it or is down; a track the server refuses (a bad track) fails at once, as with one backend.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field

import zmq

from .batch_config import BatchConfig, Job
from .deps import client as backend_client
from .deps import protocol as wire
from .discovery import load_track
from .lifters import lift_request_for

# Failures that say something about the backend, not the track: worth another backend's try.
RETRY_CODES = frozenset({wire.TIMEOUT, wire.BUSY, wire.INTERNAL})
POLL_S = 0.05  # how often deadlines are checked while waiting


@dataclass
class Ticket:
    """One track's lift, wherever it is: queued here, on a backend, lifted or failed."""

    job: Job
    track: object = None
    backend: _Backend | None = None  # the backend it is on, or that lifted (or refused) it
    request: object = None  # the client's Request while on a backend
    outcome: tuple | None = None  # (track, arrays, lift seconds) once lifted
    error: BaseException | None = None
    failed_on: list[str] = field(default_factory=list)  # backends that failed it: retried

    @property
    def finished(self) -> bool:
        return self.outcome is not None or self.error is not None


@dataclass
class _Backend:
    address: str
    client: object  # mpm_backend.client.Client
    tickets: list[Ticket] = field(default_factory=list)
    down: str | None = None  # why it is no longer sent anything
    lifted: int = 0


class BackendFarm:
    """The lifter interface of `lifters.py` (start / submit / result / close) over several
    backends, plus `first_done` so the run retargets whichever lift is ready first."""

    def __init__(self, config: BatchConfig):
        self.config = config
        self.slots = config.lookahead + 1
        self.backends = [
            _Backend(a, backend_client.Client(a, config.timeout, config.curve_dir))
            for a in config.backends
        ]
        self.queue: deque[Ticket] = deque()

    @property
    def name(self) -> str:
        return ", ".join(b.address for b in self.backends)

    @property
    def lanes(self) -> int:
        """Backends still in use: the run keeps `lookahead` tracks ahead per lane."""
        return max(1, sum(b.down is None for b in self.backends))

    def start(self) -> None:
        """Ping every backend at once; those that do not answer are left out of the run."""
        wait = min(10.0, self.config.timeout)
        pings = [(b, b.client.submit("ping", timeout=wait)) for b in self.backends]
        while not all(request.finished for _, request in pings):
            self._wait_sockets(POLL_S)
            for b, _ in pings:
                b.client.poll()
        for b, request in pings:
            if request.error is not None:
                self._drop(b, request.error.message)
        if all(b.down for b in self.backends):
            raise RuntimeError("no backend answered: " + "; ".join(self._reasons([])))

    def submit(self, job: Job) -> Ticket:
        ticket = Ticket(job)
        self.queue.append(ticket)
        self._dispatch()
        return ticket

    def first_done(self, tickets: list[Ticket]) -> int:
        """The index of the first of `tickets` whose lift has finished, waiting for one."""
        while True:
            self._pump()
            for k, ticket in enumerate(tickets):
                if ticket.finished:
                    return k
            self._wait_sockets(POLL_S)

    def result(self, ticket: Ticket) -> tuple:
        self.first_done([ticket])
        if ticket.error is not None:
            raise ticket.error
        return ticket.outcome

    def lifted_by(self, ticket: Ticket) -> tuple[str | None, list[str]]:
        """(the backend that lifted or refused the track, the ones that failed it before)."""
        return (None if ticket.backend is None else ticket.backend.address), ticket.failed_on

    def report(self) -> list[dict]:
        """Per backend: how many tracks it lifted, and why it was dropped (None: it was not)."""
        return [{"address": b.address, "lifted": b.lifted, "down": b.down} for b in self.backends]

    def close(self) -> None:
        for b in self.backends:
            for ticket in b.tickets:
                if ticket.request is not None and not ticket.request.finished:
                    b.client.cancel(ticket.request)  # no use lifting what nobody will read
            b.client.close()

    # ------------------------------------------------------------------ internals

    def _dispatch(self) -> None:
        """Send queued tickets, in order, to the least busy live backend each has not failed on."""
        for ticket in list(self.queue):
            usable = [
                b for b in self.backends if b.down is None and b.address not in ticket.failed_on
            ]
            if not usable:
                self.queue.remove(ticket)
                ticket.error = RuntimeError(
                    "every backend failed or is down: " + "; ".join(self._reasons(ticket.failed_on))
                )
                continue
            free = [b for b in usable if len(b.tickets) < self.slots]
            if free:
                self.queue.remove(ticket)
                self._send(ticket, min(free, key=lambda b: len(b.tickets)))

    def _send(self, ticket: Ticket, b: _Backend) -> None:
        ticket.request = None
        try:
            if ticket.track is None:
                job = ticket.job
                ticket.track = load_track(job.source, self.config, job.person)
            lift = lift_request_for(ticket.track, self.config)
            ticket.request = b.client.submit_request(lift)
        except Exception as exc:  # the track's own fault: reported in its turn
            ticket.error = exc
            return
        ticket.backend = b
        b.tickets.append(ticket)

    def _pump(self) -> None:
        """Read every backend's replies, settle finished requests, send what is queued."""
        for b in self.backends:
            if b.down is not None:
                continue
            b.client.poll()
            for ticket in [t for t in b.tickets if t.request.finished]:
                b.tickets.remove(ticket)
                self._settle(ticket, b)
        self._dispatch()

    def _settle(self, ticket: Ticket, b: _Backend) -> None:
        request = ticket.request
        if request.error is None:
            seconds = request.result.get("seconds")
            arrays = dict(request.arrays)
            ticket.outcome = ticket.track, arrays, None if seconds is None else float(seconds)
            b.lifted += 1
            return
        if request.error.code not in RETRY_CODES:
            ticket.error = request.error  # the server refused this track: no other will take it
            return
        ticket.failed_on.append(b.address)
        ticket.backend = None  # not who lifted it, after all
        if request.error.code == wire.TIMEOUT and b.down is None:
            self._drop(b, request.error.message)
        self.queue.appendleft(ticket)  # before the tracks not yet sent: it was due first

    def _drop(self, b: _Backend, why: str) -> None:
        b.down = why
        print(
            f"warning: backend {b.address} left out of the run ({why}); "
            "its tracks go to the other backends",
            file=sys.stderr,
        )

    def _reasons(self, failed_on: list[str]) -> list[str]:
        reasons = []
        for b in self.backends:
            if b.down is not None or b.address in failed_on:
                why = b.down or "failed this track"
                reasons.append(why if b.address in why else f"{b.address}: {why}")
        return reasons

    def _wait_sockets(self, seconds: float) -> None:
        """Sleep until a live backend's socket has a reply, or `seconds` pass."""
        poller = zmq.Poller()
        live = [b for b in self.backends if b.down is None]
        for b in live:
            poller.register(b.client.socket, zmq.POLLIN)
        if live:
            poller.poll(int(seconds * 1000))
        else:
            time.sleep(seconds)
