"""A real backend server on a random loopback port, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import zmq

from mpm_backend.serve import Server


@contextmanager
def live_server(engine, bind: str = "tcp://127.0.0.1:*", **kwargs) -> Iterator[Server]:
    server = Server(engine, bind, context=zmq.Context(), **kwargs)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(10)
        server.context.term()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
