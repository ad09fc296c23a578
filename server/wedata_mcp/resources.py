"""MCP resources that help an assistant: the rerun tool's parameter reference, and the recent audit log."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer

from wedata_mcp.guardrail.audit import AuditSink, JsonLinesAudit, principal_of
from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.tools.sdk import request_principal

REFERENCE_URI = "wedata://reference/RunRerunScheduleInstances"
AUDIT_URI = "wedata://audit/recent"
RECENT = 50


def parameter_reference() -> str:
    """The request's parameters as a Markdown table, generated from the model the tool validates with."""
    schema = RunRerunScheduleInstancesRequest.model_json_schema()
    rows = ["| parameter | type | meaning |", "| --- | --- | --- |"]
    for name, spec in schema["properties"].items():
        options: list[dict[str, Any]] = spec.get("anyOf", [spec])
        kinds = sorted(
            {
                str(o.get("enum", o.get("type", o.get("$ref", "object").rsplit("/", 1)[-1])))
                for o in options
                if o.get("type") != "null"
            }
        )
        rows.append(f"| `{name}` | {', '.join(kinds)} | {spec.get('description', '')} |")
    return (
        "# RunRerunScheduleInstances (WeData API 2021-08-20)\n\n"
        "Batch rerun of schedule instances. Default rate limit: 20 requests/second.\n"
        "Select instances with `Instances` (each `TaskId` + `CurRunDate` 'YYYY-MM-DD HH:MM:SS') or "
        "`SearchCondition`. The tool adds `ConfirmationToken`: omit it for a dry run.\n\n" + "\n".join(rows) + "\n"
    )


def add_resources(server: MCPServer[Any], audit: AuditSink) -> None:
    @server.resource(REFERENCE_URI, title="RunRerunScheduleInstances parameters", mime_type="text/markdown")
    def rerun_reference() -> str:
        """The documented request parameters of the rerun tool, with their codes."""
        return parameter_reference()

    if isinstance(audit, JsonLinesAudit):
        file_audit = audit

        @server.resource(AUDIT_URI, title="Recent audit records", mime_type="application/json")
        def recent_audit() -> str:
            """Your last 50 audit records (previews, sends, outcomes, refusals) on this server."""
            # A person sees only their own records (DESIGN.md invariant 7): what others reran, and when, is
            # theirs. A record that names no principal (written before principals were recorded) is nobody's.
            principal = request_principal()
            mine = file_audit.recent(RECENT, where=lambda record: principal_of(record) == principal)
            return json.dumps(mine, ensure_ascii=False)
