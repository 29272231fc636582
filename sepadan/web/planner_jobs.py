"""The planner's answers worked out in the background, shared and kept per matcher.

A planner page asks :meth:`Jobs.get` for a key (the page's choice and language) and a function that
works the answer out. It gets the :class:`Job` for that key under the engine's current matcher: done
(its value is shown), queued or running (the page says so and refreshes itself), or failed (the page
shows the reason). Two planners asking the same thing get the same job: one computation. Jobs run on
a small pool of threads per app (:data:`WORKERS`), planners' requests first; warming jobs
(:data:`WARM`, the common answers worked out after load) take one thread at most, so a planner's
request never waits behind more than one of them. A write that swaps the matcher makes every kept
answer stale: the next request works it out again, as ``AppState.derived`` does for the API.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)
USER, WARM = 0, 1  # priorities: a planner's request, then warming
WORKERS = 2
KEEP = 256  # finished jobs kept (the oldest go first)


@dataclass(eq=False)
class Job:
    """One computation and its state: queued, running, done (``value``) or failed (``reason``)."""

    key: Any
    compute: Callable[[], Any]
    matcher: Callable[[], Any]  # a weak reference: a kept answer never keeps an old matcher alive
    since: datetime
    priority: int = USER
    state: str = "queued"
    value: Any = None
    reason: str | None = None
    seconds: float | None = None  # how long it ran, once finished
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self.state == "done"


class Jobs:
    """The background computations of one app (``app.state.planner_jobs``)."""

    def __init__(self, engine: Any, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 workers: int = WORKERS, keep: int = KEEP) -> None:
        self._engine, self._clock, self._workers, self._keep = engine, clock, workers, keep
        self._lock = threading.Condition()
        self._jobs: dict[Any, Job] = {}
        self._queue: list[tuple[int, int, Job]] = []
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._warm_running = 0
        self._users = 0  # open lifespans (each TestClient of an app opens one)
        self.stopped = threading.Event()

    def get(self, key: Any, compute: Callable[[], Any], *, priority: int = USER) -> Job:
        """The job for ``key`` under the current matcher; submitted (with ``compute``) if there is none."""
        matcher = self._engine.matcher
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.matcher() is not matcher or job.state == "dropped":
                job = Job(key, compute, weakref.ref(matcher), self._clock(), priority)
                self._jobs[key] = job
                self._trim()
                self._push(job)
            elif job.state == "queued" and priority < job.priority:
                job.priority = priority  # a planner asks for what was only being warmed: ahead of the warming
                self._push(job)
            return job

    def now(self) -> datetime:
        return self._clock()

    def wait(self, key: Any, compute: Callable[[], Any]) -> Job:
        """The job for ``key``, once it has finished (a download: it waits on the same computation)."""
        while True:
            job = self.get(key, compute)
            job.finished.wait()
            if job.state in ("done", "failed"):
                return job

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued or running (tests and benchmarks); False if ``timeout`` passed first."""
        with self._lock:
            return self._lock.wait_for(lambda: all(j.finished.is_set() for j in self._jobs.values()), timeout)

    def forget_failure(self, key: Any) -> None:
        """Drop a failed job, so that the next request works it out again."""
        with self._lock:
            if (job := self._jobs.get(key)) is not None and job.state == "failed":
                del self._jobs[key]

    def waiting(self, job: Job) -> int:
        """How many queued jobs run before ``job`` (0 once it runs)."""
        with self._lock:
            if job.state != "queued":
                return 0
            return sum(1 for p, o, j in self._queue if j.state == "queued" and j is not job
                       and (p, o) < min((p2, o2) for p2, o2, j2 in self._queue if j2 is job))

    def open(self) -> None:
        with self._lock:
            self._users += 1
            self.stopped.clear()

    def close(self) -> None:
        """The app stops: idle threads end (a running computation finishes on its own, its thread a daemon)."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0:
                self.stopped.set()
                self._lock.notify_all()

    # -- the pool ------------------------------------------------------------------------------

    def _push(self, job: Job) -> None:
        heapq.heappush(self._queue, (job.priority, next(self._order), job))
        self._threads = [t for t in self._threads if t.is_alive()]
        if len(self._threads) < self._workers:
            thread = threading.Thread(target=self._run, name=f"sepadan-planner-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()
        self._lock.notify()

    def _run(self) -> None:
        while (job := self._take()) is not None:
            self._do(job)

    def _take(self) -> Job | None:
        with self._lock:
            while not self.stopped.is_set():
                while self._queue and self._queue[0][2].state != "queued":
                    heapq.heappop(self._queue)  # run already (a promoted job's first place in the queue)
                if self._queue:
                    job = self._queue[0][2]
                    if job.priority == WARM and self._warm_running:
                        self._lock.wait()  # one warming job at a time
                        continue
                    heapq.heappop(self._queue)
                    if job.matcher() is not self._engine.matcher:
                        job.state = "dropped"  # a write came first: whoever asks again starts afresh
                        job.finished.set()
                        self._lock.notify_all()
                        continue
                    job.state = "running"
                    self._warm_running += job.priority == WARM
                    return job
                self._lock.wait()
            return None

    def _do(self, job: Job) -> None:
        started = time.perf_counter()
        try:
            value = job.compute()
        except Exception as exc:  # noqa: BLE001 - shown on the page that asked, logged in full here
            log.exception("planner computation %s failed", job.key[0])
            state, value, reason = "failed", None, f"{type(exc).__name__}: {exc}"[:300]
        else:
            state, reason = "done", None
        with self._lock:
            job.value, job.reason, job.seconds = value, reason, time.perf_counter() - started
            job.state = state
            self._warm_running -= job.priority == WARM
            job.finished.set()
            self._lock.notify_all()

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.finished.is_set()]
        for key in finished[: max(0, len(self._jobs) - self._keep)]:  # dicts keep insertion order: oldest first
            del self._jobs[key]


def warm_when_ready(state: Any, jobs: Jobs, submit: Callable[[], int], *, every: float = 1.0,
                    settle: float = 60.0) -> threading.Thread:
    """A thread that calls ``submit`` (which queues the warming jobs) once the engine is ready, and
    again after a write swapped the matcher, once no write came for ``settle`` seconds."""
    warmed = threading.Event()

    def loop() -> None:
        last, seen, seen_at = None, None, 0.0
        while not jobs.stopped.wait(every):
            matcher = state.engine.built_matcher() if state.ready else None
            if matcher is None or matcher is last:
                continue
            if matcher is not seen:
                seen, seen_at = matcher, time.monotonic()
            if last is not None and time.monotonic() - seen_at < settle:
                continue  # writes may still be coming: warm once they stop
            count = submit()
            log.info("planner: warming %d common answers in the background", count)
            last = matcher
            warmed.set()

    thread = threading.Thread(target=loop, name="sepadan-planner-warm", daemon=True)
    thread.warmed = warmed  # type: ignore[attr-defined]  # tests wait on it
    thread.start()
    return thread
