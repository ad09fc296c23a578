"""Shared pydantic building blocks for WeData's documented API shapes."""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

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
        known = cls._known
        for key in data:  # pyright: ignore[reportUnknownVariableType]
            if key not in known:
                name = str(key)  # pyright: ignore[reportUnknownArgumentType]
                close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
                close = close or [k for k in sorted(known) if k.lower() == name.lower()]
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise PydanticCustomError(
                    "unknown_field",
                    "unknown field '{field}' in {model}{hint}",
                    {"field": name[:60], "model": cls.__name__, "hint": hint},
                )
        return data  # pyright: ignore[reportUnknownVariableType]

    @model_validator(mode="after")
    def _check_extra_values(self) -> DocumentedModel:
        for key, value in (self.model_extra or {}).items():
            if not _is_json_scalar_or_container(value):
                raise PydanticCustomError("json_type", "field '{field}' must be JSON data", {"field": key})
        return self


def _is_json_scalar_or_container(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)
