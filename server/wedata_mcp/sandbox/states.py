"""WeData's instance state codes: one table, as the 2021-08-20 SDK documents them, and the codes the simulator writes.

Source: the SDK's `InstanceVO.InstanceState` docstring (the same text on `InstanceDetailVO`, `InstanceLogVO`,
`InstanceLifeCycleVO` and `ListInstancesRequest.InstanceStateList`):
  "[0] 表示 等待事件 - [12] 表示 等待上游 - [6, 7, 9, 10, 18] 表示 等待运行 - [1, 19, 22] 表示 运行中
   - [21] 表示 跳过运行 - [3] 表示 失败重试 - [8, 4, 5, 13] 表示 失败 - [2] 表示 成功"
`InstanceOpsDto.State` carries the code as a string; `InstanceApiOpsRequest.StateList` filters by the integer.
The docs do not say what tells the codes of one group apart, so the simulator writes one code per group
(the first the SDK lists, `WRITTEN` below) and reads any documented code in a seed.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class StateGroup(NamedTuple):
    """One documented group of state codes."""

    name: str  # our English for the SDK's words
    sdk_words: str  # the SDK's own words, for docs/simulator.md
    codes: tuple[str, ...]


WAITING_EVENT: Final = "0"
WAITING_UPSTREAM: Final = "12"
WAITING_RUN: Final = "6"
RUNNING: Final = "1"
SKIPPED: Final = "21"
FAILED_RETRYING: Final = "3"
FAILED: Final = "4"
SUCCESS: Final = "2"

GROUPS: Final[tuple[StateGroup, ...]] = (
    StateGroup("waiting for event", "等待事件", ("0",)),
    StateGroup("waiting for upstream", "等待上游", ("12",)),
    StateGroup("waiting to run", "等待运行", ("6", "7", "9", "10", "18")),
    StateGroup("running", "运行中", ("1", "19", "22")),
    StateGroup("skipped", "跳过运行", ("21",)),
    StateGroup("failed, retrying", "失败重试", ("3",)),
    StateGroup("failed", "失败", ("8", "4", "5", "13")),
    StateGroup("success", "成功", ("2",)),
)

_GROUP_OF: Final[dict[str, StateGroup]] = {code: group for group in GROUPS for code in group.codes}
DOCUMENTED: Final = frozenset(_GROUP_OF)
# The one code the simulator writes for each group (undocumented choice: the first listed, 4 for "failed").
WRITTEN: Final = frozenset(
    {WAITING_EVENT, WAITING_UPSTREAM, WAITING_RUN, RUNNING, SKIPPED, FAILED_RETRYING, FAILED, SUCCESS}
)
NAMES: Final[dict[str, str]] = {code: _GROUP_OF[code].name for code in WRITTEN}

WAITING_RUN_CODES: Final = frozenset(_GROUP_OF[WAITING_RUN].codes)
RUNNING_CODES: Final = frozenset(_GROUP_OF[RUNNING].codes)
FAILED_CODES: Final = frozenset(_GROUP_OF[FAILED].codes)
# States an instance leaves by itself (the scheduler is still working on it); the rest are final.
IN_PROGRESS: Final = frozenset({WAITING_EVENT, WAITING_UPSTREAM, FAILED_RETRYING} | WAITING_RUN_CODES | RUNNING_CODES)
FINAL: Final = DOCUMENTED - IN_PROGRESS
# What lets a downstream instance go on, and passes CheckFather: a success, or a skipped branch (21, 跳过运行,
# "终态"). The docs do not say how a skipped upstream counts; the simulator treats it as done.
DONE: Final = frozenset({SUCCESS, SKIPPED})


def group(code: str) -> StateGroup | None:
    """The documented group of `code`, or None for an undocumented code."""
    return _GROUP_OF.get(code)


def name(code: str) -> str:
    """A readable name for any documented code."""
    found = _GROUP_OF.get(code)
    return found.name if found else f"state {code}"
