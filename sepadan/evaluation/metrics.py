"""Ranking metrics as pure functions of a ranked list and the judged documents.

``ranked`` is a sequence of document ids, best first; ``relevant`` a collection of relevant ids;
``grades`` maps document ids to graded relevance (0 = not relevant). Every function returns a
float in [0, 1]; a query with nothing relevant has no defined value, and :func:`evaluate` leaves
it out of the mean (as trec_eval does), so callers should count such queries themselves.

This module is the one implementation of each ranking metric in sepadan: the benchmarks and the
learned ranker's evaluation (:mod:`sepadan.models.training`) both call it, and a test holds it
equal to ir-measures (trec_eval) on a small run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence

Ranked = Sequence[str]
Grades = Mapping[str, float]

_NAME = re.compile(r"^(RP|P|acc|NDCG|Recall|MRR|AP)(?:@(\d+))?$")


def rp_at_k(ranked: Ranked, relevant: Collection[str], k: int) -> float:
    """R-precision at k: relevant documents in the top k over min(k, number relevant).

    The measure of Decorte et al. (2023) for skill extraction: it reaches 1 when the top k holds
    as many relevant documents as there can be.
    """
    if not relevant:
        raise ValueError("RP@k needs at least one relevant document")
    hits = sum(1 for doc in ranked[:k] if doc in relevant)
    return hits / min(k, len(relevant))


def precision_at_k(ranked: Ranked, relevant: Collection[str], k: int) -> float:
    return sum(1 for doc in ranked[:k] if doc in relevant) / k


def reciprocal_rank(ranked: Ranked, relevant: Collection[str]) -> float:
    """1 / rank of the first relevant document; 0 if none is ranked."""
    for rank, doc in enumerate(ranked, start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def hit_at_k(ranked: Ranked, relevant: Collection[str], k: int) -> float:
    """Accuracy at k: 1 if any relevant document is in the top k, else 0."""
    return 1.0 if any(doc in relevant for doc in ranked[:k]) else 0.0


def recall_at_k(ranked: Ranked, relevant: Collection[str], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    if not relevant:
        raise ValueError("Recall@k needs at least one relevant document")
    return sum(1 for doc in ranked[:k] if doc in relevant) / len(relevant)


def average_precision(ranked: Ranked, relevant: Collection[str]) -> float:
    """Mean over the relevant documents of the precision at each one's rank; a relevant document
    that is not ranked counts 0 (trec_eval's ``map`` for one query)."""
    if not relevant:
        raise ValueError("AP needs at least one relevant document")
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranked, start=1):
        if doc in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant)


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain with linear gains: sum of gain_i / log2(i + 1), i from 1."""
    return sum(g / math.log2(i + 1) for i, g in enumerate(gains, start=1))


def ndcg_at_k(ranked: Ranked, grades: Grades, k: int) -> float:
    """NDCG at k with linear gains (the grade itself, as trec_eval's ndcg_cut).

    The ideal ranking orders every judged document by grade, so unjudged documents count as 0 and
    a run that leaves relevant documents out is penalised.
    """
    ideal = dcg(sorted((g for g in grades.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        raise ValueError("NDCG@k needs at least one document with a positive grade")
    return dcg([grades.get(doc, 0.0) for doc in ranked[:k]]) / ideal


def metric(name: str) -> Callable[[Ranked, Grades], float]:
    """The function for a metric name: ``RP@5``, ``P@5``, ``MRR``, ``AP``, ``acc@1``, ``NDCG@10``,
    ``Recall@50``.

    Binary metrics treat every positive grade as relevant.
    """
    found = _NAME.match(name)
    if not found or (found.group(1) not in ("MRR", "AP")) != bool(found.group(2)):
        raise ValueError(f"unknown metric '{name}' (RP@k, P@k, MRR, AP, acc@k, NDCG@k, Recall@k)")
    kind, k = found.group(1), int(found.group(2) or 0)
    if kind == "NDCG":
        return lambda ranked, grades: ndcg_at_k(ranked, grades, k)
    binary = {
        "RP": lambda r, rel: rp_at_k(r, rel, k),
        "P": lambda r, rel: precision_at_k(r, rel, k),
        "acc": lambda r, rel: hit_at_k(r, rel, k),
        "Recall": lambda r, rel: recall_at_k(r, rel, k),
        "MRR": reciprocal_rank,
        "AP": average_precision,
    }[kind]
    return lambda ranked, grades: binary(ranked, positives(grades))


def positives(grades: Grades) -> frozenset[str]:
    return frozenset(doc for doc, g in grades.items() if g > 0)


def per_query(
    run: Mapping[str, Ranked], qrels: Mapping[str, Grades], names: Sequence[str]
) -> dict[str, dict[str, float]]:
    """``{query: {metric: value}}`` for every judged query with a relevant document.

    A judged query missing from the run scores as an empty ranking (0), never skipped.
    """
    fns = {name: metric(name) for name in names}
    out = {}
    for qid, grades in qrels.items():
        if positives(grades):
            ranked = run.get(qid, ())
            out[qid] = {name: fn(ranked, grades) for name, fn in fns.items()}
    return out


def evaluate(
    run: Mapping[str, Ranked], qrels: Mapping[str, Grades], names: Sequence[str]
) -> dict[str, float]:
    """Mean of each metric over the judged queries that have a relevant document."""
    scores = per_query(run, qrels, names)
    if not scores:
        raise ValueError("no judged query has a relevant document")
    return {name: sum(s[name] for s in scores.values()) / len(scores) for name in names}
