"""The vacancy side's index travels to Ray workers packed: its search settings must travel with it."""

from __future__ import annotations

import numpy as np

from sepadan.batch.shards import pack_index
from sepadan.matching.index import build_index


def _vectors(n=3000, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_packed_ivf_index_keeps_every_search_setting_and_answer():
    vectors = _vectors()
    index = build_index(vectors, kind="ivf_sq8", nprobe=5, exact_filter_max=123, exact_filter_share=0.3)
    back = pack_index(index).unpack()
    assert (back.kind, back.nprobe, back.exact_filter_max, back.exact_filter_share) == ("ivf_sq8", 5, 123, 0.3)
    queries = _vectors(20, seed=1)
    allowed = np.arange(0, 3000, 3, dtype=np.int64)
    for kw in ({}, {"allowed": allowed}):
        s1, i1 = index.search(queries, 10, **kw)
        s2, i2 = back.search(queries, 10, **kw)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(s1, s2)


def test_packed_exact_index_stays_exact():
    vectors = _vectors(200)
    back = pack_index(build_index(vectors, kind="exact")).unpack()
    np.testing.assert_array_equal(back.vectors, vectors)
