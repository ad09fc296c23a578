"""Test helper: the real `wedata-mcp serve` as a subprocess, reached by the SDK's client over stdio or HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import PROJECT_IDS, REGION, SECRET_ID, SECRET_KEY


def server_env(endpoint_url: str, tmp_path: Path, *, credentials: bool = True, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),  # no profile file unless a test writes one
        "WEDATA_ENDPOINT": endpoint_url,
        "TENCENTCLOUD_REGION": REGION,
        "WEDATA_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
        "WEDATA_MCP_PROJECT_IDS": ",".join(PROJECT_IDS),
        "PATH": os.environ.get("PATH", ""),
    }
    if credentials:
        env |= {"TENCENTCLOUD_SECRET_ID": SECRET_ID, "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}
    return env | extra


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a process started with Popen and reap it; kill it if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def until_listening(port: int, exited: Callable[[], bool]) -> None:
    """Wait, at most 20 s, until a server accepts connections on 127.0.0.1:`port`; fail if it exits first."""
    with anyio.fail_after(20):
        while True:  # bounded by fail_after
            try:
                await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                return
            except OSError:
                if exited():
                    raise RuntimeError("the HTTP server exited early; see its stderr") from None
                await anyio.sleep(0.02)


@asynccontextmanager
async def http_server(
    env: dict[str, str], errlog: IO[str], entry: tuple[str, ...] = ("-m", "wedata_mcp")
) -> AsyncIterator[int]:
    """`wedata-mcp serve --transport http` on a free loopback port, yielded once it accepts connections.
    `entry` is what runs the command line (a test may run it through a wrapper of its own)."""
    port = free_port()
    command = [sys.executable, *entry, "serve", "--transport", "http", "--port", str(port)]
    stdio = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": errlog}
    async with await anyio.open_process(command, env=env, **stdio) as process:
        try:
            await until_listening(port, lambda: process.returncode is not None)
            yield port
        finally:
            process.terminate()
            with anyio.move_on_after(10):
                await process.wait()
            if process.returncode is None:
                process.kill()


@asynccontextmanager
async def connect(
    transport: str, env: dict[str, str], stderr_path: Path, **client_options: Any
) -> AsyncIterator[Client]:
    """A client session with a freshly spawned server; the server's stderr is kept in `stderr_path`."""
    with stderr_path.open("w") as errlog:
        if transport == "stdio":
            params = StdioServerParameters(command=sys.executable, args=["-m", "wedata_mcp", "serve"], env=env)
            async with Client(stdio_client(params, errlog=errlog), **client_options) as client:
                yield client
            return
        async with http_server(env, errlog) as port, Client(f"http://127.0.0.1:{port}/mcp", **client_options) as client:
            yield client
