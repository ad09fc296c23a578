"""TC3-HMAC-SHA256: Tencent's published worked example stage by stage, and the official SDK as oracle."""

from __future__ import annotations

import json
import random
import string
from typing import Any

import httpx
import pytest
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from wedata_mcp.cloud import signing
from wedata_mcp.cloud.client import Target, WeDataClient
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.ratelimit import RateLimiter

# Tencent's documented example (cvm DescribeInstances), body byte for byte with literal \u escapes.
EXAMPLE_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
EXAMPLE_BODY = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
EXAMPLE_TS = 1551113065


def test_worked_example_hashed_payload() -> None:
    assert signing.sha256_hex(EXAMPLE_BODY) == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"


def test_worked_example_credential_scope_uses_utc_date_of_timestamp() -> None:
    assert signing.credential_scope(EXAMPLE_TS, "cvm") == "2019-02-25/cvm/tc3_request"


def test_worked_example_hashed_canonical_request() -> None:
    canonical = signing.canonical_request(
        method="POST",
        content_type="application/json; charset=utf-8",
        host="cvm.tencentcloudapi.com",
        payload=EXAMPLE_BODY,
    )
    assert signing.sha256_hex(canonical.encode()) == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )


def test_worked_example_signature() -> None:
    canonical = signing.canonical_request(
        method="POST",
        content_type="application/json; charset=utf-8",
        host="cvm.tencentcloudapi.com",
        payload=EXAMPLE_BODY,
    )
    to_sign = signing.string_to_sign(canonical, EXAMPLE_TS, "cvm")
    assert signing.signature(EXAMPLE_KEY, EXAMPLE_TS, "cvm", to_sign) == (
        "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = string.ascii_letters + string.digits + ' -_:./"\\' + "数据重跑任务实例工作流é€😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def _random_params(rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {
        "Instances": [
            {
                "TaskId": str(rng.randint(10**16, 10**17)),
                "CurRunDate": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 00:00:00",
                "TaskName": _random_text(rng, 12),
            }
            for _ in range(rng.randint(1, 4))
        ],
        "RerunType": rng.choice(["1", "2", "3"]),
    }
    if rng.random() < 0.5:
        params["CheckFather"] = rng.random() < 0.5
    if rng.random() < 0.3:
        params["SearchCondition"] = {"TaskNameList": [_random_text(rng, 8)], "StateList": [rng.randint(0, 9)]}
    if rng.random() < 0.3:
        params["ReDoParams"] = _random_text(rng, 40)
    return params


def _sdk_sign(
    params: dict[str, Any],
    *,
    host: str,
    region: str,
    secret_id: str,
    secret_key: str,
    token: str | None,
    timestamp: int,
    monkeypatch: pytest.MonkeyPatch,
    version: str = "2021-08-20",
    action: str = "RunRerunScheduleInstances",
) -> RequestInternal:
    """What Tencent's own SDK puts on the wire for these params at this second."""
    monkeypatch.setattr(abstract_client.time, "time", lambda: timestamp)
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=host))
    profile.disable_region_breaker = True
    client = CommonClient("wedata", version, credential.Credential(secret_id, secret_key, token), region, profile)
    req = RequestInternal(host, "POST", "/", header={})
    client._build_req_with_tc3_signature(action, params, req)  # pyright: ignore[reportPrivateUsage]
    return req


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK uses datetime.utcfromtimestamp
async def test_signing_is_byte_identical_to_official_sdk_for_1000_generated_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20261125)
    captured: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200, json={"Response": {"RequestId": "r"}})

    checked = 0
    for _ in range(1000):
        host = rng.choice(["wedata.tencentcloudapi.com", "127.0.0.1:9000", "localhost:18080"])
        scheme = "https" if host.startswith("wedata") else "http"
        secret_id = "AKID" + "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        secret_key = "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        token = "".join(rng.choices(string.ascii_letters, k=20)) if rng.random() < 0.3 else None
        region = rng.choice(["ap-guangzhou", "ap-shanghai", "ap-beijing"])
        timestamp = rng.randint(1_500_000_000, 2_000_000_000)
        params = _random_params(rng)

        client = WeDataClient(
            Target(endpoint=f"{scheme}://{host}", region=region),
            Credentials(secret_id, secret_key, token),
            transport=httpx.MockTransport(answer),
            clock=lambda ts=timestamp: float(ts),
            limiter=RateLimiter(1_000_000),
        )
        try:
            await client.call("RunRerunScheduleInstances", json.dumps(params).encode(), mutating=True)
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
        )

        assert ours.content == sdk.data.encode()
        for header in (
            "Authorization",
            "Content-Type",
            "Host",
            "X-TC-Action",
            "X-TC-Version",
            "X-TC-Timestamp",
            "X-TC-Region",
        ):
            assert ours.headers[header] == sdk.header[header], header
        assert ours.headers.get("X-TC-Token") == sdk.header.get("X-TC-Token")
        checked += 1
    assert checked == 1000


def test_signing_key_repr_hides_secrets() -> None:
    key = signing.SigningKey("AKIDvisible", "hidden-key", "hidden-token")
    assert "hidden" not in repr(key) and "AKIDvisible" not in repr(key)
