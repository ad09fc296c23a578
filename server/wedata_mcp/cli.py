"""The `wedata-mcp` command: `serve` (stdio or Streamable HTTP), `sandbox`, `demo`."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wedata_mcp import __version__
from wedata_mcp.guardrail.policy import PolicyFileError
from wedata_mcp.settings import Settings, SettingsError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from wedata_mcp.app import Runtime

logger = logging.getLogger("wedata_mcp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wedata-mcp",
        description="MCP server to find and safely rerun Tencent Cloud WeData schedule instances.",
        epilog="Configuration comes from the environment (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, "
        "TENCENTCLOUD_REGION, WEDATA_ENDPOINT, WEDATA_MCP_*); flags override it. See the README.",
    )
    parser.add_argument("--version", action="version", version=f"wedata-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the MCP server (the default command)")
    serve.add_argument(
        "--transport", choices=["stdio", "http"], default="stdio", help="stdio (default) or Streamable HTTP at /mcp"
    )
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    serve.add_argument("--region", help="Tencent Cloud region (TENCENTCLOUD_REGION)")
    serve.add_argument("--endpoint", help="API endpoint URL (WEDATA_ENDPOINT)")
    serve.add_argument(
        "--read-only", action="store_true", default=None, help="hide every mutating tool (WEDATA_MCP_READ_ONLY=1)"
    )
    serve.add_argument("--audit-log", type=Path, help="audit log path (WEDATA_MCP_AUDIT_LOG)")
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="use an in-process WeData simulator as the backend (no cloud account needed)",
    )
    serve.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    sandbox = sub.add_parser("sandbox", help="run the local WeData simulator and print its environment")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sub.add_parser("demo", help="show the guarded rerun flow on the local simulator through a real MCP client")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if command == "serve" and args.command is None:
        args = _parser().parse_args(["serve", *(argv or [])])
    # Logs go to stderr only: on stdio, stdout is the protocol.
    logging.basicConfig(
        level=getattr(args, "log_level", "INFO"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Tencent's SDK logs Authorization and X-TC-Token headers at DEBUG; httpx logs URLs. Keep both quiet.
    for noisy in ("tencentcloud_sdk_common", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if command == "demo":
            from wedata_mcp.demo import run_demo

            return run_demo()
        if command == "sandbox":
            from wedata_mcp.sandbox.cli import run_sandbox

            return run_sandbox(args.host, args.port)
        return _serve(args)
    except (SettingsError, PolicyFileError) as exc:
        print(f"wedata-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    from wedata_mcp.app import build_server
    from wedata_mcp.cloud.credentials import load_credentials

    env = dict(os.environ)
    overrides = {
        "region": args.region,
        "endpoint": args.endpoint,
        "read_only": args.read_only,
        "audit_log": args.audit_log,
    }
    if args.sandbox:
        from wedata_mcp.sandbox.cli import start_background_sandbox

        env.update(start_background_sandbox())
    settings = Settings.from_env(env, **overrides)
    if args.transport == "http" and not _is_loopback(args.host) and not settings.http_token:
        raise SettingsError(f"refusing to serve HTTP on non-loopback {args.host} without WEDATA_MCP_HTTP_TOKEN")
    credentials = load_credentials(env, Path.home())
    if credentials is None:
        logger.warning("no Tencent Cloud credentials found; tools will report how to configure them")
    server = build_server(settings, credentials)
    if args.transport == "stdio":
        server.run("stdio")
        return 0
    return _serve_http(server, settings, args.host, args.port)


def _serve_http(server: MCPServer[Runtime], settings: Settings, host: str, port: int) -> int:
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    from wedata_mcp.http_auth import BearerTokenMiddleware

    loopback = _is_loopback(host)
    hosts = ["127.0.0.1", "localhost", "[::1]"] if loopback else [host]
    # Always explicit: the SDK switches DNS-rebinding protection off for non-localhost hosts by itself.
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:{port}" for h in hosts] + hosts,
        allowed_origins=[f"http://{h}:{port}" for h in hosts],
    )
    app = server.streamable_http_app(transport_security=security, host=host)
    asgi = BearerTokenMiddleware(app, settings.http_token) if settings.http_token else app
    print(f"wedata-mcp: Streamable HTTP on http://{host}:{port}/mcp", file=sys.stderr)
    uvicorn.run(asgi, host=host, port=port, log_level="warning")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
