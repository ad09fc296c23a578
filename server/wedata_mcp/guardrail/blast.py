"""The blast radius of a rerun, resolved with read-only calls: the concrete instances a selection means, the
downstream its RerunType adds within its SonInstanceType scope, and upstream that is not done.

Derived from WeData's own answers, read as the reference and the SDK document them. On 2021-08-20 an
instance's parents and children come from `DagInstances` ("拉取dag实例"), the action WeData documents for
instance DAGs: its page puts the instance to start from in SearchCondition
("当前接口需要把要查询的示例信息放在该字段", with `DagType` "1" parents or "2" children and `DagDepth`) and
answers a paged CollectionInstanceOpsDto. Not `DagDeal` on
DescribeScheduleInstances: that flag is documented only as "是否dag" on the search type, without saying that the
list action honours it; nor DescribeDependOpsTasks, whose tasks carry no instance states. One level per call
(`DagDepth` 1, of the documented 1-6) so that the SonInstanceType bound can be applied along each path; every
page of an answer is read, and an answer that cannot be read whole (more than the resolver may hold, pages that
stop short of its TotalCount) leaves the radius unknown: never counted as if nothing more were there.

SonInstanceType bounds the downstream to the selected instance's workflow (1), its project (2) or every linked
project (3): downstream is followed, level by level, through the children that lie inside that bound. Look-ups
are bounded; whatever could not be resolved is said, never guessed.

On 2025-08-06 `blast_v2025.TaskInstanceResolver` walks the same way over that version's look-ups.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wedata_mcp.cloud.errors import (
    CloudAPIError,
    IncompleteAnswerError,
    NoProjectError,
    ReadFailedError,
    WeDataError,
)
from wedata_mcp.cloud.reader import PAGE_SIZE, WeDataReader
from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.models.base import spoken
from wedata_mcp.models.codes import is_success, state_group
from wedata_mcp.models.describe import InstanceOpsView

Key = tuple[str, str]  # (TaskId, CurRunDate); a requested InstanceKey that WeData does not know is (InstanceKey, "")
UPSTREAM_CHECK_LIMIT = 50


def state_class(code: str | None) -> str:
    """The state a stale-preview check compares: the documented group, 'missing', or the undocumented code."""
    return "missing" if code is None else state_group(code) or f"state {code}"


class LookupBudgetExceeded(Exception):
    pass


class CutShortError(LookupBudgetExceeded):
    """A DAG answer that could not be read whole: what it left out is unknown, not absent."""


@dataclass
class Resolution:
    """What the look-ups found. `selected` is None when the selection could not be resolved."""

    selected: list[InstanceOpsView] | None = None
    missing: list[Key] = field(default_factory=lambda: [])
    downstream: list[InstanceOpsView] | None = None
    unfinished_upstream: list[tuple[Key, InstanceOpsView]] = field(default_factory=lambda: [])
    notes: list[str] = field(default_factory=lambda: [])  # what leaves the counts incomplete
    unchecked: list[str] = field(default_factory=lambda: [])  # checks not made (the counts stay complete)
    reruns_selection: bool = True  # False for RerunType 3: only the downstream reruns
    more_than: int | None = None  # the expansion stopped once the rerun was known to touch more than this
    looked_in: tuple[str, ...] = ()  # the projects the missing instances were looked for in
    unnamed: bool = False  # some missing instance named no project: the configured ones were searched
    # Children of what reruns that do not rerun themselves (outside the SonInstanceType scope, or every child when
    # downstream does not rerun), in any state; None when they were not looked up.
    beyond: list[InstanceOpsView] | None = None
    beyond_complete: bool = True  # False when what waits on the rerun was not followed to its end

    @property
    def waiting(self) -> list[InstanceOpsView] | None:
        """Instances outside the rerun that wait on it: WeData's schedule starts them once what they wait for
        succeeds, though this request does not rerun them."""
        return None if self.beyond is None else [i for i in self.beyond if waits(i)]

    @property
    def covered(self) -> list[InstanceOpsView] | None:
        """Every instance that reruns, when known."""
        if self.selected is None or self.downstream is None:
            return None
        return (self.selected if self.reruns_selection else []) + self.downstream


def waits(instance: InstanceOpsView) -> bool:
    """Whether an instance waits for its upstream. A state WeData left out or does not document may be waiting
    too: unknown is never taken as "not waiting"."""
    return state_group(instance.State) in (None, "waiting_upstream")


def selection_digest(selected: Iterable[InstanceOpsView], missing: Iterable[Key] = ()) -> str:
    """A short digest of the selected instances' state groups, carried in the token for the stale check: any move
    between groups (into failed-and-retrying, waiting, running or succeeded) changes it."""
    rows = sorted(
        [(i.TaskId, i.CurRunDate, state_class(i.State)) for i in selected] + [(t, d, "missing") for t, d in missing]
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:24]


class Resolver(ABC):
    """Resolves requests against WeData with at most `max_lookups` read calls per resolution. Subclasses say how
    one API version looks instances and their neighbours up; the walk over them is the same for every version."""

    def __init__(self, *, max_lookups: int = 200, max_instances: int = 5000) -> None:
        self._max_lookups = max_lookups
        self._max_instances = max_instances

    @abstractmethod
    async def selection(self, prepared: PreparedRerun) -> tuple[list[InstanceOpsView], list[Key]]:
        """The selected instances as WeData knows them now, and the requested ones it does not know.
        Raises WeDataError if WeData cannot be asked."""

    @abstractmethod
    def looked_in(self, prepared: PreparedRerun, missing: list[Key]) -> tuple[tuple[str, ...], bool]:
        """The projects the `missing` instances were looked for in ("not found" is true of those only), and whether
        any of them named no project (so that naming one may find it)."""

    @abstractmethod
    async def instances(
        self, keys: Iterable[Key], project: str | None = None
    ) -> tuple[list[InstanceOpsView], list[Key]]:
        """The instances `keys` name, as WeData knows them now, and the keys it does not know."""

    @abstractmethod
    async def neighbours(self, origin: InstanceOpsView, dag_type: str, calls: LookupBudget) -> list[InstanceOpsView]:
        """One level of WeData's dependency graph around `origin`: its parents (`dag_type` "1") or children ("2")."""

    async def resolve(self, prepared: PreparedRerun, *, stop_above: int | None = None) -> Resolution:
        """Everything a preview shows; failures become notes, never exceptions. With `stop_above`, the expansion
        stops as soon as the rerun is known to touch more instances than that (a policy limit)."""
        result, calls = await self._expand(prepared, stop_above)
        if result.selected is None or result.more_than is not None:
            return result
        await self._upstream(result, prepared, calls)
        await self._waiting(result, prepared, calls)
        return result

    async def covered(self, prepared: PreparedRerun) -> Resolution:
        """The selection and the downstream its codes add (no upstream checks, nor what waits beyond): what a
        rerun of it reruns. Failures become notes, never exceptions."""
        result, _ = await self._expand(prepared, None)
        return result

    async def _upstream(self, result: Resolution, prepared: PreparedRerun, calls: LookupBudget) -> None:
        """Upstream that has not finished: of every instance that reruns when WeData checks them all (or when the
        reach of its check is not documented), else of the selection. It costs a look-up per instance, so a
        large rerun leaves the check to WeData."""
        covered = result.covered
        if len(covered or result.selected or []) > UPSTREAM_CHECK_LIMIT:
            result.unchecked.append(f"upstream states not checked: more than {UPSTREAM_CHECK_LIMIT} instances")
            return
        checked = covered if prepared.effect.upstream_check == "covered" and covered else result.selected or []
        try:
            result.unfinished_upstream = await self._unfinished_upstream(checked, covered, calls)
        except (WeDataError, LookupBudgetExceeded) as exc:
            result.unchecked.append(f"upstream states not fully checked: {reason(exc)}")

    async def _waiting(self, result: Resolution, prepared: PreparedRerun, calls: LookupBudget) -> None:
        """`result.beyond`, followed through whatever waits: the children of what reruns that do not rerun (the
        downstream walk met those outside its scope; when downstream does not rerun, the selection's children
        are looked up here), then the children of each that waits, and so on. The schedule starts the whole
        chain once the rerun succeeds. Look-ups are bounded; a chain not followed to its end is said."""
        try:
            if not prepared.effect.reruns_downstream:
                selected = result.selected or []
                if len(selected) > UPSTREAM_CHECK_LIMIT:
                    raise LookupBudgetExceeded(f"more than {UPSTREAM_CHECK_LIMIT} instances")
                result.beyond = await self._children(selected, {i.key for i in selected}, calls)
            if result.beyond is None:
                return
            seen = {i.key for i in result.beyond} | {i.key for i in result.covered or []}
            frontier = result.waiting or []
            while frontier:
                step = await self._children(frontier, seen, calls)
                seen.update(i.key for i in step)
                result.beyond += step
                if len(result.beyond) > self._max_instances:
                    raise LookupBudgetExceeded(f"more than {self._max_instances} instances")
                frontier = [i for i in step if waits(i)]
        except (WeDataError, LookupBudgetExceeded) as exc:
            result.beyond_complete = False
            result.unchecked.append(f"what waits on the rerun not fully checked: {reason(exc)}")

    async def _children(
        self, parents: Iterable[InstanceOpsView], known: set[Key], calls: LookupBudget
    ) -> list[InstanceOpsView]:
        """The children of `parents` whose keys are not in `known`, each once, in data-time order."""
        found: dict[Key, InstanceOpsView] = {}
        for parent in parents:
            for child in await self.neighbours(parent, "2", calls):
                if child.key not in known:
                    found.setdefault(child.key, child)
        return sorted(found.values(), key=lambda i: (i.CurRunDate, i.TaskId))

    async def _expand(self, prepared: PreparedRerun, stop_above: int | None) -> tuple[Resolution, LookupBudget]:
        effect = prepared.effect
        result = Resolution(reruns_selection=effect.reruns_selection)
        calls = self.budget()
        try:
            result.selected, result.missing = await self.selection(prepared)
        except WeDataError as exc:
            result.notes.append(f"could not look up the selected instances: {reason(exc)}")
            return result, calls
        if result.missing:
            result.looked_in, result.unnamed = self.looked_in(prepared, result.missing)
        limit = min(self._max_instances, stop_above or self._max_instances)
        if len(result.selected) > limit:
            result.more_than = limit
            result.notes.append(f"the selection has more than {limit} instances; not expanded")
            return result, calls
        try:
            result.downstream = (
                await self._downstream(result, prepared, calls, limit) if effect.reruns_downstream else []
            )
        except (WeDataError, LookupBudgetExceeded, ScopeUnknownError) as exc:
            result.notes.append(f"downstream not fully resolved: {reason(exc)}")
        return result, calls

    def budget(self) -> LookupBudget:
        """A fresh allowance of read calls for one resolution."""
        return LookupBudget(self._max_lookups)

    async def _downstream(
        self, result: Resolution, prepared: PreparedRerun, calls: LookupBudget, limit: int
    ) -> list[InstanceOpsView]:
        scope = prepared.effect.scope
        bound = scope.bound if scope is not None else "linked"
        selected = result.selected or []
        chosen = {i.key for i in selected}
        found: dict[Key, InstanceOpsView] = {}
        outside: dict[Key, InstanceOpsView] = {}  # children that lie outside the bound of the path they were met on
        base = len(selected) if result.reruns_selection else 0
        for origin in selected:

            def inside(i: InstanceOpsView, origin: InstanceOpsView = origin) -> bool:
                if bound not in ("workflow", "project"):
                    return True
                field = "WorkflowId" if bound == "workflow" else "ProjectId"
                mine, theirs = getattr(origin, field), getattr(i, field)
                if not mine or not theirs:  # unknown is not allowed: never read as "outside the scope"
                    raise ScopeUnknownError(field, bound)
                return bool(mine == theirs)

            reached: set[Key] = set()
            frontier = [origin]
            while frontier:
                step: list[InstanceOpsView] = []
                for node in frontier:
                    for child in await self.neighbours(node, "2", calls):
                        if child.key in reached:
                            continue
                        if not inside(child):
                            if result.reruns_selection or node is not origin:  # RerunType 3: origin stays as is
                                outside.setdefault(child.key, child)
                            continue
                        reached.add(child.key)
                        step.append(child)
                        found.setdefault(child.key, child)
                # RerunType 2 reruns the selection itself too: a selected instance is never counted twice.
                if base + sum(1 for k in found if not result.reruns_selection or k not in chosen) > limit:
                    result.more_than = limit
                    result.notes.append(f"the rerun touches more than {limit} instances; expansion stopped")
                    frontier = []
                    break
                frontier = step
            if result.more_than is not None:
                break
        keep = [i for k, i in found.items() if not result.reruns_selection or k not in chosen]
        if result.more_than is None:  # an instance outside one path's bound may lie inside another's
            reruns = {i.key for i in keep} | (chosen if result.reruns_selection else set[Key]())
            beyond = [i for k, i in outside.items() if k not in reruns]
            result.beyond = sorted(beyond, key=lambda i: (i.CurRunDate, i.TaskId))
        return sorted(keep, key=lambda i: (i.CurRunDate, i.TaskId))

    async def _unfinished_upstream(
        self, checked: list[InstanceOpsView], covered: list[InstanceOpsView] | None, calls: LookupBudget
    ) -> list[tuple[Key, InstanceOpsView]]:
        """Upstream instances of `checked` that have not succeeded and do not rerun in this request."""
        rerunning = {i.key for i in covered or checked}
        unfinished: dict[Key, tuple[Key, InstanceOpsView]] = {}
        for instance in checked:
            for parent in await self.neighbours(instance, "1", calls):
                if parent.key not in rerunning and not is_success(parent.State):
                    unfinished.setdefault(parent.key, (instance.key, parent))
        return list(unfinished.values())


class ScopeUnknownError(Exception):
    """A downstream instance, or the one it descends from, lacks the field its SonInstanceType scope compares."""

    def __init__(self, field: str, bound: str) -> None:
        super().__init__(f"an answer lists no {field}, so whether an instance is in the {bound} is unknown")


class LookupBudget:
    def __init__(self, limit: int) -> None:
        self._left = limit
        self.limit = limit

    def take(self) -> None:
        if self._left <= 0:
            raise LookupBudgetExceeded(f"more than {self.limit} look-ups needed")
        self._left -= 1


def unknown_state(found: Resolution) -> str | None:
    """Why no token may be issued when WeData's answer left a selected instance's state out: the confirmation
    checks that no state changed since the preview, and an unknown state cannot be vouched for (invariant 5)."""
    blank = [label(i.key) for i in found.selected or [] if i.State is None]
    if not blank:
        return None
    more = f" and {len(blank) - 5} more" if len(blank) > 5 else ""
    return (
        f"the state of {', '.join(blank[:5])}{more} is not in WeData's answer, so whether it changes before the "
        "confirmation cannot be checked"
    )


def label(key: Key) -> str:
    """An instance as previews name it: 'TaskId@CurRunDate', or the InstanceKey it was requested by."""
    task, date = key
    return f"{task}@{date}" if date else task


def reason(exc: Exception) -> str:
    """Why a look-up failed, without the API's free-text message (cloud text is data, not prose)."""
    if isinstance(exc, CloudAPIError):
        return f"{exc.code} (RequestId {exc.request_id or 'none'})"
    if isinstance(exc, ReadFailedError):  # its reason is the client's or the reader's words, never WeData's
        said = f" (RequestId {exc.request_id})" if exc.request_id else ""
        return f"{exc.action} got no usable answer: {exc.reason}{said}"
    said = LookupBudgetExceeded | NoProjectError | IncompleteAnswerError | ScopeUnknownError  # our words only
    return str(exc) if isinstance(exc, said) else type(exc).__name__


class BlastRadiusResolver(Resolver):
    """The look-ups of API 2021-08-20: DescribeScheduleInstances for instances, DagInstances for neighbours."""

    def __init__(self, reader: WeDataReader, *, max_lookups: int = 200, max_instances: int = 5000) -> None:
        super().__init__(max_lookups=max_lookups, max_instances=max_instances)
        self._reader = reader

    async def selection(self, prepared: PreparedRerun) -> tuple[list[InstanceOpsView], list[Key]]:
        """The selected instances as WeData knows them now, and the requested ones it does not know.
        Raises WeDataError if WeData cannot be asked."""
        default: str | None = prepared.params.get("ProjectId") or None
        if not prepared.instances:
            search: dict[str, Any] = prepared.params.get("SearchCondition") or {}
            project = search.get("ProjectId") or default
            matched = [i async for i in self._reader.all_instances(search, self._max_instances + 1, project)]
            return sorted(matched, key=lambda i: (i.CurRunDate, i.TaskId)), []
        # Each instance is looked up in the project it names (else the request's, else every configured one).
        groups: dict[str | None, list[Key]] = {}
        listed: list[dict[str, Any]] = prepared.params.get("Instances") or []
        for instance in listed:
            project = instance.get("ProjectId") or default
            groups.setdefault(project, []).append((instance["TaskId"], instance["CurRunDate"]))
        found: dict[Key, InstanceOpsView] = {}
        for project, keys in groups.items():
            selected, _ = await self.instances(keys, project)
            found.update((i.key, i) for i in selected)
        wanted = dict.fromkeys(prepared.keys)
        return [found[k] for k in wanted if k in found], [k for k in wanted if k not in found]

    def looked_in(self, prepared: PreparedRerun, missing: list[Key]) -> tuple[tuple[str, ...], bool]:
        # Grouped as `selection` groups them: each instance in the project it names, else the request's.
        default: str | None = prepared.params.get("ProjectId") or None
        wanted = set(missing)
        listed: list[dict[str, Any]] = prepared.params.get("Instances") or []
        named = dict.fromkeys(i.get("ProjectId") or default for i in listed if (i["TaskId"], i["CurRunDate"]) in wanted)
        projects = tuple(dict.fromkeys(p for project in named for p in self._reader.scope(project)))
        return projects, None in named

    async def instances(
        self, keys: Iterable[Key], project: str | None = None
    ) -> tuple[list[InstanceOpsView], list[Key]]:
        """The instances `keys` name, as WeData knows them now, and the keys it does not know.
        Raises WeDataError if WeData cannot be asked."""
        # Bulk look-ups: up to PAGE_SIZE task IDs at a time over the data-time range they span, paged, then
        # keep the exact (TaskId, CurRunDate) pairs asked for. A backfill of 5,000 days costs 50 calls, not 5,000.
        wanted = dict.fromkeys(keys)
        task_ids = sorted({task for task, _ in wanted})
        found: dict[Key, InstanceOpsView] = {}
        for start in range(0, len(task_ids), PAGE_SIZE):
            chunk = set(task_ids[start : start + PAGE_SIZE])
            dates = [date for task, date in wanted if task in chunk]
            search = {"TaskIdList": sorted(chunk), "DateFrom": min(dates), "DateTo": max(dates)}
            async for item in self._reader.all_instances(search, self._max_instances * 10, project):
                if item.key in wanted:
                    found[item.key] = item
        selected = [found[key] for key in wanted if key in found]
        missing = [key for key in wanted if key not in found]
        return selected, missing

    async def neighbours(self, origin: InstanceOpsView, dag_type: str, calls: LookupBudget) -> list[InstanceOpsView]:
        """One level of WeData's dependency graph around `origin`: its parents (`dag_type` "1") or children ("2"),
        every page of DagInstances' answer. Raises CutShortError when the answer cannot be read whole."""
        found: list[InstanceOpsView] = []
        page = 1
        while True:
            calls.take()
            batch = await self._reader.dag_page(origin.TaskId, origin.CurRunDate, dag_type, page, origin.ProjectId)
            if batch.TotalCount > self._max_instances:
                around = spoken(origin.TaskId, origin.CurRunDate)
                raise CutShortError(
                    f"DagInstances lists {batch.TotalCount} instances around {around}, "
                    f"more than the {self._max_instances} a look-up may hold"
                )
            found += batch.Items
            if len(found) >= batch.TotalCount:
                return found
            if not batch.Items:
                raise CutShortError(
                    f"DagInstances stopped at page {page} with {len(found)} of the {batch.TotalCount} instances "
                    f"it counts around {spoken(origin.TaskId, origin.CurRunDate)}"
                )
            page += 1
