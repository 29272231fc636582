"""The nightly run end to end: encode, index, shortlist over shards, merge, recommend, allocate,
gap tables, manifest, publish.

:func:`run_batch` is the library's entry point (the CLI's ``sepadan batch`` is a thin edge over it).
Stages run in order; each skips the partitions a previous attempt of the same run finished (their
done markers), so a killed run started again with the same run id does only what is left. Only when
every stage finished is the manifest written and CURRENT switched to the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.batch import phrases as phrase_stage
from sepadan.batch.aggregate import NATIONAL, AllocationStage, GapStage
from sepadan.batch.plan import Partition, check_run_id, new_run_id, partitions
from sepadan.batch.publish import Done, RunDir, last_unfinished
from sepadan.batch.shards import shard_states
from sepadan.batch.stages import CellSearch, MergeStage, RecommendStage, ShortlistStage
from sepadan.batch.vectors import CellBuild, CellOptions, VectorShard
from sepadan.errors import SepadanError

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class BatchOptions:
    shards: int = 2
    k: int = 30  # shortlist length (at least positions x candidates per position for each order)
    recommendations: int = 10
    orders_per_partition: int = 50
    workers_per_partition: int = 500
    phrases_per_partition: int = 2048
    retries: int = 2  # attempts after the first, per partition
    rebuild: bool = False  # rebuild the indexes even if up to date
    allocate: bool = True
    proposals_per_worker: int = 1
    candidates_per_position: int = 2
    allocation_k: int = 10
    gaps: bool = True
    gap_regions: tuple[str, ...] | None = None  # None: national and every province with workers
    faults: Mapping[str, int] = field(default_factory=dict)  # partition key -> failing attempts (drills)
    candidates: str = "exact"  # exact: each shard searched exactly; ivf: through its cells (stage "cells")
    cells: CellOptions = field(default_factory=CellOptions)

    def __post_init__(self) -> None:
        if isinstance(self.cells, Mapping):  # from params()
            object.__setattr__(self, "cells", CellOptions(**self.cells))
        if self.candidates not in ("exact", "ivf"):
            raise ValueError(f"candidates must be exact or ivf, not '{self.candidates}'")

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "faults"}


@dataclass(frozen=True, slots=True)
class StageReport:
    name: str
    where: str  # the runner's name, or "driver"
    partitions: int
    computed: int  # this attempt of the run
    skipped: int  # finished by an earlier attempt
    rows: int
    seconds: float  # wall time of this attempt
    work_seconds: float  # sum of the partitions' own times (every attempt)
    retried: tuple[dict[str, Any], ...] = ()
    peak_mb: float = 0.0  # the largest peak resident memory of a worker process that ran a partition


@dataclass(frozen=True, slots=True)
class BatchResult:
    run_id: str
    path: Path
    manifest: dict[str, Any]
    stages: tuple[StageReport, ...]


class Stages:
    """Runs stages of one run through a runner (or the driver), skipping finished partitions and
    reporting each stage."""

    def __init__(self, engine: Any, runner: Any, run: RunDir, options: BatchOptions, progress: Progress | None):
        self.engine, self.runner, self.run, self.options, self.progress = engine, runner, run, options, progress
        self.reports: list[StageReport] = []
        self.files: list[Done] = []
        self.chosen: dict[str, Any] = {}  # what the driver resolved for every worker (the cells' precision)

    def stage(self, stage: Any, parts: list[Partition], *, driver: bool = False) -> list[Done]:
        started = time.perf_counter()
        done = {p.key: self.run.done(p.stage, p.key) for p in parts}
        pending = [p for p in parts if done[p.key] is None]
        finished = [d for d in done.values() if d is not None]
        if finished:
            log.info("%s: %d of %d partitions already done", stage.name, len(finished), len(parts))
        self._tick(stage.name, len(finished), len(parts))
        runner = _LOCAL if driver else self.runner
        count = [len(finished)]

        def tick(_: Done) -> None:
            count[0] += 1
            self._tick(stage.name, count[0], len(parts))

        fresh = runner.run(stage, pending, run=self.run, retries=self.options.retries, faults=self.options.faults,
                           tick=tick)
        every = sorted(finished + fresh, key=lambda d: d.key)
        self.files += every
        self.reports.append(StageReport(
            stage.name, "driver" if driver else runner.name, len(parts), len(fresh), len(finished),
            sum(d.rows for d in every), round(time.perf_counter() - started, 3),
            round(sum(d.seconds for d in every), 3),
            tuple({"partition": d.key, "attempts": d.attempts, "errors": list(d.errors)} for d in every
                  if d.attempts > 1), max((d.peak_mb for d in every), default=0.0)))
        return every

    def timed(self, name: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        self._tick(name, 0, 1)
        value = fn()
        self._tick(name, 1, 1)
        self.reports.append(StageReport(name, "driver", 1, 1, 0, 0, round(time.perf_counter() - started, 3),
                                        round(time.perf_counter() - started, 3)))
        return value

    def _tick(self, label: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(f"batch {label}", done, total)


class _Local:
    name = "driver"

    def run(self, stage: Any, parts: Any, **kwargs: Any) -> list[Done]:
        from sepadan.batch.runners import LocalRunner

        return LocalRunner().run(stage, parts, **kwargs)


_LOCAL = _Local()


def inputs_digest(engine: Any, options: BatchOptions) -> str:
    """What a run's answers depend on: the records, the day, the model, the options."""
    digest = hashlib.sha256()
    for kind in ("workers", "vacancies", "agencies", "trainings"):
        digest.update(engine.store.fingerprint(kind).encode())
    digest.update(f"{engine.today.isoformat()}|{engine.encoder.name}|".encode())
    shaping = {k: v for k, v in options.params().items() if k not in ("retries", "rebuild")}  # not the answers
    digest.update(json.dumps(shaping, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:24]


def _open_run(engine: Any, options: BatchOptions, run_id: str | None, resume: bool) -> RunDir:
    root = engine.settings.home / "batch"
    if resume and run_id is None:
        run_id = last_unfinished(root)
        if run_id is None:
            raise SepadanError(f"--resume: no unfinished run under {root}")
    run = RunDir(root, check_run_id(run_id or new_run_id()))
    digest = inputs_digest(engine, options)
    started = run.read_json("run.json")
    if started is not None:
        if (run.path / "manifest.json").exists():
            raise SepadanError(f"run {run.run_id} already finished and published; start a new run id")
        if started["inputs"] != digest:
            raise SepadanError(f"run {run.run_id} was started on other records, day, model or options; "
                               "start a new run id")
        log.info("resuming run %s (%d half-written files of the last attempt removed)", run.run_id,
                 run.clear_temporaries())
    else:
        run.write_json("run.json", {"run_id": run.run_id, "inputs": digest, "today": engine.today.isoformat(),
                                    "options": options.params(), "started": time.time()})
    return run


def run_batch(engine: Any, *, runner: Any, options: BatchOptions | None = None, run_id: str | None = None,
              resume: bool = False, progress: Progress | None = None) -> BatchResult:
    """Run (or continue) one nightly run and publish it; raises if a stage fails for good (the run
    stays unpublished, to be continued with the same run id)."""
    options = options or BatchOptions()
    run = _open_run(engine, options, run_id, resume)
    job = Stages(engine, runner, run, options, progress)
    started = time.perf_counter()
    encode = phrase_stage.encode_stage(engine, job, options)
    before = engine.encoder.encoded
    matcher = job.timed("index", lambda: engine.build(force=options.rebuild))
    encode["encoded_by_build"] = engine.encoder.encoded - before
    vacancies, shards = job.timed("shards", lambda: shard_states(engine, options.shards))
    orders = _matching(job, runner.share(vacancies), tuple(runner.share(s) for s in shards), shards, matcher)
    if options.allocate:
        _allocation(job, orders)
    if options.gaps:
        _gaps(job, options.gap_regions or (NATIONAL, *_provinces(matcher)))
    manifest = _manifest(engine, job, options, shards, encode, time.perf_counter() - started)
    run.write_json("manifest.json", manifest)
    run.publish()
    log.info("batch run %s published: %s", run.run_id, run.path)
    return BatchResult(run.run_id, run.path, manifest, tuple(job.reports))


def _matching(job: Stages, vref: Any, srefs: tuple[Any, ...], shards: list[Any], matcher: Any
              ) -> tuple[tuple[str, int], ...]:
    """Shortlists per shard, merged; recommendations per shard. Returns the orders and their k."""
    from sepadan.allocate import Request, open_orders
    from sepadan.planning.gaps import positions

    o = job.options
    orders = tuple((v.id, max(o.k, positions(v) * o.candidates_per_position))
                   for v in open_orders(matcher, Request()))
    chunks = partitions("shortlists", len(orders), o.orders_per_partition, prefix="o")
    cells = None
    if o.candidates == "ivf":  # the cells' centroids trained on the open orders, as the dense pass does
        at = [matcher.vacancies.position(vid, "vacancy") for vid, _ in orders]
        queries = job.runner.share(VectorShard(np.arange(len(at), dtype=np.int64),
                                               np.ascontiguousarray(matcher.vacancies.index.vectors[at])))
        chosen = o.cells.resolved()  # one precision for the driver and every worker
        job.chosen["cells"] = asdict(chosen)
        job.stage(CellBuild(srefs, chosen, queries),
                  [Partition("cells", f"s{s.shard.number:02d}", 0, len(s.records), s.shard.number) for s in shards])
        cells = CellSearch(str(job.run.path), chosen)
    job.stage(ShortlistStage(vref, srefs, orders, cells),
              [Partition("shortlist-shards", f"s{s.shard.number:02d}-{c.key}", c.lo, c.hi, s.shard.number)
               for s in shards for c in chunks])
    job.stage(MergeStage(str(job.run.path), "shortlist-shards", len(shards), orders), chunks)
    available = tuple(tuple(w.id for w in s.records if w.available is not False) for s in shards)
    job.stage(RecommendStage(vref, srefs, available, o.recommendations, cells),
              [p for s in shards for p in partitions("recommendations", len(available[s.shard.number]),
                                                     o.workers_per_partition, prefix="w", shard=s.shard.number)])
    return orders


def _allocation(job: Stages, orders: tuple[tuple[str, int], ...]) -> None:
    from sepadan.allocate import Request

    o = job.options
    request = Request(k=o.allocation_k, proposals_per_worker=o.proposals_per_worker,
                      candidates_per_position=o.candidates_per_position)
    job.stage(AllocationStage(job.engine, str(job.run.stage_dir("shortlists")), orders, request),
              [Partition("allocation", key, 0, 1) for key in ("proposals", "unfilled")], driver=True)


def _gaps(job: Stages, regions: tuple[str, ...]) -> None:
    gaps = GapStage(job.engine, tuple(regions))
    job.stage(gaps, [Partition("gaps", r.replace(".", "_"), i, i + 1) for i, r in enumerate(regions)], driver=True)
    job.stage(GapStage(job.engine, tuple(regions), name="gap-summaries", cache=gaps.cache),
              [Partition("gap-summaries", "all", 0, len(regions))], driver=True)


def _provinces(matcher: Any) -> list[str]:
    return sorted({w.region.split(".")[0] for w in matcher.workers.records if w.region})


def _manifest(engine: Any, job: Stages, options: BatchOptions, shards: list[Any], encode: dict[str, Any],
              seconds: float) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION, "run_id": job.run.run_id, "runner": job.runner.name,
        "today": engine.today.isoformat(), "model": engine.encoder.name,
        "model_version": engine.matcher.model_version, "options": options.params(),
        "inputs": json.loads((job.run.path / "run.json").read_text())["inputs"],
        "seconds": round(seconds, 3), "encode": encode,
        "indexes": {side: {"rebuilt": s.rebuilt, "reason": s.reason, "kind": s.manifest.kind,
                           "rows": s.manifest.count} for side, s in engine.index_status.items()},
        "shards": [{"shard": s.shard.number, "workers": len(s.records), "first_id": s.shard.first_id,
                    "last_id": s.shard.last_id} for s in shards],
        "stages": [asdict(r) for r in job.reports],
        "files": [{"file": d.file, "rows": d.rows, "sha256": d.sha256} for d in job.files],
        "retried": [{"stage": r.name, **x} for r in job.reports for x in r.retried],
        "chosen": job.chosen,
    }
