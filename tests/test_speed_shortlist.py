"""The shortlist's fast path (concept retrieval by subsets over roaring bitmaps, the filter read
from packed bits, batch scoring, explaining only the k returned) gives the very lists of the slow
one (postings summed row by row, every candidate scored and explained one by one), on random
vacancies, sizes, regions and options; the stage marks change nothing; the speed benchmark builds
the index the engine's settings name (issue 15 item 3)."""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
import pytest

from sepadan.demo_data import _Generator, _write_jsonl
from sepadan.engine import Engine
from sepadan.matching import retrieve
from conftest import TODAY, make_settings


@pytest.fixture(scope="module")
def engine(tmp_path_factory, fake_encoder) -> Engine:
    """The demo generator's rows at a small size, above the exact index's limit, so the worker
    index is the ANN kind the settings name (ivf_sq8) with its planner."""
    root = tmp_path_factory.mktemp("fastpath")
    gen = _Generator(random.Random(11), TODAY, lambda kind, done, total: None)
    rows = {"agencies": gen.agencies(10), "trainings": gen.trainings(12)}
    rows["vacancies"] = gen.vacancies(40)
    rows["workers"] = gen.workers(600)
    engine = Engine(make_settings(root / "home", index_exact_max=100), encoder=fake_encoder, today=TODAY)
    for kind in ("agencies", "trainings", "vacancies", "workers"):
        engine.import_file(kind, _write_jsonl(root / f"{kind}.jsonl", rows[kind]))
    engine.build()
    return engine


@contextmanager
def _slow(m):
    """The matcher with every shortcut off: concept postings summed, candidates scored one by one."""
    concepts = m.workers.concepts
    search, batch = concepts.search, m._batch_scorer
    concepts.search = lambda query, k, allowed=None, bits=None: concepts.summed(query, k, allowed=allowed)
    m._batch_scorer = lambda: None
    try:
        yield m
    finally:
        concepts.search, m._batch_scorer = search, batch


@pytest.mark.parametrize("seed", range(3))
def test_fast_shortlists_equal_the_slow_path_on_random_vacancies(engine, seed, monkeypatch, caplog) -> None:
    m = engine.matcher
    assert m.workers.index.kind == "ivf_sq8"
    monkeypatch.setattr(retrieve, "_FROM_BITS", 0)  # small pools read the filter from the bits too
    monkeypatch.setattr(m, "candidates", 8)  # few candidates a k, so which ones retrieval finds matters
    rng = random.Random(seed)
    regions = sorted({w.region.split(".")[0] for w in m.workers.records if w.region})
    open_ = [v for v in m.vacancies.records if m.shortlist(v.id, k=1).results]
    assert len(open_) >= 10
    asked = []
    for _ in range(30):
        v = rng.choice(open_)
        options = {"k": rng.choice([1, 2, 5, 30]), "include_ineligible": rng.random() < 0.3,
                   "region": rng.choice([None, None, *regions])}
        asked.append((v.id, options, m.shortlist(v.id, **options)))
    assert "differs from the full score" not in caplog.text  # the batch scores held, no fallback
    with _slow(m):
        for vid, options, fast in asked:
            assert m.shortlist(vid, **options) == fast, (vid, options)
    # not vacuous: lists with many results, partial scores, reasons and gaps among them
    results = [r for _, _, ml in asked for r in ml.results]
    assert len(results) > 60 and any(r.gaps for r in results) and any(r.reasons for r in results)
    assert len({r.score for r in results}) > 50


def test_stage_marks_come_in_order_and_change_nothing(engine) -> None:
    m = engine.matcher
    vid = next(v.id for v in m.vacancies.records if m.shortlist(v.id).results)
    seen: list[str] = []
    assert m.shortlist(vid, stages=seen.append) == m.shortlist(vid)
    assert seen == ["rules", "dense", "lexical", "fused", "scored", "explained"]


def test_the_speed_benchmark_builds_the_index_the_settings_name(tmp_path) -> None:
    from sepadan.evaluation import speed
    from sepadan.evaluation.results import recall_chart
    from sepadan.evaluation.speed_recall import recall_rows

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    profiled = {"v_vectors": vectors[:40] + 0.01}
    for compare, kinds in ((1000, {"index", "flat"}), (10_000, {"index", "flat", "hnsw"})):
        config = speed.SpeedConfig(index_exact_max=500, index_ann="ivf_sq8", ivf_nprobe=8, hnsw_compare_max=compare,
                                   recall_queries=20, selectivities=(1.0, 0.01))
        out: dict = {}
        built = speed._indexes(vectors, config, out)
        assert set(built) == kinds
        assert built["index"].kind == out["index_kind"] == "ivf_sq8" and built["index"].nprobe == 8
        assert out["index_settings"].startswith("ivf_sq8, nprobe 8")
        rows, sweep = recall_rows(built, profiled, config)
        assert [r["eligible_rows"] for r in rows] == [3000, 30]
        assert all(0 <= r["planned recall@10"] <= r["planned recall@10 counting ties"] + 1e-9 for r in rows)
        assert any(k.startswith("raw HNSW") for k in rows[0]) == ("hnsw" in built) == bool(sweep)
        assert recall_chart(rows, tmp_path / f"recall-{compare}.png").stat().st_size > 1000


def test_id_rank_orders_rows_as_their_ids_sort(engine) -> None:
    side = engine.matcher.workers
    rank = side.id_rank()
    assert sorted(range(len(rank)), key=lambda i: rank[i]) == sorted(range(len(side.records)),
                                                                     key=lambda i: side.records[i].id)
    assert side.id_rank() is rank  # made once
