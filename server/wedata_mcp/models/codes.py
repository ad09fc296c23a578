"""WeData's documented codes, each with its meaning, in one table: field descriptions, the preview's words,
policy and batching all read them here, and nothing else compares a code as a string.

Sources: the RunRerunScheduleInstances reference (shared/seeds) for the request's codes, and the 2021-08-20
SDK's docstrings (`InstanceDetailVO.InstanceState`, `InstanceApiOpsRequest`) for states and search codes. The
reference gives no defaults: an omitted code is read as its widest documented effect (DESIGN.md, invariant 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class RerunTypeCode:
    words: str
    selection: bool  # the selected instances rerun
    downstream: bool  # their downstream reruns
    brief: str  # for the schema: every conversation pays for it


# 重跑类型, 1: 自身; 3: 孩子; 2: 自身以及孩子
RERUN_TYPE: dict[str, RerunTypeCode] = {
    "1": RerunTypeCode("the selected instances only", True, False, "selected only"),
    "2": RerunTypeCode("the selected instances and their downstream", True, True, "selected + downstream"),
    "3": RerunTypeCode("only their downstream, not the selected instances", False, True, "downstream only"),
}
# Omitted: WeData documents no default, so it may rerun the selection and its downstream.
RERUN_TYPE_WIDEST = "2"

Scope = Literal["workflow", "project", "linked"]


@dataclass(frozen=True, slots=True)
class ScopeCode:
    words: str
    bound: Scope  # what a downstream instance must share with its selected instance
    brief: str


# 下游实例范围 1: 所在工作流 2: 所在项目 3: 所有跨工作流依赖的项目
SON_INSTANCE_TYPE: dict[str, ScopeCode] = {
    "1": ScopeCode("within the same workflow", "workflow", "same workflow"),
    "2": ScopeCode("within the same project", "project", "same project"),
    "3": ScopeCode("across every project linked by dependencies", "linked", "all linked projects"),
}
SON_INSTANCE_TYPE_WIDEST = "3"

# 实例依赖方式, 1: 自依赖; 2: 任务依赖; 3: 自依赖及父子依赖
DEPENDENT_WAY: dict[str, str] = {
    "1": "self-dependency",
    "2": "task dependency",
    "3": "self-dependency and parent/child dependency",
}
DEPENDENT_WAY_WIDEST = "3"


@dataclass(frozen=True, slots=True)
class CheckParentCode:
    words: str
    checks: Literal["covered", "selected", "none"]  # whose upstream WeData checks
    brief: str


# 是否检查上游任务: ALL(全部)、 MAKE_SCOPE(选中)、NONE (全部不检查)
CHECK_PARENT_TYPE: dict[str, CheckParentCode] = {
    "ALL": CheckParentCode("upstream of every instance that reruns is checked", "covered", "all"),
    "MAKE_SCOPE": CheckParentCode("only upstream of the selected instances is checked", "selected", "selected"),
    "NONE": CheckParentCode("no upstream task is checked", "none", "none"),
}

# 运行实例数据时间排序 0---正常 1--正序 2 – 逆序
DATA_TIME_ORDER: dict[int, str] = {0: "normal", 1: "ascending", 2: "descending"}

# InstanceApiOpsRequest.InstanceType
INSTANCE_TYPE: dict[str, str] = {"0": "backfill", "1": "periodic", "2": "non-periodic"}

# What applies when a code is left out. The reference documents no default for any of them, so each is read as
# its widest effect (DESIGN.md invariant 5) and the preview says so, field by field.
UNDOCUMENTED = "no default documented: its widest effect assumed"


@dataclass(frozen=True, slots=True)
class OmittedCode:
    applies: str  # the value the preview reads the omitted field as
    words: str


OMITTED: dict[str, OmittedCode] = {
    "RerunType": OmittedCode(RERUN_TYPE_WIDEST, RERUN_TYPE[RERUN_TYPE_WIDEST].words),
    "SonInstanceType": OmittedCode(
        SON_INSTANCE_TYPE_WIDEST, "downstream " + SON_INSTANCE_TYPE[SON_INSTANCE_TYPE_WIDEST].words
    ),
    "CheckFather": OmittedCode("false", "upstream completion is not checked"),
    "CheckParentType": OmittedCode(
        "MAKE_SCOPE",
        "WeData may check only the selected instances' upstream; the preview checks that of all that rerun",
    ),
    "DependentWay": OmittedCode(DEPENDENT_WAY_WIDEST, DEPENDENT_WAY[DEPENDENT_WAY_WIDEST]),
    "SkipEventListening": OmittedCode("true", "event listening may be ignored"),
}


def omitted_words(code: OmittedCode, why: str = UNDOCUMENTED) -> str:
    """What the preview says of an omitted code: the value that applies, its meaning, and why."""
    return f"{code.applies}: {code.words} ({why})"


StateGroup = Literal[
    "waiting_event", "waiting_upstream", "waiting_run", "running", "skipped", "failed_retrying", "failed", "success"
]


@dataclass(frozen=True, slots=True)
class StateCode:
    group: StateGroup
    words: str


# Instance states as the 2021-08-20 SDK documents them (InstanceDetailVO.InstanceState): 0 waiting for an event,
# 12 waiting for upstream, 6/7/9/10/18 waiting to run, 1/19/22 running, 21 skipped, 3 failed and retrying,
# 8/4/5/13 failed, 2 succeeded.
STATE_GROUPS: dict[StateGroup, tuple[int, ...]] = {
    "waiting_event": (0,),
    "waiting_upstream": (12,),
    "waiting_run": (6, 7, 9, 10, 18),
    "running": (1, 19, 22),
    "skipped": (21,),
    "failed_retrying": (3,),
    "failed": (8, 4, 5, 13),
    "success": (2,),
}
# API 2025-08-06 names the same eight groups instead of numbering them (v20250806 `TaskInstance.InstanceState`:
# "WAIT_EVENT: 等待事件 - WAIT_UPSTREAM: 等待上游 - WAIT_RUN: 等待运行 - RUNNING: 运行中 - SKIP_RUNNING: 跳过运行 -
# FAILED_RETRY: 失败重试 - EXPIRED: 失败 - COMPLETED: 成功"). Names and numeric codes cannot collide.
INSTANCE_STATE_NAMES: dict[str, StateGroup] = {
    "WAIT_EVENT": "waiting_event",
    "WAIT_UPSTREAM": "waiting_upstream",
    "WAIT_RUN": "waiting_run",
    "RUNNING": "running",
    "SKIP_RUNNING": "skipped",
    "FAILED_RETRY": "failed_retrying",
    "EXPIRED": "failed",
    "COMPLETED": "success",
}
# Every documented 2021-08-20 state code: what a search's StateList may hold (any other selects who knows what).
STATE_NUMBERS: tuple[int, ...] = tuple(sorted(code for codes in STATE_GROUPS.values() for code in codes))
# For a description: each group's codes ('failed: 8,4,5,13').
STATE_CODES: dict[str, str] = {group: ",".join(map(str, codes)) for group, codes in STATE_GROUPS.items()}
_GROUP_OF_CODE: dict[str, StateGroup] = {str(code): group for group, codes in STATE_GROUPS.items() for code in codes}
_GROUP_OF_CODE.update(INSTANCE_STATE_NAMES)


_CODE_SHAPE = re.compile(r"[A-Za-z0-9_]{1,32}", re.ASCII)


def state_group(code: str | None) -> StateGroup | None:
    """The documented group of a state code (2021-08-20's number or 2025-08-06's name), or None when the code is
    missing or undocumented."""
    return None if code is None else _GROUP_OF_CODE.get(code)


def state_name(code: str | None) -> str:
    """A readable name for a state code ('4' -> 'failed'); missing and undocumented codes are named as such. An
    undocumented code is WeData's text: it is repeated only when it has a code's shape (invariant 4)."""
    if code is None:
        return "unknown"
    group = state_group(code)
    if group is not None:
        return group
    return f"state {code}" if _CODE_SHAPE.fullmatch(code) else "an undocumented state"


def is_success(code: str | None) -> bool:
    return state_group(code) == "success"


def describe(lead: str, codes: dict[str, str] | dict[int, str]) -> str:
    """A field description: its lead sentence and every documented code with its meaning."""
    return lead + " " + "; ".join(f"{k}: {v}" for k, v in codes.items()) + "."
