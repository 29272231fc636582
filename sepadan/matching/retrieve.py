"""Candidate retrieval: dense (the vector index), lexical (shared ESCO concepts), fused by RRF."""

from __future__ import annotations

import math
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

    def idf(self, key: str) -> float:
        df = len(self.postings.get(key, ()))
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5)) if df else 0.0

    def search(self, query: dict[str, float], k: int, *, allowed: np.ndarray | None = None,
               bits: np.ndarray | None = None) -> list[int]:
        """Top-k positions by weighted idf of the query concepts they hold, among allowed rows
        (``bits``: the same rows packed, little bit order, when the caller holds them). Only the
        postings are touched: each list is filtered by a bit test, then the few rows left are summed."""
        if allowed is not None and bits is None:
            keep = np.zeros(self.size, dtype=bool)
            keep[allowed] = True
            bits = np.packbits(keep, bitorder="little")
        found, gains = [], []
        for key, weight in query.items():
            rows = self.postings.get(key)
            if rows is None:
                continue
            if bits is not None:
                rows = rows[(bits[rows >> 3] >> (rows & 7).astype(np.uint8)) & 1 == 1]
            found.append(rows)
            gains.append(np.full(len(rows), weight * self.idf(key)))
        if not found:
            return []
        hits, inverse = np.unique(np.concatenate(found), return_inverse=True)
        scores = np.bincount(inverse, weights=np.concatenate(gains), minlength=len(hits))
        keep = scores > 0
        hits, scores = hits[keep], scores[keep]
        if len(hits) > k:
            top = np.argpartition(-scores, k - 1)[:k]
            cut = scores[top].min()
            tied = np.flatnonzero(scores >= cut)  # every row tied with the k-th, so ties break by position
            hits, scores = hits[tied], scores[tied]
        order = np.lexsort((hits, -scores))[:k]
        return hits[order].tolist()
