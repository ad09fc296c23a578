"""`wedata-mcp sandbox` and `serve --sandbox`: the simulator with its own well-known local credentials."""

from __future__ import annotations

import contextlib
import shlex
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wedata_mcp.sandbox.app import Sandbox
from wedata_mcp.sandbox.protocol import Account
from wedata_mcp.sandbox.server import serve_in_thread
from wedata_mcp.sandbox.world import World

# Local-only credentials of the simulator. They open nothing but a process on 127.0.0.1.
SANDBOX_SECRET_ID = "AKIDsandbox0000000000000000000000000"  # noqa: S105 - public, local-only
SANDBOX_SECRET_KEY = "sandbox-secret-key-000000000000"  # noqa: S105 - a public, local-only simulator key
SANDBOX_REGION = "ap-guangzhou"


def default_sandbox(*, seed: Path | None = None, speed: float = 1.0) -> Sandbox:
    """The simulator with its local account, loaded with `seed` (default: the shipped story)."""
    world = World.from_file(seed) if seed is not None else World.seeded()
    return Sandbox(
        accounts={SANDBOX_SECRET_ID: Account(SANDBOX_SECRET_ID, SANDBOX_SECRET_KEY)}, world=world, speed=speed
    )


def sandbox_project_ids() -> tuple[str, ...]:
    """The projects of the shipped story (what `serve --sandbox` and `doctor --sandbox` run against)."""
    return tuple(World.seeded().projects)


PROJECTS_VARIABLE = "WEDATA_MCP_PROJECT_IDS"
CLOCK_VARIABLE = "WEDATA_MCP_SANDBOX_CLOCK"


def sandbox_env(url: str, sandbox: Sandbox) -> dict[str, str]:
    """What points a server at the simulator at `url`: endpoint, local credentials, region, the projects of its
    world (WeData's reads need a project), and its clock, so that the server's "today", tokens and audit times
    are the simulated world's (its instances are dated by the story, not by the wall clock)."""
    return {
        "WEDATA_ENDPOINT": url,
        "TENCENTCLOUD_SECRET_ID": SANDBOX_SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SANDBOX_SECRET_KEY,
        "TENCENTCLOUD_REGION": SANDBOX_REGION,
        PROJECTS_VARIABLE: ",".join(sandbox.world.projects),
        CLOCK_VARIABLE: sandbox.story.spec(),
    }


def pointed_at(env: dict[str, str], sandbox: dict[str, str]) -> dict[str, str]:
    """`env` pointed at a sandbox, keeping the projects the user names (an unknown one is then reported as such)."""
    named = env.get(PROJECTS_VARIABLE, "").strip()
    return env | sandbox | ({PROJECTS_VARIABLE: named} if named else {})


@dataclass(frozen=True, slots=True)
class BackgroundSandbox:
    env: dict[str, str]  # what points a server at it
    now: Callable[[], float]  # its clock, as POSIX seconds: the server's "now" in sandbox mode


def start_background_sandbox() -> BackgroundSandbox:
    """Start a simulator for the life of this process; return the environment that points at it, and its clock."""
    ready = threading.Event()
    env: dict[str, str] = {}
    sandbox = default_sandbox()

    def run() -> None:
        with serve_in_thread(sandbox) as url:
            env.update(sandbox_env(url, sandbox))
            ready.set()
            threading.Event().wait()  # serve until the process exits

    threading.Thread(target=run, name="wedata-sandbox-owner", daemon=True).start()
    if not ready.wait(timeout=15):
        raise RuntimeError("the sandbox did not start")
    return BackgroundSandbox(env, sandbox.epoch)


def run_sandbox(host: str, port: int, *, seed: Path | None = None, speed: float = 1.0) -> int:
    """Serve the simulator in the foreground, after printing shell lines that point a client at it."""
    sandbox = default_sandbox(seed=seed, speed=speed)
    with serve_in_thread(sandbox, host=host, port=port) as url:
        for name, value in sandbox_env(url, sandbox).items():
            print(f"export {name}={shlex.quote(value)}")
        print("# WeData sandbox running; Ctrl-C to stop", file=sys.stderr)
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a user stops it
            threading.Event().wait()
    return 0
