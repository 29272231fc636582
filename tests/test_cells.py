"""Cells of a worker shard trained on the job orders, each worker's own nearest cells, the vectorised top k
(sepadan.batch.cells; the batch's ivf stages on them are in test_batch.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sepadan.batch import BatchOptions, LocalRunner
from sepadan.batch.topk import merge_topk, shard_topk


def _unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _market(seed=5, n=4000, m=300, dim=24, centres=40, spread=0.08):
    from sepadan.batch.vectors import VectorShard

    rng = np.random.default_rng(seed)
    c = _unit(rng.normal(size=(centres, dim)))
    workers = _unit(c[rng.integers(0, centres, n)] + spread * rng.normal(size=(n, dim)))
    orders = _unit(c[rng.integers(0, centres, m)] + spread * rng.normal(size=(m, dim)))
    wids, oids = np.arange(n, dtype=np.int64) * 3 + 1, np.arange(m, dtype=np.int64) + 11
    shards = [VectorShard(wids[a:b], workers[a:b]) for a, b in ((0, 1500), (1500, n))]
    return VectorShard(oids, orders), shards, VectorShard(wids, workers)


def _run(root, run_id, market, cells, runner=None):
    from sepadan.batch.dense import DenseOptions, dense_candidates
    from sepadan.batch.job import Stages
    from sepadan.batch.publish import RunDir
    from sepadan.batch.vectors import read_topk

    orders, shards, everyone = market
    job = Stages(None, runner or LocalRunner(), RunDir(root, run_id), BatchOptions(), None)
    dense_candidates(job, orders, shards, DenseOptions(shortlist_k=7, recommend_k=5, orders_per_partition=64,
                                                       workers_per_partition=700, candidates="ivf", cells=cells))
    files = {s: sorted((root / run_id / s).glob("*.parquet")) for s in ("shortlist-topk", "recommend-topk")}
    short = merge_topk([read_topk(f, orders.ids, 7) for f in files["shortlist-topk"]], 7)
    rec = merge_topk([read_topk(f, everyone.ids, 5) for f in files["recommend-topk"]], 5)
    return short, rec


def _recall(got, want):
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(got, want)]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_rows_topk_orders_as_merge_topk_with_ties_and_empty_slots(seed):
    from sepadan.batch.cells import block_topk, rows_topk

    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(40, 23)).astype(np.float32) / 5  # many ties, at the k-th place too
    ids = rng.permutation(1000)[:40 * 23].reshape(40, 23).astype(np.int64)
    ids[rng.random(ids.shape) < 0.2] = -1  # empty slots
    for k in (1, 5, 23, 30):
        want_s, want_i = merge_topk([(scores, ids)], k)  # at most 23 columns
        got_s, got_i = rows_topk(scores, ids, k)
        w = want_i.shape[1]
        assert got_i.shape == (40, k) and (got_i[:, w:] == -1).all() and np.isneginf(got_s[:, w:]).all()
        assert np.array_equal(got_i[:, :w], np.where(want_i >= 0, want_i, -1))
        assert np.array_equal(np.where(got_i[:, :w] >= 0, got_s[:, :w], 0), np.where(want_i >= 0, want_s, 0))
    one = ids[0].clip(0) + np.arange(23) * 1000  # shared ids per column: block_topk
    assert np.array_equal(block_topk(scores, one, 7)[1], merge_topk([(scores, np.broadcast_to(one, scores.shape))], 7)[1])


def test_cells_trained_on_the_orders_rank_each_rows_nearest_cells_and_read_back_whole(tmp_path):
    import pyarrow.parquet as pq

    from sepadan.batch.cells import build_cells
    from sepadan.batch.vectors import cells_table, read_cells

    orders, shards, _ = _market()
    rows = shards[0].vectors
    a = build_cells(rows, 12, train=orders.vectors, take=5, seed=2)
    b = build_cells(rows, 12, train=orders.vectors, take=5, seed=2, threads=1)
    assert np.array_equal(a.near, b.near) and np.array_equal(a.centroids, b.centroids)  # threads change nothing
    scores = rows @ a.centroids.T
    want = np.lexsort((np.broadcast_to(np.arange(12), scores.shape), -scores.astype(np.float64)), axis=-1)[:, :5]
    assert np.array_equal(a.nearest(5), want) and np.array_equal(a.first, want[:, 0])
    pq.write_table(cells_table(a), tmp_path / "c.parquet")
    back = read_cells(tmp_path / "c.parquet", len(rows))
    assert np.array_equal(back.near, a.near) and np.array_equal(back.second, a.second)
    with pytest.raises(ValueError, match="rank 5"):
        a.nearest(6)


def test_ivf_through_order_cells_and_each_workers_own_cells_is_exact_when_every_cell_is_taken(tmp_path):
    from sepadan.batch.vectors import CellOptions

    market = _market(seed=9, spread=0.5)
    orders, _, everyone = market
    every = CellOptions(nlist=10, nprobe=10, m=0, worker_cells=10, train_on="orders")
    (ss, si), (rs, ri) = _run(tmp_path, "all", market, every)
    want_s = shard_topk(everyone.vectors, everyone.ids, orders.vectors, 7)
    want_r = shard_topk(orders.vectors, orders.ids, everyone.vectors, 5)
    assert np.array_equal(si, want_s[1]) and np.array_equal(ri, want_r[1])
    np.testing.assert_allclose(rs, want_r[0], atol=1e-6)
    (_, fewer), (_, rfewer) = _run(tmp_path, "few", market, CellOptions(nlist=10, nprobe=1, m=0, worker_cells=1,
                                                                          train_on="orders"))
    assert _recall(fewer, want_s[1]) < 1.0 and _recall(rfewer, want_r[1]) < 1.0


def test_order_trained_cells_reach_high_recall_probing_few_cells(tmp_path):
    from sepadan.batch.vectors import CellOptions

    market = _market()
    orders, _, everyone = market
    want_s = shard_topk(everyone.vectors, everyone.ids, orders.vectors, 7)[1]
    want_r = shard_topk(orders.vectors, orders.ids, everyone.vectors, 5)[1]
    (_, si), (_, ri) = _run(tmp_path, "own", market, CellOptions(nlist=40, nprobe=2, m=0, worker_cells=3,
                                                                  train_on="orders"))
    assert _recall(si, want_s) >= 0.95 and _recall(ri, want_r) >= 0.95  # 2 (3) of 40 cells
    (_, s1), (_, r1) = _run(tmp_path, "one", market, CellOptions(nlist=40, nprobe=1, m=0, worker_cells=1,
                                                                  train_on="orders"))
    assert _recall(s1, want_s) < _recall(si, want_s) and _recall(r1, want_r) < _recall(ri, want_r)


# ------------------------------------------------------------------ bf16 blocks, float32 re-scoring
def _tiny(seed=3, n=900, m=120, dim=24):
    rng = np.random.default_rng(seed)
    return _unit(rng.normal(size=(n, dim))), _unit(rng.normal(size=(m, dim))), np.arange(n, dtype=np.int64) * 7 + 2


def _float32_of(queries, rows, ids, got_ids):
    """Each returned id's float32 score, one dot product in float64 rounded once (an independent reference)."""
    pos = {int(i): p for p, i in enumerate(ids)}
    return np.array([[np.float32(queries[q].astype(np.float64) @ rows[pos[int(i)]].astype(np.float64)) if i >= 0
                      else -np.inf for i in line] for q, line in enumerate(got_ids)], dtype=np.float32)


def test_bf16_blocks_return_the_float32_scores_of_the_ids_they_return_in_their_order():
    from sepadan.batch.cells import Scoring, build_cells, cell_topk
    from sepadan.batch.lowp import exact_scores

    rows, queries, ids = _tiny()
    cells = build_cells(rows, 6, train=queries, precision="bf16")
    scores, got = cell_topk(rows, ids, cells, queries, 9, 2, scoring=Scoring("bf16", margin=4))
    assert (got >= 0).all()
    at = np.searchsorted(ids, got)
    for q in range(len(queries)):  # exactly the re-scoring's float32 products, ordered by them (then id)
        assert np.array_equal(scores[q], exact_scores(queries[q:q + 1], rows, at[q:q + 1])[0])
        assert sorted(zip(-scores[q].astype(np.float64), got[q])) == list(zip(-scores[q].astype(np.float64), got[q]))
    np.testing.assert_allclose(scores, _float32_of(queries, rows, ids, got), rtol=0, atol=2e-7)


def test_bf16_with_a_margin_covering_every_row_is_the_exact_top_k():
    from sepadan.batch.cells import Scoring, build_cells, cell_candidates, cell_recommend, cell_topk
    from sepadan.batch.lowp import all_pairs_topk

    rows, queries, ids = _tiny(seed=4)
    want = shard_topk(rows, ids, queries, 9, small=0)  # float32, FAISS
    got = all_pairs_topk(rows, ids, queries, 9, margin=len(rows))
    assert np.array_equal(got[1], want[1])
    np.testing.assert_allclose(got[0], want[0], rtol=0, atol=1e-6)
    cells = build_cells(rows, 5, train=queries, precision="bf16")
    every = cell_topk(rows, ids, cells, queries, 9, 5, scoring=Scoring("bf16", margin=len(rows)))
    assert np.array_equal(every[1], want[1])
    oids = np.arange(len(queries), dtype=np.int64) + 11
    want_r = shard_topk(queries, oids, rows, 6, small=0)
    cand = cell_candidates(cells.centroids, queries, len(queries))  # every order a candidate of every cell
    rec = cell_recommend(rows, cells.nearest(1), cand, queries, oids, 6, scoring=Scoring("bf16", margin=len(queries)))
    assert np.array_equal(rec[1], want_r[1])
    np.testing.assert_allclose(rec[0], want_r[0], rtol=0, atol=1e-6)
    # a margin of 0 keeps only the bf16 top k: on these near-tied random scores some are lost
    tight = all_pairs_topk(rows, ids, queries, 9, margin=0)
    assert 0.5 < _recall(tight[1], want[1]) < 1.0


def test_forced_float32_is_the_float32_block_products_and_bf16_differs_only_by_rounding(tmp_path):
    from sepadan.batch.cells import build_cells, cell_candidates, cell_recommend, cell_topk
    from sepadan.batch.vectors import CellOptions

    market = _market(seed=7, spread=0.3)
    orders, shards, _ = market
    f32 = CellOptions(nlist=12, nprobe=3, m=40, worker_cells=2, precision="float32")
    (ss, si), (rs, ri) = _run(tmp_path, "f32", market, f32)
    # the same lists as the float32 functions called as before this option existed, shard by shard
    parts_s, parts_r = [], []
    for shard in shards:
        cells = build_cells(shard.vectors, 12, train=orders.vectors)
        parts_s.append(cell_topk(shard.vectors, shard.ids, cells, orders.vectors, 7, 3))
        cand = cell_candidates(cells.centroids, orders.vectors, 40)
        parts_r.append(cell_recommend(shard.vectors, cells.nearest(2), cand, orders.vectors, orders.ids, 5))
    want_s = merge_topk(parts_s, 7)
    assert np.array_equal(si, want_s[1]) and np.array_equal(ss, want_s[0])  # bit for bit
    assert np.array_equal(ri, np.concatenate([p[1] for p in parts_r]))  # the workers in shard order, as `everyone`
    assert np.array_equal(rs, np.concatenate([p[0] for p in parts_r]))
    # the same cells, blocks in bf16 with a margin covering each block: the same ids, scores equal to rounding
    from sepadan.batch.cells import Scoring

    wide = Scoring("bf16", margin=10_000)
    for shard, (s32, i32), (r32, j32) in zip(shards, parts_s, parts_r):
        cells = build_cells(shard.vectors, 12, train=orders.vectors)
        s16, i16 = cell_topk(shard.vectors, shard.ids, cells, orders.vectors, 7, 3, scoring=wide)
        cand = cell_candidates(cells.centroids, orders.vectors, 40)
        r16, j16 = cell_recommend(shard.vectors, cells.nearest(2), cand, orders.vectors, orders.ids, 5, scoring=wide)
        assert np.array_equal(i16, i32) and np.array_equal(j16, j32)
        np.testing.assert_allclose(s16, s32, rtol=0, atol=1e-6)
        np.testing.assert_allclose(r16, r32, rtol=0, atol=1e-6)
    # through the stages in bf16 (cells ranked by bf16 products too, the default margin): nearly the same lists
    (_, bi), (_, bri) = _run(tmp_path, "bf16", market, CellOptions(**{**_fields(f32), "precision": "bf16"}))
    assert _recall(bi, si) > 0.97 and _recall(bri, ri) > 0.97


def _fields(options):
    from dataclasses import fields

    return {f.name: getattr(options, f.name) for f in fields(options)}


def test_precision_auto_resolves_once_by_the_cpu_and_a_block_refuses_it(monkeypatch):
    from sepadan.batch import lowp
    from sepadan.batch.cells import Scoring
    from sepadan.batch.vectors import CellOptions

    assert lowp.resolve("float32") == "float32" and lowp.resolve("bf16") == "bf16"
    monkeypatch.setattr(lowp, "cpu_flags", lambda path=None: {"avx2", "fma"})
    assert lowp.resolve("auto") == "float32" and CellOptions().resolved().precision == "float32"
    monkeypatch.setattr(lowp, "cpu_flags", lambda path=None: {"avx512f", "amx_bf16"})
    monkeypatch.setattr(lowp, "bf16_speedup", lambda: 4.0)
    assert CellOptions(margin=3).resolved() == CellOptions(margin=3, precision="bf16")
    monkeypatch.setattr(lowp, "bf16_speedup", lambda: 1.1)  # no faster here: float32
    assert lowp.resolve("auto") == "float32"
    with pytest.raises(ValueError, match="resolve 'auto' once"):
        Scoring("auto")
    with pytest.raises(ValueError, match="precision must be one of"):
        CellOptions(precision="fp8")


def test_cell_indexes_narrowed_in_bf16_answer_as_the_exact_index_with_a_covering_margin():
    from sepadan.batch.cellindex import CandidateIndex, CellIndex
    from sepadan.batch.cells import Scoring, build_cells, cell_candidates

    rows, queries, _ = _tiny(seed=6)
    cells = build_cells(rows, 8, train=queries)
    allowed = np.arange(0, len(rows), 3)
    wide = CellIndex(rows, cells, 3, scoring=Scoring("bf16", margin=len(rows))).search(queries[:20], 12, allowed=allowed)
    f32 = CellIndex(rows, cells, 3).search(queries[:20], 12, allowed=allowed)
    assert np.array_equal(wide[1], f32[1]) and np.array_equal(wide[0], f32[0])
    narrow = CellIndex(rows, cells, 3, scoring=Scoring("bf16", margin=2)).search(queries[:20], 12, allowed=allowed)
    assert (narrow[1] >= 0).all() and np.isin(narrow[1], allowed).all() and _recall(narrow[1], f32[1]) > 0.9
    cand = cell_candidates(cells.centroids, queries, 30)
    a = CandidateIndex(queries, cells.centroids, cand, scoring=Scoring("bf16", margin=len(queries))).search(rows[:20], 8)
    b = CandidateIndex(queries, cells.centroids, cand).search(rows[:20], 8)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


def test_the_shards_of_a_run_train_their_centroids_once_per_process(monkeypatch):
    from sepadan.batch import cells as cells_module

    orders, shards, _ = _market(seed=8)
    calls = []
    train = cells_module.train_centroids
    monkeypatch.setattr(cells_module, "train_centroids", lambda *a, **kw: calls.append(1) or train(*a, **kw))
    monkeypatch.setattr(cells_module, "_TRAINED", {})
    a = cells_module.build_cells(shards[0].vectors, 9, train=orders.vectors, seed=4)
    b = cells_module.build_cells(shards[1].vectors, 9, train=orders.vectors, seed=4)
    assert len(calls) == 1 and np.array_equal(a.centroids, b.centroids)
    assert np.array_equal(a.centroids, train(orders.vectors, 9, seed=4))  # what a fresh process trains
    cells_module.build_cells(shards[1].vectors, 9, train=orders.vectors, seed=5)  # other settings: trained again
    assert len(calls) == 2
