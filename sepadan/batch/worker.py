"""The one partition worker both runners use: open the stage once, answer partitions, write them.

For each partition it counts the attempt (failed attempts are recorded in the run folder before the
error goes up to the runner, which retries), runs the stage, and writes the rows and the done marker
atomically. What it returns is a small summary row per partition, for the manifest and progress.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.batch.plan import Partition
from sepadan.batch.publish import Done, RunDir

log = logging.getLogger(__name__)


class InjectedFailure(RuntimeError):
    """A failure asked for by ``faults`` (tests and drills of the retry path)."""


KILL = -1  # a fault count meaning: SIGKILL this process while the partition is being written


class PartitionWorker:
    """Callable on a batch of partition rows (Ray Data ``map_batches``) or on one partition."""

    def __init__(self, stage: Any, root: str, run_id: str, faults: Mapping[str, int] | None = None) -> None:
        """``faults``: partition key -> how many attempts fail (tests, drills), or KILL."""
        self.stage, self.run = stage, RunDir(Path(root), run_id)
        self.faults = dict(faults or {})
        started = time.perf_counter()
        self.state = stage.open()
        log.debug("%s opened in %.2fs", stage.name, time.perf_counter() - started)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        keys = list(batch["key"])
        done = [self.one(Partition.from_row({c: batch[c][i] for c in ("stage", "key", "lo", "hi", "shard")}))
                for i in range(len(keys))]
        return summary_columns(done)

    def one(self, part: Partition) -> Done:
        failures = self.run.failures(part.stage, part.key)
        attempt = len(failures) + 1
        started = time.perf_counter()
        fault = self.faults.get(part.key, 0)
        try:
            if attempt <= fault:
                raise InjectedFailure(f"injected failure of {part.stage}/{part.key}, attempt {attempt}")
            rows = self.stage.run(self.state, part)
        except Exception as exc:
            self.run.record_failure(part.stage, part.key, f"attempt {attempt}: {type(exc).__name__}: {exc}")
            log.warning("%s/%s attempt %d failed: %s", part.stage, part.key, attempt, exc)
            log.debug("%s", traceback.format_exc())
            raise
        return self.run.write_part(part.stage, part.key, rows, seconds=time.perf_counter() - started,
                                   attempts=attempt, errors=tuple(failures),
                                   before_rename=_kill if fault == KILL else None)


def _kill() -> None:
    """Die at once, mid-write (the partition's rows under a temporary name, not renamed, no marker)."""
    os.kill(os.getpid(), signal.SIGKILL)


def summary_columns(done: list[Done]) -> dict[str, np.ndarray]:
    import json

    return {"key": np.array([d.key for d in done], dtype=object),
            "file": np.array([d.file for d in done], dtype=object),
            "rows": np.array([d.rows for d in done], dtype=np.int64),
            "sha256": np.array([d.sha256 for d in done], dtype=object),
            "seconds": np.array([d.seconds for d in done], dtype=np.float64),
            "attempts": np.array([d.attempts for d in done], dtype=np.int64),
            "errors": np.array([json.dumps(list(d.errors)) for d in done], dtype=object),
            "peak_mb": np.array([d.peak_mb for d in done], dtype=np.float64)}
