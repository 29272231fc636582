"""The batch scorer gives the transparent scorer's scores to the bit, and a shortlist that uses it
returns the same list as one that explains every candidate (sepadan/matching/score_batch.py)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from sepadan.demo_data import _Generator, _write_jsonl
from sepadan.engine import Engine
from sepadan.matching.eligibility import check_pair
from sepadan.matching.score_batch import BatchScorer, WorkerColumns
from sepadan.matching.scorer import Pair, TransparentScorer
from conftest import TODAY, make_settings


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory, fake_encoder) -> Engine:
    """The demo generator's rows (languages, trainings, documents, preferences, programmes) at a
    small size: 400 workers, 40 vacancies."""
    root = tmp_path_factory.mktemp("batch")
    gen = _Generator(random.Random(5), TODAY, lambda kind, done, total: None)
    rows = {"agencies": gen.agencies(10), "trainings": gen.trainings(12)}
    rows["vacancies"] = gen.vacancies(40)
    rows["workers"] = gen.workers(400)
    engine = Engine(make_settings(root / "home"), encoder=fake_encoder, today=TODAY)
    for kind in ("agencies", "trainings", "vacancies", "workers"):
        engine.import_file(kind, _write_jsonl(root / f"{kind}.jsonl", rows[kind]))
    engine.build()
    return engine


def _reference(m, w_pos: int, v_pos: int) -> float:
    w, wp = m.workers.records[w_pos], m.workers.profiles[w_pos]
    v, vp = m.vacancies.records[v_pos], m.vacancies.profiles[v_pos]
    cosine = float(m.workers.index.vectors[w_pos] @ m.vacancies.index.vectors[v_pos])
    return m.scorer.transparent.score(Pair(w, wp, v, vp, cosine, check_pair(w, wp, v, vp, m.ctx)), m.ctx).score


def test_batch_scores_equal_the_scorer_on_every_pair(demo_engine) -> None:
    m = demo_engine.matcher
    transparent = m.scorer.transparent
    assert type(transparent) is TransparentScorer
    batch = BatchScorer(transparent, WorkerColumns(m.workers.records, m.workers.profiles, today=m.ctx.today,
                                                   documents=tuple(m.ctx.rules.document_lead_days)))
    rng = np.random.default_rng(3)
    rows = np.arange(m.table.n)
    differ, pairs, components = [], 0, set()
    for v_pos, (v, vp) in enumerate(zip(m.vacancies.records, m.vacancies.profiles)):
        picked = rng.permutation(rows)[:150]  # in any order, repeats of a worker's concepts across rows
        got = batch.scores(picked, m.workers.index.vectors, v, vp,
                           m.vacancies.index.vectors[v_pos], m.ctx)
        for p, score in zip(picked.tolist(), got):
            want = _reference(m, p, v_pos)
            pairs += 1
            if score != want:
                differ.append((m.workers.records[p].id, v.id, score, want))
        comp = transparent.components(Pair(m.workers.records[0], m.workers.profiles[0], v, vp, 0.5,
                                           check_pair(m.workers.records[0], m.workers.profiles[0], v, vp, m.ctx)),
                                      m.ctx)[0]
        components |= set(comp)
    assert pairs == 40 * 150
    assert not differ, differ[:5]
    # the pairs reached every component, so each one was compared
    assert components == {"skills", "semantic", "language", "experience", "training", "readiness", "preference"}


def test_training_and_partial_credit_are_exercised(demo_engine) -> None:
    """Not a vacuous comparison: workers with trainings, jobs and partial skill credit exist."""
    m = demo_engine.matcher
    cols = m._batch_scorer().columns
    assert len(cols.recency) > 50 and cols.max_jobs >= 1 and len(cols.concepts) > 30
    assert any(0 < v < 1 for v in m.scorer.transparent._credits.values())


@pytest.mark.parametrize("options", [{}, {"include_ineligible": True}, {"k": 5}, {"k": 200}])
def test_shortlists_equal_those_explaining_every_candidate(demo_engine, options, monkeypatch) -> None:
    m = demo_engine.matcher
    fast = {v.id: m.shortlist(v.id, **options) for v in m.vacancies.records}
    monkeypatch.setattr(m, "_batch_scorer", lambda: None)
    slow = {v.id: m.shortlist(v.id, **options) for v in m.vacancies.records}
    assert fast == slow
    assert sum(len(ml.results) for ml in fast.values()) > 100


def test_a_learned_ranker_is_scored_pair_by_pair(demo_engine) -> None:
    m = demo_engine.matcher
    assert m._batch_scorer() is not None

    class Learned:
        version = "learned-1"

        def score(self, pair, ctx):
            return m.scorer.transparent.score(pair, ctx)

    old = m.scorer
    try:
        m.scorer = Learned()
        assert m._batch_scorer() is None
        assert m.shortlist(m.vacancies.records[0].id).model_version == "learned-1"
    finally:
        m.scorer = old


def test_a_batch_score_that_differs_falls_back_to_pair_by_pair(demo_engine, monkeypatch, caplog) -> None:
    m = demo_engine.matcher
    vid = next(v.id for v in m.vacancies.records if m.shortlist(v.id).results)
    want = m.shortlist(vid)
    batch = m._batch_scorer()
    monkeypatch.setattr(batch, "scores", lambda rows, *a, **kw: [0.5] * len(rows))
    assert m.shortlist(vid) == want
    assert "differs from the full score" in caplog.text


def test_columns_for_an_empty_pool() -> None:
    cols = WorkerColumns([], [], today=TODAY, documents=())
    assert cols.n == 0 and cols.max_jobs == 0
