"""The run folder: partition files written atomically with done markers, the manifest, CURRENT.

Layout under ``<home>/batch``::

    <run-id>/run.json                     what the run was asked (written at the start)
    <run-id>/<stage>/<key>.parquet        one partition's rows (written to a temporary name, renamed)
    <run-id>/_status/<stage>/<key>.done   its marker: rows, sha256, seconds, attempts (written last)
    <run-id>/_status/<stage>/<key>.failures  one JSON line per failed attempt (retried ones included)
    <run-id>/manifest.json                files, row counts, sha256, stage timings, retries
    CURRENT                               the published run id, switched by rename

A stage folder holds only its Parquet files (temporary names start with a dot), so
``pandas.read_parquet(folder)`` reads a stage whole.

A partition counts as done only through its marker, so a run killed mid-write redoes that
partition and no other; CURRENT names a run only after its manifest is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sepadan.errors import SepadanError


@dataclass(frozen=True, slots=True)
class Done:
    key: str
    file: str  # relative to the run folder
    rows: int
    sha256: str
    seconds: float
    attempts: int
    errors: tuple[str, ...] = ()
    peak_mb: float = 0.0  # the worker process's peak resident memory when it finished the partition


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def peak_mb() -> float:
    """This process's peak resident set so far, in MB (Linux and macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 1024), 1)


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary name unique to this writer, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class RunDir:
    """One run's folder (and the batch root holding CURRENT)."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root, self.run_id = Path(root), run_id
        self.path = self.root / run_id

    def stage_dir(self, stage: str) -> Path:
        return self.path / stage

    def part_file(self, stage: str, key: str) -> Path:
        return self.stage_dir(stage) / f"{key}.parquet"

    def status_dir(self, stage: str) -> Path:
        return self.path / "_status" / stage

    def done(self, stage: str, key: str) -> Done | None:
        marker = self.status_dir(stage) / f"{key}.done"
        if not marker.exists():
            return None
        data = json.loads(marker.read_text(encoding="utf-8"))
        if not (self.path / data["file"]).exists():
            return None
        return Done(**{**data, "errors": tuple(data.get("errors", ()))})

    def failures(self, stage: str, key: str) -> list[str]:
        path = self.status_dir(stage) / f"{key}.failures"
        if not path.exists():
            return []
        return [json.loads(line)["error"] for line in path.read_text(encoding="utf-8").splitlines() if line]

    def record_failure(self, stage: str, key: str, error: str) -> None:
        path = self.status_dir(stage) / f"{key}.failures"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"error": error[:2000]}) + "\n")

    def write_part(self, stage: str, key: str, table: Any, *, seconds: float, attempts: int,
                   errors: tuple[str, ...], before_rename: Callable[[], None] | None = None) -> Done:
        """The partition's Parquet file, then its done marker (both atomic)."""
        import pyarrow.parquet as pq

        final = self.part_file(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
        pq.write_table(table, tmp)
        if before_rename:
            before_rename()
        os.replace(tmp, final)
        done = Done(key, str(final.relative_to(self.path)), table.num_rows, sha256_of(final), round(seconds, 4),
                    attempts, errors, peak_mb())
        write_atomic(self.status_dir(stage) / f"{key}.done", json.dumps(asdict(done)).encode())
        return done

    def clear_temporaries(self) -> int:
        """Remove what a killed writer left half-written (temporary names only; never a partition)."""
        stale = list(self.path.glob("**/.*.tmp"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def write_json(self, name: str, data: dict[str, Any]) -> Path:
        path = self.path / name
        write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str).encode())
        return path

    def read_json(self, name: str) -> dict[str, Any] | None:
        path = self.path / name
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def publish(self) -> None:
        """Point CURRENT at this run (only once its manifest exists)."""
        if not (self.path / "manifest.json").exists():
            raise SepadanError(f"run {self.run_id} has no manifest; not published")
        write_atomic(self.root / "CURRENT", (self.run_id + "\n").encode())


def current_run(root: Path) -> str | None:
    """The published run id (None before the first run finished)."""
    path = Path(root) / "CURRENT"
    return path.read_text(encoding="utf-8").strip() or None if path.exists() else None


def last_unfinished(root: Path) -> str | None:
    """The newest run folder without a manifest (the run ``--resume`` continues)."""
    runs = sorted((p for p in Path(root).glob("*/run.json") if not (p.parent / "manifest.json").exists()),
                  key=lambda p: p.stat().st_mtime)
    return runs[-1].parent.name if runs else None
