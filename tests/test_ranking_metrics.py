"""The one implementation of each ranking metric, held equal to trec_eval (through ir-measures).

A small run with known grades: 6 queries, 12 judged documents each (grades 0 to 3), a few unjudged
documents retrieved, distinct scores (trec_eval breaks ties by document id, sepadan by score then
id: distinct scores keep the comparison about the metrics).
"""

from __future__ import annotations

import numpy as np
import pytest

from sepadan.evaluation import metrics as M
from sepadan.models.training import Dataset, per_vacancy

ir_measures = pytest.importorskip("ir_measures")


def _small_run(seed: int = 11) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    rng = np.random.default_rng(seed)
    qrels, run = {}, {}
    for q in range(6):
        qid = f"q{q}"
        qrels[qid] = {f"d{q}-{i}": int(g) for i, g in enumerate(rng.integers(0, 4, size=12))}
        qrels[qid][f"d{q}-0"] = 3  # every query has something relevant
        docs = list(qrels[qid]) + [f"u{q}-{i}" for i in range(3)]  # three unjudged
        scores = rng.permutation(len(docs)).astype(float) + rng.random(len(docs)) * 0.1
        run[qid] = dict(zip(docs, scores))
    return qrels, run


def _ranked(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda d: -scores[d])


def _trec(qrels, run, measures) -> dict:
    q = [ir_measures.Qrel(qid, doc, g) for qid, docs in qrels.items() for doc, g in docs.items()]
    r = [ir_measures.ScoredDoc(qid, doc, s) for qid, docs in run.items() for doc, s in docs.items()]
    return {(m.query_id, str(m.measure)): m.value for m in ir_measures.iter_calc(measures, q, r)}


def test_each_metric_equals_trec_eval_per_query():
    from ir_measures import AP, RR, P, R, nDCG

    qrels, run = _small_run()
    theirs = _trec(qrels, run, [nDCG @ 10, nDCG @ 5, AP, RR, P @ 5, R @ 10])
    for qid, grades in qrels.items():
        ranked = _ranked(run[qid])
        relevant = M.positives(grades)
        ours = {"nDCG@10": M.ndcg_at_k(ranked, grades, 10), "nDCG@5": M.ndcg_at_k(ranked, grades, 5),
                "AP": M.average_precision(ranked, relevant), "RR": M.reciprocal_rank(ranked, relevant),
                "P@5": M.precision_at_k(ranked, relevant, 5), "R@10": M.recall_at_k(ranked, relevant, 10)}
        for name, value in ours.items():
            assert value == pytest.approx(theirs[(qid, name)], abs=1e-4), (qid, name)


def test_the_rankers_evaluation_is_the_same_metrics_with_hired_as_relevant():
    """``models.training.per_vacancy`` (judged candidates, relevant = grade 3) against trec_eval."""
    from ir_measures import AP, R, nDCG

    qrels, run = _small_run(seed=5)
    vids, wids, scores, grades = [], [], [], []
    for qid, docs in qrels.items():
        for doc, g in docs.items():
            vids.append(qid)
            wids.append(doc)
            scores.append(run[qid][doc])
            grades.append(g)
    data = Dataset(np.array(vids, dtype=object), np.array(wids, dtype=object), np.zeros((len(vids), 1)),
                   np.array(grades), features=("x",))
    ours = per_vacancy(np.array(scores), data, recall_ks=(1, 3), k=10)
    judged_run = {q: {d: run[q][d] for d in docs} for q, docs in qrels.items()}
    theirs = _trec(qrels, judged_run, [nDCG @ 10, AP(rel=3), R(rel=3) @ 1, R(rel=3) @ 3])
    for qid in qrels:
        assert ours["ndcg_at_10"][qid] == pytest.approx(theirs[(qid, "nDCG@10")], abs=1e-4)
        assert ours["map"][qid] == pytest.approx(theirs[(qid, "AP(rel=3)")], abs=1e-4)
        assert ours["recall_at_1"][qid] == pytest.approx(theirs[(qid, "R(rel=3)@1")], abs=1e-4)
        assert ours["recall_at_3"][qid] == pytest.approx(theirs[(qid, "R(rel=3)@3")], abs=1e-4)


def test_average_precision_hand_computed():
    assert M.average_precision(["a", "x", "b"], {"a", "b"}) == pytest.approx((1 + 2 / 3) / 2)
    assert M.average_precision(["x", "a"], {"a", "b"}) == pytest.approx(0.5 / 2)  # b never ranked
    assert M.evaluate({"q": ["x", "a"]}, {"q": {"a": 1}}, ["AP"]) == {"AP": 0.5}
