"""How instances move over simulated time: a rerun starts them, the scheduler runs them to success or failure.

Rules (a small model of WeData's scheduler, deterministic on purpose):
- A rerun resets every instance it covers. Those with an upstream instance inside the same rerun wait for
  it (state 12, waiting for upstream); the others start at once (state 1, running) — CheckFather is a
  check made before accepting the rerun, not a wait.
- An instance waiting for upstream starts when every existing upstream instance has succeeded, at the time
  the last of them ended. This applies to seeded waiting instances too: rerun a failed instance alone and,
  once it succeeds, its waiting downstream runs by itself, as in WeData.
- A run lasts its task's `run_seconds`, then succeeds (state 2), or fails (state 4) when the task is seeded
  with `keeps_failing`. Automatic retries are not simulated.
- Instances waiting for an event (state 0) never move.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wedata_mcp.sandbox import states
from wedata_mcp.sandbox.world import Instance, InstanceKey, World, format_time

BROKER_IP = "10.0.3.17"
_WAITING = frozenset({states.WAITING_UPSTREAM, "6", "7", "9", "10", "18"})  # waiting for upstream / to run


def _stamp(at: datetime) -> str:
    return format_time(at) or ""


def _start(world: World, instance: Instance, at: datetime) -> None:
    instance.state = states.RUNNING
    instance.tries += 1
    instance.start_time = at
    instance.end_time = None
    instance.error_desc = None
    instance.log.append(
        f"{_stamp(at)} INFO instance {instance.task_id} {instance.cur_run_date} started on "
        f"{BROKER_IP} (attempt {instance.tries})"
    )


def _finish(world: World, instance: Instance, at: datetime) -> None:
    task = world.tasks[instance.task_id]
    instance.end_time = at
    if task.keeps_failing:
        instance.state = states.FAILED
        instance.error_desc = task.failure_message
        instance.log.append(f"{_stamp(at)} ERROR {task.failure_message}")
    else:
        instance.state = states.SUCCESS
        instance.log.append(f"{_stamp(at)} INFO finished successfully in {task.run_seconds}s")


def _ready_at(world: World, instance: Instance) -> datetime | None:
    """When a waiting instance may start, or None while an upstream instance has not succeeded."""
    ends: list[datetime] = [instance.waiting_since or world.now]
    for up in world.upstream_instances(instance.key):
        upstream = world.instances[up]
        if upstream.state != states.SUCCESS:
            return None
        if upstream.end_time is not None:
            ends.append(upstream.end_time)
    return max(ends)


def next_event(world: World) -> tuple[datetime, InstanceKey] | None:
    """The next start or finish the scheduler will make, or None once the world has settled."""
    best: tuple[datetime, int, InstanceKey] | None = None
    with world.lock:
        for key, instance in world.instances.items():
            when: datetime | None = None
            if instance.state in states.RUNNING_CODES and instance.start_time is not None:
                when = instance.start_time + timedelta(seconds=world.tasks[key.task_id].run_seconds)
            elif instance.state in _WAITING:
                when = _ready_at(world, instance)
            if when is not None and (best is None or (when, world.task_order(key.task_id)) < best[:2]):
                best = (when, world.task_order(key.task_id), key)
    return None if best is None else (best[0], best[2])


def advance(world: World, to: datetime) -> None:
    """Play every start and finish due up to `to`, in time order; never goes back in time."""
    with world.lock:
        while (event := next_event(world)) is not None and event[0] <= to:
            at, key = event
            instance = world.instances[key]
            if instance.state in states.RUNNING_CODES:
                _finish(world, instance, at)
            else:
                _start(world, instance, at)
        world.now = max(world.now, to)


def start_rerun(world: World, rerun: tuple[InstanceKey, ...], at: datetime) -> None:
    """Reset the instances of one accepted rerun and start the ones with no upstream among them."""
    covered = set(rerun)
    with world.lock:
        for key in rerun:
            instance = world.instances[key]
            instance.state = states.WAITING_UPSTREAM
            instance.tries = 0
            instance.total_runs += 1
            instance.redo = True
            instance.start_time = instance.end_time = instance.error_desc = None
            instance.waiting_since = at
            instance.log = [f"{format_time(at)} INFO rerun requested"]
        for key in rerun:
            if not any(up in covered for up in world.upstream_instances(key)):
                _start(world, world.instances[key], at)
