"""WeData's instance state codes, as the 2021-08-20 SDK documents them, and the subset the simulator uses.

The SDK's `InstanceDetailVO.InstanceState` docstring groups the codes:
  [0] waiting for event; [12] waiting for upstream; [6, 7, 9, 10, 18] waiting to run;
  [1, 19, 22] running; [21] skipped; [3] failed, retrying; [8, 4, 5, 13] failed; [2] success.
The simulator uses one code per group (below). `InstanceOpsDto.State` carries it as a string;
`InstanceApiOpsRequest.StateList` filters by the integer.
"""

from __future__ import annotations

from typing import Final

WAITING_EVENT: Final = "0"
RUNNING: Final = "1"
SUCCESS: Final = "2"
FAILED_RETRYING: Final = "3"
FAILED: Final = "4"
WAITING_RUN: Final = "6"
WAITING_UPSTREAM: Final = "12"
SKIPPED: Final = "21"

NAMES: Final[dict[str, str]] = {
    WAITING_EVENT: "waiting for event",
    RUNNING: "running",
    SUCCESS: "success",
    FAILED_RETRYING: "failed, retrying",
    FAILED: "failed",
    WAITING_RUN: "waiting to run",
    WAITING_UPSTREAM: "waiting for upstream",
    SKIPPED: "skipped",
}

# Every documented code, so seeds may use any of them; the simulator only ever writes the ones above.
DOCUMENTED: Final = frozenset(
    {"0", "12", "6", "7", "9", "10", "18", "1", "19", "22", "21", "3", "8", "4", "5", "13", "2"}
)
RUNNING_CODES: Final = frozenset({"1", "19", "22"})
FAILED_CODES: Final = frozenset({"8", "4", "5", "13"})
# States an instance will leave by itself (the scheduler is still working on it).
IN_PROGRESS: Final = frozenset({"0", "12", "6", "7", "9", "10", "18", "1", "19", "22", "3"})


def name(code: str) -> str:
    """A readable name for any documented code."""
    if code in RUNNING_CODES:
        return "running"
    if code in FAILED_CODES:
        return "failed"
    if code in {"6", "7", "9", "10", "18"}:
        return "waiting to run"
    return NAMES.get(code, f"state {code}")
