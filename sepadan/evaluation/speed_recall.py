"""ANN recall for the speed benchmark: the engine index's planned search (and, where built, raw
filtered HNSW) against exact search at each share of eligible workers, by exact ids and apart from
it counting ties at the k-th score; HNSW's efSearch sweep with everyone eligible."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sepadan.evaluation.speed import SpeedConfig

EF_SWEEP = (64, 128, 256, 512)


def recall_rows(
    built: dict[str, Any], profiled: dict[str, Any], config: SpeedConfig
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Recall against exact at each share of eligible workers, and the efSearch sweep."""
    from sepadan.matching.index import exact_search

    vectors = built["flat"].vectors
    rng = np.random.default_rng(config.seed)
    pick = rng.choice(len(profiled["v_vectors"]), size=config.recall_queries, replace=True)
    queries = profiled["v_vectors"][pick] + rng.normal(
        0, 0.02, (config.recall_queries, vectors.shape[1])
    )
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    rows, sweep = [], []
    for share in config.selectivities:
        allowed = (
            None
            if share >= 1
            else np.sort(
                rng.choice(len(vectors), max(1, round(share * len(vectors))), replace=False)
            )
        )
        truth, truth_ids = exact_search(vectors, queries, config.recall_k, allowed)
        row = {
            "workers": len(vectors),
            "eligible": f"{share:.1%}",
            "eligible_rows": len(vectors) if allowed is None else len(allowed),
        }
        row |= _search_recall(built, queries, truth, truth_ids, allowed, config)
        row["plan"] = _plan(built["index"], allowed)
        row["exact ms/query"] = _exact_ms(vectors, queries[:50], allowed, config)
        rows.append(row)
        if allowed is None and "hnsw" in built:
            sweep = _ef_sweep(built["hnsw"], queries, truth, config)
    return rows, sweep


def _exact_ms(
    vectors: np.ndarray, queries: np.ndarray, allowed: np.ndarray | None, config: SpeedConfig
) -> float:
    """Exact search over the eligible rows, one query at a time (what the planner falls back to)."""
    from sepadan.matching.index import exact_search

    started = time.perf_counter()
    for i in range(len(queries)):
        exact_search(vectors, queries[i : i + 1], config.recall_k, allowed)
    return round((time.perf_counter() - started) * 1000 / len(queries), 2)


def _ef_sweep(
    index: Any, queries: np.ndarray, truth: np.ndarray, config: SpeedConfig
) -> list[dict[str, Any]]:
    """HNSW recall and time per query at several efSearch values, everyone eligible."""
    import faiss

    rows = []
    for ef in EF_SWEEP:
        params = faiss.SearchParametersHNSW(efSearch=ef)
        started = time.perf_counter()
        scores = np.concatenate(
            [
                index.index.search(queries[i : i + 1], config.recall_k, params=params)[0]
                for i in range(len(queries))
            ]
        )
        rows.append(
            {
                "workers": len(index.vectors),
                "efSearch": ef,
                f"recall@{config.recall_k}": round(_recall_at(scores, truth), 4),
                "ms/query": round((time.perf_counter() - started) * 1000 / len(queries), 2),
            }
        )
    return rows


def _search_recall(
    built: dict[str, Any],
    queries: np.ndarray,
    truth: np.ndarray,
    truth_ids: np.ndarray,
    allowed: np.ndarray | None,
    config: SpeedConfig,
) -> dict[str, float]:
    """Recall and time per query: the planned search and (where built) raw filtered HNSW, one query
    at a time."""
    searches = {"planned": lambda q: built["index"].search(q, config.recall_k, allowed=allowed)}
    if "hnsw" in built:
        searches["raw HNSW"] = lambda q: _raw_hnsw(built["hnsw"], q, config, allowed)
    out = {}
    for label, search in searches.items():
        started = time.perf_counter()
        answers = [search(queries[i : i + 1]) for i in range(len(queries))]
        seconds = time.perf_counter() - started
        scores = np.concatenate([a[0] for a in answers])
        found = np.concatenate([a[1] for a in answers])
        out[f"{label} recall@{config.recall_k}"] = round(_recall_ids(found, truth_ids), 4)
        out[f"{label} recall@{config.recall_k} counting ties"] = round(_recall_at(scores, truth), 4)
        out[f"{label} ms/query"] = round(seconds * 1000 / len(queries), 2)
    return out


def _raw_hnsw(
    index: Any, query: np.ndarray, config: SpeedConfig, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """HNSW with the filter inside its beam and no planner: what a filtered ANN gives by itself."""
    import faiss

    selector = None if allowed is None else faiss.IDSelectorBatch(allowed.astype(np.int64))
    params = faiss.SearchParametersHNSW(
        sel=selector, efSearch=max(config.ef_search, 2 * config.recall_k)
    )
    scores, ids = index.index.search(query, config.recall_k, params=params)
    return np.where(ids < 0, -np.inf, scores).astype(np.float32), ids


def _recall_ids(found: np.ndarray, truth: np.ndarray) -> float:
    """The share of the exact top-k ids that were returned (no credit for a tie)."""
    hits = []
    for got, want in zip(found, truth):
        want = want[want >= 0]
        if len(want):
            hits.append(len(set(got[got >= 0].tolist()) & set(want.tolist())) / len(want))
    return float(np.mean(hits)) if hits else 1.0


def _recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Recall by score, so that ties at the k-th place count as found: a returned row counts if
    its score reaches the exact k-th score (less a float tolerance)."""
    kth = truth[:, -1:]
    wanted = np.isfinite(truth).sum(axis=1)
    got = np.minimum((found >= kth - 1e-4).sum(axis=1), wanted)
    return float((got / np.maximum(wanted, 1)).mean())


def _plan(index: Any, allowed: np.ndarray | None) -> str:
    if index.kind == "exact":
        return "exact index"
    if allowed is None:
        return "ANN"
    plan = getattr(index, "_plan_exact", None)  # the index's own planner
    return "exact (planned)" if plan and plan(len(allowed)) else "ANN + filter"
