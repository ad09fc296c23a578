"""The audit log: flat JSON events, one per line, flushed to disk before a result is returned."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol


class AuditSink(Protocol):
    def write(self, event: str, **fields: Any) -> None: ...


class ScopedAudit:
    """Adds fixed fields to every record of another sink: which endpoint and region the records are about."""

    def __init__(self, sink: AuditSink, **scope: Any) -> None:
        self._sink = sink
        self._scope = scope

    def write(self, event: str, **fields: Any) -> None:
        self._sink.write(event, **(self._scope | fields))


class JsonLinesAudit:
    """Appends `{"ts", "event", ...}` lines to a file, fsynced, so a crash loses no record already returned; a
    crash can tear at most the last line, and the next process starts on a fresh one."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._tail_checked = False
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields: Any) -> None:
        record = {"ts": round(self._clock(), 3), "event": event, **fields}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        # backslashreplace: a lone surrogate becomes its JSON escape (\udc80), which still parses.
        data = line.encode("utf-8", "backslashreplace")
        with self._lock:
            # One write() of the whole line, with O_APPEND: records of processes sharing the file never interleave,
            # and a kill can tear only the line being written (a buffered text file may split a long line).
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                if not self._tail_checked:
                    # A line torn by an earlier crash (power loss, a full disk) must not swallow this record.
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":
                        data = b"\n" + data
                    self._tail_checked = True
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            finally:
                os.close(fd)

    def recent(self, count: int, chunk: int = 65_536) -> list[dict[str, Any]]:
        """The last `count` records, reading only the end of the file; a torn last line is skipped."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            data = b""
            while end > 0 and data.count(b"\n") <= count:
                start = max(0, end - chunk)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
        records: list[dict[str, Any]] = []
        for line in data.splitlines()[-count:]:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # the first line of the chunk may be cut; a crash may tear the last one
        return records


def default_audit_path(home: Path) -> Path:
    """`~/.local/state/wedata-mcp/audit.jsonl` (the XDG state directory); WEDATA_MCP_AUDIT_LOG overrides it."""
    return home / ".local" / "state" / "wedata-mcp" / "audit.jsonl"


def sandbox_audit_path(home: Path) -> Path:
    """`serve --sandbox`'s own log, beside the production one but never it: simulated reruns are not real ones."""
    return home / ".local" / "state" / "wedata-mcp" / "sandbox" / "audit.jsonl"
