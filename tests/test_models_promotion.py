"""The promotion rule's fairness condition on tiny figures whose answer is known by construction:
group by group, over groups measured on enough vacancies, cross-validated where the run has it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import pytest

from sepadan.models.fairness import Exposure, judged_groups, unjudged, worse
from sepadan.models.promotion import Board, decide, fairness_check
from sepadan.models.training import Evaluation, TrainingConfig

TODAY = date(2026, 11, 1)
CONFIG = TrainingConfig(fairness_tolerance=0.05, skew_min_vacancies=20)
GAIN = {"delta_ndcg_at_10": 0.02, "delta_ndcg_at_10_p05": 0.01, "delta_ndcg_at_10_p95": 0.03}


def _worker(i: int, *, gender: str = "F", region: str = "35.08") -> SimpleNamespace:
    return SimpleNamespace(id=f"W-{i:03d}", gender=gender, birth_date=date(1995, 1, 1), region=region)


def _fair(*, young: float, old: float, n_young: int = 250, n_old: int = 250, ndkl: float = 0.1) -> dict[str, float]:
    """Figures of one system: two age bands with their mean Skew@10 and support, one NDKL."""
    return {"skew_at_10/age_band/18-24": young, "skew_at_10/age_band/18-24/vacancies": float(n_young),
            "skew_at_10/age_band/35-44": old, "skew_at_10/age_band/35-44/vacancies": float(n_old),
            "skew_at_10/age_band/max_abs": max(abs(young), abs(old)), "ndkl_at_10/age_band": ndkl}


def _board(held_new: dict, held_old: dict, cv_new: dict | None = None, cv_old: dict | None = None,
           *, delta: dict = GAIN) -> Board:
    cv = {}
    if cv_new is not None:
        cv = {"cv_all/folds": 5.0, **{f"cv_all/ranker/{k}": v for k, v in cv_new.items()},
              **{f"cv_all/transparent/{k}": v for k, v in cv_old.items()},
              "cv_all/ranker/shortlist_vacancies": 300.0}
    new, old = Evaluation("sepadan-ranker/new", {}, held_new), Evaluation("transparent-1", {}, held_old)
    return Board(new, old, old, Evaluation("random order", {}), delta, delta, cv)


def test_skew_means_count_their_vacancies_and_max_abs_leaves_out_groups_measured_on_too_few():
    exposure = Exposure(TODAY, k=10, min_vacancies=3)
    pool = [_worker(i, region="35.01") for i in range(16)] + [_worker(16 + i, region="63.06") for i in range(4)]
    top_without_63 = pool[:10]  # province 63 holds 4/20 of the pool and none of the top 10
    for vid in ("V-1", "V-2", "V-3"):
        exposure.add(top_without_63, pool, key=vid)
    small = [_worker(i, region="35.01") for i in range(18)] + [_worker(40, region="53.01"), _worker(41, region="53.01")]
    exposure.add(small[:10], small, key="V-4")  # province 53: 2/20 of the pool, absent, one vacancy only
    figures = exposure.figures()
    assert figures["skew_at_10/province/63/vacancies"] == 3 and figures["skew_at_10/province/53/vacancies"] == 1
    absent = math.log(0.05 / 0.2)  # share 1/(2k) for an absent group, over its share of the pool
    assert figures["skew_at_10/province/63"] == pytest.approx(absent)
    assert figures["skew_at_10/province/53"] == pytest.approx(math.log(0.05 / 0.1))
    assert figures["skew_at_10/province/max_abs"] == pytest.approx(abs(absent))  # 53 (1 vacancy) left out
    assert figures["skew_at_10/province/max_abs_all"] == pytest.approx(abs(absent))
    assert exposure.per_vacancy["skew_at_10/province/63"] == {v: pytest.approx(absent) for v in ("V-1", "V-2", "V-3")}
    assert judged_groups(figures, "province", min_vacancies=3) == ["skew_at_10/province/35",
                                                                   "skew_at_10/province/63"]


def test_worse_compares_group_by_group_so_one_group_pushed_out_is_not_hidden_by_the_maximum():
    before, after = _fair(young=-0.17, old=-0.26), _fair(young=-0.24, old=-0.19)
    assert after["skew_at_10/age_band/max_abs"] < before["skew_at_10/age_band/max_abs"]  # the maximum fell
    found = worse(after, before, tolerance=0.05, min_vacancies=20)
    assert len(found) == 1 and found[0].startswith("skew_at_10/age_band/18-24 -0.170 -> -0.240")
    assert worse(after, before, tolerance=0.1, min_vacancies=20) == []
    # nearer parity on the other side of zero is not worse, further on either side is
    assert worse(_fair(young=0.10, old=-0.26), before, tolerance=0.05) == []
    assert worse(_fair(young=0.25, old=-0.26), before, tolerance=0.05)


def test_a_group_measured_on_fewer_vacancies_than_the_minimum_is_not_judged():
    before = _fair(young=-0.17, old=-0.40, n_old=4)
    after = _fair(young=-0.17, old=-0.57, n_old=4)  # the small group's mean moved by one step / 4
    assert worse(after, before, tolerance=0.05, min_vacancies=20) == []
    assert worse(after, before, tolerance=0.05, min_vacancies=4)
    assert worse(_fair(young=-0.17, old=-0.1, ndkl=0.2), _fair(young=-0.17, old=-0.1), tolerance=0.05) == [
        "ndkl_at_10/age_band 0.100 -> 0.200"]
    alone = {"skew_at_10/province/63": -0.5, "skew_at_10/province/63/vacancies": 4.0}
    assert "Skew@10 by province" in unjudged(alone, alone, min_vacancies=20)
    assert "Skew@10 by province" not in unjudged(alone, alone, min_vacancies=4)
    # a group judged on the new side that the old side has no figure for is said, not passed over
    assert "skew_at_10/province/63" in unjudged(alone, {}, min_vacancies=4)
    assert "skew_at_10/province/63" not in unjudged(alone, alone, min_vacancies=4)


def test_the_rule_promotes_a_gain_with_fairness_within_the_tolerance_cross_validated():
    fair = _fair(young=-0.17, old=-0.26)
    board = _board(fair, fair, _fair(young=-0.19, old=-0.24), fair)
    decision = decide(board, CONFIG)
    assert decision.promote and decision.reason.startswith("champion:")
    assert "over all 300 vacancies (5-fold cross-validated)" in decision.reason
    assert "not judged" in decision.reason and "Skew@10 by gender" in decision.reason  # no gender figures here


def test_the_rule_keeps_a_challenger_whose_cross_validated_exposure_is_worse_though_the_split_is_fine():
    fair = _fair(young=-0.17, old=-0.26)
    board = _board(fair, fair, _fair(young=-0.24, old=-0.19), fair)
    decision = decide(board, CONFIG)
    assert not decision.promote and decision.reason.startswith("challenger:")
    assert "worse than transparent-1's over all 300 vacancies" in decision.reason
    assert "skew_at_10/age_band/18-24 -0.170 -> -0.240" in decision.reason
    assert decide(board, replace(CONFIG, fairness_tolerance=0.1)).promote
    # a gain whose interval holds zero is a challenger whatever the fairness
    flat = {**GAIN, "delta_ndcg_at_10_p05": -0.001}
    assert "does not exclude zero" in decide(_board(fair, fair, fair, fair, delta=flat), CONFIG).reason


def test_without_cross_validated_figures_the_held_out_split_is_judged():
    fair, pushed = _fair(young=-0.17, old=-0.26), _fair(young=-0.30, old=-0.26)
    board = _board(pushed, fair)
    assert fairness_check(board)[:2] == ("on the held-out split", "transparent-1")
    decision = decide(board, CONFIG)
    assert not decision.promote and "on the held-out split" in decision.reason
    # the split's noise does not block where the cross-validated figures exist and are fair
    assert decide(_board(pushed, fair, fair, fair), CONFIG).promote
