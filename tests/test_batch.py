"""The nightly batch: exact top-k over shards, the local run against the online answers, resume and
retries, the CLI; then one local Ray (started once for the module's Ray tests) against the local run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import IMPORT_ORDER, TODAY, FakeEncoder, make_settings
from sepadan.allocate import Request, allocate, open_orders
from sepadan.batch import BatchOptions, LocalRunner, current_run, run_batch
from sepadan.batch.plan import shard_by_id
from sepadan.batch.publish import sha256_of
from sepadan.batch.topk import exact_topk, merge_topk, shard_topk
from sepadan.demo_data import generate
from sepadan.engine import Engine
from sepadan.errors import SepadanError
from sepadan.planning.gaps import positions

SMALL = dict(orders_per_partition=15, workers_per_partition=80, gap_regions=("national", "35"))


# ------------------------------------------------------------------------------ exact top-k merge
@st.composite
def shard_problem(draw):
    n = draw(st.integers(1, 40))
    dim = draw(st.integers(1, 4))
    # small integers: exact dot products in float32, and many ties for the ids to break
    vectors = np.array(draw(st.lists(st.lists(st.integers(-2, 2), min_size=dim, max_size=dim),
                                     min_size=n, max_size=n)), dtype=np.float32)
    queries = np.array(draw(st.lists(st.lists(st.integers(-2, 2), min_size=dim, max_size=dim),
                                     min_size=1, max_size=4)), dtype=np.float32)
    ids = np.array(draw(st.permutations(range(1000, 1000 + 3 * n)))[:n], dtype=np.int64)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=5)))
    k = draw(st.integers(1, n + 3))
    small = draw(st.sampled_from([0, 4_000_000]))  # FAISS's exact search, or one NumPy product
    return vectors, ids, queries, [0, *cuts, n], k, small


@settings(max_examples=300, deadline=None)
@given(shard_problem())
def test_merged_top_k_over_shards_is_the_single_index_top_k(problem):
    vectors, ids, queries, bounds, k, small = problem
    parts = [shard_topk(vectors[a:b], ids[a:b], queries, k, small=small) for a, b in zip(bounds, bounds[1:])]
    scores, got = merge_topk(parts, k)
    ref_scores, ref = shard_topk(vectors, ids, queries, k)
    assert (got == ref).all() and np.array_equal(scores[got >= 0], ref_scores[ref >= 0])
    full = queries @ vectors.T  # the reference by a full sort: score descending, then id ascending
    for q in range(len(queries)):
        order = sorted(range(len(ids)), key=lambda j: (-full[q, j], ids[j]))[:k]
        assert got[q, :len(order)].tolist() == ids[order].tolist()
        assert (got[q, len(order):] == -1).all()


def test_top_k_takes_the_smaller_id_among_ties_at_the_kth_place():
    scores = np.array([[1.0, 2.0, 1.0, 1.0]], dtype=np.float32)
    s, i = exact_topk(scores, np.array([40, 10, 30, 20]), 2)
    assert i.tolist() == [[10, 20]] and s.tolist() == [[2.0, 1.0]]


def test_shards_are_contiguous_id_ranges_of_near_equal_size():
    ids = [f"W-{i:04d}" for i in (7, 3, 9, 1, 5, 2, 8)]
    shards = shard_by_id(ids, 3)
    got = [[ids[p] for p in s.positions] for s in shards]
    assert got == [["W-0001", "W-0002"], ["W-0003", "W-0005", "W-0007"], ["W-0008", "W-0009"]]
    assert [(s.first_id, s.last_id) for s in shards] == [("W-0001", "W-0002"), ("W-0003", "W-0007"),
                                                         ("W-0008", "W-0009")]


def _dense_market(seed=3, n=3000, m=200, dim=16):
    from sepadan.batch.vectors import VectorShard

    rng = np.random.default_rng(seed)
    def unit(x):
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    workers, orders = unit(rng.normal(size=(n, dim))), unit(rng.normal(size=(m, dim)))
    wids, oids = rng.permutation(10 * n)[:n].astype(np.int64), np.arange(m, dtype=np.int64) + 7
    cuts = [0, 900, 1000, n]
    shards = [VectorShard(wids[a:b], workers[a:b]) for a, b in zip(cuts, cuts[1:])]
    return VectorShard(oids, orders), shards, VectorShard(wids, workers)


def _dense_run(runner, root, run_id, faults=None):
    from sepadan.batch.dense import DenseOptions, dense_candidates
    from sepadan.batch.job import Stages
    from sepadan.batch.publish import RunDir

    orders, shards, _ = _dense_market()
    job = Stages(None, runner, RunDir(root, run_id), BatchOptions(faults=faults or {}), None)
    dense_candidates(job, orders, shards, DenseOptions(shortlist_k=7, recommend_k=5, orders_per_partition=64,
                                                       workers_per_partition=700))
    return job


def test_dense_candidates_over_shards_equal_one_exact_search(tmp_path):
    from sepadan.batch.vectors import read_topk

    _dense_run(LocalRunner(), tmp_path, "d")
    orders, shards, everyone = _dense_market()
    want = shard_topk(everyone.vectors, everyone.ids, orders.vectors, 7, small=0)
    got = merge_topk([read_topk(f, orders.ids, 7) for f in sorted((tmp_path / "d" / "shortlist-topk").glob("*.parquet"))],
                     7)
    assert (got[1] == want[1]).all()
    rec = [r for r in _rows(tmp_path / "d", "recommend-topk")]
    assert len(rec) == 3000 * 5
    exact = shard_topk(orders.vectors, orders.ids, everyone.vectors, 5)[1]
    by_worker = {}
    for r in sorted(rec, key=lambda r: (r["query"], r["rank"])):
        by_worker.setdefault(r["query"], []).append(r["id"])
    assert all(by_worker[w] == exact[i].tolist() for i, w in enumerate(everyone.ids))


def _ivf_run(root, run_id, market, cells, runner=None):
    from sepadan.batch.dense import DenseOptions, dense_candidates
    from sepadan.batch.job import Stages
    from sepadan.batch.publish import RunDir
    from sepadan.batch.vectors import read_topk

    orders, shards, everyone = market
    job = Stages(None, runner or LocalRunner(), RunDir(root, run_id), BatchOptions(), None)
    dense_candidates(job, orders, shards, DenseOptions(shortlist_k=7, recommend_k=5, orders_per_partition=64,
                                                       workers_per_partition=700, candidates="ivf", cells=cells))
    short = merge_topk([read_topk(f, orders.ids, 7) for f in sorted((root / run_id / "shortlist-topk").glob("*.parquet"))],
                       7)
    rec = merge_topk([read_topk(f, everyone.ids, 5) for f in sorted((root / run_id / "recommend-topk").glob("*.parquet"))],
                     5)
    return short, rec


def test_ivf_candidates_probing_every_cell_are_the_exact_lists(tmp_path):
    from sepadan.batch.vectors import CellOptions

    market = _dense_market()
    orders, _, everyone = market
    # every cell probed, every order a candidate of every cell: the exact lists, by the same stages
    (ss, si), (rs, ri) = _ivf_run(tmp_path, "all", market, CellOptions(nlist=9, nprobe=9, m=200, worker_cells=2))
    want_s = shard_topk(everyone.vectors, everyone.ids, orders.vectors, 7)
    want_r = shard_topk(orders.vectors, orders.ids, everyone.vectors, 5)
    assert (si == want_s[1]).all() and (ri == want_r[1]).all()
    # the same ids in the same order; scores from other matrix products than the exact pass's, equal to rounding
    np.testing.assert_allclose(ss, want_s[0], atol=1e-6)
    np.testing.assert_allclose(rs, want_r[0], atol=1e-6)
    (_, fewer), _ = _ivf_run(tmp_path, "fewer", market, CellOptions(nlist=9, nprobe=2, m=20))
    assert not (fewer == want_s[1]).all()  # probing fewer cells does leave some out


def _clustered_market(seed=5, n=4000, m=300, dim=24, centres=40):
    from sepadan.batch.vectors import VectorShard

    rng = np.random.default_rng(seed)
    def unit(x):
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    c = unit(rng.normal(size=(centres, dim)))
    workers = unit(c[rng.integers(0, centres, n)] + 0.08 * rng.normal(size=(n, dim)))
    orders = unit(c[rng.integers(0, centres, m)] + 0.08 * rng.normal(size=(m, dim)))
    wids, oids = np.arange(n, dtype=np.int64), np.arange(m, dtype=np.int64)
    shards = [VectorShard(wids[a:b], workers[a:b]) for a, b in ((0, 2000), (2000, n))]
    return VectorShard(oids, orders), shards, VectorShard(wids, workers)


def _recall(got, want):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(got, want)])


def test_ivf_candidates_reach_high_recall_on_clustered_vectors_while_scoring_few_pairs(tmp_path):
    from sepadan.batch.vectors import CellOptions

    market = _clustered_market()
    orders, _, everyone = market
    (_, si), (_, ri) = _ivf_run(tmp_path, "ivf", market, CellOptions(nlist=40, nprobe=2, m=30))
    want_s = shard_topk(everyone.vectors, everyone.ids, orders.vectors, 7)[1]
    want_r = shard_topk(orders.vectors, orders.ids, everyone.vectors, 5)[1]
    assert _recall(si, want_s) >= 0.95 and _recall(ri, want_r) >= 0.95  # 2 of 40 cells, 30 of 300 orders
    # and well short of 1 with a single cell probed and few candidates: the knobs do something
    (_, si1), (_, ri1) = _ivf_run(tmp_path, "one", market, CellOptions(nlist=40, nprobe=1, m=3))
    assert _recall(si1, want_s) < _recall(si, want_s) and _recall(ri1, want_r) < _recall(ri, want_r)


def test_cells_are_the_same_in_any_process_and_read_back_whole(tmp_path):
    from sepadan.batch.cells import build_cells
    from sepadan.batch.vectors import cells_table, read_cells

    _, shards, _ = _clustered_market()
    a = build_cells(shards[0].vectors, 16, seed=3)
    b = build_cells(shards[0].vectors, 16, seed=3)
    assert np.array_equal(a.centroids, b.centroids) and np.array_equal(a.first, b.first)
    import pyarrow.parquet as pq

    pq.write_table(cells_table(a), tmp_path / "c.parquet")
    back = read_cells(tmp_path / "c.parquet", len(shards[0].ids))
    assert np.array_equal(back.centroids, a.centroids) and np.array_equal(back.first, a.first)
    assert np.array_equal(back.second, a.second) and (a.first != a.second).all()


# ------------------------------------------------------------------------------ local runs
def _engine(root: Path, encoder, *, n_workers=300, n_vacancies=60) -> Engine:
    paths = generate(root / "data", n_workers=n_workers, n_vacancies=n_vacancies, n_trainings=12, n_agencies=12,
                     today=TODAY)
    engine = Engine(make_settings(root / "home"), encoder=encoder, today=TODAY)
    for kind in IMPORT_ORDER:
        engine.import_file(kind, paths[kind])
    return engine


def _rows(path: Path, stage: str) -> list[dict]:
    import pyarrow.parquet as pq

    return [r for f in sorted((path / stage).glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def _lists(path: Path, stage: str) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for r in sorted(_rows(path, stage), key=lambda r: (r["subject_id"], r["rank"])):
        out.setdefault(r["subject_id"], []).append((r["worker_id"], r["vacancy_id"], r["score"]))
    return out


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """A tiny market on the fake encoder with its phrase cache in the store (so phrases are encoded
    by the batch's encode stage), and one finished local run over 3 shards."""
    engine = _engine(tmp_path_factory.mktemp("batch"), FakeEncoder())
    result = run_batch(engine, runner=LocalRunner(), options=BatchOptions(shards=3, **SMALL), run_id="night-1")
    return engine, result


def test_the_first_run_encodes_the_new_phrases_once_and_the_build_finds_them_cached(market):
    engine, result = market
    encode = result.manifest["encode"]
    assert encode["phrases"] > 20 and encode["encoded_by_build"] == 0
    again = run_batch(engine, runner=LocalRunner(), options=BatchOptions(shards=3, **SMALL), run_id="night-1b")
    assert again.manifest["encode"]["phrases"] == 0


def test_recommendations_equal_the_matchers_for_every_available_worker(market):
    engine, result = market
    m = engine.matcher
    got = _lists(result.path, "recommendations")
    available = [w for w in m.workers.records if w.available is not False]
    assert len(got) > 0.7 * len(available)
    for w in available:
        want = [(x.worker_id, x.vacancy_id, x.score) for x in m.recommend(w.id, k=10).results]
        assert got.get(w.id, []) == want, w.id


def test_sharded_shortlists_equal_the_matchers_where_retrieval_sees_every_eligible_worker(market):
    engine, result = market
    m = engine.matcher
    got = _lists(result.path, "shortlists")
    checked = 0
    for v in open_orders(m, Request()):
        vp = m.vacancies.profiles[m.vacancies.positions[v.id]]
        if m.table.mask(v, vp, m.ctx).sum() > m.candidates:
            continue  # online retrieval keeps its fused top n; the shards' union holds more
        k = max(30, 2 * positions(v))
        want = [(x.worker_id, x.vacancy_id, x.score) for x in m.shortlist(v.id, k=k).results]
        assert got.get(v.id, []) == want, v.id
        checked += 1
    assert checked >= 20


def test_the_allocation_from_the_batch_equals_sepadan_allocate(market):
    engine, result = market
    want = sorted((p.vacancy_id, p.worker_id) for p in allocate(engine, Request(k=10)).proposals)
    got = sorted((r["vacancy_id"], r["worker_id"]) for r in _rows(result.path / "allocation", ".")
                 if "worker_id" in r)
    assert got == want and len(want) > 50


def test_gather_lists_from_the_matchers_own_shortlists_is_gather_and_refuses_what_the_lists_lack(market):
    from dataclasses import replace as change

    from sepadan.allocate import gather, gather_lists

    engine, _ = market
    m, request = engine.matcher, Request(k=10)
    lists = {v.id: m.shortlist(v.id, k=40) for v in open_orders(m, request)}
    a, b = gather(m, request), gather_lists(m, lists, request)
    assert a.lists == b.lists and a.worker_ids == b.worker_ids and a.model_version == b.model_version
    assert np.array_equal(a.graph.order_capacity, b.graph.order_capacity) and a.graph.n_arcs == b.graph.n_arcs
    some = next(iter(lists))
    empty = gather_lists(m, {k: v for k, v in lists.items() if k != some}, request)
    assert empty.lists[[o.id for o in empty.orders].index(some)] == ()
    with pytest.raises(ValueError, match="every region"):
        gather_lists(m, lists, change(request, region="35"))
    with pytest.raises(ValueError, match="needs"):
        gather_lists(m, lists, request, kept={k: 3 for k in lists})


def test_the_batch_through_cells_probing_every_cell_gives_the_exact_runs_lists(market):
    from sepadan.batch.vectors import CellOptions

    engine, exact = market
    every = CellOptions(nlist=5, nprobe=5, m=10_000)
    ivf = run_batch(engine, runner=LocalRunner(), run_id="ivf-all", options=BatchOptions(
        shards=3, **SMALL, candidates="ivf", cells=every, allocate=False, gaps=False))
    assert [s.name for s in ivf.stages][:4] == ["encode", "index", "shards", "cells"]
    for stage in ("shortlists", "recommendations"):
        assert _lists(ivf.path, stage) == _lists(exact.path, stage), stage
    assert ivf.manifest["options"]["candidates"] == "ivf" and ivf.manifest["options"]["cells"]["nprobe"] == 5


def test_cell_indexes_answer_as_the_exact_index_when_every_cell_is_probed_and_never_with_fewer_rows():
    from sepadan.batch.cellindex import CandidateIndex, CellIndex
    from sepadan.batch.cells import build_cells, cell_candidates
    from sepadan.matching.index import ExactIndex

    orders, shards, _ = _dense_market()  # random directions: one cell of 20 never holds every neighbour
    workers = shards[2].vectors
    cells = build_cells(workers, 20, seed=1)
    exact_w, exact_o = ExactIndex(workers), ExactIndex(orders.vectors)
    allowed = np.arange(0, len(workers), 3)
    q = orders.vectors[:25]
    for kw in ({}, {"allowed": allowed}):
        want = exact_w.search(q, 12, **kw)
        got = CellIndex(workers, cells, 20).search(q, 12, **kw)
        assert np.array_equal(got[1], want[1]) and np.array_equal(got[0], want[0])
        few = CellIndex(workers, cells, 1).search(q, 12, **kw)
        assert (few[1] >= 0).all() and _recall(few[1], want[1]) < 1.0  # one cell: some left out, none short
        if kw:
            assert np.isin(few[1], allowed).all()
    every = CandidateIndex(orders.vectors, cells.centroids, cell_candidates(cells.centroids, orders.vectors, 10_000))
    legal = np.arange(0, len(orders.ids), 2)
    for kw in ({}, {"allowed": legal}):
        want = exact_o.search(workers[:30], 8, **kw)
        got = every.search(workers[:30], 8, **kw)
        assert np.array_equal(got[1], want[1]) and np.array_equal(got[0], want[0])
    some = CandidateIndex(orders.vectors, cells.centroids, cell_candidates(cells.centroids, orders.vectors, 6))
    got = some.search(workers[:30], 8, allowed=legal)
    assert (got[1] >= 0).all() and np.isin(got[1], legal).all()  # a cell's 6 candidates, more cells until 8


def test_the_manifest_lists_every_file_with_rows_and_sha256_and_current_names_the_run(market):
    engine, result = market
    manifest = json.loads((result.path / "manifest.json").read_text())
    root = engine.settings.home / "batch"
    assert (root / current_run(root) / "manifest.json").exists()
    assert {s["name"] for s in manifest["stages"]} >= {"encode", "index", "shortlist-shards", "shortlists",
                                                       "recommendations", "allocation", "gaps", "gap-summaries"}
    assert len(manifest["shards"]) == 3 and sum(s["workers"] for s in manifest["shards"]) == 300
    for f in manifest["files"]:
        path = result.path / f["file"]
        assert sha256_of(path) == f["sha256"]
    import pandas as pd

    assert len(pd.read_parquet(result.path / "shortlists")) == sum(
        f["rows"] for f in manifest["files"] if f["file"].startswith("shortlists/"))
    gaps = _rows(result.path, "gaps")
    assert {r["region"] for r in gaps} == {"national", "35"} and all(r["positions"] > 0 for r in gaps)


def test_a_run_failing_for_good_is_not_published_and_resumes_without_redoing_finished_partitions(tmp_path):
    engine = _engine(tmp_path, FakeEncoder(), n_workers=150, n_vacancies=40)
    first = run_batch(engine, runner=LocalRunner(), options=BatchOptions(shards=2, **SMALL), run_id="before")
    broken = BatchOptions(shards=2, retries=1, faults={"s01-w00000": 99}, **SMALL)
    with pytest.raises(Exception, match="injected failure of recommendations/s01-w00000, attempt 2"):
        run_batch(engine, runner=LocalRunner(), options=broken, run_id="night")
    root = engine.settings.home / "batch"
    assert current_run(root) == "before" and not (root / "night" / "manifest.json").exists()
    marker = root / "night" / "_status" / "shortlists" / "o00000.done"
    stamp = marker.stat().st_mtime_ns
    resumed = run_batch(engine, runner=LocalRunner(), options=BatchOptions(shards=2, **SMALL), resume=True)
    assert resumed.run_id == "night" and current_run(root) == "night"
    stages = {s.name: s for s in resumed.stages}
    assert stages["shortlists"].computed == 0 and stages["shortlists"].skipped == stages["shortlists"].partitions
    assert stages["recommendations"].computed == 1  # only the partition that had failed
    assert marker.stat().st_mtime_ns == stamp
    assert resumed.manifest["retried"][0]["partition"] == "s01-w00000"
    for stage in ("shortlists", "recommendations"):
        assert _lists(resumed.path, stage) == _lists(first.path, stage)


KILLED_CHILD = """
import sys
sys.path.insert(0, {tests!r})
from conftest import FakeEncoder, TODAY, make_settings
from sepadan.batch import BatchOptions, LocalRunner, run_batch
from sepadan.engine import Engine
engine = Engine(make_settings({home!r}), encoder=FakeEncoder(), today=TODAY)
run_batch(engine, runner=LocalRunner(), run_id="killed",
          options=BatchOptions(shards=2, faults={{"s00-w00001": -1}}, **{small!r}))
"""


def test_a_run_killed_mid_write_resumes_and_its_half_written_partition_is_never_visible(tmp_path):
    import subprocess
    import sys

    engine = _engine(tmp_path, FakeEncoder(), n_workers=200, n_vacancies=30)
    home = engine.settings.home
    script = KILLED_CHILD.format(tests=str(Path(__file__).parent), home=str(home), small=SMALL)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr[-2000:]
    run = home / "batch" / "killed"
    assert current_run(home / "batch") is None and not (run / "manifest.json").exists()
    assert list((run / "recommendations").glob(".s00-w00001.parquet.*.tmp"))  # the write it died in
    assert not (run / "recommendations" / "s00-w00001.parquet").exists()
    resumed = run_batch(engine, runner=LocalRunner(), run_id="killed", options=BatchOptions(shards=2, **SMALL))
    stages = {s.name: s for s in resumed.stages}
    recs = stages["recommendations"]
    assert stages["shortlists"].computed == 0 and stages["shortlists"].skipped == stages["shortlists"].partitions
    assert recs.skipped == 1 and recs.computed == recs.partitions - 1  # s00-w00000 was done before the kill
    assert current_run(home / "batch") == "killed" and not list(run.glob("**/.*.tmp"))
    fresh = run_batch(engine, runner=LocalRunner(), run_id="clean", options=BatchOptions(shards=2, **SMALL))
    assert _lists(resumed.path, "recommendations") == _lists(fresh.path, "recommendations")


def test_a_partition_failing_once_is_retried_and_recorded(tmp_path):
    engine = _engine(tmp_path, FakeEncoder(), n_workers=120, n_vacancies=30)
    result = run_batch(engine, runner=LocalRunner(), run_id="r",
                       options=BatchOptions(shards=2, faults={"s00-o00001": 1}, **SMALL))
    (retried,) = result.manifest["retried"]
    assert retried == {"stage": "shortlist-shards", "partition": "s00-o00001", "attempts": 2,
                       "errors": ["attempt 1: InjectedFailure: injected failure of shortlist-shards/s00-o00001, "
                                  "attempt 1"]}
    with pytest.raises(SepadanError, match="already finished"):
        run_batch(engine, runner=LocalRunner(), run_id="r", options=BatchOptions(shards=2, **SMALL))


def test_a_run_id_is_refused_when_the_options_changed_since_it_started(tmp_path):
    engine = _engine(tmp_path, FakeEncoder(), n_workers=60, n_vacancies=20)
    with pytest.raises(Exception, match="injected"):
        run_batch(engine, runner=LocalRunner(), run_id="r",
                  options=BatchOptions(shards=2, retries=0, faults={"s00-o00000": 9}, **SMALL))
    with pytest.raises(SepadanError, match="other records, day, model or options"):
        run_batch(engine, runner=LocalRunner(), run_id="r", options=BatchOptions(shards=3, **SMALL))


def test_the_cli_runs_the_batch_and_prints_where_it_went(tmp_path, monkeypatch):
    from contextlib import contextmanager

    import sepadan.cli.batch as cli_batch
    from sepadan.cli.core import app

    engine = _engine(tmp_path, FakeEncoder(), n_workers=60, n_vacancies=20)
    seen: list[tuple[str, int, int]] = []
    engine.progress = lambda label, done, total: seen.append((label, done, total))

    @contextmanager
    def fake_engine(home, today=None):
        yield engine

    monkeypatch.setattr(cli_batch, "_engine", fake_engine)
    result = CliRunner().invoke(app, ["batch", "--run-id", "cli-1", "--shards", "2", "--no-gaps"])
    assert result.exit_code == 0, result.output
    assert "published cli-1" in result.output
    finished = {label for label, done, total in seen if done == total}
    assert {"batch encode", "batch shortlist-shards", "batch shortlists", "batch recommendations"} <= finished
    assert current_run(engine.settings.home / "batch") == "cli-1"
    bad = CliRunner().invoke(app, ["batch", "--run-id", "../x"])
    assert bad.exit_code != 0


def test_the_cli_takes_the_cells_precision_and_the_manifest_says_what_was_chosen(tmp_path, monkeypatch):
    from contextlib import contextmanager

    import sepadan.cli.batch as cli_batch
    from sepadan.cli.core import app

    engine = _engine(tmp_path, FakeEncoder(), n_workers=60, n_vacancies=20)

    @contextmanager
    def fake_engine(home, today=None):
        yield engine

    monkeypatch.setattr(cli_batch, "_engine", fake_engine)
    args = ["batch", "--shards", "2", "--no-gaps", "--no-allocate", "--candidates", "ivf", "--nlist", "3"]
    result = CliRunner().invoke(app, [*args, "--run-id", "p-1", "--precision", "float32", "--margin", "5",
                                      "--rec-margin", "4", "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((engine.settings.home / "batch" / "p-1" / "manifest.json").read_text())
    assert manifest["options"]["cells"]["precision"] == "float32" and manifest["options"]["cells"]["margin"] == 5
    assert manifest["options"]["cells"]["rec_margin"] == 4
    assert manifest["chosen"]["cells"]["precision"] == "float32"
    auto = CliRunner().invoke(app, [*args, "--run-id", "p-2"])  # auto: resolved once, by the driver
    assert auto.exit_code == 0, auto.output
    manifest = json.loads((engine.settings.home / "batch" / "p-2" / "manifest.json").read_text())
    assert manifest["options"]["cells"]["precision"] == "auto"
    assert manifest["chosen"]["cells"]["precision"] in ("bf16", "float32")
    bad = CliRunner().invoke(app, [*args, "--precision", "fp8"])
    assert bad.exit_code != 0 and "--precision" in bad.output


# ------------------------------------------------------------------------------ Ray
@pytest.fixture(scope="module")
def ray_session():
    import logging
    import os
    import sys

    fresh = "ray" not in sys.modules
    if fresh:  # Ray's single-machine mode: every socket on 127.0.0.1
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")

    try:
        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level=logging.WARNING,
                 log_to_driver=False)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"a local Ray cannot start here: {exc}")
    assert not fresh or {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def real_market(tmp_path_factory, real_encoder):
    """A small demo market on the real model, its phrase cache in the store."""
    return _engine(tmp_path_factory.mktemp("ray"), real_encoder.encoder, n_workers=250, n_vacancies=80)


def test_ray_and_local_runs_give_identical_shortlists_and_recommendations(ray_session, real_market):
    from sepadan.batch import RayRunner

    engine = real_market
    options = BatchOptions(shards=2, orders_per_partition=25, workers_per_partition=60, gap_regions=("national",))
    runner = RayRunner(workers=2)
    ray = run_batch(engine, runner=runner, run_id="ray", options=BatchOptions(
        **{**options.params(), "faults": {"s01-o00001": 1}}))
    runner.close()  # this Ray was started by the fixture: it stays up
    local = run_batch(engine, runner=LocalRunner(), run_id="local", options=options)
    assert ray.manifest["runner"] == "ray" and ray.manifest["encode"]["phrases"] > 50
    assert local.manifest["encode"]["phrases"] == 0  # the Ray run's encoders filled the phrase cache
    for stage in ("shortlists", "recommendations"):
        a, b = _lists(ray.path, stage), _lists(local.path, stage)
        assert a == b and len(a) > 30, stage
    assert ray.manifest["retried"] == [{"stage": "shortlist-shards", "partition": "s01-o00001", "attempts": 2,
                                        "errors": ["attempt 1: InjectedFailure: injected failure of "
                                                   "shortlist-shards/s01-o00001, attempt 1"]}]
    assert sorted(_rows(ray.path, "allocation"), key=str) == sorted(_rows(local.path, "allocation"), key=str)


def test_the_batch_through_cells_on_ray_equals_the_local_one(ray_session, real_market, monkeypatch):
    """``sepadan batch --candidates ivf`` on Ray: the cells trained on the open orders (shipped to
    the workers by reference), the same lists as the local runner's."""
    from sepadan.batch import RayRunner, cells
    from sepadan.batch.vectors import CellOptions

    trained_on = []
    build = cells.build_cells

    def spy(rows, nlist, *, train=None, **kw):
        trained_on.append(None if train is None else len(train))
        return build(rows, nlist, train=train, **kw)

    monkeypatch.setattr(cells, "build_cells", spy)  # the local run's (in this process)

    options = BatchOptions(shards=2, orders_per_partition=40, workers_per_partition=125, candidates="ivf",
                           cells=CellOptions(nlist=6, nprobe=2, m=20), allocate=False, gaps=False)
    runner = RayRunner(workers=2)
    ray = run_batch(real_market, runner=runner, run_id="ray-ivf", options=options)
    runner.close()
    local = run_batch(real_market, runner=LocalRunner(), run_id="local-ivf", options=options)
    assert ray.manifest["options"]["cells"]["train_on"] == "orders"
    assert len(trained_on) == 2 and trained_on[0] is not None and trained_on == [trained_on[0]] * 2
    for stage in ("shortlists", "recommendations"):
        a, b = _lists(ray.path, stage), _lists(local.path, stage)
        assert a == b and len(a) > 30, stage


def test_dense_candidates_on_ray_equal_the_local_ones(ray_session, tmp_path):
    from sepadan.batch import RayRunner

    runner = RayRunner(workers=2)
    _dense_run(runner, tmp_path, "ray", faults={"s01-w00000": 1})
    runner.close()
    _dense_run(LocalRunner(), tmp_path, "local")
    for stage in ("shortlist-topk", "recommend-topk"):
        a = sorted(tuple(r.values()) for r in _rows(tmp_path / "ray", stage))
        assert a == sorted(tuple(r.values()) for r in _rows(tmp_path / "local", stage)) and a, stage
    assert (tmp_path / "ray" / "_status" / "recommend-topk" / "s01-w00000.failures").exists()


def test_phrases_encoded_by_ray_actors_equal_the_models_own(ray_session, real_market, real_encoder):
    import pyarrow.parquet as pq

    path = real_market.settings.home / "batch" / "ray" / "encode"
    table = pq.read_table(sorted(path.glob("*.parquet"))[0])
    texts = table.column("text").to_pylist()[:64]
    got = np.array(table.column("vector").to_pylist()[:64], dtype=np.float32)
    np.testing.assert_allclose(got, real_encoder.encoder.encode(texts), atol=1e-5)
