"""Simulated time: a wall clock (real or injected) mapped onto the world's story time, optionally faster."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta


class StoryClock:
    """`now()` is `start` when created, then moves `speed` simulated seconds per wall-clock second."""

    def __init__(self, start: datetime, wall: Callable[[], float], speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._start = start
        self._wall = wall
        self._origin = wall()
        self.speed = speed

    def at(self, wall_seconds: float) -> datetime:
        """The story time at a given wall-clock reading (never before `start`)."""
        return self._start + timedelta(seconds=max(0.0, wall_seconds - self._origin) * self.speed)

    def now(self) -> datetime:
        return self.at(self._wall())

    def spec(self) -> str:
        """This clock as text another process can follow (`following`): 'STORY_EPOCH,WALL_EPOCH,SPEED'."""
        return f"{self._start.timestamp():.3f},{self._origin:.3f},{self.speed:g}"


def following(spec: str, wall: Callable[[], float]) -> Callable[[], float]:
    """The POSIX-seconds clock of a `StoryClock.spec()` (story times read as local time), on this process's wall
    clock. Raises ValueError for anything else."""
    story, origin, speed = (float(part) for part in spec.split(","))
    if speed <= 0:
        raise ValueError("speed must be positive")
    return lambda: story + max(0.0, wall() - origin) * speed
