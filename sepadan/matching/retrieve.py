"""Candidate retrieval: dense (the vector index), lexical (shared ESCO concepts), fused by RRF."""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

RRF_K = 60


def rrf(rankings: Sequence[Sequence[int]], *, k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the lists an item appears in."""
    scores: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[int(item)] += 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


class ConceptIndex:
    """Inverted index from concept key to row positions, scored by the sum of idf of shared concepts."""

    def __init__(self, concept_sets: Sequence[Iterable[str]]) -> None:
        postings: dict[str, list[int]] = defaultdict(list)
        for pos, keys in enumerate(concept_sets):
            for key in set(keys):
                postings[key].append(pos)
        self.size = len(concept_sets)
        self.postings = {k: np.asarray(v, dtype=np.int64) for k, v in postings.items()}
        self._bitmaps: dict[str, object] | None = None  # the postings as roaring bitmaps, on first filter

    def idf(self, key: str) -> float:
        df = len(self.postings.get(key, ()))
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5)) if df else 0.0

    def search(self, query: dict[str, float], k: int, *, allowed: np.ndarray | None = None,
               bits: np.ndarray | None = None) -> list[int]:
        """Top-k positions by weighted idf of the query concepts they hold, among allowed rows
        (ascending; ``bits``: the same rows packed, unused here, kept for the callers' one
        signature). Only the postings are touched: each list is intersected with the allowed rows
        as roaring bitmaps (at a million workers 0.4 ms for the 760,000 postings rows a shortlist
        touches, against 2.3 ms for a bit test in numpy), then the rows left are summed."""
        found, gains = [], []
        if allowed is not None:
            from pyroaring import BitMap

            keep = BitMap(array("I", np.asarray(allowed, dtype=np.uint32).tobytes()))
            postings = self.bitmaps()
        for key, weight in query.items():
            rows = self.postings.get(key)
            if rows is None:
                continue
            if allowed is not None:
                rows = np.frombuffer((postings[key] & keep).to_array(), dtype=np.uint32).astype(np.int64)
            found.append(rows)
            gains.append(np.full(len(rows), weight * self.idf(key)))
        if not found:
            return []
        hits, inverse = np.unique(np.concatenate(found), return_inverse=True)
        scores = np.bincount(inverse.reshape(-1), weights=np.concatenate(gains), minlength=len(hits))
        keep_hits = scores > 0
        hits, scores = hits[keep_hits], scores[keep_hits]
        if len(hits) > k:
            top = np.argpartition(-scores, k - 1)[:k]
            cut = scores[top].min()
            tied = np.flatnonzero(scores >= cut)  # every row tied with the k-th, so ties break by position
            hits, scores = hits[tied], scores[tied]
        order = np.lexsort((hits, -scores))[:k]
        return hits[order].tolist()

    def bitmaps(self) -> dict[str, object]:
        """The postings as roaring bitmaps (made on first use, or ahead by the matcher's warm-up)."""
        if self._bitmaps is None:
            from pyroaring import BitMap

            self._bitmaps = {key: BitMap(array("I", rows.astype(np.uint32).tobytes()))
                             for key, rows in self.postings.items()}
        return self._bitmaps
