"""A bare MCP stdio client: newline-delimited JSON-RPC over a child's pipes, nothing else, so what is timed
is the server (and the pipe), not a client library. Also reads the child's memory from /proc (Linux)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import IO, Any

PROTOCOL_VERSION = "2025-11-25"  # the initialize-handshake era both servers serve


class StdioServer:
    """One spawned server process and its JSON-RPC conversation."""

    def __init__(self, argv: list[str], env: dict[str, str], stderr: Path | None = None) -> None:
        self._stderr = stderr.open("wb") if stderr else None
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr or subprocess.DEVNULL,
            env=env,
        )
        # Buffered pipes (the default): an unbuffered readline reads one byte per system call, which on a
        # 300 KiB answer costs more than the server's work.
        self._next_id = 0
        self.last_line_bytes = 0

    @property
    def _stdin(self) -> IO[bytes]:
        if self.process.stdin is None:
            raise RuntimeError("the server's stdin is not a pipe")
        return self.process.stdin

    @property
    def _stdout(self) -> IO[bytes]:
        if self.process.stdout is None:
            raise RuntimeError("the server's stdout is not a pipe")
        return self.process.stdout

    def _write(self, message: dict[str, Any]) -> None:
        self._stdin.write(json.dumps(message).encode() + b"\n")
        self._stdin.flush()

    def request_raw(self, method: str, params: dict[str, Any] | None = None) -> tuple[bytes, float]:
        """Send a request; return the raw response line and when it had fully arrived (perf_counter)."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)
        while True:
            line = self._stdout.readline()
            arrived = time.perf_counter()
            if not line:
                raise RuntimeError(f"the server closed stdout while {method} was pending")
            # Notifications (logs, progress) and server requests are skipped; the answer carries our id.
            if b'"id"' in line:
                decoded = json.loads(line)
                if decoded.get("id") == self._next_id and ("result" in decoded or "error" in decoded):
                    self.last_line_bytes = len(line)
                    return line, arrived

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        line, _ = self.request_raw(method, params)
        decoded = json.loads(line)
        if "error" in decoded:
            raise RuntimeError(f"{method}: {decoded['error']}")
        return decoded["result"]

    def initialize(self) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "wedata-mcp-bench", "version": "1"},
            },
        )
        self._write({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    def status(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the server process, in KiB."""
        fields: dict[str, int] = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0])
        return fields

    def close(self) -> None:
        """End the session the stdio way: close stdin, wait, and only then terminate."""
        self._stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stdout.close()
        if self._stderr is not None:
            self._stderr.close()

    def __enter__(self) -> StdioServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
