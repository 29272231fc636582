"""The nightly batch: encode new phrases, rebuild indexes, shortlist every open order over worker
shards, recommend for every available worker, allocate, and aggregate the planners' gaps; the same
batch functions run in this process or on Ray; results are Parquet under ``<home>/batch/<run-id>``,
published atomically (``CURRENT``) and resumable by run id."""

from sepadan.batch.job import BatchOptions, BatchResult, StageReport, run_batch
from sepadan.batch.publish import current_run
from sepadan.batch.runners import LocalRunner, RayRunner, make_runner

__all__ = ["BatchOptions", "BatchResult", "LocalRunner", "RayRunner", "StageReport", "current_run",
           "make_runner", "run_batch"]
