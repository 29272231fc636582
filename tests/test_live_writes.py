"""Live writes through the engine (what the API calls): searchable at once on an exact index, and
after a background rebuild on an ANN index, with the old matcher serving meanwhile."""

from __future__ import annotations

import pytest
from test_matching import OPEN, worker

from sepadan.contract import WorkerIn

CARE = {"id": "V-CARE", "title": "Caregiver", "country": "ID", "region": "35.08", "scheme": "domestic",
        "skills_required": ["elderly care"], **OPEN}


def _market(n: int) -> dict:
    return {"vacancies": [CARE],
            "workers": [worker(f"W-{i:02d}", **{"skills": ["menjahit"]}) for i in range(n)]}


def _ids(engine) -> list[str]:
    return [m.worker_id for m in engine.matcher.shortlist("V-CARE", k=50).results]


def _carer(id_: str) -> WorkerIn:
    return WorkerIn.model_validate(worker(id_, **{"skills": ["merawat lansia", "elderly care"]}))


def test_on_an_exact_index_a_write_is_searchable_when_it_returns_and_a_delete_is_gone(make_engine):
    engine = make_engine(_market(6))
    engine.build()
    before = engine.matcher
    engine.live.write("workers", [_carer("W-NEW")])
    assert engine.matcher is not before and _ids(engine)[0] == "W-NEW"
    assert "W-NEW" not in before.workers.positions  # a request holding the old matcher is untouched
    assert engine.live.delete("workers", "W-NEW") and "W-NEW" not in _ids(engine)
    assert engine.store.get("workers", "W-NEW") is None and not engine.live.delete("workers", "W-NEW")


def test_a_write_that_changes_nothing_keeps_the_matcher(make_engine):
    engine = make_engine(_market(3))
    engine.build()
    engine.live.write("workers", [_carer("W-NEW")])
    kept = engine.matcher
    engine.live.write("workers", [_carer("W-NEW")])
    assert engine.matcher is kept


@pytest.mark.parametrize("exact_max", [3])
def test_on_an_ann_index_writes_rebuild_in_the_background(make_engine, exact_max):
    engine = make_engine(_market(8), index_exact_max=exact_max)
    engine.build()
    old = engine.matcher
    assert old.workers.index.kind == "ivf_sq8"  # the ANN kind for pools above index_exact_max
    engine.live.write("workers", [_carer("W-NEW")])
    engine.live.wait(timeout=60)
    assert engine.matcher is not old and _ids(engine)[0] == "W-NEW"
    engine.live.delete("workers", "W-NEW")
    engine.live.wait(timeout=60)
    assert "W-NEW" not in engine.matcher.workers.positions and "W-NEW" not in _ids(engine)
