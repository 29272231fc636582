"""Thread pools started on first use, one per purpose: a forked child (a server's worker process,
a benchmark's child) has none of its parent's threads, so it starts a pool of its own (waiting on
the parent's pool would wait for ever)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor


class LazyPool:
    """A :class:`ThreadPoolExecutor` of ``workers`` threads named ``prefix``, made on first use."""

    def __init__(self, workers: int, prefix: str) -> None:
        self.workers, self.prefix = workers, prefix
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget)

    def get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.prefix)
            return self._pool

    def _forget(self) -> None:
        self._pool, self._lock = None, threading.Lock()
