"""Benchmarks: quality on outside ground truth and speed at scale, against peers.

``metrics`` (pure ranking metrics), ``datasets`` (loaders, qrels, TREC runs), ``baselines`` (BM25,
TF-IDF, plain embeddings), ``quality`` and ``speed`` (the benchmarks), ``ranking_set`` (the
ESCO-derived ranking set), ``results`` (markdown, JSON, charts) and ``tracking`` (MLflow).
Heavy optional parts (bm25s, mlflow) are imported where used; install them with
``pip install -e '.[bench]'``.
"""

from sepadan.evaluation.metrics import evaluate, ndcg_at_k, reciprocal_rank, rp_at_k

__all__ = ["evaluate", "ndcg_at_k", "reciprocal_rank", "rp_at_k"]
