"""Tencent's error envelope for requests the gateway refuses before any action runs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.test_sandbox_support import ODS_PAYMENTS, Live, error_code, instance, live_sandbox

RERUN = "RunRerunScheduleInstances"
PARAMS = {"Instances": [instance(ODS_PAYMENTS)], "RerunType": "1"}


@pytest.fixture(scope="module")
def _server() -> Iterator[Live]:
    with live_sandbox() as live:
        yield live


@pytest.fixture
def live(_server: Live) -> Live:
    return _server.fresh()


def refused(live: Live, code: str, response: httpx.Response) -> None:
    """Asserts Tencent's envelope (HTTP 200, Error.Code/Message, RequestId) and that nothing ran."""
    assert response.status_code == 200
    body = response.json()["Response"]
    assert error_code(body) == code and body["Error"]["Message"] and body["RequestId"]
    assert live.sandbox.world.rerun_records == []
    assert live.sandbox.received[-1].error_code == code and not live.sandbox.received[-1].executed


def test_wrong_key_is_signature_failure(live: Live) -> None:
    refused(live, "AuthFailure.SignatureFailure", live.post(RERUN, PARAMS, secret_key="wrong"))
    assert not live.sandbox.received[-1].verified


def test_unknown_secret_id_is_secret_id_not_found(live: Live) -> None:
    refused(live, "AuthFailure.SecretIdNotFound", live.post(RERUN, PARAMS, secret_id="AKIDnobody"))


def test_a_timestamp_more_than_five_minutes_off_has_expired(live: Live) -> None:
    refused(live, "AuthFailure.SignatureExpire", live.post(RERUN, PARAMS, clock_skew=-301))


def test_a_timestamp_within_five_minutes_is_accepted(live: Live) -> None:
    assert error_code(live.call(RERUN, PARAMS, clock_skew=-299)) is None


def test_unknown_action_is_invalid_action(live: Live) -> None:
    refused(live, "InvalidAction", live.post("RunRerunEverything", PARAMS))


def test_unknown_version_is_no_such_version(live: Live) -> None:
    refused(live, "NoSuchVersion", live.post(RERUN, PARAMS, version="2017-03-12"))


def test_a_body_that_is_not_json_is_invalid_parameter(live: Live) -> None:
    refused(live, "InvalidParameter", live.post(RERUN, body=b"Instances=1"))


def test_a_body_that_is_not_an_object_is_invalid_parameter(live: Live) -> None:
    refused(live, "InvalidParameter", live.post(RERUN, body=b"[1, 2]"))


def test_a_missing_region_is_missing_parameter(live: Live) -> None:
    refused(live, "MissingParameter", live.post(RERUN, PARAMS, headers={"X-TC-Region": ""}))


def test_missing_selection_is_missing_parameter(live: Live) -> None:
    refused(live, "MissingParameter", live.post(RERUN, {"RerunType": "1"}))


def test_get_is_not_the_api(live: Live) -> None:
    with httpx.Client() as client:
        body = client.get(live.url).json()["Response"]
    assert error_code(body) == "UnsupportedProtocol"


def test_other_paths_are_not_found(live: Live) -> None:
    with httpx.Client() as client:
        assert client.post(live.url + "/v2", content=b"{}").status_code == 404
