"""API 2025-08-06 requests, signed by our client, byte-identical to what Tencent's SDK puts on the wire."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import httpx
import pytest

from tests.test_signing import _sdk_sign  # pyright: ignore[reportPrivateUsage]
from wedata_mcp.cloud.client import Target, WeDataClient
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.ratelimit import RateLimiter
from wedata_mcp.models.v2025 import VERSION_2025, RerunTaskInstancesAsyncRequest

READS = (
    "ListTaskInstances",
    "GetTaskInstance",
    "GetTaskInstanceLog",
    "ListUpstreamTaskInstances",
    "ListDownstreamTaskInstances",
    "GetOpsAsyncJob",
)


def _text(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits + ' -_:./"\\' + "数据重跑任务实例é€😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, n)))


def _instance_key(rng: random.Random) -> str:
    return f"{rng.randint(10**16, 10**17)}_2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 00:00:00"


def _rerun(rng: random.Random) -> dict[str, Any]:
    """A rerun's wire parameters as our request model makes them."""
    given: dict[str, Any] = {
        "ProjectId": str(rng.randint(10**14, 10**15)),
        "InstanceKeyList": [_instance_key(rng) for _ in range(rng.randint(1, 4))],
    }
    for name, choices in (
        ("RerunType", ["1", "2", "3"]),
        ("CheckParentType", ["ALL", "MAKE_SCOPE", "NONE"]),
        ("SonRangeType", ["WORKFLOW", "PROJECT", "ALL"]),
        ("SkipEventListening", [True, False]),
        ("RedefineParallelNum", [1, 2, 8]),
        ("RedefineSelfWorkflowDependency", ["yes", "no"]),
    ):
        if rng.random() < 0.5:
            given[name] = rng.choice(choices)
    if rng.random() < 0.3:
        given["RedefineParamList"] = {"K": _text(rng, 8).replace("\\", ""), "V": _text(rng, 20)}
    return RerunTaskInstancesAsyncRequest.model_validate(given).wire_params()


def _read(rng: random.Random, action: str) -> dict[str, Any]:
    params: dict[str, Any] = {"ProjectId": str(rng.randint(10**14, 10**15))}
    if action == "ListTaskInstances":
        params |= {"PageNumber": rng.randint(1, 9), "PageSize": 100, "Keyword": _text(rng, 10)}
    elif action == "GetOpsAsyncJob":
        params["AsyncId"] = _text(rng, 30)
    else:
        params["InstanceKey"] = _instance_key(rng)
    if action == "GetTaskInstanceLog" and rng.random() < 0.5:
        params["NextCursor"] = _text(rng, 16)
    return params


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK uses datetime.utcfromtimestamp
async def test_2025_requests_are_signed_byte_identical_to_the_official_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20250806)
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"Response": {"RequestId": "r"}})

    actions = ("RerunTaskInstancesAsync", *READS)
    for n in range(350):
        action = actions[n % len(actions)]
        host = rng.choice(["wedata.tencentcloudapi.com", "127.0.0.1:9000"])
        secret_id = "AKID" + "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        secret_key = "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        token = "".join(rng.choices(string.ascii_letters, k=20)) if rng.random() < 0.3 else None
        region = rng.choice(["ap-guangzhou", "ap-shanghai"])
        timestamp = rng.randint(1_500_000_000, 2_000_000_000)
        params = _rerun(rng) if action == "RerunTaskInstancesAsync" else _read(rng, action)
        client = WeDataClient(
            Target(
                endpoint=f"{'https' if host.startswith('wedata') else 'http'}://{host}",
                region=region,
                version=VERSION_2025,
            ),
            Credentials(secret_id, secret_key, token),
            transport=httpx.MockTransport(answer),
            clock=lambda ts=timestamp: float(ts),
            limiter=RateLimiter(1_000_000),
        )
        try:
            await client.call(action, json.dumps(params).encode(), mutating=action == "RerunTaskInstancesAsync")
        finally:
            await client.aclose()
        ours = captured[-1]
        sdk = _sdk_sign(
            params,
            host=host,
            region=region,
            secret_id=secret_id,
            secret_key=secret_key,
            token=token,
            timestamp=timestamp,
            monkeypatch=monkeypatch,
            version=VERSION_2025,
            action=action,
        )
        assert ours.content == sdk.data.encode()
        for header in ("Authorization", "Content-Type", "Host", "X-TC-Action", "X-TC-Version", "X-TC-Timestamp"):
            assert ours.headers[header] == sdk.header[header], (action, header)
        assert ours.headers["X-TC-Version"] == "2025-08-06"
        assert ours.headers.get("X-TC-Token") == sdk.header.get("X-TC-Token")
