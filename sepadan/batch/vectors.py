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
    precision: str = "float32"  # bf16: all pairs in bfloat16, k + margin re-scored in float32 (the benchmark's peer)
    margin: int = 16

    def open(self) -> tuple[_Resolved, _Resolved, dict[int, Any]]:
        return _Resolved((self.queries,)), _Resolved(self.shards), {}

    def run(self, state: tuple[_Resolved, _Resolved, dict[int, Any]], part: Partition) -> Any:
        queries, s = state[0][0], part.shard or 0
        shard = state[1][s]
        scores, ids = _all_pairs(shard, queries.vectors[part.lo:part.hi], self.k, self.precision, self.margin,
                                 state[2], s)
        return topk_table(queries.ids[part.lo:part.hi], scores, ids)


def _all_pairs(rows: VectorShard, queries: np.ndarray, k: int, precision: str, margin: int, cache: dict[int, Any],
               key: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top k by float32 (FAISS), or by bf16 products re-scored in float32 (rows converted once)."""
    if precision == "float32":
        return shard_topk(rows.vectors, rows.ids, queries, k)
    from sepadan.batch.cells import default_threads
    from sepadan.batch.lowp import all_pairs_topk, to_bf16

    if precision != "bf16":
        raise ValueError(f"precision must be bf16 or float32 here, not '{precision}'")
    if key not in cache:
        cache[key] = to_bf16(rows.vectors)
    return all_pairs_topk(rows.vectors, rows.ids, queries, k, margin=margin, rows16=cache[key],
                          threads=default_threads())


@dataclass(frozen=True, slots=True)
class QueryShardTopK:
    """Queries from one shard (its workers), each against every row of a fixed side (the orders)."""

    shards: tuple[Any, ...]
    rows: Any  # VectorShard searched (or its reference)
    k: int
    name: str = "topk-rows"
    actor: bool = True
    precision: str = "float32"  # as ShardTopK's
    margin: int = 16

    def open(self) -> tuple[_Resolved, _Resolved, dict[int, Any]]:
        return _Resolved(self.shards), _Resolved((self.rows,)), {}

    def run(self, state: tuple[_Resolved, _Resolved, dict[int, Any]], part: Partition) -> Any:
        shard, rows = state[0][part.shard or 0], state[1][0]
        scores, ids = _all_pairs(rows, shard.vectors[part.lo:part.hi], self.k, self.precision, self.margin, state[2], 0)
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


# --- candidates through the cells of each worker shard (sepadan.batch.cells) ----------------------

@dataclass(frozen=True, slots=True)
class CellOptions:
    """The cells of each shard and how both directions use them (``DenseOptions.candidates = "ivf"``)."""

    nlist: int = 0  # cells per shard; 0: sepadan.batch.cells.default_nlist(rows)
    nprobe: int = 6  # shortlists: cells an order probes
    m: int = 200  # recommendations: each cell's top m orders by its centroid (0: the orders nearest the cell)
    probe_orders: int = 0  # recommendations: also the orders that probe the cell among their nearest (0: no)
    worker_cells: int = 1  # recommendations: a worker's nearest cells whose candidates it is scored against
    train_on: str = "orders"  # centroids trained on the job orders where the stage has them, else the rows ("rows")
    niter: int = 10
    sample_per_cell: int = 64
    seed: int = 0
    precision: str = "auto"  # blocks scored in bf16 (re-scored in float32) or float32; auto: sepadan.batch.lowp.resolve
    margin: int = 16  # bf16, shortlists: rows an order keeps from a block beyond its k, for the float32 re-scoring
    rec_margin: int = 6  # bf16, recommendations: orders a worker keeps from a block beyond its k

    def __post_init__(self) -> None:
        from sepadan.batch.lowp import PRECISIONS

        if self.train_on not in ("orders", "rows"):
            raise ValueError(f"train_on must be orders or rows, not '{self.train_on}'")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not '{self.precision}'")
        if min(self.margin, self.rec_margin) < 0:
            raise ValueError(f"margins must be at least 0, not {self.margin} and {self.rec_margin}")

    def resolved(self) -> "CellOptions":
        """These options with ``auto`` replaced by the precision this machine takes: the driver calls it
        once and ships the result, so every worker scores the same way."""
        from dataclasses import replace

        from sepadan.batch.lowp import resolve

        return replace(self, precision=resolve(self.precision))

    def scoring(self, rows16: Any = None, blocks: Any = None, *, recommend: bool = False) -> Any:
        from sepadan.batch.cells import Scoring

        return Scoring(self.precision, self.rec_margin if recommend else self.margin, rows16, blocks)


def cells_table(cells: Any) -> Any:
    import pyarrow as pa

    from sepadan.batch.cells import groups

    d = cells.centroids.shape[1]
    column = pa.FixedSizeListArray.from_arrays(pa.array(cells.centroids.reshape(-1), type=pa.float32()), d)
    first, second = groups(cells.first, cells.nlist), groups(cells.second, cells.nlist)
    cols = {"cell": pa.array(np.arange(cells.nlist, dtype=np.int32)), "centroid": column,
            "first": pa.array([g.astype(np.int64) for g in first], type=pa.list_(pa.int64())),
            "second": pa.array([g.astype(np.int64) for g in second], type=pa.list_(pa.int64()))}
    if cells.near is not None:  # ranks 3.. : per cell, per rank, the rows that have the cell at that rank
        more = [groups(cells.near[:, r], cells.nlist) for r in range(2, cells.near.shape[1])]
        cols["more"] = pa.array([[m[c].astype(np.int64) for m in more] for c in range(cells.nlist)],
                                type=pa.list_(pa.list_(pa.int64())))
    return pa.table(cols)


def _cell_of(column: Any, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """A list column (per cell, its rows) flattened: the rows and, for each, its cell (no Python lists)."""
    flat = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    offsets = flat.offsets.to_numpy()
    return flat.flatten().to_numpy().astype(np.int64), np.repeat(np.arange(n_cells, dtype=np.int32), np.diff(offsets))


def read_cells(path: Path, n: int) -> Any:
    """A shard's cells back from its table (``n``: the shard's rows)."""
    import pyarrow.parquet as pq

    from sepadan.batch.cells import Cells

    t = pq.read_table(path)
    flat = t.column("centroid").combine_chunks()
    centroids = np.ascontiguousarray(flat.values.to_numpy().reshape(len(t), flat.type.list_size), dtype=np.float32)
    labels = []
    for name in ("first", "second"):
        out = np.full(n, -1, dtype=np.int32)
        rows, cell = _cell_of(t.column(name), len(t))
        out[rows] = cell
        if (out < 0).any():
            raise ValueError(f"{path}: {int((out < 0).sum())} of the shard's {n} rows are in no cell")
        labels.append(out)
    near = None
    if "more" in t.column_names:  # per cell, per rank from the third, the rows
        outer = t.column("more").combine_chunks()
        ranks = int(np.diff(outer.offsets.to_numpy())[0]) if len(t) else 0
        rows, inner = _cell_of(outer.flatten(), len(t) * ranks)
        near = np.full((n, 2 + ranks), -1, dtype=np.int32)
        near[:, 0], near[:, 1] = labels
        near[rows, 2 + inner % max(1, ranks)] = inner // max(1, ranks)
        if (near < 0).any():
            raise ValueError(f"{path}: the ranked cells of {int((near < 0).any(axis=1).sum())} rows are missing")
    return Cells(centroids, labels[0], labels[1], near)


@dataclass(frozen=True, slots=True)
class CellBuild:
    """One partition per shard: k-means cells of its rows and every row's two nearest cells."""

    shards: tuple[Any, ...]
    options: CellOptions
    queries: Any = None  # VectorShard of the job orders (or its reference): the centroids' training set
    name: str = "cells"
    actor: bool = True

    def open(self) -> _Resolved:
        return _Resolved((*self.shards, self.queries))

    def run(self, state: _Resolved, part: Partition) -> Any:
        from sepadan.batch.cells import build_cells, default_nlist

        shard, o = state[part.shard or 0], self.options
        train = state[len(self.shards)].vectors if o.train_on == "orders" and self.queries is not None else None
        base = len(shard.ids) if train is None else len(train)
        nlist = min(base, o.nlist or default_nlist(base))
        take = max(2, o.worker_cells) if o.m == 0 else 2
        return cells_table(build_cells(shard.vectors, nlist, train=train, take=take, niter=o.niter,
                                       sample_per_cell=o.sample_per_cell, seed=o.seed,
                                       precision=o.scoring().precision))


class _ShardCells:
    """A worker's shards with their cells, read from the run folder the first time each is needed."""

    def __init__(self, shards: tuple[Any, ...], run_path: str, source: str) -> None:
        self.shards, self.path, self.source = _Resolved(shards), Path(run_path) / source, source
        self._got: dict[int, tuple[Any, Any, list[np.ndarray]]] = {}
        self._ordered: dict[int, tuple[np.ndarray, list[slice]]] = {}
        self._by_cell: dict[int, tuple[np.ndarray, np.ndarray, list[slice]]] = {}
        self._by_cell16: dict[int, tuple[Any, list[slice]]] = {}

    def __getitem__(self, s: int) -> tuple[Any, Any, list[np.ndarray]]:
        """The shard, its cells, and each cell's rows (positions in the shard)."""
        if s not in self._got:
            shard = self.shards[s]
            cells = read_cells(self.path / f"s{s:02d}.parquet", len(shard.ids))
            self._got[s] = (shard, cells, cells.members())
        return self._got[s]

    def _cell_order(self, s: int) -> tuple[np.ndarray, list[slice]]:
        """The shard's rows (positions) in cell order, and each cell's block in that order."""
        if s not in self._ordered:
            members = self[s][2]
            order = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
            bounds = np.concatenate([[0], np.cumsum([len(m) for m in members])]).astype(int)
            self._ordered[s] = (order, [slice(a, b) for a, b in zip(bounds, bounds[1:])])
        return self._ordered[s]

    def _in_cell_order(self, s: int, out: Any, convert: Any = None) -> Any:
        """``out`` filled with the shard's vectors in cell order (through ``convert`` when given), in
        chunks over the pool's threads."""
        from sepadan.batch.cells import default_threads, each_block

        vectors, order, step = self[s][0].vectors, self._cell_order(s)[0], 65_536

        def copy(lo: int) -> None:
            rows = order[lo:lo + step]
            if convert is None:
                np.take(vectors, rows, axis=0, out=out[lo:lo + step])
            else:
                out[lo:lo + step] = convert(np.take(vectors, rows, axis=0))

        each_block(copy, range(0, len(order), step), default_threads())
        return out

    def by_cell(self, s: int) -> tuple[np.ndarray, np.ndarray, list[slice]]:
        """The shard's vectors and ids in cell order (each cell one contiguous block: no copy per block)."""
        if s not in self._by_cell:
            shard, (order, blocks) = self[s][0], self._cell_order(s)
            vectors = np.empty((len(order), shard.vectors.shape[1]), dtype=np.float32)
            self._by_cell[s] = (self._in_cell_order(s, vectors), np.asarray(shard.ids)[order], blocks)
        return self._by_cell[s]

    def by_cell16(self, s: int) -> tuple[Any, list[slice]]:
        """The shard's vectors in cell order in bfloat16 (each cell one contiguous block), for
        :class:`~sepadan.batch.cells.Scoring`; the float32 rows stay in shard order (re-scoring)."""
        if s not in self._by_cell16:
            import torch

            from sepadan.batch.lowp import to_bf16

            shard, (order, blocks) = self[s][0], self._cell_order(s)
            rows16 = torch.empty((len(order), shard.vectors.shape[1]), dtype=torch.bfloat16)
            self._by_cell16[s] = (self._in_cell_order(s, rows16, to_bf16), blocks)
        return self._by_cell16[s]


@dataclass(frozen=True, slots=True)
class CellShardTopK:
    """As :class:`ShardTopK` (a chunk of the orders against one shard), through the shard's cells:
    each order scored against the rows of its ``nprobe`` nearest cells only."""

    queries: Any
    shards: tuple[Any, ...]
    run_path: str
    k: int
    nprobe: int
    source: str = "cells"
    name: str = "topk-shards"
    actor: bool = True
    precision: str = "float32"  # resolved (CellOptions.resolved): bf16 or float32
    margin: int = 16

    def open(self) -> tuple[_Resolved, _ShardCells]:
        return _Resolved((self.queries,)), _ShardCells(self.shards, self.run_path, self.source)

    def run(self, state: tuple[_Resolved, _ShardCells], part: Partition) -> Any:
        from sepadan.batch.cells import Scoring, cell_topk

        queries, s = state[0][0], part.shard or 0
        shard, cells, members = state[1][s]
        q = queries.vectors[part.lo:part.hi]
        if Scoring(self.precision, self.margin).low:  # bf16 blocks in cell order, float32 rows as they are
            rows16, blocks = state[1].by_cell16(s)
            scores, ids = cell_topk(shard.vectors, shard.ids, cells, q, self.k, self.nprobe, members,
                                    scoring=Scoring(self.precision, self.margin, rows16, blocks))
        else:
            vectors, ids, blocks = state[1].by_cell(s)
            scores, ids = cell_topk(vectors, ids, cells, q, self.k, self.nprobe, blocks)
        return topk_table(queries.ids[part.lo:part.hi], scores, ids)


@dataclass(frozen=True, slots=True)
class CellRecommend:
    """As :class:`QueryShardTopK` (a chunk of one shard's workers against the orders), through the
    shard's cells: each worker scored against its cells' candidate orders only."""

    shards: tuple[Any, ...]
    rows: Any
    run_path: str
    k: int
    options: CellOptions
    source: str = "cells"
    name: str = "recommend-topk"
    actor: bool = True

    def open(self) -> tuple[_ShardCells, _Resolved, dict[Any, Any]]:
        return _ShardCells(self.shards, self.run_path, self.source), _Resolved((self.rows,)), {}

    def run(self, state: tuple[_ShardCells, _Resolved, dict[int, list[np.ndarray]]], part: Partition) -> Any:
        from sepadan.batch.cells import cell_candidates, cell_recommend, probers

        s, o = part.shard or 0, self.options
        shard, cells, _ = state[0][s]
        rows = state[1][0]
        if s not in state[2]:
            by = probers(rows.vectors, cells.centroids, o.probe_orders) if o.probe_orders else None
            state[2][s] = cell_candidates(cells.centroids, rows.vectors, o.m, probers=by)
        own = o.m == 0 and not o.probe_orders  # each order a candidate of one cell only
        width = max(1, min(cells.ranked if own else 2, o.worker_cells))
        labels = cells.nearest(width)[part.lo:part.hi]
        scoring = o.scoring(recommend=True)
        if scoring.low:
            if "rows16" not in state[2]:  # the orders in bfloat16, once per worker
                from sepadan.batch.lowp import to_bf16

                state[2]["rows16"] = to_bf16(rows.vectors)
            scoring = o.scoring(state[2]["rows16"], recommend=True)
        scores, ids = cell_recommend(shard.vectors[part.lo:part.hi], labels, state[2][s], rows.vectors, rows.ids,
                                     self.k, distinct=own, scoring=scoring)
        return topk_table(shard.ids[part.lo:part.hi], scores, ids)
