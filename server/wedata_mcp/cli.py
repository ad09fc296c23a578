"""The `wedata-mcp` command: `serve` (stdio or Streamable HTTP), `sandbox`, `doctor`, `demo`."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from wedata_mcp import __version__
from wedata_mcp.guardrail.policy import PolicyFileError
from wedata_mcp.http.config import HttpConfig, http_config, is_loopback
from wedata_mcp.settings import Settings, SettingsError, redact_url

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from wedata_mcp.app import Runtime
    from wedata_mcp.cloud.ratelimit import SharedWindows
    from wedata_mcp.guardrail.store import TokenStore

logger = logging.getLogger("wedata_mcp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wedata-mcp",
        description="MCP server to find and safely rerun Tencent Cloud WeData schedule instances.",
        epilog="Configuration comes from the environment (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, "
        "TENCENTCLOUD_REGION, WEDATA_ENDPOINT, WEDATA_MCP_*); flags override it. See the README.",
    )
    parser.add_argument("--version", action="version", version=f"wedata-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", help="serve (the default), sandbox, doctor, demo")

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
    serve.add_argument(
        "--audit-log",
        type=Path,
        help="audit log path (WEDATA_MCP_AUDIT_LOG; with --sandbox, default ~/.local/state/wedata-mcp/sandbox/)",
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="use an in-process WeData simulator as the backend (no cloud account needed; its own audit log)",
    )
    serve.add_argument(
        "--allowed-hosts", help="extra Host values HTTP accepts, comma-separated (WEDATA_MCP_ALLOWED_HOSTS)"
    )
    serve.add_argument(
        "--allowed-origins", help="extra Origin values HTTP accepts, comma-separated (WEDATA_MCP_ALLOWED_ORIGINS)"
    )
    serve.add_argument(
        "--token-store", help="memory (default) or redis://host:port/db shared by replicas (WEDATA_MCP_TOKEN_STORE)"
    )
    serve.add_argument("--api-version", help="WeData API: 2021-08-20 (default) or 2025-08-06 (WEDATA_MCP_API_VERSION)")
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level (default INFO; credentials are never logged)",
    )

    sandbox = sub.add_parser("sandbox", help="run the local WeData simulator and print its environment")
    sandbox.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    sandbox.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sandbox.add_argument("--seed", type=Path, help="a world file (JSON) instead of the built-in seed")
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    doctor = sub.add_parser(
        "doctor", help="check credentials, clock, region, projects and policy against the endpoint (read-only)"
    )
    doctor.add_argument("--region", help="Tencent Cloud region (TENCENTCLOUD_REGION)")
    doctor.add_argument("--endpoint", help="API endpoint URL (WEDATA_ENDPOINT)")
    doctor.add_argument("--sandbox", action="store_true", help="check against an in-process WeData simulator")
    demo = sub.add_parser("demo", help="show the guarded rerun flow on the local simulator through a real MCP client")
    demo.add_argument(
        "--api-version",
        default="2021-08-20",
        choices=["2021-08-20", "2025-08-06"],
        help="the WeData API whose tools the demo drives (default 2021-08-20)",
    )
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

            return run_demo(api_version=args.api_version)
        if command == "sandbox":
            from wedata_mcp.sandbox.cli import run_sandbox

            return run_sandbox(args.host, args.port, seed=args.seed, speed=args.speed)
        if command == "doctor":
            return _doctor(args)
        return _serve(args)
    except (SettingsError, PolicyFileError) as exc:
        print(f"wedata-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    overrides = {
        "region": args.region,
        "endpoint": args.endpoint,
        "read_only": args.read_only,
        "audit_log": args.audit_log,
        "allowed_hosts": args.allowed_hosts,
        "allowed_origins": args.allowed_origins,
        "token_store": args.token_store,
        "api_version": args.api_version,
    }
    now = None
    if args.sandbox:
        from wedata_mcp.guardrail.audit import sandbox_audit_path
        from wedata_mcp.sandbox.cli import pointed_at, start_background_sandbox

        sandbox = start_background_sandbox()
        env = pointed_at(env, sandbox.env)
        now = sandbox.now  # one clock: tokens, the audit and prompts follow the simulated world's time
        # Simulated reruns never go into the production log that WEDATA_MCP_AUDIT_LOG names; only an explicit
        # --audit-log on this very command line chooses another file.
        overrides["audit_log"] = args.audit_log or sandbox_audit_path(Path.home())
        logger.info("sandbox: audit records go to %s", overrides["audit_log"])
    # Read before the server's modules are imported: a bad value stops start-up at once.
    settings = Settings.from_env(env, **overrides)
    if settings.sandbox_clock and now is None:
        import time
        from urllib.parse import urlsplit

        from wedata_mcp.sandbox.timeline import following

        # A simulator's clock, never production's: a shell that once ran `eval "$(wedata-mcp sandbox)"` and is
        # then pointed at Tencent must not date its audit or stretch its tokens by the story's clock.
        host = urlsplit(settings.endpoint).hostname or ""
        if not is_loopback(host):
            raise SettingsError(
                f"WEDATA_MCP_SANDBOX_CLOCK is a simulator's clock, followed only with a loopback WEDATA_ENDPOINT "
                f"(a local simulator), not {host or settings.endpoint}; unset it"
            )

        try:
            now = following(settings.sandbox_clock, time.time)
        except ValueError:
            raise SettingsError("WEDATA_MCP_SANDBOX_CLOCK: not a simulator clock ('STORY,WALL,SPEED')") from None
    if settings.token_secret and settings.token_store == "memory":  # noqa: S105 - the kind of store
        # A shared secret makes tokens valid beyond this process, but a memory store forgets which were used:
        # after a restart, or on another replica, a used token would run its rerun again.
        raise SettingsError(
            "WEDATA_MCP_TOKEN_SECRET makes confirmation tokens outlive this process; set WEDATA_MCP_TOKEN_STORE "
            "to a shared Redis too (or unset the secret), so that a used token can never run twice"
        )
    # Checked before anything starts: a public bind without authentication never comes up.
    http = http_config(settings, args.host, args.port) if args.transport == "http" else None
    from wedata_mcp.app import build_server
    from wedata_mcp.cloud.credentials import load_credentials

    credentials = load_credentials(env, Path.home())
    if credentials is None:
        logger.warning("no Tencent Cloud credentials found; tools will report how to configure them")
    store, windows = _shared_store(settings)
    server = build_server(settings, credentials, store=store, windows=windows, now=now)
    if http is None:
        server.run("stdio")
        return 0
    return _serve_http(server, http)


def _doctor(args: argparse.Namespace) -> int:
    import anyio

    from wedata_mcp.cloud.credentials import load_credentials
    from wedata_mcp.doctor import diagnose, failed, render

    env = dict(os.environ)
    if args.sandbox:
        from wedata_mcp.sandbox.cli import pointed_at, start_background_sandbox

        # The simulator's own projects, unless the user names some (an unknown one is then reported as such).
        env = pointed_at(env, start_background_sandbox().env)
    settings = Settings.from_env(env, region=args.region, endpoint=args.endpoint)
    checks = anyio.run(diagnose, settings, load_credentials(env, Path.home()))
    print(render(checks))  # the doctor is not the MCP server: its report is its output
    return 1 if failed(checks) else 0


def _shared_store(settings: Settings) -> tuple[TokenStore | None, SharedWindows | None]:
    """None, None (this process's memory) unless WEDATA_MCP_TOKEN_STORE names a Redis that replicas share: then
    its token store, and its sliding windows (WeData's rate limit per account and action, the execution budget)."""
    if settings.token_store == "memory":  # noqa: S105 - the kind of store, not a secret
        return None, None
    try:
        from wedata_mcp.cloud.redis_window import RedisWindows, connect
        from wedata_mcp.guardrail.redis_store import RedisTokenStore
    except ImportError:
        raise SettingsError("WEDATA_MCP_TOKEN_STORE: a Redis store needs `pip install 'wedata-mcp[redis]'`") from None

    if settings.token_secret is None:
        logger.warning(
            "WEDATA_MCP_TOKEN_STORE is shared but WEDATA_MCP_TOKEN_SECRET is not set: "
            "other replicas will refuse this one's tokens"
        )
    try:
        redis = connect(settings.token_store)  # one client: the token store and the windows share its pool
    except ValueError as exc:
        raise SettingsError(f"WEDATA_MCP_TOKEN_STORE: {exc}") from None
    # A replay waits for the first use, which may take a few HTTP timeouts (rate limit retries included).
    store = RedisTokenStore(redis, wait_seconds=max(120.0, 4 * settings.timeout_seconds))
    _refuse_an_evicting_redis(settings.token_store)
    logger.info(
        "confirmation tokens are single-use, and WeData's rate limit and max_executions_per_minute are shared, "
        "across replicas via %s",
        redact_url(settings.token_store),
    )
    return store, RedisWindows(redis)


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket, or a SettingsError a person can act on (e.g. the port is taken)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise SettingsError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port") from None


def _refuse_an_evicting_redis(url: str) -> None:
    """Stop start-up on a Redis that may evict keys (one lost claim would let a used token run again); the store
    checks again every minute, and refuses tokens while Redis is unreachable."""
    import redis
    from redis.exceptions import RedisError

    from wedata_mcp.guardrail.redis_store import eviction_risk

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)  # pyright: ignore[reportUnknownMemberType]
    try:
        policy = eviction_risk(client.info("memory"))  # pyright: ignore[reportUnknownMemberType, reportArgumentType]
    except RedisError as exc:
        logger.warning("WEDATA_MCP_TOKEN_STORE: Redis not reachable at start-up (%s)", type(exc).__name__)
        return
    finally:
        client.close()
    if policy is not None:
        raise SettingsError(
            f"WEDATA_MCP_TOKEN_STORE: this Redis may evict keys (maxmemory-policy {policy}), which could let a used "
            "confirmation token run again; set maxmemory-policy noeviction (or no maxmemory)"
        )


def _serve_http(server: MCPServer[Runtime], http: HttpConfig) -> int:
    import uvicorn

    from wedata_mcp.http.app import build_http_app
    from wedata_mcp.http.edge import deadline_protocol

    app = build_http_app(server, http)
    # Bound before the URL is announced: a taken port is an error, never a URL that answers nothing.
    sock = _listen(http.host, http.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    auth = "OAuth bearer tokens" if http.oauth else "a bearer token" if http.static_token else "no authentication"
    # A short graceful shutdown: open SSE streams must not keep a stopped server alive.
    config = uvicorn.Config(
        app,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=5,
        # Read deadlines for request heads and bodies (uvicorn has none), and a connection limit: uvicorn
        # answers 503 once this many connections are open, counting the one asking, hence the + 1.
        http=deadline_protocol(http.header_timeout_seconds, http.body_timeout_seconds),
        limit_concurrency=http.max_connections + 1,
        timeout_keep_alive=5,
    )
    print(f"wedata-mcp: Streamable HTTP on http://{shown}:{port}/mcp ({auth})", file=sys.stderr)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
