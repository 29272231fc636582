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
