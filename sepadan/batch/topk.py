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


def shard_topk(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of one shard by exact inner product; ``ids`` are the rows' global ids."""
    queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    return exact_topk(queries @ np.asarray(vectors, dtype=np.float32).T, ids, k)


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
