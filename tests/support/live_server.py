"""A FastAPI app served by uvicorn on a free local port, in a thread, for browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def serve(app: Any, **config: Any) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base address ``http://127.0.0.1:<port>``.
    ``config`` goes to :class:`uvicorn.Config` (e.g. ``log_level``, ``access_log``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = {"log_level": "warning", "lifespan": "off", "ws": "none", **config}
    srv = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()
