"""What the simulated WeData knows: projects, workflows, a task DAG, schedule instances, and reruns so far.

Every task here is daily, and a dependency links instances with the same data time (`CurRunDate`):
instance (T, d) depends on (U, d) for every upstream task U of T. An upstream instance that does not
exist (the task had no run that day) does not block — both are the simulator's choices, not documented
(docs/simulator.md lists them). Times are simulated `datetime`s; `simulation.py`
moves instances along as the time passed to `advance` grows.
"""

from __future__ import annotations

import functools
import graphlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from wedata_mcp.models.base import wire_datetime
from wedata_mcp.sandbox.seedfile import WIRE_DATETIME_FORMAT, SeedFile, SeedTask, parse_seed

SEED_RESOURCE = "seed.json"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, WIRE_DATETIME_FORMAT)


def format_time(value: datetime | None) -> str | None:
    return None if value is None else wire_datetime(value)


class InstanceKey(NamedTuple):
    """An instance's identity: its task and its data time ('YYYY-MM-DD HH:MM:SS')."""

    task_id: str
    cur_run_date: str


@dataclass(frozen=True, slots=True)
class Project:
    project_id: str
    name: str
    ident: str


@dataclass(frozen=True, slots=True)
class Workflow:
    workflow_id: str
    name: str
    project_id: str


Task = SeedTask  # a task is exactly what the seed says about it


@dataclass(frozen=True, slots=True)
class RunPlan:
    """How one accepted rerun runs: its instances in start priority order, and how many may run at once.

    `RunRerunScheduleInstancesRequest.ParallelNum` "实例运行并发度" caps `parallel_num` (None: no cap);
    `DataTimeOrder` "运行实例数据时间排序 0---正常 1--正序 2 – 逆序" decides `members`' order (see expansion.py).
    """

    members: tuple[InstanceKey, ...]
    parallel_num: int | None = None
    skip_event: bool = False


@dataclass(slots=True)
class Instance:
    """One schedule instance and its latest run."""

    task_id: str
    cur_run_date: str
    state: str
    tries: int = 0
    total_runs: int = 0
    redo: bool = False
    start_time: datetime | None = None
    end_time: datetime | None = None
    error_desc: str | None = None
    log: list[str] = field(default_factory=lambda: [])
    waiting_since: datetime | None = None
    first_start_time: datetime | None = None  # the first attempt since the last trigger (FirstStartTime)
    ignore_event: bool = False  # rerun with SkipEventListening (InstanceOpsDto.IgnoreEvent 忽略事件)
    plan: RunPlan | None = None  # the rerun that last triggered it, while it belongs to one

    @property
    def key(self) -> InstanceKey:
        return InstanceKey(self.task_id, self.cur_run_date)


@dataclass(frozen=True, slots=True)
class RerunRecord:
    """One accepted RunRerunScheduleInstances: what was asked, and exactly which instances reran."""

    at: datetime
    params: dict[str, Any]
    rerun_type: str
    son_instance_type: str
    check_father: bool
    selected: tuple[InstanceKey, ...]
    rerun: tuple[InstanceKey, ...]
    async_action_id: str | None = None


@dataclass(frozen=True, slots=True)
class AsyncJob:
    """One accepted RerunTaskInstancesAsync (2025-08-06): its sub-processes are the instances it reran, or, when
    the rerun was refused after it was accepted, `error` says why (the job then reads FAIL)."""

    async_id: str
    project_id: str
    at: datetime
    selected: tuple[InstanceKey, ...]
    rerun: tuple[InstanceKey, ...]
    error: str | None = None


@dataclass
class World:
    """The simulated account. Mutate only while holding `lock` (the HTTP thread and tests share it)."""

    now: datetime
    projects: dict[str, Project] = field(default_factory=lambda: {})
    workflows: dict[str, Workflow] = field(default_factory=lambda: {})
    tasks: dict[str, Task] = field(default_factory=lambda: {})
    instances: dict[InstanceKey, Instance] = field(default_factory=lambda: {})
    description: str = ""
    # The parameters of every accepted rerun, as sent (kept as plain dicts for simple assertions) ...
    reruns: list[dict[str, Any]] = field(default_factory=lambda: [])
    # ... and what each one did.
    rerun_records: list[RerunRecord] = field(default_factory=lambda: [])
    # RerunTaskInstancesAsync jobs (2025-08-06), by AsyncId.
    async_jobs: dict[str, AsyncJob] = field(default_factory=lambda: {})
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _order: dict[str, int] = field(default_factory=lambda: {}, repr=False)
    _children: dict[str, list[str]] = field(default_factory=lambda: {}, repr=False)

    def __post_init__(self) -> None:
        self._index()

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, seed: SeedFile) -> World:
        world = cls(
            now=parse_time(seed.now),
            projects={p.project_id: Project(p.project_id, p.project_name, p.project_ident) for p in seed.projects},
            workflows={w.workflow_id: Workflow(w.workflow_id, w.workflow_name, w.project_id) for w in seed.workflows},
            tasks={t.task_id: t for t in seed.tasks},
            description=seed.description,
        )
        for i in seed.instances:
            start = parse_time(i.start_time) if i.start_time else None
            world.instances[InstanceKey(i.task_id, i.cur_run_date)] = Instance(
                task_id=i.task_id,
                cur_run_date=i.cur_run_date,
                state=i.state,
                tries=i.tries,
                start_time=start,
                first_start_time=start,
                end_time=parse_time(i.end_time) if i.end_time else None,
                error_desc=i.error_desc,
                log=list(i.log),
                waiting_since=world.now,
            )
        return world

    @classmethod
    def from_dict(cls, data: Any) -> World:
        return cls.from_seed(parse_seed(data))

    @classmethod
    def from_file(cls, path: str | Path) -> World:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def seeded(cls) -> World:
        """A fresh copy of the shipped story (see seed.json's description)."""
        return cls.from_seed(_shipped_seed())

    def _index(self) -> None:
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        self._children = {task_id: [] for task_id in self.tasks}
        for task in self.tasks.values():
            sorter.add(task.task_id, *task.upstream)
            for parent in task.upstream:
                self._children[parent].append(task.task_id)
        try:
            ordered = list(sorter.static_order())  # also proves the DAG has no cycle
        except graphlib.CycleError as exc:
            raise ValueError(f"seed: the task dependencies form a cycle: {exc.args[1]}") from None
        # Ties keep the seed's order, so listings and rerun orders are deterministic.
        seed_order = {task_id: n for n, task_id in enumerate(self.tasks)}
        depth: dict[str, int] = {}
        for task_id in ordered:
            depth[task_id] = 1 + max((depth[u] for u in self.tasks[task_id].upstream), default=-1)
        ranked = sorted(self.tasks, key=lambda t: (depth[t], seed_order[t]))
        self._order = {task_id: n for n, task_id in enumerate(ranked)}

    # -- lookups -------------------------------------------------------------------------------

    def task_order(self, task_id: str) -> int:
        """A topological rank: upstream tasks always rank before their downstream."""
        return self._order[task_id]

    def children_of(self, task_id: str) -> list[str]:
        return list(self._children.get(task_id, []))

    def workflow_of(self, task_id: str) -> Workflow:
        return self.workflows[self.tasks[task_id].workflow_id]

    def project_of(self, task_id: str) -> Project:
        return self.projects[self.workflow_of(task_id).project_id]

    def upstream_instances(self, key: InstanceKey) -> list[InstanceKey]:
        """The existing instances `key` waits for."""
        found = (InstanceKey(u, key.cur_run_date) for u in self.tasks[key.task_id].upstream)
        return [k for k in found if k in self.instances]

    def downstream_instances(self, key: InstanceKey) -> list[InstanceKey]:
        found = (InstanceKey(c, key.cur_run_date) for c in self._children.get(key.task_id, []))
        return [k for k in found if k in self.instances]

    def sort_key(self, key: InstanceKey) -> tuple[str, int]:
        return (key.cur_run_date, self.task_order(key.task_id))

    def instance(self, task_id: str, cur_run_date: str) -> Instance:
        return self.instances[InstanceKey(task_id, cur_run_date)]


@functools.cache
def _shipped_seed() -> SeedFile:
    """The shipped seed, read and checked once per process: it is frozen, and every World made from it is new
    (tests load a fresh seeded world thousands of times)."""
    text = resources.files("wedata_mcp.sandbox").joinpath(SEED_RESOURCE).read_text(encoding="utf-8")
    return parse_seed(json.loads(text))
