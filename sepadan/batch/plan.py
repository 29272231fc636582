"""Partitions: the units of work of a nightly run, their keys, and the shards of the worker table.

A partition is one stage's slice of work: a range ``[lo, hi)`` of a list the stage holds (phrases,
job orders, a shard's workers), optionally within one worker shard. Its key names it in the run
folder (``s01-o00002``), so a resumed run finds the partitions already done by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Partition:
    stage: str
    key: str
    lo: int
    hi: int
    shard: int | None = None

    def row(self) -> dict[str, object]:
        """As a Ray Data row (plain values only)."""
        return {"stage": self.stage, "key": self.key, "lo": self.lo, "hi": self.hi,
                "shard": -1 if self.shard is None else self.shard}

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Partition:
        shard = int(row["shard"])  # type: ignore[arg-type]
        return cls(str(row["stage"]), str(row["key"]), int(row["lo"]), int(row["hi"]),  # type: ignore[arg-type]
                   None if shard < 0 else shard)


@dataclass(frozen=True, slots=True)
class Shard:
    """A block of the worker table by id: positions (in the matcher) of the workers, ids sorted."""

    number: int
    positions: tuple[int, ...]
    first_id: str
    last_id: str


def ranges(n: int, size: int) -> list[tuple[int, int]]:
    """``[lo, hi)`` chunks of at most ``size`` covering ``range(n)`` (none when n is 0)."""
    if size < 1:
        raise ValueError("a partition holds at least one item")
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def partitions(stage: str, n: int, size: int, *, prefix: str, shard: int | None = None) -> list[Partition]:
    head = "" if shard is None else f"s{shard:02d}-"
    return [Partition(stage, f"{head}{prefix}{i:05d}", lo, hi, shard) for i, (lo, hi) in enumerate(ranges(n, size))]


def shard_by_id(ids: Sequence[str], n_shards: int) -> list[Shard]:
    """Split positions into ``n_shards`` contiguous id ranges of near-equal size (ids sorted)."""
    if n_shards < 1:
        raise ValueError("at least one shard")
    order = sorted(range(len(ids)), key=lambda p: ids[p])
    n_shards = max(1, min(n_shards, len(order))) if order else 1
    bounds = [round(i * len(order) / n_shards) for i in range(n_shards + 1)]
    out = []
    for i in range(n_shards):
        block = tuple(order[bounds[i]:bounds[i + 1]])
        out.append(Shard(i, block, ids[block[0]] if block else "", ids[block[-1]] if block else ""))
    return out


def new_run_id(now: datetime | None = None) -> str:
    """A run id from the UTC time: ``20261203T021500Z``."""
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise ValueError(f"run id '{run_id}': letters, digits, '.', '_' and '-' only (at most 64)")
    return run_id
