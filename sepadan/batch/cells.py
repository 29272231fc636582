"""Candidates through cells of a worker shard (an inverted file searched by matrix products).

A shard's rows are cut into ``nlist`` cells by spherical k-means (NumPy on a seeded sample; every
row then goes to its nearest centroid by FAISS's exact search). The same cells serve both directions
of the nightly pass:

* **shortlists** (orders search workers): each order probes its ``nprobe`` nearest cells; each cell's
  rows are scored against all the orders probing it in one matrix product, each order keeps its top k
  of that cell, and the cells' lists are merged (:func:`sepadan.batch.topk.merge_topk`). With
  ``nprobe = nlist`` every row is scored and the lists are the exact ones.
* **recommendations** (workers search orders): each cell's centroid takes its exact top ``m``
  orders; a worker is scored only against the candidates of its nearest cell (or of its ``cells``
  nearest, the union), and keeps its top k. With ``m`` at least the number of orders the lists are
  the exact ones.

  With ``m = 0`` the candidates of a cell are instead the orders whose nearest cell it is, and each
  worker is scored against those of its own ``cells`` nearest cells (each worker probes for itself, as
  an order does for shortlists; the ranking of cells comes free with the build's assignment).

The centroids are best trained on the **orders** (``build_cells(rows, nlist, train=orders)``): the
orders are the queries of the shortlists and the rows of the recommendations, and cells centred on them
hold an order's neighbours in far fewer cells than cells centred on the workers (at 1M x 10k, recall@30
0.95 probing 4 of 256 cells instead of 0.90; experiments/results/batch.md).

Cost in dot products, against ``n x q`` for all pairs (n rows, q orders): cells ``n x nlist`` (plus
k-means on a sample), shortlists about ``q x n x nprobe / nlist``, recommendations ``nlist x q + n x
m x cells`` (``m = 0``: ``n x cells x q / nlist``). Blocks are scored by single-threaded products spread
over a pool of ``threads`` (small products on several BLAS threads each mostly wait on each other).
Ties go to the smaller id everywhere, as in :mod:`sepadan.batch.topk`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from sepadan.batch.lowp import KEYED
from sepadan.batch.topk import merge_topk, shard_topk

log = logging.getLogger(__name__)
_CHUNK = 65_536  # rows scored against the centroids at a time
_FEW = 8  # up to this many best cells per row by repeated arg-max (a partition of every row costs more)
_SMALL = 64_000_000  # query-row pairs of a block scored by NumPy (above: FAISS's exact search)


def default_threads() -> int:
    """The threads the exact pass would use (FAISS's OpenMP setting: 1 in a Ray actor of 1 CPU)."""
    import faiss

    return max(1, int(faiss.omp_get_max_threads()))


def each_block(fn: Callable[[int], None], items: Iterable[int], threads: int) -> None:
    """``fn(item)`` for every item, on ``threads`` threads, each with single-threaded BLAS.

    The BLAS limit is process-wide (threadpoolctl) and restored on leaving: call this from one
    thread at a time, as the batch stages do (the local runner runs a stage's partitions in turn,
    Ray runs each in a worker process of its own); two callers at once could restore out of order."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        if threads <= 1:
            for item in items:
                fn(item)
            return
        with ThreadPoolExecutor(threads) as pool:
            for _ in pool.map(fn, items):
                pass


@dataclass(frozen=True, slots=True)
class Cells:
    """A shard's cells: unit centroids, and each row's nearest (``first``) and next (``second``) cell;
    ``near``, when the build ranked more, each row's nearest cells best first (its first two columns are
    ``first`` and ``second``)."""

    centroids: np.ndarray  # (nlist, d) float32
    first: np.ndarray  # (n,) int32
    second: np.ndarray  # (n,) int32; equal to ``first`` when there is one cell
    near: np.ndarray | None = None  # (n, p) int32, p > 2

    @property
    def nlist(self) -> int:
        return len(self.centroids)

    @property
    def ranked(self) -> int:
        """How many of each row's nearest cells are known."""
        return 2 if self.near is None else self.near.shape[1]

    def nearest(self, c: int) -> np.ndarray:
        """Each row's ``c`` nearest cells, best first (``c`` at most :attr:`ranked`)."""
        if c > self.ranked:
            raise ValueError(f"the cells rank {self.ranked} cells per row, not {c}")
        if self.near is not None:
            return self.near[:, :c]
        return np.stack([self.first, self.second], axis=1)[:, :c]

    def members(self) -> list[np.ndarray]:
        """Each cell's row positions, ascending."""
        return groups(self.first, self.nlist)


def groups(labels: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Positions of each label 0..n_groups-1, ascending within a group."""
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_groups))])
    return [order[bounds[g]:bounds[g + 1]] for g in range(n_groups)]


def default_nlist(n: int) -> int:
    """About sqrt(n) / 2 cells (256 at 250k rows): fewer, larger cells than FAISS's usual sqrt(n),
    because here the assignment (n x nlist) is paid in full and a cell is scanned by one product."""
    return max(1, min(n, int(round(np.sqrt(n) / 2))))


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def train_centroids(vectors: np.ndarray, nlist: int, *, niter: int = 10, sample_per_cell: int = 64,
                    seed: int = 0) -> np.ndarray:
    """Spherical k-means on a seeded sample of ``sample_per_cell x nlist`` rows; an emptied cell takes
    the sample row farthest from its centroid."""
    n = len(vectors)
    if not 1 <= nlist <= n:
        raise ValueError(f"nlist must lie in [1, {n}], not {nlist}")
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(n, min(n, sample_per_cell * nlist), replace=False))
    x = np.ascontiguousarray(vectors[take], dtype=np.float32)
    centroids = x[np.sort(rng.choice(len(x), nlist, replace=False))].copy()
    columns = np.ascontiguousarray(x.T, dtype=np.float64)
    for _ in range(niter):
        scores = x @ centroids.T
        label = scores.argmax(axis=1)
        sums = _sums(columns, label, nlist)
        empty = np.flatnonzero(np.bincount(label, minlength=nlist) == 0)
        if len(empty):
            worst = np.argsort(scores[np.arange(len(x)), label], kind="stable")[:len(empty)]
            sums[empty] = x[worst]
        centroids = _unit(sums)
    return centroids


def _sums(columns: np.ndarray, label: np.ndarray, n_groups: int) -> np.ndarray:
    """Per label the sum of its rows (``columns``: the rows transposed, float64), column by column in
    row order (``bincount``: the same sums in any process, whatever its threads)."""
    return np.stack([np.bincount(label, weights=c, minlength=n_groups) for c in columns], axis=1).astype(np.float32)


def nearest_cells(vectors: np.ndarray, centroids: np.ndarray, take: int = 2, *, chunk: int = 16_384,
                  threads: int | None = None, precision: str = "float32") -> np.ndarray:
    """Each row's ``take`` nearest centroids by inner product, best first, ties to the lower cell
    (``(n, take)``; the last column repeated when there are fewer cells): chunks of rows against every
    centroid, spread over ``threads``; ``bf16``: by the bfloat16 products (a row near two centroids
    may rank them the other way round; the cells only decide what is scored, never a score)."""
    n, width = len(vectors), min(take, len(centroids))
    out = np.empty((n, take), dtype=np.int32)
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    scoring = Scoring(precision)
    if scoring.low:
        from sepadan.batch.lowp import ordered_product, to_bf16

        c16 = to_bf16(centroids)

    def one(lo: int) -> None:
        x = np.ascontiguousarray(vectors[lo:lo + chunk], dtype=np.float32)
        scores = ordered_product(to_bf16(x), c16, chunk) if scoring.low else x @ centroids.T
        top = _top_cells(scores, width)
        out[lo:lo + len(x), :width] = top
        out[lo:lo + len(x), width:] = top[:, -1:]

    scoring.pool(one, range(0, n, chunk), default_threads() if threads is None else threads)
    return out


def build_cells(vectors: np.ndarray, nlist: int, *, train: np.ndarray | None = None, take: int = 2,
                niter: int = 10, sample_per_cell: int = 64, seed: int = 0, threads: int | None = None,
                precision: str = "float32") -> Cells:
    """Cells of ``vectors``: centroids trained on ``train`` (default: the rows themselves; the job
    orders are the better choice, see the module notes), every row's ``take`` (at least 2) nearest
    (``precision``: of the products that rank them, :func:`nearest_cells`)."""
    nlist = min(nlist, len(vectors if train is None else train))
    if train is None:  # a shard's own rows: trained once anyway (no digest of the whole shard to key it by)
        centroids = train_centroids(vectors, nlist, niter=niter, sample_per_cell=sample_per_cell, seed=seed)
    else:
        centroids = _trained(train, nlist, niter, sample_per_cell, seed)
    near = nearest_cells(vectors, centroids, max(2, take), threads=threads, precision=precision)
    return Cells(centroids, near[:, 0].copy(), near[:, 1].copy(), near if near.shape[1] > 2 else None)


_TRAINED: dict[tuple, np.ndarray] = {}  # a few centroid sets by training data and settings, per process


def _trained(base: np.ndarray, nlist: int, niter: int, sample_per_cell: int, seed: int) -> np.ndarray:
    """:func:`train_centroids` on a shared training set (the job orders), once per process for the same
    rows and settings: every shard of a run trains on the same orders, so a worker that builds two
    shards' cells trains once (the centroids are a function of their inputs; a copy is returned)."""
    import hashlib

    rows = np.ascontiguousarray(base, dtype=np.float32)
    key = (hashlib.blake2b(rows.data, digest_size=16).hexdigest(), rows.shape, nlist, niter, sample_per_cell, seed)
    if key not in _TRAINED:
        if len(_TRAINED) >= 4:
            _TRAINED.pop(next(iter(_TRAINED)))
        _TRAINED[key] = train_centroids(rows, nlist, niter=niter, sample_per_cell=sample_per_cell, seed=seed)
    return _TRAINED[key].copy()


def _top_cells(scores: np.ndarray, nprobe: int) -> np.ndarray:
    """Per row the ``nprobe`` best columns, best first, ties to the lower column (``scores`` float, or
    int16 that order as the scores, :func:`~sepadan.batch.lowp.ordered_product`: half the bytes to scan)."""
    nprobe = min(nprobe, scores.shape[1])
    if scores.dtype == np.int16 and nprobe > _FEW:
        scores = scores.astype(np.float32)  # exact; the partition below negates
    if nprobe <= _FEW:  # one arg-max per column wanted (``argmax`` takes the lowest column among equals)
        bits = scores.dtype == np.int16
        left = np.array(scores, dtype=np.int16 if bits else np.float32)
        out, lowest = np.empty((len(scores), nprobe), dtype=np.int64), np.iinfo(np.int16).min if bits else -np.inf
        at = np.arange(len(scores))
        for j in range(nprobe):
            out[:, j] = left.argmax(axis=1)
            left[at, out[:, j]] = lowest
        return out
    if nprobe < scores.shape[1]:
        part = np.argpartition(-scores, nprobe - 1, axis=1)[:, :nprobe]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    got = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -got.astype(np.float64)), axis=-1)
    return np.take_along_axis(part, order, axis=1)


def block_topk(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`~sepadan.batch.topk.exact_topk` (score descending, then id; ``-inf``/``-1``
    padding) without its per-row loop: the k+1 best by partition, and only a row tied at the k-th
    place redone exactly."""
    scores = np.asarray(scores, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    return rows_topk(scores, np.broadcast_to(ids, scores.shape), k)


def rows_topk(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row the k best ``(score, id)`` of that row's items (``ids`` per item, ``-1``: an empty
    slot), score descending then id, as :func:`~sepadan.batch.topk.merge_topk` orders them; vectorised
    (the k+1 best by partition), a row tied at the k-th place redone by ``merge_topk``."""
    r, n = scores.shape
    if r == 0:
        return _empty(0, k)
    key = np.where(ids < 0, -np.inf, scores).astype(np.float32)
    whole_key, whole_ids = key, ids
    if n <= k:
        pad = k + 1 - n
        key = np.concatenate([key, np.full((r, pad), -np.inf, dtype=np.float32)], axis=1)
        ids = np.concatenate([ids, np.full((r, pad), -1, dtype=np.int64)], axis=1)
        part = np.broadcast_to(np.arange(k + 1), (r, k + 1))
    else:
        part = np.argpartition(-key, k, axis=1)[:, :k + 1]
    got, found = np.take_along_axis(key, part, axis=1), np.take_along_axis(ids, part, axis=1)
    order = np.lexsort((np.where(found < 0, np.iinfo(np.int64).max, found), -got.astype(np.float64)), axis=-1)
    got, found = np.take_along_axis(got, order, axis=1), np.take_along_axis(found, order, axis=1)
    out_s, out_i = got[:, :k].copy(), np.where(np.isneginf(got[:, :k]), -1, found[:, :k])
    for row in np.flatnonzero((got[:, k - 1] == got[:, k]) & ~np.isneginf(got[:, k])):
        s, i = merge_topk([(whole_key[row:row + 1], whole_ids[row:row + 1])], k)
        out_s[row], out_i[row] = s[0], i[0]
    return out_s, out_i


def _empty(r: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((r, k), -np.inf, dtype=np.float32), np.full((r, k), -1, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Scoring:
    """How a block of pairs is scored: ``float32`` products (NumPy or FAISS), or ``bf16`` products
    picking each query's ``k + margin`` best rows, re-scored in float32 (:mod:`sepadan.batch.lowp`).
    ``rows16``: the rows already in bfloat16, made once per shard by the caller (else made here from
    the rows); ``blocks``: each cell's rows of ``rows16`` where it is in cell order (else the cells'
    own positions index it)."""

    precision: str = "float32"
    margin: int = 16
    rows16: Any = None
    blocks: Sequence[slice] | None = None

    def __post_init__(self) -> None:
        if self.precision not in ("float32", "bf16"):
            raise ValueError(f"a block is scored in float32 or bf16, not '{self.precision}' (resolve 'auto' once, "
                             "in the driver: sepadan.batch.lowp.resolve)")
        if self.margin < 0:
            raise ValueError(f"margin must be at least 0, not {self.margin}")

    @property
    def low(self) -> bool:
        return self.precision == "bf16"

    def sixteen(self, rows: np.ndarray) -> Any:
        from sepadan.batch.lowp import to_bf16

        return self.rows16 if self.rows16 is not None else to_bf16(rows)

    def pool(self, fn: Callable[[int], None], items: Iterable[int], threads: int) -> None:
        if not self.low:
            each_block(fn, items, threads)
            return
        from sepadan.batch.lowp import one_thread

        with one_thread():
            each_block(fn, items, threads)


FLOAT32 = Scoring()


def _positions(rows: np.ndarray | slice) -> np.ndarray:
    return np.arange(rows.start, rows.stop, dtype=np.int64) if isinstance(rows, slice) else np.asarray(rows, np.int64)


def cell_topk(vectors: np.ndarray, ids: np.ndarray, cells: Cells, queries: np.ndarray, k: int, nprobe: int,
              members: Sequence[np.ndarray | slice] | None = None, *, small: int = _SMALL,
              threads: int | None = None, scoring: Scoring = FLOAT32) -> tuple[np.ndarray, np.ndarray]:
    """Each query's top k rows of the shard among its ``nprobe`` nearest cells (shortlists).
    ``members``: each cell's rows of ``vectors`` (positions, or a slice where the rows are in cell order)."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    members = cells.members() if members is None else members
    probe = _top_cells(queries @ cells.centroids.T, nprobe)
    nq, width = probe.shape
    by_cell = groups(probe.reshape(-1), cells.nlist)
    ids = np.asarray(ids, dtype=np.int64)
    threads = default_threads() if threads is None else threads
    if scoring.low:
        return _topk_bf16(vectors, ids, members, queries, by_cell, width, k, threads=threads, scoring=scoring)
    slot_s, slot_i = _empty(nq * width, k)

    def one(cell: int) -> None:
        rows, slots = members[cell], by_cell[cell]
        if len(slots) and len(ids[rows]):
            slot_s[slots], slot_i[slots] = _scored(vectors[rows], ids[rows], queries[slots // width], k, small)

    scoring.pool(one, _largest_first(by_cell, members), threads)
    return rows_topk(slot_s.reshape(nq, width * k), slot_i.reshape(nq, width * k), k)


def _topk_bf16(vectors: np.ndarray, ids: np.ndarray, members: Sequence[np.ndarray | slice], queries: np.ndarray,
               by_cell: list[np.ndarray], width: int, k: int, *, threads: int, scoring: Scoring
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cell_topk` in bfloat16: per cell each probing query's ``k + margin`` best rows as keys
    (bfloat16 score, row); then per query, over its cells, the ``k + margin`` best keys, re-scored in
    float32, and the k best of those. One re-scoring per query rather than one per cell it probes: the
    bfloat16 scores of its cells are products with the same query, so they compare across cells."""
    from sepadan.batch.lowp import take_rows, to_bf16

    take = k + scoring.margin
    slot = np.full((len(queries) * width, take), _LOWEST, dtype=np.int64)
    rows16, queries16 = scoring.sixteen(vectors), to_bf16(queries)

    def one(cell: int) -> None:
        rows, slots = members[cell], by_cell[cell]
        at = _positions(rows)
        if len(slots) and len(at):
            q16 = take_rows(queries16, slots // width)
            got = np.concatenate([_block_keys(q16, _block16(rows16, rows, cell, lo, scoring.blocks), at[lo:lo + KEYED],
                                              take) for lo in range(0, len(at), KEYED)], axis=1)
            if got.shape[1] > take:
                got = np.partition(got, got.shape[1] - take, axis=1)[:, -take:]
            slot[slots, :got.shape[1]] = got

    scoring.pool(one, _largest_first(by_cell, members), threads)
    return _rescored(queries, vectors, slot.reshape(len(queries), width * take), ids, k, take, threads=threads)


def _block16(rows16: Any, rows: np.ndarray | slice, cell: int, lo: int, blocks: Sequence[slice] | None) -> Any:
    """A cell's bfloat16 rows from its ``lo``-th: where the cells' blocks are contiguous (``blocks``),
    a view running on past the block's end into the next cells' rows (they stand in for the padding of
    the product, :func:`~sepadan.batch.lowp.best_keys` with ``n``), else the rows gathered."""
    if blocks is not None or isinstance(rows, slice):
        return rows16[(rows if blocks is None else blocks[cell]).start + lo:]
    return rows16[rows[lo:lo + KEYED]]


def _largest_first(slots: Sequence[np.ndarray], rows: Sequence[np.ndarray | slice]) -> list[int]:
    """Cells by the size of their block, largest first (the pool's threads end together)."""
    size = [len(s) * (r.stop - r.start if isinstance(r, slice) else len(r)) for s, r in zip(slots, rows)]
    return [int(c) for c in np.argsort(size, kind="stable")[::-1]]


def _scored(rows: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int, small: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """One block: every query against every row, top k. Up to ``small`` pairs by one NumPy product and
    :func:`block_topk` (no per-row loop); above, by FAISS."""
    if len(queries) * len(rows) <= small:
        return block_topk(queries @ np.ascontiguousarray(rows, dtype=np.float32).T, ids, k)
    return shard_topk(rows, ids, queries, k, small=0)


def _scored_bf16(queries: np.ndarray, rows: np.ndarray, at: np.ndarray, ids: np.ndarray, block16: Any, k: int,
                 margin: int) -> tuple[np.ndarray, np.ndarray]:
    """One block in bfloat16 as :func:`cell_topk` scores a cell (``block16``: the rows ``rows[at]``):
    each query's ``k + margin`` best keys (:func:`_block_keys`), re-scored in float32 from ``rows``,
    the top k of those by that score (then id; :func:`_rescored`). What
    :func:`~sepadan.batch.lowp.bf16_speedup` times against :func:`_scored`."""
    from sepadan.batch.lowp import to_bf16

    take = min(k + margin, len(at))
    return _rescored(queries, rows, _block_keys(to_bf16(queries), block16, at, take), ids, k, take, threads=1)


def cell_candidates(centroids: np.ndarray, rows: np.ndarray, m: int, *,
                    probers: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Each centroid's candidate rows (positions into ``rows``, ascending): its exact top ``m`` (all
    rows when m >= len(rows)), and, when ``probers`` is given, every row that probes the cell. With
    ``m = 0`` and no probers: the rows whose nearest centroid it is (each row in one cell)."""
    positions = np.arange(len(rows), dtype=np.int64)
    if m == 0 and probers is None:
        return groups(nearest_cells(rows, centroids, 1, threads=1)[:, 0], len(centroids))
    if m >= len(rows):
        return [positions for _ in range(len(centroids))]
    top = np.zeros((len(centroids), 0), dtype=np.int64)
    if m > 0:
        top = block_topk(centroids @ np.ascontiguousarray(rows, dtype=np.float32).T, positions, m)[1]
    if probers is None:
        return [np.sort(t) for t in top]
    return [np.union1d(t, p).astype(np.int64) for t, p in zip(top, probers)]


def probers(queries: np.ndarray, centroids: np.ndarray, nprobe: int) -> list[np.ndarray]:
    """For each cell, the queries (positions) that probe it among their ``nprobe`` nearest."""
    probe = _top_cells(np.ascontiguousarray(queries, dtype=np.float32) @ centroids.T, nprobe)
    return [slots // probe.shape[1] for slots in groups(probe.reshape(-1), len(centroids))]


def cell_recommend(queries: np.ndarray, labels: np.ndarray, candidates: list[np.ndarray], rows: np.ndarray,
                   row_ids: np.ndarray, k: int, *, small: int = _SMALL, distinct: bool = False,
                   threads: int | None = None, scoring: Scoring = FLOAT32) -> tuple[np.ndarray, np.ndarray]:
    """Each query's top k among the candidate rows of its cells (``labels``: (n, c) cells per query;
    with c > 1 the union, each row once; ``distinct``: no row is a candidate of two cells, so nothing
    to de-duplicate). ``bf16``: each block keeps each query's ``k + margin`` best rows by bfloat16,
    re-scored in float32 and left unsorted; one pass over every query's slots then takes its k best
    distinct rows (:func:`distinct_topk`)."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    labels = np.asarray(labels).reshape(len(queries), -1)
    if scoring.low:
        return _recommend_bf16(queries, labels, candidates, rows, np.asarray(row_ids, dtype=np.int64), k,
                               threads=default_threads() if threads is None else threads, scoring=scoring)
    n, c = labels.shape
    slot_s, slot_i = _empty(n * c, k)
    by_cell = groups(labels.reshape(-1), len(candidates))
    row_ids = np.asarray(row_ids, dtype=np.int64)

    def one(cell: int) -> None:
        cand, slots = candidates[cell], by_cell[cell]
        if len(slots) and len(cand):
            slot_s[slots], slot_i[slots] = _scored(rows[cand], row_ids[cand], queries[slots // c], k, small)

    scoring.pool(one, _largest_first(by_cell, candidates), default_threads() if threads is None else threads)
    scores, ids = slot_s.reshape(n, c * k), slot_i.reshape(n, c * k)
    if c > 1 and not distinct:
        scores, ids = _once(scores, ids)
    return rows_topk(scores, ids, k)


def _recommend_bf16(queries: np.ndarray, labels: np.ndarray, candidates: list[np.ndarray], rows: np.ndarray,
                    row_ids: np.ndarray, k: int, *, threads: int, scoring: Scoring) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cell_recommend` in bfloat16: per block each query's ``take`` best candidates by the
    bfloat16 product, kept as keys (bfloat16 score, row); then per query, over its cells, the ``take``
    best distinct rows by those keys, re-scored in float32, and the k best of those."""
    from sepadan.batch.lowp import take_rows, to_bf16

    n, c = labels.shape
    take = k + scoring.margin
    slot = np.full((n * c, take), _LOWEST, dtype=np.int64)
    by_cell = groups(labels.reshape(-1), len(candidates))
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    rows16, queries16 = scoring.sixteen(rows), to_bf16(queries)

    def one(cell: int) -> None:
        cand, slots = np.asarray(candidates[cell], dtype=np.int64), by_cell[cell]
        if len(slots) and len(cand):
            q16 = take_rows(queries16, slots // c)
            got = np.concatenate([_row_keys(q16, rows16, cand[lo:lo + KEYED], take)
                                  for lo in range(0, len(cand), KEYED)], axis=1)
            if got.shape[1] > take:  # more candidates than a key names, in parts: the best of the parts
                got = np.partition(got, got.shape[1] - take, axis=1)[:, -take:]
            slot[slots, :got.shape[1]] = got

    scoring.pool(one, _largest_first(by_cell, candidates), threads)
    return _rescored(queries, rows, slot.reshape(n, c * take), row_ids, k, take, threads=threads)


_LOWEST = np.iinfo(np.int64).min  # an empty slot's key


def _row_keys(queries16: Any, rows16: Any, cand: np.ndarray, take: int) -> np.ndarray:
    """:func:`_block_keys` of the candidates ``cand`` (positions into the rows), gathered."""
    from sepadan.batch.lowp import take_rows

    return _block_keys(queries16, take_rows(rows16, cand), cand, take)


def _block_keys(queries16: Any, block16: Any, at: np.ndarray, take: int) -> np.ndarray:
    """:func:`~sepadan.batch.lowp.best_keys` of a block of rows (``at``: their positions) as int64 keys,
    the bfloat16 score above and the row's position below."""
    from sepadan.batch.lowp import best_keys

    keys = best_keys(queries16, block16, take, n=len(at))
    return ((keys >> 16).astype(np.int64) << 32) | at[keys & 0xFFFF]


def _rescored(queries: np.ndarray, rows: np.ndarray, keys: np.ndarray, ids: np.ndarray, k: int, take: int, *,
              threads: int, chunk: int = 32_768) -> tuple[np.ndarray, np.ndarray]:
    """Per query the ``take`` best distinct rows of its keys (``score << 32 | row``), their float32
    scores, and its k best of those, score descending then id (:func:`distinct_topk`)."""
    from sepadan.batch.lowp import exact_scores

    out_s, out_i = _empty(len(keys), k)
    rank, by_rank = _id_ranks(ids)

    def one(lo: int) -> None:
        best = _first_distinct(np.sort(keys[lo:lo + chunk], axis=1)[:, ::-1], take)
        pos = np.where(best == _LOWEST, -1, best & 0xFFFFFFFF)
        scores = exact_scores(queries[lo:lo + chunk], rows, np.maximum(pos, 0))
        out_s[lo:lo + chunk], out_i[lo:lo + chunk] = _unkeyed(_best_keys(scores, pos, rank, k), by_rank)

    each_block(one, range(0, len(keys), chunk), threads)
    return out_s, out_i


def distinct_topk(scores: np.ndarray, pos: np.ndarray, ids: np.ndarray, k: int, *, threads: int = 1,
                  chunk: int = 32_768) -> tuple[np.ndarray, np.ndarray]:
    """Per row the k best distinct rows of its slots (``pos``: positions into ``ids``, ``-1`` empty;
    a row found twice carries the same float32 score both times, as one re-scoring computes it), score
    descending then id, as :func:`rows_topk` orders them: one int64 key per slot (the score's bits made
    order-preserving above, the id's rank reversed below), each row's keys sorted, equal keys once."""
    rank, by_rank = _id_ranks(ids)
    out_s, out_i = _empty(len(scores), k)

    def one(lo: int) -> None:
        key = _best_keys(scores[lo:lo + chunk], pos[lo:lo + chunk], rank, k)
        out_s[lo:lo + chunk], out_i[lo:lo + chunk] = _unkeyed(key, by_rank)

    each_block(one, range(0, len(scores), chunk), threads)
    return out_s, out_i


def _id_ranks(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each position's rank by id, and the ids by rank."""
    order = np.argsort(ids, kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids), dtype=np.int64)
    return rank, np.asarray(ids, dtype=np.int64)[order]


def _best_keys(scores: np.ndarray, pos: np.ndarray, rank: np.ndarray, k: int) -> np.ndarray:
    """Per row its k best distinct keys of ``(score, id rank)``, best first (``_LOWEST``: none)."""
    bits = (np.asarray(scores, dtype=np.float32) + np.float32(0)).view(np.int32)  # -0.0 as +0.0
    bits = bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))
    key = (bits.astype(np.int64) << 32) | (np.int64(0xFFFFFFFF) - rank[pos])
    key[(pos < 0) | np.isneginf(scores)] = _LOWEST
    return _first_distinct(np.sort(key, axis=1)[:, ::-1], k)


def _first_distinct(key: np.ndarray, k: int) -> np.ndarray:
    """The first k distinct keys of each row of ``key`` (sorted, best first), ``_LOWEST`` padded."""
    keep = key != _LOWEST
    keep[:, 1:] &= key[:, 1:] != key[:, :-1]
    place = np.cumsum(keep, axis=1) - 1
    at, col = np.nonzero(keep & (place < k))
    out = np.full((len(key), k), _LOWEST, dtype=np.int64)
    out[at, place[at, col]] = key[at, col]
    return out


def _unkeyed(key: np.ndarray, by_rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    empty = key == _LOWEST
    bits = (key >> 32).astype(np.int32)
    bits = bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))
    scores = np.where(empty, -np.inf, bits.view(np.float32)).astype(np.float32)
    rank = np.int64(0xFFFFFFFF) - (key & np.int64(0xFFFFFFFF))
    return scores, np.where(empty, -1, by_rank[np.where(empty, 0, rank)])


def _once(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each id once per row (a row found through two cells), the other slots emptied."""
    order = np.argsort(ids, axis=1, kind="stable")
    sid = np.take_along_axis(ids, order, axis=1)
    dup = np.zeros_like(sid, dtype=bool)
    dup[:, 1:] = (sid[:, 1:] == sid[:, :-1]) & (sid[:, 1:] >= 0)
    drop = np.zeros_like(dup)
    np.put_along_axis(drop, order, dup, axis=1)
    return np.where(drop, -np.inf, scores).astype(np.float32), np.where(drop, -1, ids)
