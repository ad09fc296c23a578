"""Helpers shared by the sandbox tests (no tests here): a live loopback simulator, a signed raw caller,
and the seed's task IDs by name."""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from wedata_mcp.cloud.signing import SigningKey, TC3Auth
from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.sandbox.world import World

SECRET_ID = "AKIDsandboxTEST00000000000000000000"
SECRET_KEY = "sandbox-test-key-0000000000000000"
OTHER_ID = "AKIDsandboxOTHER0000000000000000000"
OTHER_KEY = "sandbox-other-key-000000000000000"
REGION = "ap-guangzhou"
START = 1_800_000_000.0  # a fixed wall-clock reading; the world's story starts at its seed's `now`

YESTERDAY = "2026-11-24 00:00:00"
DAY_BEFORE = "2026-11-23 00:00:00"

# The seed's tasks (sandbox/seed.json), named as they are there.
ODS_ORDERS = "20240226154637701"
ODS_USERS = "20240226155012702"
ODS_PAYMENTS = "20240226155530703"  # failed yesterday (replica timeout); a rerun succeeds
DWD_ORDERS = "20240307215220701"
DWD_USERS = "20240307220104702"
DWD_PAYMENTS = "20240307220931703"
DWD_ORDER_FACTS = "20240311101544701"
DWS_DAILY_SALES = "20240318093012701"
DWS_USER_ACTIVITY = "20240318094455702"  # failed yesterday (out of memory); keeps failing
ADS_SALES_DASHBOARD = "20240402143301701"
ADS_USER_RETENTION = "20240402144518702"
ADS_PARTNER_EXPORT = "20240415110207701"  # its name carries a prompt injection

RETAIL_DW = "127890865433555"
GROWTH_BI = "1485413914375667"


class FakeClock:
    """A wall clock that moves only when told to."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# One TLS context for every fresh client: loading the CA bundle is most of what a new httpx.Client costs.
TLS = httpx.create_ssl_context()


@dataclass
class Live:
    """A simulator on a loopback socket, its clock, and a way to send it signed requests."""

    sandbox: Sandbox
    url: str
    clock: FakeClock

    def post(
        self,
        action: str,
        params: Any = None,
        *,
        body: bytes | None = None,
        secret_id: str = SECRET_ID,
        secret_key: str = SECRET_KEY,
        version: str = "2021-08-20",
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
        clock_skew: float = 0.0,
    ) -> httpx.Response:
        """One signed API 3.0 POST (a fresh connection each time, so a dropped one affects only itself)."""
        content = body if body is not None else json.dumps(params or {}).encode()
        sent = {
            "Content-Type": "application/json",
            "X-TC-Action": action,
            "X-TC-Version": version,
            "X-TC-Region": REGION,
            **(headers or {}),
        }
        auth = TC3Auth(SigningKey(secret_id, secret_key), "wedata", lambda: self.clock() + clock_skew)
        with httpx.Client(timeout=timeout, verify=TLS) as client:
            return client.post(self.url, content=content, headers=sent, auth=auth)

    def call(self, action: str, params: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The `Response` object of one call (success or Tencent error envelope)."""
        response = self.post(action, params, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()["Response"]

    def load(self, world: World) -> None:
        self.sandbox.load(world)

    def fresh(self) -> Live:
        """This simulator, reset for the next test: one wall second later (a fresh rate-limit window), the seeded
        world again, no faults, nothing received."""
        self.clock.advance(1.0)
        self.load(World.seeded())
        self.sandbox.faults.clear()
        self.sandbox.clear_received()
        return self


PROJECTS = (RETAIL_DW, GROWTH_BI)


def in_project(project: str, **params: Any) -> dict[str, Any]:
    """DescribeScheduleInstances parameters with the ones the SDK marks 【必要参数】: ProjectIdent ("项目ID"),
    PageIndex and PageSize (1 and 100 unless given)."""
    return {"ProjectIdent": project, "PageIndex": 1, "PageSize": 100} | params


def error_code(response: dict[str, Any]) -> str | None:
    error = response.get("Error")
    return error["Code"] if error else None


def instance(task_id: str, cur_run_date: str = YESTERDAY) -> dict[str, str]:
    return {"TaskId": task_id, "CurRunDate": cur_run_date}


def new_sandbox(clock: Callable[[], float], **kwargs: Any) -> Sandbox:
    accounts = {SECRET_ID: Account(SECRET_ID, SECRET_KEY), OTHER_ID: Account(OTHER_ID, OTHER_KEY)}
    return Sandbox(accounts=accounts, clock=clock, **kwargs)


@contextmanager
def live_sandbox(**kwargs: Any) -> Generator[Live]:
    """A seeded simulator served on 127.0.0.1 with a fake clock."""
    clock = FakeClock()
    sandbox = new_sandbox(clock, **kwargs)
    with serve_in_thread(sandbox, host="127.0.0.1") as url:
        yield Live(sandbox, url, clock)
