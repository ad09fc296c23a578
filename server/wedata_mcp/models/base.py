"""Shared pydantic building blocks for WeData's documented API shapes."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, ClassVar, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

# The reference's parameter table writes "2024-04-0900:00:00" (no separator) while its example body
# writes "2024-04-10 00:00:00"; accept both (and ISO's "T"), always send the spaced form. ASCII digits only:
# `\d` alone also matches full-width and other scripts' digits, which strptime would quietly convert.
_DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T]?(\d{2}):(\d{2}):(\d{2})$", re.ASCII)


def wire_datetime(value: datetime) -> str:
    """'YYYY-MM-DD HH:MM:SS', as WeData takes it (isoformat: ~10x cheaper than strftime, always 4 year digits)."""
    return value.isoformat(sep=" ", timespec="seconds")


def _parse_wire_datetime(value: object) -> object:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "expected a date-time string like '2024-04-10 00:00:00'")
    return parse_wire_datetime(value)


def parse_wire_datetime(value: str) -> datetime:
    """The one data-time parser: 'YYYY-MM-DD HH:MM:SS' (or with 'T', or no separator) as a real calendar time.
    Its errors are ValueErrors that pydantic reports under the field's name."""
    match = _DATETIME_RE.match(value.strip())
    if match is None:
        raise PydanticCustomError(
            "datetime_format",
            "'{value}' is not a date-time like '2024-04-10 00:00:00'",
            {"value": value[:40]},
        )
    try:
        # The regex fixed the shape; datetime() checks the calendar (strptime would cost ~8x more, most of it
        # in locale look-ups, paid per instance of a large selection).
        year, month, day, hour, minute, second = map(int, match.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise PydanticCustomError(
            "datetime_range", "'{value}' is not a valid calendar date-time", {"value": value[:40]}
        ) from exc


WireDateTime = Annotated[
    datetime,
    BeforeValidator(_parse_wire_datetime),
    PlainSerializer(wire_datetime, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["2024-04-10 00:00:00"]}),
]
"""WeData's data-time string, validated as a real date-time and sent as 'YYYY-MM-DD HH:MM:SS'."""


# WeData's identifiers (task, workflow, project IDs) are ASCII digits and letters, with '_' or '-' in some
# generated ones. Anything else in a field that selects what runs (a space, a zero-width or bidi character, a
# look-alike letter) would either select nothing or something else than the person read, so it is refused.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN, re.ASCII)


def spoken(task_id: str, cur_run_date: str) -> str:
    """How prose may name an instance WeData listed: 'TaskId@CurRunDate' when both have their documented shape,
    else words. An answer's fields are data; in prose, free text could pass for the server's own words."""
    if _IDENTIFIER_RE.fullmatch(task_id) and _DATETIME_RE.fullmatch(cur_run_date):
        return f"{task_id}@{cur_run_date}"
    return "an instance whose TaskId or CurRunDate is not of the documented shape"


def _first_offence(value: str) -> str:
    """Which character breaks an identifier, described without echoing the value (a person's field may hold
    anything; the error only has to say what to fix)."""
    if len(value) > 64:
        return f"it is {len(value)} characters long (at most 64)"
    for position, char in enumerate(value, start=1):
        if char.isascii() and (char.isalnum() or char in "_-"):
            continue
        code = f"U+{ord(char):04X}"
        category = unicodedata.category(char)
        if char.isspace():
            kind = "whitespace"
        elif category == "Cc":
            kind = "a control character"
        elif category == "Cf":
            kind = "an invisible format character (zero-width or bidi)"
        elif ord(char) > 127:
            kind = "a non-ASCII character"
        else:
            kind = "punctuation"
        return f"character {position} is {kind} ({code})"
    return "it is empty"


def _identifier(allow_empty: bool) -> Any:
    def check(value: object) -> object:
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "expected an identifier string")
        if (value == "" and allow_empty) or _IDENTIFIER_RE.fullmatch(value):
            return value
        raise PydanticCustomError(
            "identifier",
            "must be 1-64 ASCII letters, digits, '_' or '-': {offence}",
            {"offence": _first_offence(value)},
        )

    return BeforeValidator(check)


Identifier = Annotated[
    str, _identifier(allow_empty=False), WithJsonSchema({"type": "string", "pattern": IDENTIFIER_PATTERN})
]
"""An ID that selects what runs (TaskId): its documented shape only."""

# Published as a plain string: its shape is said once, by the required identifiers' pattern (tools/list is a budget).
OptionalIdentifier = Annotated[str, _identifier(allow_empty=True), WithJsonSchema({"type": "string"})]
"""An ID the reference's own example leaves empty ("WorkflowId": ""): empty, or the documented shape."""

_UNSEEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _visible_text(value: object) -> object:
    # Names (task, workflow, owner) may be any script, but never hold what a person cannot see.
    if isinstance(value, str):
        found = _UNSEEN.search(value)
        if found is not None:
            raise PydanticCustomError(
                "invisible_character",
                "must not hold control, line-break or invisible format characters (found U+{code})",
                {"code": f"{ord(found.group()):04X}"},
            )
    return value


VisibleText = Annotated[str, BeforeValidator(_visible_text)]
"""Free text that selects or names instances: any script, nothing invisible."""


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The valid name `name` most likely meant ('TaskID' -> 'TaskId', 'state' -> 'StateName'), if any is close."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    folded = name.lower().replace("_", "")
    return (close or [k for k in names if k.lower() == folded or folded in k.lower()] or [None])[0]


def reject_unknown(data: dict[Any, Any], known: frozenset[str], model: str) -> None:
    """Refuse the first key of `data` that is not in `known`, naming the closest valid name."""
    for key in data:
        if key not in known:
            name = str(key)
            close = closest_name(name, known)
            hint = f"; did you mean '{close}'?" if close else ""
            if not close and len(known) <= 16:  # a tool's few arguments: name them all
                hint = f"; valid: {', '.join(sorted(known))}"
            raise PydanticCustomError(
                "unknown_field",
                "unknown field '{field}' in {model}{hint}",
                {"field": name[:60], "model": model, "hint": hint},
            )


class DocumentedModel(BaseModel):
    """A WeData type: documented PascalCase names only, with a 'did you mean' for anything else.

    Fields listed in `DOCUMENTED_EXTRA` are documented by Tencent but kept out of the JSON schema to
    keep an LLM's context lean; they are accepted and passed through verbatim.
    """

    # strict: "true" is not a boolean and 2 is not "2" — a rerun request should mean exactly what it says.
    # hide_input_in_errors: errors name the field, they do not echo the caller's values.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True, hide_input_in_errors=True)

    DOCUMENTED_EXTRA: ClassVar[frozenset[str]] = frozenset()
    # Every name the model accepts, fixed once the class is built: checked for each of thousands of instances.
    _known: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._known = frozenset(cls.model_fields) | cls.DOCUMENTED_EXTRA

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        reject_unknown(cast(dict[Any, Any], data), cls._known, cls.__name__)
        return data  # pyright: ignore[reportUnknownVariableType]

    @model_validator(mode="after")
    def _check_extra_values(self) -> DocumentedModel:
        for key, value in (self.model_extra or {}).items():
            if not _is_json_scalar_or_container(value):
                raise PydanticCustomError("json_type", "field '{field}' must be JSON data", {"field": key})
        return self


def _is_json_scalar_or_container(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)
