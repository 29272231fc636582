"""The fast paths give the answers of the slow ones (issue 15): filtered exact search equals brute
force, the concept index's posting-only search equals a dense reference, a FAISS search with the
caller's bitmap equals one with its own, and eligibility masks updated row by row after writes
equal masks computed from scratch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_matching import AGENCIES, OPEN, caregiver_abroad, worker

from sepadan.contract import VacancyIn, WorkerIn
from sepadan.matching.index import build_index, exact_search
from sepadan.matching.masks import Allowed, MaskCache
from sepadan.matching.retrieve import ConceptIndex

DIM = 16


def _reference(vectors, query, k, rows):
    """Brute force in NumPy: score every allowed row, best first, ties by position."""
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    scores = (vectors[rows] @ query).astype(np.float32)
    order = np.lexsort((rows, -scores))[:k]
    return scores[order], rows[order]


@st.composite
def searches(draw):
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    if draw(st.booleans()):  # duplicated rows: ties must break by position
        vectors[rng.integers(0, n, n // 3)] = vectors[0]
    share = draw(st.sampled_from([None, 0.0, 0.01, 0.1, 0.5, 1.0]))
    rows = None if share is None else np.sort(rng.choice(n, int(share * n), replace=False))
    return vectors, rng.standard_normal(DIM).astype(np.float32), draw(st.integers(1, 40)), rows


@settings(max_examples=150, deadline=None)
@given(searches())
def test_filtered_exact_search_equals_brute_force(case):
    vectors, query, k, rows = case
    scores, ids = exact_search(vectors, query, k, rows)
    want_scores, want_ids = _reference(vectors, query, k, rows)
    got = ids[0][ids[0] >= 0]
    assert len(got) == len(want_ids) == min(k, len(vectors) if rows is None else len(rows))
    np.testing.assert_allclose(scores[0][: len(got)], want_scores, rtol=1e-5, atol=1e-5)
    # equal scores up to float rounding may swap, also with rows just past the k-th; away from
    # ties the ids are the same
    every, _ = _reference(vectors, query, len(vectors), rows)
    clear = np.array([(np.abs(every - s) < 1e-5).sum() == 1 for s in want_scores], dtype=bool)
    assert (got[clear] == want_ids[clear]).all()
    assert (ids[0][len(got):] == -1).all() and np.isneginf(scores[0][len(got):]).all()


def test_filtered_exact_search_refuses_rows_outside_the_matrix():
    vectors = np.ones((4, DIM), dtype=np.float32)
    with pytest.raises(ValueError):
        exact_search(vectors, vectors[0], 2, np.array([1, 4]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.02, 0.2, 0.7]))
def test_a_faiss_search_with_the_callers_bitmap_equals_one_with_its_own(seed, share):
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((400, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = build_index(vectors, kind="flat", exact_filter_max=0)  # FAISS with the filter inside
    index.exact_filter_max = 0
    mask = rng.random(400) < share
    allowed = Allowed.of(mask)
    query = vectors[rng.integers(0, 400)][None, :]
    own = index.search(query, 10, allowed=allowed.rows)
    given_ = index.search(query, 10, allowed=allowed.rows, bitmap=allowed.bits)
    assert (own[1] == given_[1]).all()
    assert np.isin(own[1][own[1] >= 0], allowed.rows).all()
    _, truth = exact_search(vectors, query, 10, allowed.rows)
    assert set(own[1][0][own[1][0] >= 0]) == set(truth[0][truth[0] >= 0])


def _dense_concepts(index, query, k, allowed):
    scores = np.zeros(index.size)
    for key, weight in query.items():
        rows = index.postings.get(key)
        if rows is not None:
            scores[rows] += weight * index.idf(key)
    if allowed is not None:
        keep = np.zeros(index.size, dtype=bool)
        keep[allowed] = True
        scores[~keep] = 0
    hits = np.flatnonzero(scores > 0)
    return hits[np.lexsort((hits, -scores[hits]))][:k].tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sets(st.sampled_from("abcdefgh"), max_size=4), min_size=1, max_size=120),
       st.dictionaries(st.sampled_from("abcdefghz"), st.sampled_from([0.5, 1.0]), max_size=5),
       st.integers(1, 30), st.integers(0, 2**31 - 1), st.booleans())
def test_concept_search_equals_the_dense_reference(sets, query, k, seed, filtered):
    index = ConceptIndex(sets)
    allowed = None
    if filtered:
        rng = np.random.default_rng(seed)
        allowed = np.sort(rng.choice(len(sets), rng.integers(0, len(sets) + 1), replace=False))
    assert index.search(query, k, allowed=allowed) == _dense_concepts(index, query, k, allowed)


def test_allowed_packs_and_unpacks_every_length():
    for n in (0, 1, 7, 8, 9, 1000):
        mask = np.random.default_rng(n).random(n) < 0.4
        held = Allowed.of(mask)
        assert (held.mask() == mask).all() and (held.rows == np.flatnonzero(mask)).all()


def test_the_cache_refuses_a_mask_of_the_wrong_length():
    with pytest.raises(ValueError):
        MaskCache(5, lambda key: np.ones(4, dtype=bool)).get("v")


# ----------------------------------------------------- masks updated on writes = masks from scratch
VACANCIES = [
    caregiver_abroad("V-JP", "JP", "P3MI-ACTIVE", languages=[{"language": "ja", "test": "JLPT", "min_level": "N4"}],
                     **OPEN),
    caregiver_abroad("V-TW", "TW", "P3MI-ACTIVE", age_max=35, **OPEN),
    {"id": "V-DOM", "title": "Juru masak", "country": "ID", "region": "35.08", "scheme": "domestic",
     "skills_required": ["memasak"], "education_min": "SMA", **OPEN},
]
LEVELS = [None, "N5", "N4", "N3"]
REGIONS = ["35.08", "35.09", "33.01"]


def _worker(i: int, level: int, region: int, old: bool, domestic: bool) -> WorkerIn:
    extra = {"birth_date": "1980-01-01"} if old else {}
    if not domestic:
        extra["preferences"] = {"domestic": False}
    return WorkerIn.model_validate(worker(f"W-{i:02d}", ja=LEVELS[level], region=REGIONS[region], **extra))


writes = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), st.integers(0, 14), st.integers(0, 3), st.integers(0, 2), st.booleans(),
                  st.booleans()),
        st.tuples(st.just("delete"), st.integers(0, 14)),
        st.tuples(st.just("vacancy"), st.sampled_from([None, "N5", "N3"])),
    ),
    min_size=1, max_size=6,
)


@pytest.fixture(scope="module")
def live_engine(tmp_path_factory, fake_encoder):
    from conftest import load_engine

    data = {"agencies": AGENCIES, "vacancies": VACANCIES,
            "workers": [_worker(i, i % 4, i % 3, i % 5 == 0, True).model_dump(mode="json", exclude_none=True)
                        for i in range(10)]}
    engine = load_engine(tmp_path_factory.mktemp("masks"), data, encoder=fake_encoder)
    engine.build()
    return engine


def _scratch(matcher, key):
    kind, value = key
    if kind == "region":
        return matcher.table.in_region(value)
    pos = matcher.vacancies.positions[value]
    return matcher.table.mask(matcher.vacancies.records[pos], matcher.vacancies.profiles[pos], matcher.ctx)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes)
def test_masks_updated_on_writes_equal_masks_from_scratch(live_engine, steps):
    engine = live_engine
    keys = [("vacancy", v["id"]) for v in VACANCIES] + [("region", "35"), ("region", "35.08")]
    for key in keys:
        engine.matcher.masks.get(key)
    for step in steps:
        before = engine.matcher
        if step[0] == "upsert":
            engine.live.write("workers", [_worker(*step[1:])])
        elif step[0] == "delete":
            engine.live.delete("workers", f"W-{step[1]:02d}")
        else:
            jp = {**VACANCIES[0], "languages": [{"language": "ja", "test": "JLPT", "min_level": step[1]}]
                  if step[1] else []}
            engine.live.write("vacancies", [VacancyIn.model_validate(jp)])
        matcher = engine.matcher
        if matcher is not before:  # the write swapped the matcher: the masks were carried, not remade
            carried = set(keys) - ({("vacancy", "V-JP")} if step[0] == "vacancy" else set())
            assert set(matcher.masks.keys()) == carried
        for key in keys:
            held = matcher.masks.get(key)
            expected = _scratch(matcher, key)
            assert (held.mask() == expected).all(), (key, step)
            assert (held.rows == np.flatnonzero(expected)).all()
        for v in VACANCIES:  # and the shortlist keeps to the eligible
            for m in matcher.shortlist(v["id"], k=50).results:
                assert m.eligible


def test_an_agency_write_drops_every_vacancy_mask_and_keeps_regions(make_engine):
    from sepadan.contract import AgencyIn

    engine = make_engine({"agencies": AGENCIES, "vacancies": VACANCIES[:1],
                          "workers": [_worker(i, 2, 0, False, True).model_dump(mode="json", exclude_none=True)
                                      for i in range(4)]})
    engine.build()
    assert len(engine.matcher.masks.get(("vacancy", "V-JP")).rows) == 4
    engine.matcher.masks.get(("region", "35"))
    revoked = {**AGENCIES[0], "status": "revoked"}
    engine.live.write("agencies", [AgencyIn.model_validate(revoked)])
    assert set(engine.matcher.masks.keys()) == {("region", "35")}
    assert len(engine.matcher.masks.get(("vacancy", "V-JP")).rows) == 0
