"""Rate limits that hold across server processes: `limits` fixed windows over shared counters.

Two limits guard the API: requests per key (``api_rate_limit`` a minute, in windows of ``burst``
requests, so a key never gets more than ``burst`` at once) and failed authentications per client
address (``api_auth_failures`` a minute), which makes guessing keys cost time. The counters are a
:class:`limits.storage.Storage`: :class:`sepadan.store.counters.SqlCounters` when serving (every
process counts in one table), any other storage (``limits``' memory storage) where one process is
enough.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)


class Throttle:
    """One limit, counted per caller (a key id, an address). ``amount`` 0 means no limit."""

    MAX_COUNTED = 10_000

    def __init__(self, storage: Storage, *, amount: int, seconds: int, name: str) -> None:
        self.item = RateLimitItemPerSecond(amount, seconds, namespace=name) if amount > 0 else None
        self.limiter = FixedWindowRateLimiter(storage)
        self._counted: dict[str, int] = {}  # takes by this process, per caller: see counted()
        self._resets = 0  # times _counted was emptied (bounded memory)
        self._lock = threading.Lock()

    @property
    def local(self) -> bool:
        """Whether counting needs no I/O (no limit, or counters in this process's memory)."""
        return self.item is None or isinstance(self.limiter.storage, MemoryStorage)

    def counted(self, who: str) -> tuple[int, int]:
        """A mark of the requests of ``who`` this process has counted (:meth:`take`) so far: it
        changes with every take (and when the memory is emptied), telling that the shared count may
        have changed too. Memory only."""
        with self._lock:
            return self._resets, self._counted.get(who, 0)

    @classmethod
    def per_minute(cls, storage: Storage, per_minute: int, *, burst: int | None = None,
                   name: str) -> Throttle:
        """``per_minute`` on average, at most ``burst`` (default a sixth of it) in one window of
        ``60 * burst / per_minute`` seconds."""
        if per_minute <= 0:
            return cls(storage, amount=0, seconds=1, name=name)
        burst = burst or max(1, per_minute // 6)
        seconds = max(1, round(60 * burst / per_minute))
        return cls(storage, amount=max(1, round(per_minute * seconds / 60)), seconds=seconds, name=name)

    def take(self, who: str) -> int:
        """Count one request: 0 if allowed, else the seconds to wait (Retry-After)."""
        with self._lock:
            if len(self._counted) > self.MAX_COUNTED:
                self._counted.clear()
                self._resets += 1
            self._counted[who] = self._counted.get(who, 0) + 1
        if self.item is None or self._safely(self.limiter.hit, who):
            return 0
        return self.retry_after(who)

    def blocked(self, who: str) -> int:
        """Without counting: 0 if the caller is within the limit, else the seconds to wait."""
        if self.item is None or self._safely(self.limiter.test, who):
            return 0
        return self.retry_after(who)

    def retry_after(self, who: str) -> int:
        assert self.item is not None
        reset = self.limiter.get_window_stats(self.item, who).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _safely(self, check: object, who: str) -> bool:
        """A failing counter store lets the request through (logged), rather than the whole API down."""
        try:
            return bool(check(self.item, who))  # type: ignore[operator]
        except Exception:  # noqa: BLE001 - any storage error; the API keeps serving
            log.exception("rate-limit counters unavailable; request allowed")
            return True
