"""Server-side policy, from a TOML file: enforced whatever the client, the model or the annotations say.
Each refusal names its rule. A policy file that cannot be read or has an unknown key stops start-up."""

from __future__ import annotations

import time
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wedata_mcp.models import RunRerunScheduleInstancesRequest


class PolicyError(Exception):
    """A request refused by a policy rule; `rule` is the rule's name in the policy file."""

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        super().__init__(f"refused by policy rule '{rule}': {detail}")


class PolicyFileError(ValueError):
    """The policy file is missing, unreadable or invalid."""


class Policy(BaseModel):
    """What this server may do. Defaults allow the documented request shapes; tighten them in a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read_only: bool = Field(default=False, description="Hide and refuse every mutating tool.")
    allowed_regions: list[str] | None = Field(default=None, description="Regions reruns may target (None: any).")
    allowed_projects: list[str] | None = Field(default=None, description="Project IDs reruns may touch (None: any).")
    max_instances: int = Field(
        default=1000, ge=1, description="Most instances one rerun may touch, downstream included."
    )
    allow_skip_event_listening: bool = Field(default=True, description="Allow SkipEventListening=true.")
    allow_unchecked_upstream: bool = Field(default=True, description="Allow CheckFather=false / CheckParentType=NONE.")
    allow_cross_project_downstream: bool = Field(default=True, description="Allow SonInstanceType=3 with downstream.")
    resolve_search_condition: bool = Field(
        default=True,
        description="Resolve SearchCondition into an explicit instance list at preview (else pass through).",
    )
    max_executions_per_minute: int = Field(default=30, ge=1, description="Executions per rolling minute, per process.")

    @classmethod
    def from_file(cls, path: Path) -> Policy:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise PolicyFileError(f"policy file {path}: {exc}") from None
        try:
            return cls.model_validate(data.get("policy", data))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise PolicyFileError(f"policy file {path}: {problems}") from None

    def check_request(self, request: RunRerunScheduleInstancesRequest, region: str) -> None:
        """Rules decidable from the request alone."""
        if self.read_only:
            raise PolicyError("read_only", "this server does not rerun anything")
        if self.allowed_regions is not None and region not in self.allowed_regions:
            raise PolicyError("allowed_regions", f"region {region} is not in {self.allowed_regions}")
        if request.SkipEventListening and not self.allow_skip_event_listening:
            raise PolicyError("allow_skip_event_listening", "SkipEventListening=true is not allowed")
        if (request.CheckFather is False or request.CheckParentType == "NONE") and not self.allow_unchecked_upstream:
            raise PolicyError("allow_unchecked_upstream", "reruns must check upstream (CheckFather=true)")
        downstream = request.RerunType in ("2", "3")
        if downstream and request.SonInstanceType == "3" and not self.allow_cross_project_downstream:
            raise PolicyError("allow_cross_project_downstream", "SonInstanceType=3 is not allowed")
        self.check_projects(_named_projects(request))
        if request.Instances and len(request.Instances) > self.max_instances:
            raise PolicyError(
                "max_instances", f"{len(request.Instances)} instances selected; at most {self.max_instances} allowed"
            )

    def check_projects(self, projects: Iterable[str]) -> None:
        if self.allowed_projects is None:
            return
        outside = sorted(set(projects) - set(self.allowed_projects))
        if outside:
            raise PolicyError("allowed_projects", f"project(s) {', '.join(outside)} are not allowed")

    def check_blast_radius(self, total: int | None, projects: Iterable[str]) -> None:
        """Rules that need the resolved instances, downstream included."""
        if total is not None and total > self.max_instances:
            raise PolicyError(
                "max_instances",
                f"the rerun touches {total} instances, downstream included; at most {self.max_instances} allowed",
            )
        self.check_projects(projects)


def _named_projects(request: RunRerunScheduleInstancesRequest) -> set[str]:
    named = {i.ProjectId for i in request.Instances or [] if i.ProjectId}
    if request.ProjectId:
        named.add(request.ProjectId)
    if request.SearchCondition is not None and request.SearchCondition.ProjectId:
        named.add(request.SearchCondition.ProjectId)
    return named


class ExecutionBudget:
    """The per-minute execution cap, over a rolling window."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._recent: deque[float] = deque()

    def take(self) -> None:
        now = self._clock()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self._per_minute:
            raise PolicyError(
                "max_executions_per_minute",
                f"{self._per_minute} reruns in the last minute; wait {int(60 - (now - self._recent[0])) + 1} s",
            )
        self._recent.append(now)
