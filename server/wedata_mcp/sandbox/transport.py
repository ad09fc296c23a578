"""Socket-level misbehaviour for injected faults: answering late, and closing without answering.

A late answer stops waiting as soon as the client hangs up (its timeout), so nothing is left sleeping
when the server shuts down.

Closing a connection with no response is not something ASGI can say: uvicorn answers 500 for an app
that returns (or raises) without responding. So `drop_connection` reaches the asyncio transport behind
uvicorn's `send` (its request cycle's `transport`) and closes it, then lets uvicorn notice the disconnect
so that it sends nothing either. Served in-process (httpx.ASGITransport) there is no socket to close:
it raises ConnectionResetError into the caller instead.
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Send

_MAX_YIELDS = 20


async def drop_connection(send: Send) -> None:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    close = getattr(transport, "close", None)
    if not callable(close):
        raise ConnectionResetError("the WeData sandbox dropped the connection (injected fault)")
    close()
    # connection_lost runs on a later loop turn; until it has, uvicorn would still send its own 500.
    for _ in range(_MAX_YIELDS):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)


async def answer_late(delay: float, receive: Receive) -> bool:
    """Wait `delay` seconds before answering; False if the client gave up (disconnected) meanwhile."""

    async def until_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(until_disconnect(), timeout=delay)
    except TimeoutError:
        return True
    return False
