"""The audit log: flat JSON events, one per line, flushed to disk before a result is returned."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast


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

    def recent(
        self,
        count: int,
        chunk: int = 65_536,
        *,
        where: Callable[[dict[str, Any]], bool] | None = None,
        scan_bytes: int = 16 * 1_048_576,
    ) -> list[dict[str, Any]]:
        """The last `count` records that `where` accepts (all by default), oldest first, reading the file
        backwards from its end and at most `scan_bytes` of it (a reader must not make us read a huge log); a torn
        line is skipped."""
        if not self.path.exists():
            return []
        found: list[dict[str, Any]] = []
        with self.path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            limit = max(0, end - scan_bytes)
            cut = b""  # the first line of the chunk read last, which may have begun in the chunk before it
            while end > limit and len(found) < count:
                start = max(limit, end - chunk)
                handle.seek(start)
                lines = (handle.read(end - start) + cut).split(b"\n")
                end = start
                cut = lines.pop(0) if start > 0 else b""
                for line in reversed(lines):
                    record = _parsed(line)
                    if record is not None and (where is None or where(record)):
                        found.append(record)
                        if len(found) == count:
                            break
        return found[::-1]


def _parsed(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a crash may tear the last line
    return cast(dict[str, Any], record) if isinstance(record, dict) else None


def default_audit_path(home: Path) -> Path:
    """`~/.local/state/wedata-mcp/audit.jsonl` (the XDG state directory); WEDATA_MCP_AUDIT_LOG overrides it."""
    return home / ".local" / "state" / "wedata-mcp" / "audit.jsonl"


def sandbox_audit_path(home: Path) -> Path:
    """`serve --sandbox`'s own log, beside the production one but never it: simulated reruns are not real ones."""
    return home / ".local" / "state" / "wedata-mcp" / "sandbox" / "audit.jsonl"


def principal_of(record: dict[str, Any]) -> object:
    """Whose record it is: the principal its actor names (None for records from before principals were kept)."""
    actor: object = record.get("actor")
    return cast(dict[str, object], actor).get("principal") if isinstance(actor, dict) else None
