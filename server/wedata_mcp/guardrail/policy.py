"""Server-side policy, from a TOML file: enforced whatever the client, the model or the annotations say.
Each refusal names its rule. A policy file that cannot be read or has an unknown key stops start-up."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wedata_mcp.cloud.ratelimit import SharedWindows, SlidingWindow, WindowUnavailableError
from wedata_mcp.guardrail.blast import Resolution
from wedata_mcp.guardrail.prepared import PreparedRerun
from wedata_mcp.models.base import spoken


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
    max_executions_per_minute: int = Field(
        default=30,
        ge=1,
        description="Executions per rolling minute: per process, or across replicas that share a Redis store.",
    )

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

    def check_request(self, prepared: PreparedRerun) -> None:
        """Rules decidable from the request alone, checked before any look-up. An omitted code counts as its
        widest documented effect (see `prepared.effect_of`)."""
        request, effect = prepared.request, prepared.effect
        if self.read_only:
            raise PolicyError("read_only", "this server does not rerun anything")
        region = prepared.where.region
        if self.allowed_regions is not None and region not in self.allowed_regions:
            raise PolicyError("allowed_regions", f"region {region} is not in {self.allowed_regions}")
        if request.SkipEventListening is not False and not self.allow_skip_event_listening:
            unset = " is not set (WeData documents no default)"
            given = "=true is not allowed" if request.SkipEventListening else unset
            raise PolicyError("allow_skip_event_listening", f"SkipEventListening{given}; set SkipEventListening=false")
        if effect.upstream_check == "none" and not self.allow_unchecked_upstream:
            raise PolicyError(
                "allow_unchecked_upstream",
                "reruns must check upstream explicitly (CheckFather=true, and CheckParentType not NONE); "
                + "; ".join(effect.skipped_checks),
            )
        if effect.scope is not None and effect.scope.bound == "linked" and not self.allow_cross_project_downstream:
            field, widest = prepared.api.scope_field, prepared.api.widest_scope
            given = f" ({field} not set counts as {widest}, its widest scope)" if field in effect.omitted else ""
            raise PolicyError("allow_cross_project_downstream", f"{field}={widest} is not allowed{given}")
        self.check_projects(prepared.api.named_projects(request))
        if len(prepared.instances) > self.max_instances:
            raise PolicyError(
                "max_instances", f"{len(prepared.instances)} instances selected; at most {self.max_instances} allowed"
            )

    def check_projects(self, projects: Iterable[str]) -> None:
        if self.allowed_projects is None:
            return
        outside = sorted(set(projects) - set(self.allowed_projects))
        if outside:
            raise PolicyError("allowed_projects", f"project(s) {', '.join(outside)} are not allowed")

    def check_resolution(self, found: Resolution) -> str | None:
        """Rules that need the resolved instances, downstream included. Raises PolicyError when a rule refuses;
        returns why a rule could not be checked (no token may be issued then), or None when all were."""
        if found.more_than is not None:
            raise PolicyError(
                "max_instances",
                f"the rerun touches more than {found.more_than} instances, downstream included; "
                f"at most {self.max_instances} allowed",
            )
        covered = found.covered
        if covered is None or found.notes:
            why = "; ".join(found.notes) or "the selection could not be resolved"
            return f"max_instances could not be checked: the instances the rerun touches are not known ({why})"
        if found.missing:
            return (
                f"max_instances could not be checked: {len(found.missing)} requested instance(s) were not found, "
                "so what they would rerun is not known"
            )
        if len(covered) > self.max_instances:
            raise PolicyError(
                "max_instances",
                f"the rerun touches {len(covered)} instances, downstream included; at most {self.max_instances} "
                "allowed",
            )
        if self.allowed_projects is not None:
            unknown = [spoken(i.TaskId, i.CurRunDate) for i in covered if not i.ProjectId]
            if unknown:
                return f"allowed_projects could not be checked: no project known for {', '.join(unknown[:5])}"
            self.check_projects(i.ProjectId for i in covered if i.ProjectId)
        return None


class ExecutionBudget:
    """The per-minute execution cap, over a rolling window: this process's, or with `shared` the one window
    `executions` that every replica on the shared store counts in (N replicas together stay within it)."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, shared: SharedWindows | None = None
    ) -> None:
        self._window = SlidingWindow(per_minute, 60.0)
        self._clock = clock
        self._shared = shared.window("executions", per_minute, 60.0) if shared else None

    async def take(self) -> None:
        """Count one execution, or raise PolicyError if the window is full or its shared count unknown."""
        if self._shared is None:
            wait = self._window.take(self._clock())
        else:
            try:
                wait = (await self._shared.take()).wait
            except WindowUnavailableError as exc:
                # A count the server cannot read is not room (invariant 5).
                raise PolicyError(
                    "max_executions_per_minute",
                    f"could not be checked: the count replicas share is unreadable ({exc}); nothing was sent",
                ) from None
        if wait:
            raise PolicyError(
                "max_executions_per_minute",
                f"{self._window.capacity} reruns in the last minute; wait {int(wait) + 1} s",
            )
