"""Property-based input fuzzing of `rerun_schedule_instances` through an in-memory MCP session: arguments drawn
from its published inputSchema (hypothesis-jsonschema), valid ones and ones with exactly one defect.

Invalid arguments must come back as a tool error naming the field (never the SDK's bare crash message) and
send nothing at all; valid ones as a dry-run preview whose `Request` round-trips, and nothing mutating."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, currently_in_test_context, given, note, settings
from hypothesis import strategies as st

from tests.conftest import doc_example
from tests.inproc import text
from tests.sessions import Session, is_crash, session
from tests.strategies import (
    Strategies,
    dumps,
    error_names,
    locally_valid,
    normalized,
)
from wedata_mcp.models import RunRerunScheduleInstancesRequest as Request

# Deterministic (CI runs the same examples every time), no example database written into the tree.
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
TRIED: Counter[str] = Counter()
# A failing example is reported with its repr; a long one must not turn into a warning-as-error instead.
LARGE_REPR = pytest.mark.filterwarnings("ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning")
pytestmark = LARGE_REPR


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, Strategies]]:
    with session(tmp_path_factory.mktemp("fuzz")) as live:
        yield live, Strategies(live.schemas["rerun_schedule_instances"])
        assert not live.crashes.records, [r.getMessage() for r in live.crashes.records]


def note_answer(arguments: dict[str, Any], result: Any) -> None:
    """What hypothesis prints with a failing example."""
    if currently_in_test_context():
        note(f"arguments: {dumps(arguments)}\nanswer: {text(result)[:600]}")


def assert_refused_naming(live: Session, arguments: dict[str, Any], names: list[str]) -> None:
    before = live.received()
    result = live.call(arguments)
    message = text(result)
    note_answer(arguments, result)
    assert result.is_error and not is_crash(result), message
    assert result.structured_content is None
    for name in names:
        assert name in message, (name, message)
    assert live.received() == before  # not even a read-only look-up


def assert_preview(live: Session, arguments: dict[str, Any]) -> dict[str, Any]:
    before = live.reruns_received()
    result = live.call(arguments)
    note_answer(arguments, result)
    assert not result.is_error, text(result)
    preview = result.structured_content
    assert preview is not None and preview["Status"] == "dry_run"
    body = json.dumps(preview["Request"])
    assert hashlib.sha256(body.encode()).hexdigest() == preview["RequestHash"]
    # The normalized request round-trips: validating it again gives the same request and the same bytes.
    again = Request.model_validate(preview["Request"])
    assert again.wire_params() == preview["Request"] and again.wire_body().decode() == body
    if arguments.get("Instances"):
        assert body.encode() == normalized(arguments)  # exactly what was asked, normalized
    assert preview["ConfirmationToken"] or preview["NextStep"].startswith("Nothing was sent and no")
    assert live.reruns_received() == before  # a dry run sends nothing mutating
    return preview


@pytest.mark.long
@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_valid_arguments_give_a_preview_whose_request_round_trips_and_nothing_is_sent(
    fuzz: tuple[Session, Strategies], data: st.DataObject
) -> None:
    live, strategies = fuzz
    arguments = data.draw(strategies.valid, label="arguments")
    preview = assert_preview(live, arguments)
    # Feeding the normalized request back in previews the very same body.
    assert json.dumps(assert_preview(live, preview["Request"])["Request"]) == json.dumps(preview["Request"])
    TRIED["valid"] += 1


@pytest.mark.long
@settings(FUZZ, max_examples=700)
@given(data=st.data())
def test_arguments_with_one_defect_are_refused_naming_the_field_and_send_nothing(
    fuzz: tuple[Session, Strategies], data: st.DataObject
) -> None:
    live, strategies = fuzz
    arguments, names = data.draw(strategies.invalid, label="arguments with one defect")
    assert not locally_valid(arguments), dumps(arguments)
    assert_refused_naming(live, arguments, names)
    TRIED["invalid"] += 1


@pytest.mark.long
@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_anything_the_published_schema_allows_is_a_preview_or_a_field_error(
    fuzz: tuple[Session, Strategies], data: st.DataObject
) -> None:
    live, strategies = fuzz
    arguments = data.draw(
        st.one_of(
            strategies.anything_published,
            st.dictionaries(st.text(max_size=20), st.just(None) | st.integers() | st.text(), max_size=4),
        ),
        label="arguments",
    )
    arguments.pop("ConfirmationToken", None)  # tokens have their own test
    if locally_valid(arguments):
        assert_preview(live, arguments)
        TRIED["published-valid"] += 1
    else:
        assert_refused_naming(live, arguments, error_names(arguments))
        TRIED["published-invalid"] += 1


def test_the_doc_example_round_trips(fuzz: tuple[Session, Strategies]) -> None:
    live, _ = fuzz
    preview = assert_preview(live, doc_example())
    # The doc's example, verbatim, is the request shown (its json.dumps is the body: RequestHash says so above).
    assert preview["Request"] == Request.model_validate(doc_example()).wire_params()


ONE = {"Instances": [{"TaskId": "20240226155530703", "CurRunDate": "2026-11-24 00:00:00"}]}


@pytest.mark.parametrize("value", [True, False, 1.0, "1"])
def test_found_by_fuzzing_a_boolean_or_a_float_is_not_a_data_time_order_code(
    fuzz: tuple[Session, Strategies], value: Any
) -> None:
    """Literal[0, 1, 2] matched true as 1 and 1.0 as 1, strict mode or not."""
    assert_refused_naming(fuzz[0], ONE | {"DataTimeOrder": value}, ["DataTimeOrder"])


@pytest.mark.parametrize("date", ["２０２６-11-24 00:00:00", "٢٠٢٦-11-24 00:00:00", "2026-11-24 ０0:00:00"])
def test_found_by_fuzzing_dates_take_ascii_digits_only(fuzz: tuple[Session, Strategies], date: str) -> None:
    """`\\d` matched full-width and Arabic-Indic digits, which strptime then converted without a word."""
    arguments = {"Instances": [{"TaskId": "20240226155530703", "CurRunDate": date}]}
    assert_refused_naming(fuzz[0], arguments, ["CurRunDate"])
