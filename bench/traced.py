"""`wedata-mcp serve` (stdio) plus a record of when each API request left the server and its answer was read,
for the latency breakdown. The recording is an injected httpx transport (build_server's `transport`, the
seam tests use); nothing in the product is patched. Run as `python -m bench.traced` with BENCH_TRACE set to
the file that receives one `[action, start, end]` line per request (monotonic clock)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx


class TimingTransport(httpx.AsyncBaseTransport):
    """The pooled transport the client would make by itself, timing each request to its last body byte."""

    def __init__(self, trace: Path) -> None:
        # The limits WeDataClient gives its own default transport.
        self._inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
        self._trace = trace.open("a", encoding="utf-8")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        start = time.monotonic()
        response = await self._inner.handle_async_request(request)
        await response.aread()  # the client reads it all anyway; the cached body is what it gets
        end = time.monotonic()
        self._trace.write(json.dumps([request.headers.get("X-TC-Action"), start, end]) + "\n")
        self._trace.flush()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
        self._trace.close()


def main() -> int:
    from wedata_mcp.app import build_server
    from wedata_mcp.cloud.credentials import load_credentials
    from wedata_mcp.settings import Settings

    settings = Settings.from_env(os.environ)
    credentials = load_credentials(dict(os.environ), Path.home())
    transport = TimingTransport(Path(os.environ["BENCH_TRACE"]))
    build_server(settings, credentials, transport=transport).run("stdio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
