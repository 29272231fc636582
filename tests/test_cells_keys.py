"""The bfloat16 keys that pick each query's best rows of a block (sepadan.batch.lowp.best_keys) and the
one pass that takes each worker's k best distinct orders over its cells (sepadan.batch.cells)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def _bf16(x):
    from sepadan.batch.lowp import to_bf16

    return to_bf16(np.asarray(x, dtype=np.float32))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 9), st.integers(1, 700), st.integers(1, 40), st.booleans())
def test_best_keys_hold_each_querys_top_values_as_a_partition_of_the_widened_product(seed, m, n, take, negative):
    from sepadan.batch.lowp import best_keys

    rng = np.random.default_rng(seed)
    q, r = rng.normal(size=(m, 8)), rng.normal(size=(n, 8))
    if not negative:  # mostly positive scores, the common case (no row done again)
        q, r = np.abs(q), np.abs(r)
    q16, r16 = _bf16(q), _bf16(r)
    keys = best_keys(q16, r16, take)
    scores = (q16 @ r16.T).float().numpy()
    t = min(take, n)
    assert keys.shape == (m, t)
    cols = keys & 0xFFFF
    assert all(len(set(row)) == t for row in cols)  # distinct columns
    got = np.sort(np.take_along_axis(scores, cols, axis=1), axis=1)
    want = np.sort(-np.partition(-scores, t - 1, axis=1)[:, :t], axis=1)
    np.testing.assert_array_equal(got, want)  # the top values (ties: any of the tied columns)
    high = (keys >> 16).astype(np.int64)  # the high half orders as the scores
    for row in range(m):
        order = np.argsort(high[row], kind="stable")
        assert np.all(np.diff(np.take_along_axis(scores[row], cols[row], 0)[order]) >= 0)


def test_approx_top_over_more_rows_than_a_key_names_still_finds_the_top():
    from sepadan.batch.lowp import approx_top

    rng = np.random.default_rng(3)
    r = rng.normal(size=(70_000, 4)).astype(np.float32)
    q = rng.normal(size=(2, 4)).astype(np.float32)
    got = approx_top(_bf16(q), _bf16(r), 5)
    scores = (_bf16(q) @ _bf16(r).T).float().numpy()
    want = np.sort(-np.partition(-scores, 4, axis=1)[:, :5], axis=1)
    np.testing.assert_array_equal(np.sort(np.take_along_axis(scores, got, 1), 1), want)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.integers(1, 30), st.integers(1, 8))
def test_distinct_topk_is_the_merge_of_each_rows_slots_with_every_id_once(seed, r, width, k):
    from sepadan.batch.cells import distinct_topk
    from sepadan.batch.topk import merge_topk

    rng = np.random.default_rng(seed)
    n = 15
    ids = rng.permutation(100)[:n].astype(np.int64) * 7  # ids not in position order
    table = rng.choice(np.array([0.5, 0.25, -0.125, 0.0, -0.0, 1.0], np.float32), size=(r, n))  # many ties
    pos = rng.integers(-1, n, size=(r, width))  # repeats: a row found through two cells
    scores = np.where(pos >= 0, table[np.arange(r)[:, None], np.maximum(pos, 0)], -np.inf).astype(np.float32)
    got_s, got_i = distinct_topk(scores, pos, ids, k, threads=2, chunk=3)
    for row in range(r):
        seen = sorted({int(p) for p in pos[row] if p >= 0})
        want = merge_topk([(table[row, seen][None, :] + np.float32(0), ids[seen][None, :])], k)
        n_want = min(k, len(seen))
        assert list(got_i[row, :n_want]) == list(want[1][0, :n_want])
        np.testing.assert_array_equal(got_s[row, :n_want], want[0][0, :n_want])
        assert np.all(got_i[row, n_want:] == -1) and np.all(np.isneginf(got_s[row, n_want:]))


@pytest.mark.parametrize("c", [1, 2, 3])
def test_bf16_recommendations_with_a_covering_margin_are_the_exact_lists_over_the_cells(c):
    """With k + margin at least every candidate, the bf16 lists are the float32 lists of the union of
    each worker's cells' candidates (score descending, then id), every order once."""
    from sepadan.batch.cells import Scoring, cell_recommend
    from sepadan.batch.topk import exact_topk

    rng = np.random.default_rng(c)
    orders = rng.normal(size=(60, 16)).astype(np.float32)
    workers = rng.normal(size=(200, 16)).astype(np.float32)
    oids = np.arange(60, dtype=np.int64)[::-1] * 2 + 5  # ids descending in position
    cand = [np.sort(rng.choice(60, 25, replace=False)) for _ in range(5)]
    labels = np.stack([rng.permutation(5)[:c] for _ in range(200)])
    s, i = cell_recommend(workers, labels, cand, orders, oids, 7, scoring=Scoring("bf16", margin=60), threads=2)
    for w in range(200):
        union = np.unique(np.concatenate([cand[x] for x in labels[w]]))
        want_s, want_i = exact_topk(workers[w] @ orders[union].T, oids[union], 7)
        assert list(i[w]) == list(want_i[0])
        np.testing.assert_allclose(s[w], want_s[0], rtol=1e-5, atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 600), st.integers(0, 700), st.integers(1, 40))
def test_best_keys_of_a_block_inside_a_larger_tensor_never_name_the_rows_after_it(seed, n, after, take):
    """Rows after the block (``n``) stand in for the padding: the keys are the block's alone, even
    when those rows score above all of it."""
    from sepadan.batch.lowp import best_keys

    rng = np.random.default_rng(seed)
    q, r = np.abs(rng.normal(size=(3, 8))), np.abs(rng.normal(size=(n, 8)))
    big = np.concatenate([r, 10 + np.abs(rng.normal(size=(after, 8)))])  # the rows after: the best scores
    alone, inside = best_keys(_bf16(q), _bf16(r), take), best_keys(_bf16(q), _bf16(big), take, n=n)
    assert inside.shape == alone.shape and (inside & 0xFFFF).max() < n
    np.testing.assert_array_equal(np.sort(inside >> 16, axis=1), np.sort(alone >> 16, axis=1))
