"""The blend of the learned weights with the transparent score, its choice on validation folds,
cross-validation over all vacancies, and IPS from recorded shown ranks (the tiny market of
tests/test_models.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from test_models import (  # noqa: F401  (fixtures)
    CONFIG,
    _no_outside_tracking_store,
    _outcome_records,
    _synthetic,
    empty_store,
    engine,
    home,
    registry,
)

from sepadan.models.features import DIRECTIONS, FEATURES, RANKER_FEATURES
from sepadan.models.offline import Placements, Pools, logged_ranks
from sepadan.models.ranker import MonotoneRanker
from sepadan.models.training import RELEVANT, build_dataset, fit_ranker, labels, train_and_register
from sepadan.records import Outcome

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


def _fitted_with_anchor(weight: float) -> tuple[MonotoneRanker, object]:
    data = _synthetic("skills")
    model = MonotoneRanker(directions=DIRECTIONS, anchor="transparent_score", anchor_weight=weight)
    return model.fit(data.frame(), data.y, data.vacancy_ids), data


def test_the_blend_moves_the_weights_towards_the_anchor_and_keeps_them_a_monotone_sum():
    plain, data = _fitted_with_anchor(0.0)
    half = plain.with_anchor_weight(0.5)
    unit = np.array([n == "transparent_score" for n in RANKER_FEATURES], dtype=float)
    assert np.allclose(half.weights_, 0.5 * plain.weights_ + 0.5 * unit)
    assert (half.weights_ >= 0).all() and half.weights_.sum() == pytest.approx(1.0)
    X = data.frame()
    assert np.allclose(half.contributions(X).sum(axis=1), half.predict(X))
    fitted_at_half, _ = _fitted_with_anchor(0.5)
    assert np.allclose(fitted_at_half.weights_, half.weights_)
    whole = plain.with_anchor_weight(1.0)  # all on the anchor: the order of the transparent score
    ts = data.column("transparent_score")
    assert (np.argsort(whole.predict(X), kind="stable") == np.argsort(ts, kind="stable")).all()
    with pytest.raises(ValueError, match="anchor_weight"):
        plain.with_anchor_weight(1.5)
    stray = MonotoneRanker(directions=DIRECTIONS, anchor="no_such_feature", anchor_weight=0.5)
    with pytest.raises(ValueError, match="no_such_feature"):
        stray.fit(X, data.y, data.vacancy_ids)


def test_ips_reads_the_recorded_shown_rank_before_the_logging_list(engine):
    rows = [Outcome("W-001", "V-00", "shortlisted", date(2026, 1, 5), 20),
            Outcome("W-001", "V-00", "hired", date(2026, 2, 1)),
            Outcome("W-003", "V-00", "shortlisted", date(2026, 1, 5)),  # no rank recorded
            Outcome("W-003", "V-00", "hired", date(2026, 2, 3)),
            Outcome("W-005", "V-00", "shortlisted", date(2026, 1, 5), 9),
            Outcome("W-005", "V-00", "shortlisted", date(2026, 1, 7), 4)]  # shown twice: the better rank
    placements = Placements.of(rows)
    assert placements.shown == {("V-00", "W-001"): 20, ("V-00", "W-005"): 4}
    pools = Pools.build(engine.matcher, ["V-00"], labels(rows), relevant=RELEVANT, placements=placements)
    logging_list = {"V-00": ["W-001", "W-007", "W-003"]}  # the transparent list had W-001 first
    assert logged_ranks(logging_list, pools, placements.shown) == {("V-00", "W-001"): 20, ("V-00", "W-003"): 3}
    assert logged_ranks(logging_list, pools) == {("V-00", "W-001"): 1, ("V-00", "W-003"): 3}


def test_the_blend_is_chosen_on_the_training_vacancies_only_fair_first(engine, registry):
    strict = replace(CONFIG, fairness_tolerance=0.0)
    done = train_and_register(engine.matcher, _outcome_records(), registry, engine.scorer.transparent, strict,
                              promote=False)
    choice = done.result.choice
    assert choice is not None and done.result.model.anchor_weight == choice.anchor_weight
    assert choice.anchor_weight in strict.anchor_weights
    trained_on = len(set(done.result.train.vacancy_ids))
    assert f"on {trained_on} validation vacancies" in choice.reason  # never the held-out ones
    fair = [a for a in strict.anchor_weights if choice.candidates[f"{a:.2f}"]["fair"] == 1.0]
    assert choice.anchor_weight in fair if fair else choice.anchor_weight == max(strict.anchor_weights)
    assert done.result.cv["select/anchor_weight"] == choice.anchor_weight
    weights = done.result.model.importances()
    assert weights["transparent_score"] >= choice.anchor_weight - 1e-9
    run = registry.client.get_run(done.version.run_id).data
    assert run.tags["blend_choice"] == choice.reason and "select/anchor_weight" in run.metrics


def test_cross_validation_over_all_vacancies_measures_each_vacancy_once(engine):
    from sepadan.models.crossval import cross_validated

    m, transparent = engine.matcher, engine.scorer.transparent
    outcomes = _outcome_records()
    graded, placements = labels(outcomes), Placements.of(outcomes)
    data = build_dataset(m, graded, transparent)
    pools = Pools.build(m, sorted(set(data.vacancy_ids)), graded, relevant=RELEVANT, placements=placements)
    seen: list[set[str]] = []

    def make(part):
        seen.append(set(part.vacancy_ids))
        return fit_ranker(part, CONFIG, anchor_weight=0.25)

    out = cross_validated(m, data, transparent, CONFIG, pools=pools, shown=placements.shown, make=make)
    everyone = set(data.vacancy_ids)
    assert out["cv_all/folds"] == CONFIG.cv_folds == len(seen)
    # each fold's ranker was made without its fold; together the folds cover every vacancy once
    held_out = [everyone - s for s in seen]
    assert set().union(*held_out) == everyone and sum(map(len, held_out)) == len(everyone)
    graded_vacancies = {v for (v, _), g in graded.items() if g > 0}
    assert out["cv_all/vacancies_ndcg_at_10"] == len(graded_vacancies)
    assert all(out[f"cv_all/anchor_weight/fold_{i}"] == 0.25 for i in range(1, len(seen) + 1))
    for metric in ("ndcg_at_10", "shortlist_recall_at_10", "ips_recall_at_10"):
        low, mid, high = (out[f"cv_all/delta_{metric}{t}"] for t in ("_p05", "", "_p95"))
        assert low <= mid <= high
        assert mid == pytest.approx(out[f"cv_all/ranker/{metric}"] - out[f"cv_all/transparent/{metric}"])
