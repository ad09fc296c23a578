"""The benchmark's WeData: the sandbox in its own process (so it never shares a CPU thread or the GIL with
what is measured), on a generated world of one task with N failed daily instances, timing every request.

`python -m bench.simulator --days N [--rate-limit R]` prints its URL on stdout, then serves. Besides the API
at `/`, `GET /_bench/requests` answers what reached it: per request the action, the error code (what
`Sandbox.received` records) and when it arrived and was answered, on this machine's monotonic clock (shared by
every process on Linux, so the caller can line them up with its own `time.monotonic()`).
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

FIRST_DAY = "2025-01-01"


def day(index: int) -> str:
    """The data time of the world's instance number `index` (0-based)."""
    return (datetime.fromisoformat(FIRST_DAY) + timedelta(days=index)).strftime("%Y-%m-%d %H:%M:%S")


def _app(days: int, rate_limit: int) -> Any:
    from starlette.responses import JSONResponse
    from tests.worlds import backfill_world

    from bench.common import SECRET_ID, SECRET_KEY
    from wedata_mcp.sandbox.app import Sandbox
    from wedata_mcp.sandbox.protocol import Account

    sandbox = Sandbox(
        accounts={SECRET_ID: Account(SECRET_ID, SECRET_KEY)},
        world=backfill_world(days, first_day=FIRST_DAY),
        rate_limit=rate_limit,
    )
    api = sandbox.app()
    timings: list[tuple[str, float, float]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_bench/requests":
            received = [[r.action, r.error_code] for r in sandbox.requests(verified=None)]
            await JSONResponse({"received": received, "timings": timings})(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_bench/reruns":
            # Every RunRerunScheduleInstances: sha256 of its body, its error code, whether it ran (bench/load.py).
            reruns = [
                [hashlib.sha256(r.body).hexdigest(), r.error_code, r.executed]
                for r in sandbox.requests("RunRerunScheduleInstances", verified=None)
            ]
            await JSONResponse({"reruns": reruns})(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_bench/clear":
            sandbox.clear_received()
            timings.clear()
            await JSONResponse({})(scope, receive, send)
            return
        start = time.monotonic()
        await api(scope, receive, send)
        if scope["type"] == "http":
            action = dict(scope["headers"]).get(b"x-tc-action", b"").decode()
            timings.append((action, start, time.monotonic()))

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.simulator")
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--rate-limit", type=int, default=20, help="per SecretId and action, per second")
    args = parser.parse_args(argv)
    # IPPROTO_TCP named explicitly: asyncio disables Nagle (TCP_NODELAY) only on sockets whose proto says TCP.
    # With Nagle on, uvicorn's separate header and body writes wait for the client's delayed ACK: 40 ms a call.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_app(args.days, args.rate_limit), log_level="warning", lifespan="off")
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


@dataclass
class Request:
    action: str
    error_code: str | None
    start: float
    end: float


@dataclass
class Simulator:
    """A running simulator process, seen from the benchmark."""

    url: str

    def _get(self, path: str) -> Any:
        import httpx

        return httpx.get(self.url + path, timeout=30).json()

    def clear(self) -> None:
        self._get("/_bench/clear")

    def reruns(self) -> list[tuple[str, str | None, bool]]:
        """Every RunRerunScheduleInstances so far: (sha256 of the body, error code, whether it ran)."""
        return [(h, code, ran) for h, code, ran in self._get("/_bench/reruns")["reruns"]]

    def requests(self) -> list[Request]:
        """Every API request so far, in arrival order, with its error code and simulator-side timing."""
        data = self._get("/_bench/requests")
        # Both lists are in the order requests were answered, one entry per API request.
        timings = sorted(data["timings"], key=lambda t: t[1])
        received: list[list[Any]] = data["received"]
        if len(received) != len(timings):
            raise RuntimeError("the simulator's request log and timings disagree")
        # Match the logs action by action, in order (requests of one action are answered in arrival order
        # except under concurrency, where only the counts and error codes are used).
        codes: dict[str, list[str | None]] = {}
        for action, code in received:
            codes.setdefault(action, []).append(code)
        out: list[Request] = []
        for action, start, end in timings:
            out.append(Request(action, codes[action].pop(0), start, end))
        return out


@contextmanager
def running(days: int, rate_limit: int) -> Generator[Simulator]:
    """A simulator process for the block's duration."""
    import httpx

    process = subprocess.Popen(
        [sys.executable, "-m", "bench.simulator", "--days", str(days), "--rate-limit", str(rate_limit)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        url = process.stdout.readline().strip() if process.stdout else ""
        if not url.startswith("http://"):
            raise RuntimeError("the benchmark simulator did not start")
        simulator = Simulator(url)
        deadline = time.monotonic() + 30
        while True:  # bounded: until it answers, or 30 s
            try:
                simulator.clear()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.02)
        yield simulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
