"""Dense candidates at scale, as batch functions: each query's exact top k within each shard, merged.

The matcher's stages (:mod:`sepadan.batch.stages`) bind rules, scores and reasons; these work on
vectors alone (a shard is its rows' global ids and vectors), for the national dense candidate
lists and for the batch benchmark: the same :class:`~sepadan.batch.worker.PartitionWorker`, the same
runners, Parquet rows ``query, rank, id, score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sepadan.batch.plan import Partition
from sepadan.batch.stages import resolve
from sepadan.batch.topk import merge_topk, shard_topk


@dataclass(frozen=True, slots=True)
class VectorShard:
    ids: np.ndarray  # int64 global ids, one per row
    vectors: np.ndarray  # float32, L2-normalised rows


def topk_table(query_ids: np.ndarray, scores: np.ndarray, ids: np.ndarray) -> Any:
    import pyarrow as pa

    n, k = ids.shape
    keep = (ids >= 0).reshape(-1)
    return pa.table({"query": np.repeat(np.asarray(query_ids, dtype=np.int64), k)[keep],
                     "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), n)[keep],
                     "id": ids.reshape(-1)[keep], "score": scores.reshape(-1).astype(np.float32)[keep]})


def read_topk(path: Path, query_ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A top-k table back as ``(scores, ids)`` arrays in the order of ``query_ids`` (-1: empty)."""
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    row = {int(q): i for i, q in enumerate(query_ids)}
    at = np.array([row[int(q)] for q in t.column("query").to_numpy()], dtype=np.int64)
    rank = t.column("rank").to_numpy().astype(np.int64) - 1
    scores = np.full((len(query_ids), k), -np.inf, dtype=np.float32)
    ids = np.full((len(query_ids), k), -1, dtype=np.int64)
    scores[at, rank], ids[at, rank] = t.column("score").to_numpy(), t.column("id").to_numpy()
    return scores, ids


class _Resolved:
    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values
        self._got: dict[int, Any] = {}

    def __getitem__(self, i: int) -> Any:
        if i not in self._got:
            self._got[i] = resolve(self.values[i])
        return self._got[i]


@dataclass(frozen=True, slots=True)
class ShardTopK:
    """Fixed queries (the open orders' vectors), each partition a chunk of them against one shard."""

    queries: Any  # VectorShard of the queries (or its reference)
    shards: tuple[Any, ...]
    k: int
    name: str = "topk-shards"
    actor: bool = True

    def open(self) -> tuple[_Resolved, _Resolved]:
        return _Resolved((self.queries,)), _Resolved(self.shards)

    def run(self, state: tuple[_Resolved, _Resolved], part: Partition) -> Any:
        queries, shard = state[0][0], state[1][part.shard or 0]
        scores, ids = shard_topk(shard.vectors, shard.ids, queries.vectors[part.lo:part.hi], self.k)
        return topk_table(queries.ids[part.lo:part.hi], scores, ids)


@dataclass(frozen=True, slots=True)
class QueryShardTopK:
    """Queries from one shard (its workers), each against every row of a fixed side (the orders)."""

    shards: tuple[Any, ...]
    rows: Any  # VectorShard searched (or its reference)
    k: int
    name: str = "topk-rows"
    actor: bool = True

    def open(self) -> tuple[_Resolved, _Resolved]:
        return _Resolved(self.shards), _Resolved((self.rows,))

    def run(self, state: tuple[_Resolved, _Resolved], part: Partition) -> Any:
        shard, rows = state[0][part.shard or 0], state[1][0]
        scores, ids = shard_topk(rows.vectors, rows.ids, shard.vectors[part.lo:part.hi], self.k)
        return topk_table(shard.ids[part.lo:part.hi], scores, ids)


@dataclass(frozen=True, slots=True)
class TopKMerge:
    """A chunk of queries' shard lists merged into one top k (score descending, then id)."""

    run_path: str
    source: str
    n_shards: int
    query_ids: np.ndarray
    k: int
    name: str = "topk"
    actor: bool = False

    def open(self) -> None:
        return None

    def run(self, state: None, part: Partition) -> Any:
        qids = self.query_ids[part.lo:part.hi]
        parts = [read_topk(Path(self.run_path) / self.source / f"s{s:02d}-{part.key}.parquet", qids, self.k)
                 for s in range(self.n_shards)]
        scores, ids = merge_topk(parts, self.k)
        return topk_table(qids, scores, ids)
