"""Exact top-k over shards: each shard searched with its own exact index, the lists merged.

Scores descend and ties go to the smaller id, in every shard and in the merge (ties at the k-th place
included), so the merged top k of the shards' top k lists is the top k of one exact index over every
row: a property test holds it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_NO_ID = np.iinfo(np.int64).max


def exact_topk(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``scores`` (queries x rows), the k best ``(scores, ids)``: score descending, then id
    ascending; rows with fewer than k items end in ``-inf`` / ``-1``."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float32))
    ids = np.asarray(ids, dtype=np.int64)
    out_s = np.full((len(scores), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(scores), k), -1, dtype=np.int64)
    take = min(k, scores.shape[1])
    if take <= 0:
        return out_s, out_i
    kth = -np.partition(-scores, take - 1, axis=1)[:, take - 1]
    for row, (line, floor) in enumerate(zip(scores, kth)):
        cand = np.flatnonzero(line >= floor)  # every tie at the k-th place, so ids can decide
        best = cand[np.lexsort((ids[cand], -line[cand].astype(np.float64)))[:take]]
        out_s[row, :take], out_i[row, :take] = line[best], ids[best]
    return out_s, out_i


def shard_topk(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int, *,
               small: int = 4_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one shard by exact inner product; ``ids`` are the rows' global ids.

    Up to ``small`` query-row pairs by one NumPy product; above, by FAISS's exact search (BLAS
    products and a heap, no copy of the shard) for the top k+1, re-ordered by id among equal scores;
    a row whose k-th and (k+1)-th scores are equal (a tie that may run past k) is redone exactly."""
    queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    if len(queries) * len(vectors) <= small or k + 1 > len(vectors):
        return exact_topk(queries @ vectors.T, ids, k)
    import faiss

    scores, pos = faiss.knn(queries, vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
    found = ids[np.maximum(pos, 0)]
    order = np.lexsort((found, -scores.astype(np.float64)), axis=-1)[:, :k]
    out_s, out_i = np.take_along_axis(scores, order, axis=1), np.take_along_axis(found, order, axis=1)
    for row in np.flatnonzero(scores[:, k - 1] == scores[:, k]):
        out_s[row], out_i[row] = (a[0] for a in exact_topk(queries[row] @ vectors.T, ids, k))
    return out_s.astype(np.float32), out_i


def merge_topk(parts: Sequence[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-shard ``(scores, ids)`` lists (each ``(n_queries, k_i)``, -1 for an empty slot)."""
    if not parts:
        raise ValueError("nothing to merge")
    scores = np.concatenate([np.asarray(s, dtype=np.float32) for s, _ in parts], axis=1)
    ids = np.concatenate([np.asarray(i, dtype=np.int64) for _, i in parts], axis=1)
    key_ids = np.where(ids < 0, _NO_ID, ids)
    key_scores = np.where(ids < 0, np.inf, -scores.astype(np.float64))
    order = np.lexsort((key_ids, key_scores), axis=-1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)
