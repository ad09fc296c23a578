"""Serving the simulator on a loopback socket: in a background thread for tests and `serve --sandbox`."""

from __future__ import annotations

import threading
from collections.abc import Generator
from contextlib import contextmanager

import uvicorn

from wedata_mcp.sandbox.app import Sandbox


@contextmanager
def serve_in_thread(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> Generator[str]:
    """Serve on `host:port` (0 picks a free port) until the block ends; yields the endpoint URL."""
    # A short graceful shutdown: a request held by an injected `slow` fault must not hold up the exit.
    config = uvicorn.Config(
        sandbox.app(), host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="wedata-sandbox", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start")
            threading.Event().wait(0.01)
        address: tuple[str, int] = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{address[0]}:{address[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
