"""Following a rerun once it was sent: which instances it reran (from the audit and the blast radius's own
look-ups) and their states now, read-only.

An execution is found in the audit by one of its RequestIds or by its ConfirmationToken (whose id the records
carry). Its "sending" records hold each batch's exact request; a batch that WeData accepted, or whose outcome is
unknown, may be rerunning: its instances are what `Resolver.covered` finds for that request now (the
selection and the downstream its codes add), so following and previewing read WeData the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from wedata_mcp.cloud.errors import WeDataError
from wedata_mcp.guardrail.audit import principal_of
from wedata_mcp.guardrail.blast import Key, LookupBudgetExceeded, Resolver, reason
from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.guardrail.tokens import TokenAuthority
from wedata_mcp.models import RunRerunScheduleInstancesRequest
from wedata_mcp.models.codes import state_group, state_name
from wedata_mcp.models.describe import InstanceOpsView

SCANNED = 20_000  # audit records searched, newest first
FINISHED = frozenset({"success", "failed", "skipped"})
# Outcome records after which a batch's instances may be rerunning (an unknown outcome may have run).
MAY_HAVE_RUN = {"executed": "accepted", "outcome_unknown": "outcome unknown", "answer_unreadable": "outcome unknown"}
DID_NOT_RUN = {"refused_by_wedata": "refused by WeData", "failed": "not executed"}


class ExecutionNotFoundError(Exception):
    """No execution in the audit matches; `str()` says what was searched."""


class AuditLog(Protocol):
    def recent(
        self, count: int, chunk: int = ..., *, where: Callable[[dict[str, Any]], bool] | None = ...
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class SentBatch:
    number: int
    request: dict[str, Any]
    outcome: str  # the outcome record's event, or "sending" when none was written (the process stopped)
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Execution:
    token_id: str
    batches: tuple[SentBatch, ...]
    # Outside the rerun, waiting on it at the dry run (its preview record): (TaskId, CurRunDate, ProjectId).
    waiting: tuple[tuple[str, str, str | None], ...] = ()
    waiting_count: int | None = 0  # how many waited, of which `waiting` holds the first; None: not known

    @property
    def request_ids(self) -> list[str]:
        return [b.request_id for b in self.batches if b.request_id]


@dataclass
class Followed:
    """The instances an execution reran, as WeData knows them now."""

    execution: Execution
    instances: list[InstanceOpsView] = field(default_factory=lambda: [])
    missing: list[Key] = field(default_factory=lambda: [])
    notes: list[str] = field(default_factory=lambda: [])  # what leaves the list incomplete
    told: list[str] = field(default_factory=lambda: [])  # batch outcomes worth saying (not run, unknown)
    waiting: list[InstanceOpsView] = field(default_factory=lambda: [])  # Execution.waiting, as WeData knows it now
    # Of `waiting`, those still waiting for an upstream that has failed (or is itself blocked), the rerun done.
    blocked: list[InstanceOpsView] = field(default_factory=lambda: [])

    @property
    def by_state(self) -> dict[str, int]:
        counts = Counter(state_name(i.State) for i in self.instances)
        counts.update({"missing": len(self.missing)} if self.missing else {})
        return dict(sorted(counts.items()))

    @property
    def unfinished(self) -> list[InstanceOpsView]:
        return [i for i in self.instances if state_group(i.State) not in FINISHED]

    @property
    def waiting_unfinished(self) -> list[InstanceOpsView]:
        return [i for i in self.waiting if state_group(i.State) not in FINISHED]

    @property
    def going(self) -> int:
        """How many instances, of the rerun and of what waited on it, may still run or finish."""
        return len(self.unfinished) + len(self.waiting_unfinished) - len(self.blocked)

    @property
    def finished(self) -> bool:
        """Nothing may still run: every instance of the rerun and of what waited on it finished or is blocked, and
        what waited is known (a dry run that could not tell leaves it unknown, never "nothing")."""
        execution = self.execution
        known = execution.waiting_count is not None and execution.waiting_count <= len(execution.waiting)
        return known and not self.going


def find_execution(records: Iterable[dict[str, Any]], *, request_id: str | None, token_id: str | None) -> Execution:
    """The execution (every batch of one confirmed token) that `request_id` or `token_id` names."""
    records = list(records)
    if request_id is not None:
        token_id = next((r.get("token_id") for r in records if r.get("request_id") == request_id), None)
        if token_id is None:
            raise ExecutionNotFoundError(f"RequestId {request_id} is not in the last {SCANNED} audit records")
    sending: dict[int, dict[str, Any]] = {}
    outcomes: dict[int, dict[str, Any]] = {}
    waiting: list[tuple[str, str, str | None]] = []
    waiting_count: int | None = None  # without the preview record, what waited is not known
    discarded = False
    for record in records:
        if record.get("token_id") != token_id:
            continue
        if record.get("event") == "preview":
            waiting = _waiting_of(record)
            count = record.get("waiting_count")  # absent from a record of a release that did not look
            waiting_count = count if isinstance(count, int) and not isinstance(count, bool) else None
        discarded = discarded or record.get("event") == "discarded"
        if "batch" not in record:
            continue
        (sending if record.get("event") == "sending" else outcomes)[int(record["batch"])] = record
    if not sending and discarded:
        raise ExecutionNotFoundError("that ConfirmationToken was discarded as the user asked: nothing was sent")
    if not sending:
        raise ExecutionNotFoundError("that ConfirmationToken sent nothing (a dry run only, or not from this audit)")
    batches = tuple(
        SentBatch(
            number,
            dict(sent.get("request") or {}),
            str(outcomes.get(number, sent).get("event")),
            outcomes.get(number, {}).get("request_id"),
        )
        for number, sent in sorted(sending.items())
    )
    return Execution(str(token_id), batches, tuple(waiting), waiting_count)


def _waiting_of(preview: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """The instances a preview record says waited on the rerun; a malformed entry is skipped, not guessed (the
    record's count then says more waited than are followed)."""
    listed: object = preview.get("waiting")
    found: list[tuple[str, str, str | None]] = []
    for item in cast(list[Any], listed) if isinstance(listed, list) else []:
        if isinstance(item, list) and len(cast(list[Any], item)) == 3:
            task, date, project = cast(list[Any], item)
            found.append((str(task), str(date), str(project) if project else None))
    return found


class Follower:
    """Finds executions in the audit and reads their instances' states, with at most the resolver's budget."""

    def __init__(
        self,
        audit: AuditLog | None,
        authority: TokenAuthority,
        resolver: Resolver,
        prepare: Callable[[RunRerunScheduleInstancesRequest], PreparedRerun],
    ) -> None:
        self._audit = audit
        self._authority = authority
        self._resolver = resolver
        self._prepare = prepare

    def execution(self, *, request_id: str | None, token: str | None, principal: str) -> Execution:
        """The principal's own execution (DESIGN.md invariant 7: a person sees only their own reruns). Raises
        ExecutionNotFoundError, or TokenError for a token this server did not issue to this principal."""
        if self._audit is None:
            raise ExecutionNotFoundError("this server's audit log cannot be read back")
        token_id = self._authority.open(token, None, principal=principal).token_id if token is not None else None
        mine = self._audit.recent(SCANNED, where=lambda record: principal_of(record) == principal)
        return find_execution(mine, request_id=request_id, token_id=token_id)

    async def follow(self, execution: Execution) -> Followed:
        """Every instance the execution's batches may have rerun, with its state now. Never raises for WeData."""
        followed = Followed(execution)
        found: dict[Key, InstanceOpsView] = {}
        for batch in execution.batches:
            told = MAY_HAVE_RUN.get(batch.outcome) or DID_NOT_RUN.get(batch.outcome) or "outcome not recorded"
            if batch.outcome != "executed":
                followed.told.append(f"batch {batch.number}: {told}")
            if batch.outcome in DID_NOT_RUN:
                continue
            try:
                prepared = self._prepare(RunRerunScheduleInstancesRequest.model_validate(batch.request))
            except ValueError:
                followed.notes.append(f"batch {batch.number}: its audited request could not be read")
                continue
            resolution = await self._resolver.covered(prepared)
            followed.notes.extend(f"batch {batch.number}: {note}" for note in resolution.notes)
            followed.missing.extend(resolution.missing)
            # A downstream cut short still leaves the selection known (the note says what is missing).
            reran = (resolution.selected or []) if resolution.reruns_selection else []
            for instance in reran + (resolution.downstream or []):
                found.setdefault(instance.key, instance)
        followed.instances = sorted(found.values(), key=lambda i: (i.CurRunDate, i.TaskId))
        count = execution.waiting_count
        if count is None or count > len(execution.waiting):
            total = "an unknown number of" if count is None else f"the {count}"
            followed.notes.append(f"only {len(execution.waiting)} of {total} instances waiting on it are followed")
        await self._read_waiting(followed)
        return followed

    async def refresh(self, followed: Followed) -> None:
        """Re-read the states of the instances already found (one bulk look-up per 100 task IDs)."""
        try:
            now, gone = await self._resolver.instances([i.key for i in followed.instances])
        except WeDataError as exc:
            followed.notes.append(f"states not refreshed: {reason(exc)}")
            return
        followed.instances = now
        followed.missing = sorted({*followed.missing, *gone})
        await self._read_waiting(followed)

    async def _read_waiting(self, followed: Followed) -> None:
        """The states now of the instances that waited on the rerun at its dry run, each in its own project."""
        by_project: dict[str | None, list[Key]] = {}
        for task, date, project in followed.execution.waiting:
            by_project.setdefault(project, []).append((task, date))
        now: list[InstanceOpsView] = []
        try:
            for project, keys in by_project.items():
                found, gone = await self._resolver.instances(keys, project)
                now += found
                followed.missing = sorted({*followed.missing, *gone})
        except WeDataError as exc:
            followed.notes.append(f"states of what waits on the rerun not read: {reason(exc)}")
            followed.blocked = []  # what an unread state blocks is not known: nothing counts as blocked
            return
        followed.waiting = sorted(now, key=lambda i: (i.CurRunDate, i.TaskId))
        followed.blocked = await self._blocked(followed)

    async def _blocked(self, followed: Followed) -> list[InstanceOpsView]:
        """What waited on the rerun and still waits, though the rerun has finished, because an upstream of it
        failed (or is blocked itself): established from its parents' states, never assumed. Until the rerun's own
        states are all read and finished, nothing is blocked (the schedule may simply not have started it yet)."""
        candidates = [i for i in followed.waiting if state_group(i.State) == "waiting_upstream"]
        if not candidates or not followed.instances or followed.unfinished or followed.missing or followed.notes:
            return []
        calls = self._resolver.budget()
        try:
            parents = {i.key: await self._resolver.neighbours(i, "1", calls) for i in candidates}
        except (WeDataError, LookupBudgetExceeded) as exc:
            followed.notes.append(f"whether what waited on it is blocked is unknown: {reason(exc)}")
            return []
        blocked: set[Key] = set()
        grew = True
        while grew:  # blocked spreads down a chain of waiting instances
            grew = False
            for i in candidates:
                if i.key not in blocked and any(
                    state_group(p.State) == "failed" or p.key in blocked for p in parents[i.key]
                ):
                    blocked.add(i.key)
                    grew = True
        return [i for i in candidates if i.key in blocked]
