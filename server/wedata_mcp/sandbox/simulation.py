"""How instances move over simulated time: a rerun triggers them, the scheduler runs, retries and finishes them.

The life cycle follows the SDK's state groups (states.py) and its docstrings; docs/simulator.md lists each
rule with its source and the choices the docs leave open. Deterministic on purpose.
- A rerun triggers every instance it covers: Tries restarts from 0 (`InstanceVO.Tries`: "再次使用 手动重跑 或
  补录实例等方式触发运行时，会被重置为 0 后重新计数"). An instance of a task that listens to an event waits for it
  (0, 等待事件) unless the rerun sets SkipEventListening ("重跑忽略事件监听与否"); the simulator never fires an
  event, so it waits until a rerun skips it.
- A triggered instance waits for upstream (12, 等待上游) while an upstream instance of the same rerun has not
  succeeded, then waits to run (6, 等待运行) while the rerun's ParallelNum ("实例运行并发度") instances are busy,
  then runs (1, 运行中). It waits only for upstream inside its rerun: outside ones were checked, or not, when
  the rerun was accepted (CheckFather / CheckParentType, see expansion.py).
- An instance nobody reran (seeded waiting for upstream) starts when every existing upstream instance has
  succeeded, at the time the last of them ended, as WeData's scheduler does for scheduled instances.
- A run lasts its task's `run_seconds`, then succeeds (2, 成功) or, for a task seeded `keeps_failing`, fails.
  A failed run is retried automatically up to TryLimit runs (`InstanceOpsDto.TryLimit` "尝试运行次数";
  `InstanceVO.TryLimit` "每次运行失败，下发重试次数限制"): in between it is failed, retrying (3, 失败重试) for the
  task's RetryWait minutes (`TaskOpsDto.RetryWait` "重试等待时间, unit=分钟"); the last failure is final (4, 失败).
- An instance of a task seeded `skipped_branch` (a branch its upstream branch node does not take) ends skipped
  (21, 跳过运行; `InstanceLifeDetailDto.DetailState` "SKIP_RUNNING 表示 终态-被上游分支节点跳过的分支") instead of
  running when it would start; its downstream then goes on as after a success.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.world import Instance, InstanceKey, RunPlan, World, format_time

BROKER_IP = "10.0.3.17"
_WAITING = frozenset({states.WAITING_UPSTREAM}) | states.WAITING_RUN_CODES
_BUSY = states.RUNNING_CODES | {states.FAILED_RETRYING}  # a retrying instance keeps its ParallelNum slot


def _stamp(at: datetime) -> str:
    return format_time(at) or ""


def _start(world: World, instance: Instance, at: datetime) -> None:
    if world.tasks[instance.task_id].skipped_branch:
        _skip(instance, at)
        return
    instance.state = states.RUNNING
    instance.tries += 1
    instance.start_time = at
    if instance.first_start_time is None:
        instance.first_start_time = at
    instance.end_time = None
    instance.error_desc = None
    instance.log.append(
        f"{_stamp(at)} INFO instance {instance.task_id} {instance.cur_run_date} started on "
        f"{BROKER_IP} (attempt {instance.tries})"
    )


def _skip(instance: Instance, at: datetime) -> None:
    """A branch its upstream branch node does not take ends skipped (21) without running."""
    instance.state = states.SKIPPED
    instance.end_time = at
    instance.log.append(f"{_stamp(at)} INFO skipped: the upstream branch node did not take this branch")


def _finish(world: World, instance: Instance, at: datetime) -> None:
    task = world.tasks[instance.task_id]
    instance.end_time = at
    if task.keeps_failing:
        instance.error_desc = task.failure_message
        instance.log.append(f"{_stamp(at)} ERROR {task.failure_message}")
        if instance.tries < task.try_limit:
            instance.state = states.FAILED_RETRYING
            instance.log.append(
                f"{_stamp(at)} INFO retry {instance.tries + 1} of {task.try_limit} in {task.retry_wait_minutes} min"
            )
        else:
            instance.state = states.FAILED
    else:
        instance.state = states.SUCCESS
        instance.log.append(f"{_stamp(at)} INFO finished successfully in {task.run_seconds}s")


def _waits_for(world: World, instance: Instance) -> list[InstanceKey]:
    upstream = world.upstream_instances(instance.key)
    if instance.plan is None:
        return upstream
    members = set(instance.plan.members)
    return [k for k in upstream if k in members]


def _ready_at(world: World, instance: Instance) -> datetime | None:
    """When a waiting instance's upstream allows it to start, or None while one has not succeeded."""
    ends: list[datetime] = [instance.waiting_since or world.now]
    for up in _waits_for(world, instance):
        upstream = world.instances[up]
        if upstream.state not in states.DONE:
            return None
        if upstream.end_time is not None:
            ends.append(upstream.end_time)
    return max(ends)


def _slot_at(world: World, plan: RunPlan, key: InstanceKey) -> datetime | None:
    """When `key` gets a ParallelNum slot of its rerun, given the instances before it; None while none is free.

    A slot frees when a busy member ends, so the time is the latest end among the plan's finished members.
    """
    if plan.parallel_num is None:
        return datetime.min
    members = [world.instances[k] for k in plan.members]
    mine = [m for m in members if m.plan is plan]  # a later rerun may have taken some members over
    busy = sum(1 for m in mine if m.state in _BUSY)
    ahead = 0  # ready members with a higher priority that are also waiting for a slot
    for k, member in zip(plan.members, members, strict=True):
        if k == key:
            break
        if member.state in _WAITING and member.plan is plan and _ready_at(world, member) is not None:
            ahead += 1
    if busy + ahead >= plan.parallel_num:
        return None
    ends = [m.end_time for m in mine if m.end_time is not None and m.state not in _BUSY]
    return max(ends, default=datetime.min)


def _start_at(world: World, instance: Instance) -> datetime | None:
    ready = _ready_at(world, instance)
    if ready is None or instance.plan is None:
        return ready
    slot = _slot_at(world, instance.plan, instance.key)
    return None if slot is None else max(ready, slot)


def next_event(world: World) -> tuple[datetime, InstanceKey] | None:
    """The next start, retry or finish the scheduler will make, or None once the world has settled."""
    best: tuple[datetime, int, InstanceKey] | None = None
    with world.lock:
        for key, instance in world.instances.items():
            when: datetime | None = None
            task = world.tasks[key.task_id]
            if instance.state in states.RUNNING_CODES and instance.start_time is not None:
                when = instance.start_time + timedelta(seconds=task.run_seconds)
            elif instance.state == states.FAILED_RETRYING:
                failed_at = instance.end_time or instance.waiting_since or world.now
                when = failed_at + timedelta(minutes=task.retry_wait_minutes)
            elif instance.state in _WAITING:
                when = _start_at(world, instance)
            if when is not None and (best is None or (when, world.task_order(key.task_id)) < best[:2]):
                best = (when, world.task_order(key.task_id), key)
    return None if best is None else (best[0], best[2])


def _label_waiting(world: World, plan: RunPlan) -> None:
    """Members whose upstream allows them but who wait for a slot show "waiting to run" (6), the rest 12."""
    for key in plan.members:
        instance = world.instances[key]
        if instance.plan is plan and instance.state in _WAITING:
            ready = _ready_at(world, instance) is not None
            instance.state = states.WAITING_RUN if ready else states.WAITING_UPSTREAM


def advance(world: World, to: datetime) -> None:
    """Play every start, retry and finish due up to `to`, in time order; never goes back in time."""
    with world.lock:
        while (event := next_event(world)) is not None and event[0] <= to:
            at, key = event
            # An instance unblocked just now (a rerun freed a slot) starts now, not when it first could have.
            at = max(at, world.now)
            instance = world.instances[key]
            if instance.state in states.RUNNING_CODES:
                _finish(world, instance, at)
            else:
                _start(world, instance, at)
            if instance.plan is not None:
                _label_waiting(world, instance.plan)
        world.now = max(world.now, to)


def start_rerun(world: World, plan: RunPlan, at: datetime) -> None:
    """Trigger the instances of one accepted rerun and start those that may start at once."""
    with world.lock:
        for key in plan.members:
            instance = world.instances[key]
            task = world.tasks[key.task_id]
            waits_for_event = task.event is not None and not plan.skip_event
            instance.state = states.WAITING_EVENT if waits_for_event else states.WAITING_UPSTREAM
            instance.tries = 0
            instance.total_runs += 1
            instance.redo = True
            instance.start_time = instance.end_time = instance.error_desc = instance.first_start_time = None
            instance.waiting_since = at
            instance.ignore_event = plan.skip_event
            instance.plan = plan
            instance.log = [f"{format_time(at)} INFO rerun requested"]
            if waits_for_event:
                instance.log.append(f"{format_time(at)} INFO waiting for event {task.event}")
        _label_waiting(world, plan)
        advance(world, at)
