"""Property-based tests of the token binding, through an in-memory MCP session: for every request field, a
value changed between the dry run and the execution is refused and sends nothing; the unchanged request then
sends exactly the previewed bytes, once. Forged and altered tokens send nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, currently_in_test_context, given, settings
from hypothesis import strategies as st

from tests.inproc import text
from tests.sessions import Session, is_crash, session
from tests.strategies import (
    FIELD_PATHS,
    REMOVE,
    Strategies,
    dumps,
    locally_valid,
    normalized,
    seeded_instances,
    with_value,
)
from tests.test_fuzz_arguments import FUZZ, LARGE_REPR, TRIED, note_answer
from wedata_mcp.guardrail.audit import JsonLinesAudit
from wedata_mcp.sandbox.world import World

pytestmark = LARGE_REPR


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Strategies]]:
    with session(tmp_path_factory.mktemp("binding")) as live:
        yield live, Strategies(live.schemas["rerun_schedule_instances"])
        assert not live.crashes.records, [r.getMessage() for r in live.crashes.records]


def preview_of(live: Session, arguments: dict[str, Any]) -> dict[str, Any]:
    """A dry run that issued a token: one without (it would rerun nothing, say) binds nothing to test."""
    result = live.call(arguments)
    note_answer(arguments, result)
    assert not result.is_error and result.structured_content is not None, text(result)
    if currently_in_test_context():
        assume(result.structured_content.get("ConfirmationToken") is not None)
    return result.structured_content


def last_audit_event(live: Session) -> str:
    return str(JsonLinesAudit(live.audit).recent(1)[-1]["event"])


def execute_once_exactly_as_previewed(live: Session, arguments: dict[str, Any], preview: dict[str, Any]) -> None:
    """The confirmed call sends the previewed bytes once; presenting the token again sends nothing."""
    token = preview["ConfirmationToken"]
    reruns = live.reruns_received()
    result = live.call(arguments | {"ConfirmationToken": token})
    note_answer(arguments, result)
    # The proof that the guardrail let it through is the count of sends: one, whatever the answer. An API refusal
    # after sending is an error too; a guardrail refusal's message would start "not executed:" (shown on failure).
    assert not is_crash(result), text(result)
    assert live.reruns_received() == reruns + 1, text(result)
    assert live.last_rerun_body() == json.dumps(preview["Request"]).encode()
    if not result.is_error:  # an API refusal (unknown instance, CheckFather...) is an error, after sending
        assert result.structured_content is not None
        assert result.structured_content["Status"] == "executed"
        assert json.dumps(result.structured_content["Request"]) == json.dumps(preview["Request"])
    again = live.call(arguments | {"ConfirmationToken": token})
    assert again.is_error or (again.structured_content or {}).get("Status") == "already_executed", text(again)
    assert live.reruns_received() == reruns + 1
    assert last_audit_event(live) == "replayed"


@settings(FUZZ, max_examples=6)
@pytest.mark.parametrize("path", FIELD_PATHS)
@given(data=st.data())
def test_changing_a_field_after_the_preview_is_refused_and_sends_nothing(
    fuzz: tuple[Session, Strategies], path: str, data: st.DataObject
) -> None:
    live, strategies = fuzz
    arguments = data.draw(strategies.by_instances.filter(locally_valid), label="arguments")
    value = data.draw(strategies.value_for(path), label=f"new {path}")
    changed = with_value(arguments, path, value)
    if changed.get("Instances") and changed.get("SearchCondition") is not None:
        # A SearchCondition beside the Instances: refused as arguments, before any token is read or look-up made.
        preview = preview_of(live, arguments)
        received = live.received()
        refused = live.call(changed | {"ConfirmationToken": preview["ConfirmationToken"]})
        assert refused.is_error and not is_crash(refused) and "not both" in text(refused), text(refused)
        assert live.received() == received
        execute_once_exactly_as_previewed(live, arguments, preview)
        TRIED["binding-two-selections"] += 1
        return
    assume(locally_valid(changed) and normalized(changed) != normalized(arguments))
    preview = preview_of(live, arguments)
    received, reruns = live.received(), live.reruns_received()
    refused = live.call(changed | {"ConfirmationToken": preview["ConfirmationToken"]})
    note_answer(changed, refused)
    assert refused.is_error and not is_crash(refused), text(refused)
    assert "not executed" in text(refused) and "different request" in text(refused), text(refused)
    assert live.reruns_received() == reruns
    assert live.received() == received  # not even a look-up (a SearchCondition-only change included)
    assert last_audit_event(live) == "rejected"
    execute_once_exactly_as_previewed(live, arguments, preview)
    TRIED["binding" if value is not REMOVE else "binding-removed"] += 1


SEEDED_TASKS = [
    "20240226154637701",
    "20240226155012702",
    "20240226155530703",
    "20240307215220701",
    "20240318094455702",
    "20240415110207701",
]
SEARCHES = st.fixed_dictionaries(
    {"TaskIdList": st.lists(st.sampled_from(SEEDED_TASKS), min_size=1, max_size=3, unique=True)},
    optional={
        "StateList": st.lists(st.sampled_from([2, 4, 12]), min_size=1, max_size=2, unique=True),
        "DateFrom": st.sampled_from(["2024-04-09 00:00:00", "2026-11-23 00:00:00"]),
        "DateTo": st.sampled_from(["2024-04-10 00:00:00", "2026-11-24 00:00:00"]),
    },
)


@settings(FUZZ, max_examples=60)
@given(
    search=SEARCHES,
    extra=st.fixed_dictionaries(
        {},
        optional={"RerunType": st.sampled_from(["1", "2"]), "CheckFather": st.booleans(), "AsyncMode": st.booleans()},
    ),
)
def test_a_search_condition_sends_exactly_the_instances_its_preview_resolved(
    fuzz: tuple[Session, Strategies], search: dict[str, Any], extra: dict[str, Any]
) -> None:
    live, _ = fuzz
    arguments = {"SearchCondition": search} | extra
    preview = preview_of(live, arguments)
    if not preview["ConfirmationToken"]:
        assert preview["BlastRadius"]["TotalCount"] in (0, None)
        return
    assert json.loads(json.dumps(preview["Request"]))["Instances"]  # resolved into an explicit list
    execute_once_exactly_as_previewed(live, arguments, preview)
    TRIED["search-binding"] += 1


def _altered(token: str, how: str, other: str, position: int, junk: str) -> str:
    prefix, payload, mac = token.split(".")
    _, other_payload, other_mac = other.split(".")
    if how == "flip":
        index = position % len(token)
        return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
    if how == "truncate":
        return token[: position % len(token)]
    if how == "swap_payload":
        return f"{prefix}.{other_payload}.{mac}"
    if how == "swap_mac":
        return f"{prefix}.{payload}.{other_mac}"
    if how == "rebind":  # the same claims with another binding, under the old MAC
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["b"] = "0" * 64
        forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
        return f"{prefix}.{forged}.{mac}"
    if how == "extend":  # a later expiry, under the old MAC
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["e"] = claims["e"] + 86_400
        forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
        return f"{prefix}.{forged}.{mac}"
    if how == "pad":
        return junk + token + junk if junk else token + " "
    if how == "other_request":
        return other
    return junk  # "junk": anything at all, the empty string included


TOKEN_DEFECTS = ["flip", "truncate", "swap_payload", "swap_mac", "rebind", "extend", "pad", "other_request", "junk"]


@pytest.mark.long
@settings(FUZZ, max_examples=300)
@given(
    data=st.data(),
    how=st.sampled_from(TOKEN_DEFECTS),
    position=st.integers(0, 10_000),
    junk=st.one_of(st.just(""), st.text(max_size=40), st.from_regex(r"wdc1\.[A-Za-z0-9_-]{0,80}\.[A-Za-z0-9_-]{0,50}")),
)
def test_forged_altered_or_foreign_tokens_send_nothing(
    fuzz: tuple[Session, Strategies], data: st.DataObject, how: str, position: int, junk: str
) -> None:
    live, strategies = fuzz
    arguments = data.draw(strategies.by_instances.filter(locally_valid), label="arguments")
    # Another instance the world knows (a preview issues a token only for those): another request, another token.
    first = arguments["Instances"][0]
    # In the same project: the instance's own ProjectId, when given, scopes its look-up.
    project = World.seeded().project_of
    another = next(
        i
        for i in seeded_instances()
        if i["TaskId"] != first["TaskId"] and project(i["TaskId"]) == project(first["TaskId"])
    )
    other_arguments = with_value(arguments, "Instances.*.TaskId", another["TaskId"])
    other_arguments["Instances"][0]["CurRunDate"] = another["CurRunDate"]
    token = preview_of(live, arguments)["ConfirmationToken"]
    other = preview_of(live, other_arguments)["ConfirmationToken"]
    forged = _altered(token, how, other, position, junk)
    assume(forged != token)
    received = live.received()
    result = live.call(arguments | {"ConfirmationToken": forged})
    note_answer(arguments | {"ConfirmationToken": forged}, result)
    assert result.is_error and not is_crash(result)
    assert "not executed" in text(result) and "ConfirmationToken" in text(result), text(result)
    assert live.received() == received
    assert last_audit_event(live) == "rejected", dumps(forged)
    TRIED["forged-token"] += 1


@pytest.mark.parametrize("token", ["wdc1.é.x", "wdc1.eyJ9.é", "wdc1.ｘ.ｙ", "é"])
def test_found_by_fuzzing_a_non_ascii_token_is_refused_not_a_crash(
    fuzz: tuple[Session, Strategies], token: str
) -> None:
    """hmac.compare_digest raises TypeError on a str with non-ASCII characters: that was a crash."""
    live, _ = fuzz
    arguments = {"Instances": [{"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}]}
    received = live.received()
    result = live.call(arguments | {"ConfirmationToken": token})
    assert result.is_error and not is_crash(result) and "not a token issued by this server" in text(result)
    assert live.received() == received


def test_found_by_fuzzing_a_used_search_condition_token_replays_its_outcome(fuzz: tuple[Session, Strategies]) -> None:
    """Presented again, a used token returns its recorded outcome. A search for failed instances selects nothing
    once they rerun, so the gate used to answer "not executed: SearchCondition now matches no instances"."""
    live, _ = fuzz
    live.sandbox.load(World.seeded())
    arguments = {"SearchCondition": {"StateList": [4], "DateFrom": "2026-11-24 00:00:00"}, "RerunType": "1"}
    preview = preview_of(live, arguments)
    assert preview["BlastRadius"]["TotalCount"] == 2
    execute_once_exactly_as_previewed(live, arguments, preview)
    received = live.received()
    replay = live.call(arguments | {"ConfirmationToken": preview["ConfirmationToken"]})
    assert (replay.structured_content or {}).get("Status") == "already_executed", text(replay)
    assert live.received() == received  # answered from the record, without a look-up
