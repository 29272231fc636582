"""Vector indexes with one interface: exact (NumPy) and FAISS (flat, HNSW, IVF).

``search(queries, k, allowed=...)`` returns ``(scores, positions)``, each ``(n_queries, k)``,
inner-product scores on L2-normalised rows, ``-1`` positions where fewer than k rows qualify.

Filtered search is planned by how many rows are allowed, as Qdrant and Lucene do: an ANN graph
filters only inside its beam and silently loses recall when few rows are allowed, so at or under
``exact_filter_max`` allowed rows (or under 5% of the index) the search is exact over the allowed
subset; above that, ANN with the filter inside the search, and an exact fallback if it comes back short.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


class VectorIndex(Protocol):
    kind: str
    vectors: np.ndarray

    @property
    def size(self) -> int: ...

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]: ...


def exact_search(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k inner products by brute force, optionally over a subset of row positions; best first,
    ties by position.

    A subset is searched in place (FAISS's k-NN by index: no copy of the allowed rows; 0.6-1.8x a
    flat index built over those rows alone at 100k x 384, experiments/results/speed-index.md);
    every row through one matrix product."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    rows = None if allowed is None else np.ascontiguousarray(allowed, dtype=np.int64)
    m = len(vectors) if rows is None else len(rows)
    scores_out = np.full((len(queries), k), -np.inf, dtype=np.float32)
    ids_out = np.full((len(queries), k), -1, dtype=np.int64)
    if m == 0 or k <= 0:
        return scores_out, ids_out
    take = min(k, m)
    if rows is not None:
        _check_rows(rows, len(vectors))
    for qi, query in enumerate(queries):
        if rows is None:
            scores = vectors @ query
            top = np.argpartition(-scores, take - 1)[:take] if take < m else np.arange(m)
            found, got = top, scores[top]
        else:
            got, found = _subset_knn(vectors, query, rows, take)
        order = np.lexsort((found, -got))
        scores_out[qi, :take], ids_out[qi, :take] = got[order], found[order]
    return scores_out, ids_out


def _subset_knn(vectors: np.ndarray, query: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of the given rows for one query (FAISS heap in C; rows scanned in the order
    given, and an equal score never displaces a kept row, so ascending rows keep the lower position)."""
    import faiss

    vectors = _contiguous(vectors)
    query = np.ascontiguousarray(query, dtype=np.float32)
    scores = np.empty(k, dtype=np.float32)
    ids = np.empty(k, dtype=np.int64)
    faiss.knn_inner_products_by_idx(faiss.swig_ptr(query), faiss.swig_ptr(vectors), faiss.swig_ptr(rows),
                                    vectors.shape[1], 1, len(vectors), len(rows), k, faiss.swig_ptr(scores),
                                    faiss.swig_ptr(ids), len(rows))
    return scores, ids


def _check_rows(rows: np.ndarray, n: int) -> None:
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"allowed rows must lie in [0, {n})")


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
    if vectors.dtype != np.float32 or not vectors.flags.c_contiguous:
        return np.ascontiguousarray(vectors, dtype=np.float32)
    return vectors


class ExactIndex:
    """Brute force over a float32 matrix: exact, the reference every other index is measured by."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def size(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``bitmap``: the same rows as ``allowed``, packed (little bit order); unused here."""
        return exact_search(self.vectors, queries, k, allowed)


class FaissIndex:
    """A FAISS index (flat, HNSW, HNSW over 8-bit codes, or IVF) plus the float32 rows for exact
    filtered search and re-ranking. Where the FAISS index keeps the rows itself (flat, HNSW), the
    rows are a view of its storage, not a second copy (1.5 GB at a million 384-d rows)."""

    RERANK = {"hnsw_sq8": 4}  # candidates per result re-scored on the float32 rows

    def __init__(self, index: object, vectors: np.ndarray | None, *, kind: str, exact_filter_max: int = 20_000,
                 ef_search: int = 128, nprobe: int = 32) -> None:
        self.index, self.kind = index, kind
        shared = _stored_rows(index)
        if shared is not None and (vectors is None or shared.shape == np.shape(vectors)):
            self.vectors = shared
        else:
            self.vectors = _contiguous(np.asarray(vectors))
        self.exact_filter_max, self.ef_search, self.nprobe = exact_filter_max, ef_search, nprobe

    @property
    def size(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``bitmap``: the same rows as ``allowed``, packed (little bit order), when the caller
        holds it (a cached eligibility mask): the filtered ANN search needs no bitmap made."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if allowed is not None and self._plan_exact(len(allowed)):
            return exact_search(self.vectors, queries, k, allowed)
        rerank = self.RERANK.get(self.kind, 1)
        scores, ids = self._ann(queries, k * rerank, allowed, bitmap)
        if rerank > 1:
            scores, ids = self._rescore(queries, ids, k)
        if allowed is not None and (ids[:, :min(k, len(allowed))] < 0).any():
            log.debug("filtered ANN came back short; falling back to exact search")
            return exact_search(self.vectors, queries, k, allowed)
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
        return n_allowed <= self.exact_filter_max or n_allowed < 0.05 * self.size

    def _ann(self, queries: np.ndarray, k: int, allowed: np.ndarray | None, bitmap: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
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
        params = self._params(k, selector)
        scores, ids = self.index.search(queries, k, params=params)
        del bitmap  # kept alive until the search has run
        scores = np.where(ids < 0, -np.inf, scores).astype(np.float32)
        return scores, ids.astype(np.int64)

    def _params(self, k: int, selector: object | None) -> object:
        import faiss

        if self.kind in ("hnsw", "hnsw_sq8"):
            return faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, 2 * k))
        if self.kind == "ivf":
            return faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
        return faiss.SearchParameters(sel=selector)


def build_index(vectors: np.ndarray, *, kind: str = "auto", exact_max: int = 50_000, ann: str = "hnsw",
                hnsw_m: int = 32, ef_search: int = 128, exact_filter_max: int = 20_000,
                ef_construction: int = 200) -> VectorIndex:
    """Exact at or below ``exact_max`` rows, HNSW or IVF above it (or the kind asked for)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "auto":
        kind = "exact" if len(vectors) <= exact_max else ann
    if kind == "exact":
        return ExactIndex(vectors)
    index = _faiss_index(kind, vectors, hnsw_m=hnsw_m, ef_construction=ef_construction)
    return FaissIndex(index, vectors, kind=kind, exact_filter_max=exact_filter_max, ef_search=ef_search)


def _stored_rows(index: object) -> np.ndarray | None:
    """A float32 view of the rows a flat or HNSW-flat FAISS index holds (None for other kinds)."""
    import faiss

    flat = getattr(index, "storage", index)
    flat = faiss.downcast_index(flat) if flat is not None else None
    if not isinstance(flat, faiss.IndexFlat) or flat.ntotal == 0:
        return None
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d)
    return np.asarray(view, dtype=np.float32).reshape(flat.ntotal, flat.d)


def _faiss_index(kind: str, vectors: np.ndarray, *, hnsw_m: int, ef_construction: int = 200) -> object:
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
        index.train(vectors[:: max(1, len(vectors) // 100_000)])
    elif kind == "ivf":
        nlist = max(1, min(4096, int(4 * np.sqrt(len(vectors))), len(vectors) // 39))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
    else:
        raise ValueError(f"unknown index kind '{kind}' (exact, flat, hnsw, hnsw_sq8, ivf)")
    if len(vectors):
        index.add(vectors)
    return index
