"""Vector indexes with one interface: exact (NumPy) and FAISS (flat, HNSW, IVF, each optionally
over 8-bit codes re-ranked on the float32 rows).

``search(queries, k, allowed=...)`` returns ``(scores, positions)``, each ``(n_queries, k)``,
inner-product scores on L2-normalised rows, ``-1`` positions where fewer than k rows qualify.

Filtered search is planned by how many rows are allowed, as Qdrant and Lucene do: an ANN graph
filters only inside its beam and silently loses recall when few rows are allowed, so at or under
``exact_filter_max`` allowed rows, or under ``exact_filter_share`` of the index, the search is
exact over the allowed subset (in place the first time, then over a contiguous copy of a cached
mask's rows, :mod:`sepadan.matching.gathered`); above that, ANN with the filter inside the search,
and an exact fallback if it comes back short. The thresholds come from measurements of both paths at
100k and 1M rows (experiments/results/speed-index.md).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Protocol

import numpy as np

from sepadan.matching.gathered import MAX_BYTES, GatheredRows
from sepadan.matching.masks import Ascending, ascending
from sepadan.matching.threads import LazyPool

log = logging.getLogger(__name__)


class VectorIndex(Protocol):
    kind: str
    vectors: np.ndarray

    @property
    def size(self) -> int: ...

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, *,
                 gathered: GatheredRows | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products by brute force, optionally over a subset of row positions; best first,
    ties by position.

    A subset is searched in place: FAISS's k-NN by index over the matrix itself, every query in
    one call (no per-query Python work: at 100 allowed rows the call's own overhead is most of
    the time), or over a contiguous copy of the subset's rows that ``gathered`` holds for a rows
    array searched before (the same arithmetic in the same order: the same answer). Every row:
    one matrix product a query."""
    queries = _queries(queries)
    if allowed is not None:
        return _subset_search(vectors, queries, k, _positions(allowed), gathered)
    m = len(vectors)
    scores_out = np.full((len(queries), k), -np.inf, dtype=np.float32)
    ids_out = np.full((len(queries), k), -1, dtype=np.int64)
    if m == 0 or k <= 0:
        return scores_out, ids_out
    take = min(k, m)
    for qi, query in enumerate(queries):
        scores = vectors @ query
        found = np.argpartition(-scores, take - 1)[:take] if take < m else np.arange(m)
        got = scores[found]
        order = np.lexsort((found, -got))
        scores_out[qi, :take], ids_out[qi, :take] = got[order], found[order]
    return scores_out, ids_out


def _subset_search(vectors: np.ndarray, queries: np.ndarray, k: int, rows: np.ndarray,
                   gathered: GatheredRows | None) -> tuple[np.ndarray, np.ndarray]:
    """The k best of the given rows for each query (FAISS heap in C; rows scanned in the order
    given, and an equal score never displaces a kept row, so ascending rows keep the lower
    position at the k-th place; equal scores inside the k are put in position order after).
    A copy of the rows is scanned in the same order, so it keeps the same rows."""
    nq, m = len(queries), len(rows)
    take = min(k, m) if k > 0 else 0
    if take == 0:
        return np.full((nq, max(k, 0)), -np.inf, dtype=np.float32), np.full((nq, max(k, 0)), -1, dtype=np.int64)
    known = ascending(rows)
    _check_rows(rows, len(vectors), known)  # before the keeper sees them: it may copy them
    vectors = _contiguous(vectors)
    if gathered is None:
        copy = None
    elif known is not None and not known.searched:  # a cached mask's first search: the keeper
        known.searched, copy = True, None  # hears of it from the next one, as searched once before
    else:
        copy = gathered.searched(rows, vectors, earlier=known is not None)
    if copy is None:
        wide = rows if rows.dtype is _INT64 else rows.astype(np.int64)  # FAISS reads int64 positions
        scores, ids = _knn_by_idx(queries, vectors, wide, take) if m < SPLIT_ROWS else \
            _knn_in_place(queries, vectors, wide, take)
    else:
        scores, local = _knn_by_idx(queries, copy.matrix, copy.local, take)
        ids = rows[local].astype(np.int64, copy=False)
    if take > 1 and _has_ties(scores):
        for qi in range(nq):
            order = np.lexsort((ids[qi], -scores[qi]))
            scores[qi], ids[qi] = scores[qi, order], ids[qi, order]
    if take < k:
        pad = ((0, 0), (0, k - take))
        return np.pad(scores, pad, constant_values=-np.inf), np.pad(ids, pad, constant_values=-1)
    return scores, ids


def _positions(allowed: np.ndarray) -> np.ndarray:
    """Allowed row positions as the search reads them: the caller's own array where it is a
    C-contiguous vector of int32 or int64 (a cached mask's rows are int32, half the bytes; the
    same array, so a copy kept for it is found again), else a C-contiguous int64 copy."""
    rows = np.asarray(allowed)
    if rows.ndim == 1 and rows.dtype in _UNSIGNED and rows.flags.c_contiguous:
        return rows
    return np.ascontiguousarray(rows, dtype=np.int64)


def _has_ties(scores: np.ndarray) -> bool:
    """Whether any query's sorted scores hold an equal pair (one query: a set of a few floats,
    a third of the array comparison's cost)."""
    if len(scores) == 1:
        got = scores.tolist()[0]
        return len(set(got)) < len(got)
    return bool((scores[:, 1:] == scores[:, :-1]).any())


def _knn_in_place(queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, take: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's k-NN by index over the rows where they lie; from :data:`SPLIT_ROWS` rows on, each
    half on a thread of its own (FAISS lets go of the GIL; its own threads run over queries only,
    from 100 of them). At 100,000 rows of a million: 9.1 ms on two threads against 16.9 on one
    (experiments/results/first-search-1m.md). Each half gives its k + 1 best: where the merged
    k-th score is above the next one, the k best are the only rows that high, which one scan
    finds too; a tie there (which rows a scan keeps depends on its order) is scanned once."""
    half = len(rows) // 2
    if len(rows) < SPLIT_ROWS or half < take + 1 or len(queries) > 100 or _threads() < 2:
        return _knn_by_idx(queries, vectors, rows, take)
    halves = [_POOL.get().submit(_knn_by_idx, queries, vectors, part, take + 1) for part in (rows[:half], rows[half:])]
    (s1, i1), (s2, i2) = (h.result() for h in halves)
    scores, ids = np.concatenate([s1, s2], axis=1), np.concatenate([i1, i2], axis=1)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :take + 1]
    scores, ids = np.take_along_axis(scores, best, axis=1), np.take_along_axis(ids, best, axis=1)
    if (scores[:, take - 1] == scores[:, take]).any():
        log.debug("a tie at the k-th of a split scan: scanning the rows once")
        return _knn_by_idx(queries, vectors, rows, take)
    return np.ascontiguousarray(scores[:, :take]), np.ascontiguousarray(ids[:, :take])


SPLIT_ROWS = 50_000  # in-place rows from which a search is split over two threads
_POOL = LazyPool(2, "sepadan-scan")


def _threads() -> int:
    return min(2, os.cpu_count() or 1)


def _knn_by_idx(queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, take: int
                ) -> tuple[np.ndarray, np.ndarray]:
    knn, ptr = _COMPILED or _compiled()
    scores = np.empty((len(queries), take), dtype=np.float32)
    ids = np.empty((len(queries), take), dtype=np.int64)
    knn(ptr(queries), ptr(vectors), ptr(rows), vectors.shape[1], len(queries), len(vectors), len(rows), take,
        ptr(scores), ptr(ids), 0)  # stride 0: every query the same rows
    return scores, ids


_COMPILED: list = []  # FAISS's k-NN by index and swig_ptr, found on first use (faiss imported late)


def _compiled() -> list:
    """``knn_inner_products_by_idx`` and ``swig_ptr`` as FAISS's compiled module has them: its own
    names are Python functions that only hand their arguments on, six frames a search (about 2.5 us
    of a first search at 1,000 rows of 300,000 in a side run: each one runs cold after the scan)."""
    import faiss

    wrappers = sys.modules.get(faiss.swig_ptr.__module__)  # faiss.swigfaiss, or its _avx2 or _avx512 build
    compiled = next((getattr(wrappers, name) for name in dir(wrappers) if name.startswith("_swigfaiss")), None)
    calls = [getattr(compiled, "knn_inner_products_by_idx", None), getattr(compiled, "swig_ptr", None)]
    _COMPILED[:] = calls if None not in calls else [faiss.knn_inner_products_by_idx, faiss.swig_ptr]
    return _COMPILED


def _check_rows(rows: np.ndarray, n: int, known: Ascending | None = None) -> None:
    """Every row in [0, n): the two ends of a cached mask's rows (strictly ascending,
    :func:`~sepadan.matching.masks.ascending`), else one pass read as unsigned where the
    rows are int32 or int64 (a negative one reads as 2**31 or more). A numpy reduction before an
    in-place search costs it more than its own time (about 7 us at 1,000 scattered rows of a
    million, against 1 us alone; experiments/results/first-search-1m.md)."""
    if known is None:
        known = ascending(rows)
    if known is not None:  # a cached mask's rows: its ends, noted when it was made, bound them
        if known.first < 0 or known.last >= n:
            raise ValueError(f"allowed rows must lie in [0, {n})")
        return
    unsigned = _UNSIGNED.get(rows.dtype)
    if unsigned is not None and n <= np.iinfo(rows.dtype).max:
        bad = len(rows) and int(rows.view(unsigned).max()) >= n
    else:
        bad = len(rows) and (rows.min() < 0 or rows.max() >= n)
    if bad:
        raise ValueError(f"allowed rows must lie in [0, {n})")


_UNSIGNED = {np.dtype(np.int32): np.uint32, np.dtype(np.int64): np.uint64}
_INT64, _FLOAT32 = np.dtype(np.int64), np.dtype(np.float32)  # compared by identity (cheaper than ==):
# an equal dtype that is not numpy's own (another byte order, metadata) only costs a conversion


def _queries(queries: np.ndarray) -> np.ndarray:
    """Queries as FAISS reads them, (n, dim) float32 C-contiguous; already so: the same array."""
    if isinstance(queries, np.ndarray) and queries.dtype is _FLOAT32 and queries.ndim == 2 \
            and queries.flags.c_contiguous:
        return queries
    return np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)


def subset_scores(vectors: np.ndarray, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Inner products of one query with the given rows of a C-contiguous float32 matrix, in place."""
    import faiss

    vectors = _contiguous(vectors)
    query = np.ascontiguousarray(query, dtype=np.float32)
    _check_rows(rows, len(vectors))
    out = np.empty(len(rows), dtype=np.float32)
    faiss.fvec_inner_products_by_idx(faiss.swig_ptr(out), faiss.swig_ptr(query), faiss.swig_ptr(vectors),
                                      faiss.swig_ptr(rows), vectors.shape[1], 1, len(rows))
    return out


def _contiguous(vectors: np.ndarray) -> np.ndarray:
    if vectors.dtype is not _FLOAT32 or not vectors.flags.c_contiguous:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    return vectors


class ExactIndex:
    """Brute force over a float32 matrix: exact, the reference every other index is measured by."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray, *, gather_max_bytes: int = MAX_BYTES) -> None:
        """``gather_max_bytes``: the budget for contiguous copies of repeatedly searched subsets
        (:mod:`sepadan.matching.gathered`; 0: none)."""
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.gathered = GatheredRows(max_bytes=gather_max_bytes)

    @property
    def size(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``bitmap``: the same rows as ``allowed``, packed (little bit order); unused here."""
        return exact_search(self.vectors, queries, k, allowed, gathered=self.gathered)


KINDS = ("exact", "flat", "hnsw", "hnsw_sq8", "ivf", "ivf_sq8")
# The planner's switch points by kind: a filtered query with at most this many allowed rows, or
# under this share of the index, is searched exactly; above both, ANN with the filter inside.
# Read off both paths timed at 100k and 1M rows (experiments/results/speed-index-planner.md, the
# exact path as a cached mask is searched again, over its contiguous copy): an HNSW graph's
# filtered recall@10 is 0.87 at 1% of a million and 0.99 from 5%, and its filtered search costs
# 1-1.5 ms whatever the share, which exact beats up to 10k rows (10% of 100k, 1% of 1M) and loses
# to from 50k; IVF visits more lists as the share falls (ivf_probes), keeps recall >= 0.998 from
# 1%, and beats exact from 10k rows at 100k (0.48 against 0.57 ms) and from 5% at 1M (1.8 against
# 5.8 ms), exact winning at 5k rows of 100k and 1% of 1M (0.57 against 0.86 ms). A flat index
# "with the filter" scans every row: exact over the allowed rows beat it at every share of 100k.
PLAN = {"flat": (10_000, 1.0), "hnsw": (10_000, 0.05), "hnsw_sq8": (10_000, 0.05),
        "ivf": (5_000, 0.02), "ivf_sq8": (5_000, 0.02)}


class FaissIndex:
    """A FAISS index (flat, HNSW, IVF, or either of the last two over 8-bit codes) plus the float32
    rows for exact filtered search and re-ranking. Where the FAISS index keeps the rows itself
    (flat, HNSW), the rows are a view of its storage, not a second copy (1.5 GB at a million 384-d
    rows); for the others they may be a memory-mapped file (:mod:`sepadan.matching.persist`)."""

    RERANK = {"hnsw_sq8": 4, "ivf_sq8": 4}  # candidates per result re-scored on the float32 rows

    def __init__(self, index: object, vectors: np.ndarray | None, *, kind: str, exact_filter_max: int | None = None,
                 ef_search: int = 128, nprobe: int = 32, exact_filter_share: float | None = None,
                 gather_max_bytes: int = MAX_BYTES) -> None:
        """``exact_filter_max`` and ``exact_filter_share``: the planner's switch points (None: the
        kind's measured ones, :data:`PLAN`); ``gather_max_bytes``: the budget for contiguous
        copies of subsets searched exactly again and again (:mod:`sepadan.matching.gathered`)."""
        self.index, self.kind = index, kind
        shared = _stored_rows(index)
        if shared is not None and (vectors is None or shared.shape == np.shape(vectors)):
            self.vectors = shared
        else:
            self.vectors = _contiguous(np.asanyarray(vectors))
        rows, share = PLAN.get(kind, (10_000, 0.05))
        self.exact_filter_max = rows if exact_filter_max is None else exact_filter_max
        self.exact_filter_share = share if exact_filter_share is None else exact_filter_share
        self.ef_search, self.nprobe = ef_search, nprobe
        self.gathered = GatheredRows(max_bytes=gather_max_bytes)

    @property
    def size(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``bitmap``: the same rows as ``allowed``, packed (little bit order), when the caller
        holds it (a cached eligibility mask): the filtered ANN search needs no bitmap made."""
        if allowed is not None and self._plan_exact(len(allowed)):
            return exact_search(self.vectors, queries, k, allowed, gathered=self.gathered)
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        rerank = self.RERANK.get(self.kind, 1)
        share = 1.0 if allowed is None else len(allowed) / max(self.size, 1)
        scores, ids = self._ann(queries, k * rerank, allowed, bitmap, share)
        if rerank > 1:
            scores, ids = self._rescore(queries, ids, k)
        if allowed is not None and (ids[:, :min(k, len(allowed))] < 0).any():
            log.debug("filtered ANN came back short; falling back to exact search")
            return exact_search(self.vectors, queries, k, allowed, gathered=self.gathered)
        return scores, ids

    def _rescore(self, queries: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores of the ANN's candidates on the float32 rows; the best k, ties by position."""
        scores_out = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids_out = np.full((len(queries), k), -1, dtype=np.int64)
        for qi, (query, found) in enumerate(zip(queries, ids)):
            found = found[found >= 0]
            if len(found):
                exact = subset_scores(self.vectors, query, found)
                order = np.lexsort((found, -exact))[:k]
                scores_out[qi, :len(order)], ids_out[qi, :len(order)] = exact[order], found[order]
        return scores_out, ids_out

    def _plan_exact(self, n_allowed: int) -> bool:
        return n_allowed <= self.exact_filter_max or n_allowed < self.exact_filter_share * self.size

    def _ann(self, queries: np.ndarray, k: int, allowed: np.ndarray | None, bitmap: np.ndarray | None,
             share: float) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        selector = None
        if allowed is not None:
            # a bitmap, not IDSelectorBatch: at 85k allowed of 1M, 0.2 ms to make against 7 ms,
            # and a bit test per visited node instead of a hash lookup
            if bitmap is None:
                keep = np.zeros(self.size, dtype=bool)
                keep[np.asarray(allowed, dtype=np.int64)] = True
                bitmap = np.packbits(keep, bitorder="little")
            bitmap = np.ascontiguousarray(bitmap, dtype=np.uint8)
            selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bitmap))
        params = self._params(k, selector, share)
        scores, ids = self.index.search(queries, k, params=params)
        del bitmap  # kept alive until the search has run
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return scores, ids.astype(np.int64)

    def _params(self, k: int, selector: object | None, share: float) -> object:
        import faiss

        if self.kind in ("hnsw", "hnsw_sq8"):
            return faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, 2 * k))
        if self.kind in ("ivf", "ivf_sq8"):
            return faiss.SearchParametersIVF(sel=selector, nprobe=ivf_probes(self.nprobe, share, _nlist(self.index)))
        return faiss.SearchParameters(sel=selector)


def ivf_probes(nprobe: int, share: float, nlist: int) -> int:
    """Lists an IVF search visits when ``share`` of the rows are allowed: the filtered top-k lies
    as deep as the unfiltered top k/share, so more lists are visited as the share falls (square
    root, at most 4x). With it, filtered recall@10 by ids was 0.97-0.99 at 1% allowed of 100k and
    0.998 at 1% of 1M (speed-index.md, speed-index-1m.md); the fixed nprobe was not measured."""
    scale = min(4.0, 1.0 / max(share, 1e-9) ** 0.5)
    return int(min(nlist, max(1, round(nprobe * scale))))


def _nlist(index: object) -> int:
    import faiss

    return int(faiss.extract_index_ivf(index).nlist)


def build_index(vectors: np.ndarray, *, kind: str = "auto", exact_max: int = 50_000, ann: str = "hnsw",
                hnsw_m: int = 32, ef_search: int = 128, exact_filter_max: int | None = None,
                ef_construction: int = 200, nprobe: int = 32, exact_filter_share: float | None = None,
                random_state: int = 0, gather_max_bytes: int = MAX_BYTES) -> VectorIndex:
    """Exact at or below ``exact_max`` rows, the ``ann`` kind above it (or the kind asked for);
    the planner's switch points default to the kind's measured ones (:data:`PLAN`)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "auto":
        kind = "exact" if len(vectors) <= exact_max else ann
    if kind == "exact":
        return ExactIndex(vectors, gather_max_bytes=gather_max_bytes)
    index = _faiss_index(kind, vectors, hnsw_m=hnsw_m, ef_construction=ef_construction, random_state=random_state)
    return FaissIndex(index, vectors, kind=kind, exact_filter_max=exact_filter_max, ef_search=ef_search,
                      nprobe=nprobe, exact_filter_share=exact_filter_share, gather_max_bytes=gather_max_bytes)


def _stored_rows(index: object) -> np.ndarray | None:
    """A float32 view of the rows a flat or HNSW-flat FAISS index holds (None for other kinds)."""
    import faiss

    flat = getattr(index, "storage", index)
    flat = faiss.downcast_index(flat) if flat is not None else None
    if not isinstance(flat, faiss.IndexFlat) or flat.ntotal == 0:
        return None
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d)
    return np.asarray(view, dtype=np.float32).reshape(flat.ntotal, flat.d)


def ivf_lists(n: int) -> int:
    """Inverted lists for n rows: about 2 sqrt(n) (2,000 at a million), at least 39 rows a list."""
    return max(1, min(4096, int(2 * np.sqrt(n)), n // 39))


def _training_sample(vectors: np.ndarray, rows: int, random_state: int) -> np.ndarray:
    """At most ``rows`` rows drawn at random (k-means on a sample: seconds, not minutes, at 1M)."""
    if len(vectors) <= rows:
        return vectors
    pick = np.sort(np.random.default_rng(random_state).choice(len(vectors), rows, replace=False))
    return np.ascontiguousarray(vectors[pick])


def _faiss_index(kind: str, vectors: np.ndarray, *, hnsw_m: int, ef_construction: int = 200,
                 random_state: int = 0) -> object:
    import faiss

    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    elif kind == "hnsw_sq8":
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.train(_training_sample(vectors, 100_000, random_state))
    elif kind in ("ivf", "ivf_sq8"):
        nlist = ivf_lists(len(vectors))
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf":
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                                  faiss.METRIC_INNER_PRODUCT)
        index.cp.seed, index.cp.niter = random_state, 10  # 10 k-means rounds, not 25: the build's time
        index.train(_training_sample(vectors, 64 * nlist, random_state))
        quantizer.thisown, index.own_fields = False, True  # the index owns its quantizer
    else:
        raise ValueError(f"unknown index kind '{kind}' ({', '.join(KINDS)})")
    if len(vectors):
        index.add(vectors)
    return index
