"""An instance's upstream and downstream, level by level, with the blast radius's own look-ups (read-only).

Each level is one `Resolver.neighbours` call per instance of the level before (on 2021-08-20 one DagInstances
page walk, DagDepth 1; on 2025-08-06 List{Up,Down}streamTaskInstances):
the same derivation the preview's blast radius uses, so lineage and preview never disagree. The walk is bounded
in depth, in instances and in calls; whatever it could not look up is said, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wedata_mcp.cloud.errors import WeDataError
from wedata_mcp.guardrail.blast import Key, LookupBudget, LookupBudgetExceeded, Resolver, reason
from wedata_mcp.models.base import spoken
from wedata_mcp.models.describe import InstanceOpsView

Direction = Literal["upstream", "downstream"]
MAX_DEPTH = 5
MAX_RELATED = 100  # per direction

_DAG_TYPE: dict[Direction, str] = {"upstream": "1", "downstream": "2"}


@dataclass(frozen=True, slots=True)
class Related:
    """An instance `level` steps from the origin, reached from `via` (one level closer)."""

    instance: InstanceOpsView
    level: int
    via: Key


@dataclass
class Lineage:
    origin: InstanceOpsView
    related: dict[Direction, list[Related]] = field(default_factory=lambda: {})
    notes: list[str] = field(default_factory=lambda: [])  # what was cut short or could not be looked up
    deeper: list[Direction] = field(default_factory=lambda: [])  # directions with instances beyond `depth`


async def lineage(
    resolver: Resolver,
    origin: InstanceOpsView,
    directions: tuple[Direction, ...],
    depth: int,
    *,
    max_related: int = MAX_RELATED,
) -> Lineage:
    """The instances up to `depth` levels upstream and/or downstream of `origin`, each found once, nearest first."""
    found = Lineage(origin)
    calls = resolver.budget()
    depth = min(depth, MAX_DEPTH)
    edges: dict[Direction, tuple[list[InstanceOpsView], set[Key]]] = {}
    for direction in directions:
        found.related[direction], edges[direction] = await _walk(resolver, found, direction, depth, calls, max_related)
    # Then, with what the walks left of the budget: whether anything lies beyond level `depth`, looked up, never
    # assumed either way.
    for direction, (frontier, seen) in edges.items():
        await _beyond(resolver, found, direction, depth, frontier, seen, calls)
    return found


async def _walk(
    resolver: Resolver,
    found: Lineage,
    direction: Direction,
    depth: int,
    calls: LookupBudget,
    max_related: int,
) -> tuple[list[Related], tuple[list[InstanceOpsView], set[Key]]]:
    """The instances up to `depth` levels in `direction`, and the last level's instances with every key seen
    (no last level when the walk ended before `depth`, or was cut short)."""
    seen: set[Key] = {found.origin.key}
    related: list[Related] = []
    frontier = [found.origin]
    for level in range(1, depth + 1):
        step: list[InstanceOpsView] = []
        for node in frontier:
            try:
                neighbours = await resolver.neighbours(node, _DAG_TYPE[direction], calls)
            except (WeDataError, LookupBudgetExceeded) as exc:
                found.notes.append(
                    f"{direction} of {spoken(node.TaskId, node.CurRunDate)} not looked up: {reason(exc)}"
                )
                continue
            for item in neighbours:
                if item.key in seen:
                    continue
                if len(related) >= max_related:
                    found.notes.append(f"{direction} cut short at {max_related} instances")
                    return related, ([], seen)
                seen.add(item.key)
                related.append(Related(item, level, node.key))
                step.append(item)
        frontier = step
        if not frontier:
            return related, ([], seen)
    return related, (frontier, seen)


async def _beyond(
    resolver: Resolver,
    found: Lineage,
    direction: Direction,
    depth: int,
    frontier: list[InstanceOpsView],
    seen: set[Key],
    calls: LookupBudget,
) -> None:
    """Whether any instance of level `depth` has a neighbour not listed: `found.deeper`, or a note if unknown."""
    for node in frontier:
        try:
            beyond = await resolver.neighbours(node, _DAG_TYPE[direction], calls)
        except (WeDataError, LookupBudgetExceeded) as exc:
            found.notes.append(f"whether {direction} goes beyond level {depth} is unknown: {reason(exc)}")
            return
        if any(item.key not in seen for item in beyond):
            found.deeper.append(direction)
            return
