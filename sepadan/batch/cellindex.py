"""The cells of a worker shard as the matcher's vector indexes (``sepadan batch --candidates ivf``).

The matcher asks an index for the best rows among those a query may see (``allowed``: the eligible
workers of an order, the legal orders of a worker); these answer through the shard's cells
(:mod:`sepadan.batch.cells`) with the interface of :mod:`sepadan.matching.index`:

* :class:`CellIndex` (workers, searched by an order): the rows of the order's nearest cells, at least
  ``nprobe`` of them and more until k allowed rows are in, searched exactly;
* :class:`CandidateIndex` (orders, searched by a worker): the candidate orders of the worker's
  nearest cell (or cells), more cells until k allowed orders are in.

When the cells run out before k allowed rows are found, or every cell is taken, the search is the
exact one over ``allowed`` as given: never fewer results than the exact index, and the same answer
when every cell is probed.

With a ``bf16`` :class:`~sepadan.batch.cells.Scoring` (the batch's resolved precision) the rows the
cells propose are first narrowed to the query's ``k + margin`` best by bfloat16 products, then searched
exactly in float32, as the batch's block scoring does (:mod:`sepadan.batch.lowp`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sepadan.batch.cells import FLOAT32, Cells, Scoring
from sepadan.matching.index import exact_search


def _mask(allowed: np.ndarray | None, n: int) -> np.ndarray | None:
    if allowed is None:
        return None
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(allowed, dtype=np.int64)] = True
    return mask


def _search(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None, rows_for,
            scoring: Scoring = FLOAT32, vectors16=None) -> tuple[np.ndarray, np.ndarray]:
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    out_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(queries), k), -1, dtype=np.int64)
    mask = _mask(allowed, len(vectors))
    for qi, query in enumerate(queries):
        rows = rows_for(query, k, mask)
        if rows is not None and scoring.low and len(rows) > k + scoring.margin:
            rows = _narrowed(query, rows, vectors16, k + scoring.margin)
        got = exact_search(vectors, query[None, :], k, allowed if rows is None else rows)
        out_s[qi], out_i[qi] = got[0][0], got[1][0]
    return out_s, out_i


def _narrowed(query: np.ndarray, rows: np.ndarray, vectors16, take: int) -> np.ndarray:
    """The query's ``take`` best of ``rows`` by the bfloat16 product (ascending positions)."""
    from sepadan.batch.lowp import approx_top, one_thread, to_bf16

    with one_thread():
        return np.sort(rows[approx_top(to_bf16(query[None, :]), vectors16[rows], take)[0]])


def _cell_order(centroids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cells best first by the query's inner product with their centroids, ties to the lower cell."""
    return np.argsort(-(centroids @ query).astype(np.float64), kind="stable")


class CellIndex:
    """A shard's rows searched through its cells (``nprobe`` at least; more until k allowed rows)."""

    kind = "cells"

    def __init__(self, vectors: np.ndarray, cells: Cells, nprobe: int, *, scoring: Scoring = FLOAT32) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.cells, self.nprobe = cells, max(1, nprobe)
        self.members = cells.members()
        self.scoring, self.vectors16 = scoring, scoring.sixteen(self.vectors) if scoring.low else None

    @property
    def size(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``bitmap``: the same rows as ``allowed``, packed; unused here."""
        return _search(self.vectors, queries, k, allowed, self._rows, self.scoring, self.vectors16)

    def _rows(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> np.ndarray | None:
        taken, count = [], 0
        for j, cell in enumerate(_cell_order(self.cells.centroids, query)):
            rows = self.members[cell] if mask is None else self.members[cell][mask[self.members[cell]]]
            taken.append(rows)
            count += len(rows)
            if j + 1 >= self.nprobe and count >= k:
                break
        if len(taken) == self.cells.nlist:
            return None  # every cell: the exact search over allowed as given
        return np.sort(np.concatenate(taken)).astype(np.int64)


class CandidateIndex:
    """Job orders searched by a worker through the worker cells' candidate orders."""

    kind = "cell-candidates"

    def __init__(self, vectors: np.ndarray, centroids: np.ndarray, candidates: Sequence[np.ndarray], *,
                 cells: int = 1, scoring: Scoring = FLOAT32) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.centroids, self.candidates, self.cells = centroids, list(candidates), max(1, cells)
        self.scoring, self.vectors16 = scoring, scoring.sixteen(self.vectors) if scoring.low else None

    @property
    def size(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               bitmap: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return _search(self.vectors, queries, k, allowed, self._rows, self.scoring, self.vectors16)

    def _rows(self, query: np.ndarray, k: int, mask: np.ndarray | None) -> np.ndarray | None:
        seen = np.zeros(len(self.vectors), dtype=bool)
        for j, cell in enumerate(_cell_order(self.centroids, query)):
            seen[self.candidates[cell]] = True
            if j + 1 >= self.cells and int((seen if mask is None else seen & mask).sum()) >= k:
                rows = np.flatnonzero(seen if mask is None else seen & mask)
                return None if len(rows) == (len(self.vectors) if mask is None else int(mask.sum())) else rows
        return None  # the candidates ran out before k: the exact search over allowed as given
