"""WeData's documented request-rate limit (20 per second), enforced per SecretId and action.

The API reference states the limit per interface ("默认接口请求频率限制:20次/秒"), so each action has
its own budget per SecretId. The window slides over the last second of the injected clock; refused
requests do not use up budget.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

DEFAULT_LIMIT = 20
WINDOW_SECONDS = 1.0


class SlidingWindowLimiter:
    def __init__(self, clock: Callable[[], float], limit: int = DEFAULT_LIMIT) -> None:
        self._clock = clock
        self.limit = limit
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, secret_id: str, action: str) -> bool:
        """Count one request and say whether it is within the limit."""
        now = self._clock()
        with self._lock:
            window = self._seen.setdefault((secret_id, action), deque())
            while window and window[0] <= now - WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.limit:
                return False
            window.append(now)
            return True
