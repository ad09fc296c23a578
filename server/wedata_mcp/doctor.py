"""`wedata-mcp doctor`: a read-only check of the setup against the configured endpoint, printed as a table."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal, cast

import httpx

from wedata_mcp.cloud.client import Target, WeDataClient
from wedata_mcp.cloud.credentials import Credentials
from wedata_mcp.cloud.errors import CloudAPIError, WeDataError
from wedata_mcp.guardrail.policy import Policy, PolicyFileError
from wedata_mcp.guardrail.results import shown_endpoint
from wedata_mcp.models.describe import DescribeScheduleInstancesQuery
from wedata_mcp.settings import ENV_NAMES, Settings

# TC3-HMAC-SHA256: Tencent refuses a request whose X-TC-Timestamp is more than five minutes off its clock.
MAX_SKEW_SECONDS = 300.0
WARN_SKEW_SECONDS = 60.0
LOOKUP = "DescribeScheduleInstances"  # read-only; the doctor never sends a mutating action
LOOKUP_2025 = "ListTaskInstances"  # the same one-row look-up on API 2025-08-06
_CREDENTIAL_CODES = ("AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure", "AuthFailure.InvalidSecretId")
_CLOCK_CODES = ("AuthFailure.SignatureExpire",)
_REGION_CODES = ("UnsupportedRegion", "InvalidParameterValue.Region", "InvalidRegion")

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the report: what was checked, how it went, and what a person needs to know."""

    name: str
    status: Status
    detail: str


def lookup_body_2025(project_id: str) -> bytes:
    """ListTaskInstances' one-row page of a project (ProjectId; PageNumber and PageSize as the SDK documents them)."""
    return json.dumps({"ProjectId": project_id, "PageNumber": 1, "PageSize": 1}, separators=(",", ":")).encode()


def lookup_body(project_id: str) -> bytes:
    """A one-row look-up with the parameters the SDK marks 【必要参数】 (ProjectIdent, PageIndex, PageSize; its
    ProjectIdent is documented as "项目ID"), plus ProjectId, which the project's own scope needs."""
    query = DescribeScheduleInstancesQuery(ProjectId=project_id, ProjectIdent=project_id, PageIndex=1, PageSize=1)
    return json.dumps(query.model_dump(mode="json", exclude_none=True), separators=(",", ":")).encode()


async def _server_skew(
    endpoint: str, transport: httpx.AsyncBaseTransport | None, clock: Callable[[], float], http_timeout: float
) -> tuple[float | None, str | None]:
    """The endpoint's clock minus ours, from the `Date` header of an unsigned request (no credentials sent)."""
    async with httpx.AsyncClient(transport=transport, timeout=http_timeout, follow_redirects=False) as http:
        try:
            sent = clock()
            response = await http.get(endpoint)
            received = clock()
        except httpx.HTTPError as exc:
            return None, f"not reachable: {type(exc).__name__}"
    date = response.headers.get("Date")
    if date is None:
        return None, None
    try:
        server = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None, None
    # The header has one-second resolution; compare it with the middle of the round trip.
    return server - (sent + received) / 2, None


def _clock_check(skew: float | None, refused: bool) -> Check:
    shown = "skew not measured (no Date header)" if skew is None else f"{skew:+.0f} s against the endpoint's Date"
    if refused:
        return Check("clock", "fail", f"{shown}; the endpoint refused the signature as expired (SignatureExpire)")
    if skew is None:
        return Check("clock", "warn", shown)
    if abs(skew) > MAX_SKEW_SECONDS:
        return Check("clock", "fail", f"{shown}: beyond the {MAX_SKEW_SECONDS:.0f} s a TC3 signature allows")
    if abs(skew) > WARN_SKEW_SECONDS:
        return Check("clock", "warn", f"{shown}: near the {MAX_SKEW_SECONDS:.0f} s limit; sync the clock (NTP)")
    return Check("clock", "ok", shown)


def _policy_checks(settings: Settings) -> list[Check]:
    try:
        policy = Policy.from_file(settings.policy_file) if settings.policy_file else Policy()
    except PolicyFileError as exc:
        return [Check("policy", "fail", str(exc))]
    where = str(settings.policy_file) if settings.policy_file else "built-in defaults"
    rules = f"max {policy.max_instances} instances, {policy.max_executions_per_minute} executions/min"
    checks = [Check("policy", "ok", f"{where}: {rules}")]
    if policy.allowed_regions is not None and settings.region not in policy.allowed_regions:
        checks.append(Check("policy", "fail", f"allows reruns only in {', '.join(policy.allowed_regions)}"))
    read_only = settings.read_only or policy.read_only
    mode = "read-only (the rerun tool is hidden)" if read_only else f"{settings.approval} ({ENV_NAMES['approval']})"
    checks.append(Check("approval", "ok", mode))
    return checks


async def diagnose(
    settings: Settings,
    credentials: Credentials | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Check]:
    """Every check, in the order a person would fix them. Sends one unsigned GET and one read per project."""
    rows: list[Check] = []
    if credentials is None:
        rows.append(Check("credentials", "fail", "none found: set TENCENTCLOUD_SECRET_ID/KEY, or try --sandbox"))
    rows.append(Check("endpoint", "ok", shown_endpoint(settings.endpoint)))
    skew, unreachable = await _server_skew(settings.endpoint, transport, clock, settings.timeout_seconds)
    if unreachable:
        rows[-1] = Check("endpoint", "fail", f"{shown_endpoint(settings.endpoint)} {unreachable}")
    answered: list[str] = []
    codes: list[str] = []
    projects: list[Check] = []
    if not settings.project_ids:
        projects.append(Check("projects", "fail", f"none configured: set {ENV_NAMES['project_ids']}"))
    v2025 = settings.api_version == "2025-08-06"
    lookup, body_of = (LOOKUP_2025, lookup_body_2025) if v2025 else (LOOKUP, lookup_body)
    client = WeDataClient(
        Target(settings.endpoint, settings.region, version=settings.api_version, language=settings.language),
        credentials,
        transport=transport,
        clock=clock,
        timeout=settings.timeout_seconds,
        max_attempts=1,  # a diagnosis reports what happened, it does not paper over it
    )
    if credentials is None or unreachable:
        why = "no credentials" if credentials is None else "endpoint not reachable"
        projects += [Check(f"project {p}", "fail", f"not checked: {why}") for p in settings.project_ids]
    try:
        for project in settings.project_ids if credentials and not unreachable else ():
            try:
                found = await client.call(lookup, body_of(project), mutating=False)
            except CloudAPIError as exc:
                codes.append(exc.code)
                projects.append(Check(f"project {project}", "fail", f"{lookup}: {exc}"))
            except WeDataError as exc:
                projects.append(Check(f"project {project}", "fail", f"{lookup}: {exc}"))
            else:
                answered.append(project)
                data: object = found.data.get("Data")
                total = cast(dict[str, object], data).get("TotalCount") if isinstance(data, dict) else None
                projects.append(Check(f"project {project}", "ok", f"{lookup} answered ({total} instances)"))
    finally:
        await client.aclose()
    if credentials is not None:
        if any(c in _CREDENTIAL_CODES or c.startswith("AuthFailure.Secret") for c in codes):
            rows.insert(0, Check("credentials", "fail", f"from {credentials.source}: refused by the endpoint"))
        else:
            verdict: Status = "ok" if answered else "warn"
            heard = "accepted by the endpoint" if answered else "not confirmed"
            rows.insert(0, Check("credentials", verdict, f"from {credentials.source}: {heard}"))
    rows.append(_clock_check(skew, any(c in _CLOCK_CODES for c in codes)))
    if any(c in _REGION_CODES for c in codes):
        rows.append(Check("region", "fail", f"{settings.region}: refused by the endpoint"))
    else:
        rows.append(Check("region", "ok" if answered else "warn", settings.region))
    rows += projects
    return rows + _policy_checks(settings)


def render(checks: list[Check]) -> str:
    """A compact, aligned table; statuses in capitals when they need attention."""
    width = max(len(c.name) for c in checks)
    label = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}
    return "\n".join(f"{c.name:<{width}}  {label[c.status]:<4}  {c.detail}" for c in checks)


def failed(checks: list[Check]) -> bool:
    return any(c.status == "fail" for c in checks)
