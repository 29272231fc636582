"""The demo hiring process records the rank each worker was shown at (the outcome contract's
optional ``shown_rank``), which the offline evaluation's inverse-propensity weights read."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from sepadan.demo_data import generate
from sepadan.demo_hiring import Hiring

SMALL = dict(n_workers=400, n_vacancies=60, n_trainings=12, n_agencies=12)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> list[dict]:
    paths = generate(tmp_path_factory.mktemp("demo"), seed=11, **SMALL)
    return [json.loads(line) for line in paths["outcomes"].read_text(encoding="utf-8").splitlines()]


def test_every_shortlisted_row_records_its_shown_rank_and_no_other_stage_does(outcomes):
    shortlisted = [o for o in outcomes if o["stage"] == "shortlisted"]
    assert shortlisted and all("shown_rank" not in o for o in outcomes if o["stage"] != "shortlisted")
    ranked = [o for o in shortlisted if "shown_rank" in o]
    assert all(1 <= o["shown_rank"] <= Hiring().max_rank for o in ranked)
    per_vacancy = Counter(o["vacancy_id"] for o in shortlisted if "shown_rank" not in o)
    assert all(n == 1 for n in per_vacancy.values())  # only a walk-in, at most one a job order, has none
    ranks = Counter((o["vacancy_id"], o["shown_rank"]) for o in ranked)
    assert max(ranks.values()) == 1  # one worker per rank of a vacancy's list


def test_the_top_ranks_are_always_shown(outcomes):
    by_vacancy: dict[str, set[int]] = {}
    for o in outcomes:
        if "shown_rank" in o:
            by_vacancy.setdefault(o["vacancy_id"], set()).add(o["shown_rank"])
    assert by_vacancy
    # p(r) = 1 up to r0 = 5: every list's first five ranks are shown (or the list is shorter)
    for ranks in by_vacancy.values():
        top = {r for r in ranks if r <= 5}
        assert top == set(range(1, len(top) + 1))


def test_the_contract_takes_an_optional_shown_rank():
    from pydantic import ValidationError

    from sepadan.contract import OutcomeIn

    row = {"worker_id": "W-1", "vacancy_id": "V-1", "stage": "shortlisted", "date": "2026-01-05"}
    assert OutcomeIn.model_validate(row).to_record().shown_rank is None
    assert OutcomeIn.model_validate(row | {"shown_rank": "7"}).to_record().shown_rank == 7
    with pytest.raises(ValidationError, match="shown_rank"):
        OutcomeIn.model_validate(row | {"shown_rank": 0})
