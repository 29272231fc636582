"""Two runners of the same batch functions: in this process, or on Ray (a cluster or a local one).

``run(stage, partitions, ...)`` hands every pending partition to a
:class:`~sepadan.batch.worker.PartitionWorker` and returns the done markers as they come back. The
local runner calls it in a loop and retries a failed partition itself; the Ray runner builds a Ray
Data dataset of partition rows and maps it with ``map_batches`` over an actor pool (one stage state
per actor: the model, shard matchers), Ray retrying a failed actor task (``max_task_retries`` with
``actor_task_retry_on_errors``). Either way each failed attempt is recorded in the run folder.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sepadan.batch.plan import Partition
from sepadan.batch.publish import Done, RunDir
from sepadan.batch.worker import PartitionWorker
from sepadan.errors import ConfigError

log = logging.getLogger(__name__)
Tick = Callable[[Done], None]


class LocalRunner:
    """Every partition in this process, one after another (the embedded default)."""

    name = "local"

    def share(self, value: Any) -> Any:
        return value

    def run(self, stage: Any, parts: Sequence[Partition], *, run: RunDir, retries: int,
            faults: Mapping[str, int] | None = None, tick: Tick | None = None) -> list[Done]:
        if not parts:
            return []
        worker = PartitionWorker(stage, str(run.root), run.run_id, faults)
        out = []
        for part in parts:
            for attempt in range(retries + 1):
                try:
                    done = worker.one(part)
                    break
                except Exception:
                    if attempt == retries:
                        raise
            out.append(done)
            if tick:
                tick(done)
        return out

    def close(self) -> None:
        return None


class RayRunner:
    """Ray Data over an existing cluster (``address``) or a Ray started for this run on 127.0.0.1."""

    name = "ray"

    def __init__(self, *, address: str | None = None, workers: int = 2, num_cpus: int | None = None,
                 cpus_per_worker: float = 1.0, object_store_memory: int | None = None) -> None:
        """A Ray started here listens on 127.0.0.1 only: Ray's single-machine mode, chosen before Ray is
        first imported in this process (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``; otherwise Ray binds the
        machine's own address even when asked for 127.0.0.1)."""
        if address is None and "ray" not in sys.modules:
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - the extra is part of the test set
            raise ConfigError("the Ray runner needs the 'ray' extra: pip install 'sepadan[ray]'") from exc
        self.workers, self.cpus_per_worker = workers, cpus_per_worker
        self.started = False
        if ray.is_initialized():
            log.info("using the Ray already initialised in this process")
        elif address:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus or workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                     object_store_memory=object_store_memory, logging_level=logging.WARNING,
                     log_to_driver=False)
            self.started = True
        self._refs: list[Any] = []

    def share(self, value: Any) -> Any:
        """Put a large value (a shard, the job orders) in the object store once; workers get it by ref."""
        import ray

        ref = ray.put(value)
        self._refs.append(ref)
        return ref

    def run(self, stage: Any, parts: Sequence[Partition], *, run: RunDir, retries: int,
            faults: Mapping[str, int] | None = None, tick: Tick | None = None) -> list[Done]:
        if not parts:
            return []
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.actor_task_retry_on_errors = True  # an exception in a partition is retried, not fatal
        ctx.max_errored_blocks = 0  # never drop a partition silently
        ds = ray.data.from_items([p.row() for p in parts], override_num_blocks=len(parts))
        mapped = ds.map_batches(
            PartitionWorker, batch_size=1, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=max(1, min(self.workers, len(parts)))),
            fn_constructor_kwargs={"stage": stage, "root": str(run.root), "run_id": run.run_id,
                                   "faults": dict(faults or {})},
            num_cpus=self.cpus_per_worker,
            ray_remote_args_fn=lambda: {"max_task_retries": retries, "max_restarts": retries})
        out = []
        for row in mapped.iter_rows():
            done = Done(str(row["key"]), str(row["file"]), int(row["rows"]), str(row["sha256"]),
                        float(row["seconds"]), int(row["attempts"]), tuple(json.loads(str(row["errors"]))),
                        float(row["peak_mb"]))
            out.append(done)
            if tick:
                tick(done)
        return out

    def close(self) -> None:
        import ray

        self._refs.clear()
        if self.started:
            ray.shutdown()
            self.started = False


def make_runner(kind: str, *, address: str | None = None, workers: int = 2, num_cpus: int | None = None,
                object_store_memory: int | None = None) -> LocalRunner | RayRunner:
    if kind == "local":
        return LocalRunner()
    if kind == "ray":
        return RayRunner(address=address, workers=workers, num_cpus=num_cpus,
                         object_store_memory=object_store_memory)
    raise ValueError(f"runner must be local or ray, not '{kind}'")
